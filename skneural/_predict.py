"""The network's output on many rows, in chunks that reuse a few programs."""

import numpy as np
import scipy.sparse as sp

from . import _devices, _sparse
from ._config import pad_rows
from ._objective import precision, predict_output

#: Rows per compiled prediction call; each chunk is padded to a power of two
#: (at least MIN_PREDICT_ROWS), so repeated predictions reuse a few programs.
PREDICT_CHUNK = 2**16
MIN_PREDICT_ROWS = 32


def network_output(X, params, state, *, net, out_activation, dtype, devices=None):
    """The output of the network ``net`` with ``params`` and ``state`` (in
    ``dtype``) on ``X`` (dense or sparse, validated).

    Computed by the compiled forward pass in chunks of at most
    :data:`PREDICT_CHUNK` rows, each padded to a power of two. For sparse
    ``X`` the first layer's affine map is computed on the host by scipy
    (:func:`skneural._sparse.first_layer`) and the program starts after it.
    Returns a numpy array of shape (n_samples, n_outputs) in the
    computation's dtype.
    """
    n = X.shape[0]
    sparse = sp.issparse(X)
    step = PREDICT_CHUNK
    if sparse:  # the first layer by scipy on the host (_sparse.first_layer)
        X = sp.csr_matrix(X)
        W1, b1 = (np.asarray(params[0][k], dtype=dtype) for k in ("W", "b"))
        params = [{k: v for k, v in params[0].items() if k != "W"}, *params[1:]]
        step = _sparse.first_layer_rows(W1.shape[1], dtype, PREDICT_CHUNK,
                                        MIN_PREDICT_ROWS)  # fmt: skip
    chunks = []
    with precision(dtype), _devices.scope(devices):
        params = _devices.to_device(params, dtype)
        state = _devices.to_device(state, dtype)
        for start in range(0, n, step):
            stop = min(start + step, n)
            rows = max(MIN_PREDICT_ROWS, 1 << (stop - start - 1).bit_length())
            if sparse:
                part = X if stop - start == n else X[start:stop]
                Xc = _sparse.first_layer(part, W1, b1, rows, dtype)
            else:
                Xc = pad_rows(X[start:stop], rows, dtype)
            out = predict_output(params, _devices.to_device(Xc), activation=net,
                                 out_activation=out_activation, state=state,
                                 first_layer_done=sparse)  # fmt: skip
            chunks.append(np.asarray(out)[: stop - start])
    if not chunks:
        return np.zeros((0, np.shape(params[-1]["W"])[1]), dtype=dtype)
    return np.concatenate(chunks)
