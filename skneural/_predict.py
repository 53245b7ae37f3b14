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
    """The output of the network ``net`` with ``params`` and ``state`` (device
    pytrees in ``dtype``) on ``X`` (dense or sparse, validated).

    Computed by the compiled forward pass in chunks of at most
    :data:`PREDICT_CHUNK` rows, each padded to a power of two. Returns a numpy
    array of shape (n_samples, n_outputs) in the computation's dtype.
    """
    n = X.shape[0]
    if sp.issparse(X):  # chunks of rows as padded coordinates, never dense
        X = sp.csr_matrix(X)
    chunks = []
    with precision(dtype), _devices.scope(devices):
        for start in range(0, n, PREDICT_CHUNK):
            stop = min(start + PREDICT_CHUNK, n)
            rows = max(MIN_PREDICT_ROWS, 1 << (stop - start - 1).bit_length())
            if sp.issparse(X):
                Xc = _sparse.chunk(X[start:stop], rows, dtype).to_device(dtype)
            else:
                Xc = _devices.to_device(pad_rows(X[start:stop], rows, dtype))
            out = predict_output(params, Xc, activation=net,
                                 out_activation=out_activation, state=state)  # fmt: skip
            chunks.append(np.asarray(out)[: stop - start])
    if not chunks:
        return np.zeros((0, np.shape(params[-1]["W"])[1]), dtype=dtype)
    return np.concatenate(chunks)
