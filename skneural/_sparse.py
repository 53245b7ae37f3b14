"""Sparse inputs: the rows of a scipy sparse matrix, never densified whole.

A scipy CSR/CSC/COO ``X`` (validation turns it into CSR or CSC) reaches the
compiled code as :class:`SparseRows`: the stored entries of some rows in
coordinate form, ``values[k]`` at ``(rows[k], cols[k])``, padded with zero
entries to a fixed count so that the programs compile once per fit. The only
place the network touches its input is the first layer's product, ``X @ W``,
which :class:`SparseRows` computes as a gather of the rows of ``W`` and a
segment sum::

    (X @ W)[i] = sum_{k : rows[k] = i} values[k] * W[cols[k]]

(the product ``jax.experimental.sparse.BCOO`` computes; written out, its
gradient was faster on the CPU than BCOO's). Its gradient with
respect to ``W``, by ``jax.grad``, is the scatter-add of
``values[k] * delta[rows[k]]`` into row ``cols[k]``: exactly ``X^T delta``,
the dense gradient, at the cost of the stored entries. Memory and time grow
with the number of stored entries, not with ``n_samples * n_features``.

Where each path uses it:

* stepwise solvers: every epoch the host slices the epoch's minibatches out
  of the CSR matrix (:func:`epoch_batches`, one array of entries per
  minibatch, padded to a bound that holds for every epoch) and the compiled
  epoch takes one per step;
* whole-batch solvers: the objective, its gradient and Hessian-vector
  products see all rows as one :class:`SparseRows`;
* validation during training: rows in chunks (:func:`chunk`);
* prediction, which needs no gradient: the first layer's affine map
  ``X @ W + b`` by scipy's sparse product on the host
  (:func:`first_layer`), in chunks of rows whose result stays bounded
  (:func:`first_layer_rows`); the compiled program computes the rest of the
  network from these dense pre-activations. In inference mode nothing acts on
  the input before that product (input noise and input dropout are training
  only; batch normalisation, PReLU and maxout act on the affine map), so the
  result is the device path's.

Input dropout applies to the stored entries (a zero input stays zero
whether dropped or not, so this is dropout of the whole input); Gaussian input
noise would make every entry non-zero and is refused for sparse input.
Least-squares solvers (Levenberg-Marquardt) need per-sample Jacobian rows
that are dense anyway; see :meth:`skneural._problem.Problem.dense_X`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp


@jax.tree_util.register_pytree_node_class
class SparseRows:
    """Rows of a sparse matrix as padded coordinates (a JAX pytree).

    Parameters
    ----------
    rows, cols : int32 arrays of shape (..., nnz)
        Row (within these rows) and column of every stored entry; padding
        entries have value 0 (at row 0, column 0).
    values : float array of shape (..., nnz)
        The entries.
    shape : tuple of int
        ``(n_rows, n_features)``, static. Leading axes of the arrays (one per
        minibatch, see :func:`epoch_batches`) are not part of it.
    """

    def __init__(self, rows, cols, values, shape):
        self.rows, self.cols, self.values = rows, cols, values
        self.shape = tuple(int(s) for s in shape)

    def tree_flatten(self):
        return (self.rows, self.cols, self.values), self.shape

    @classmethod
    def tree_unflatten(cls, shape, children):
        return cls(*children, shape)

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def ndim(self):
        return 2

    @property
    def nbytes(self):
        return sum(np.asarray(a).nbytes for a in (self.rows, self.cols, self.values))

    def __matmul__(self, W):
        """``X @ W`` (dense result of shape (n_rows, W.shape[1]))."""
        terms = self.values[:, None].astype(W.dtype) * W[self.cols]
        return jax.ops.segment_sum(terms, self.rows, num_segments=self.shape[0])

    def where_rows(self, keep):
        """The rows where ``keep`` is True; the others as zeros."""
        return self._with_values(jnp.where(keep[self.rows], self.values, 0))

    def dropout(self, rate, key):
        """Inverted dropout of the entries (zero with probability ``rate``)."""
        keep = jax.random.bernoulli(key, 1.0 - rate, self.values.shape)
        return self._with_values(jnp.where(keep, self.values / (1.0 - rate), 0.0))

    def astype(self, dtype):
        return self._with_values(self.values.astype(dtype))

    def to_device(self, dtype=None):
        """The same rows with ``jax`` arrays (values in ``dtype``)."""
        # device_put of numpy arrays: jnp.asarray would compile a conversion
        # program for every new number of entries.
        return SparseRows(
            jax.device_put(np.asarray(self.rows)),
            jax.device_put(np.asarray(self.cols)),
            jax.device_put(np.asarray(self.values, dtype=dtype)), self.shape,
        )  # fmt: skip

    def toarray(self):
        """Dense numpy copy (for tests and small problems)."""
        out = np.zeros(self.shape, dtype=np.asarray(self.values).dtype)
        np.add.at(out, (np.asarray(self.rows), np.asarray(self.cols)),
                  np.asarray(self.values))  # fmt: skip
        return out

    def _with_values(self, values):
        return SparseRows(self.rows, self.cols, values, self.shape)


def issparse(X):
    """Whether ``X`` is a scipy sparse matrix or :class:`SparseRows`."""
    return sp.issparse(X) or isinstance(X, SparseRows)


def nnz_bucket(nnz):
    """Padded entry count: the next power of two (at least 16), so that
    chunks of different densities reuse a few compiled programs."""
    return max(16, 1 << (max(int(nnz), 1) - 1).bit_length())


def chunk(X, n_rows, dtype, nnz=None):
    """The rows of sparse ``X`` as :class:`SparseRows` of ``n_rows`` rows
    (``>= X.shape[0]``; the extra rows are empty) and ``nnz`` entries
    (default: :func:`nnz_bucket` of the stored count). numpy arrays."""
    X = sp.csr_matrix(X)
    X.sum_duplicates()
    stored = X.nnz
    nnz = nnz_bucket(stored) if nnz is None else int(nnz)
    rows = np.zeros(nnz, np.int32)
    cols = np.zeros(nnz, np.int32)
    values = np.zeros(nnz, dtype)
    rows[:stored] = np.repeat(np.arange(X.shape[0], dtype=np.int32), np.diff(X.indptr))
    cols[:stored] = X.indices
    values[:stored] = X.data
    return SparseRows(rows, cols, values, (n_rows, X.shape[1]))


#: Bound on the bytes of the host's first-layer product for one chunk of
#: prediction rows (rows x first-layer width, see :func:`first_layer_rows`).
FIRST_LAYER_BYTES = 2**26


def first_layer_rows(width, dtype, max_rows, min_rows=1):
    """Rows per prediction chunk on sparse input: ``max_rows``, or the largest
    power of two (at least ``min_rows``) whose first-layer product, ``rows x
    width`` entries of ``dtype``, fits in :data:`FIRST_LAYER_BYTES`."""
    fit = FIRST_LAYER_BYTES // max(1, int(width) * np.dtype(dtype).itemsize)
    if fit >= max_rows:
        return int(max_rows)
    return max(int(min_rows), 1 << max(0, int(fit).bit_length() - 1))


def first_layer(X, W, b, n_rows, dtype):
    """The first layer's affine map ``X @ W + b`` of sparse rows, on the host.

    Computed by scipy's sparse-dense product in ``dtype`` (``X``'s entries,
    ``W`` and ``b`` cast to it), without densifying ``X``.

    Parameters
    ----------
    X : scipy sparse matrix of shape (n, n_features)
        The rows (CSR, CSC or COO; any float dtype).
    W : array of shape (n_features, width)
        The first layer's weights.
    b : array of shape (width,)
        The first layer's biases.
    n_rows : int
        Rows of the result (``>= n``): the extra rows are those of empty
        inputs, ``b``.
    dtype : numpy dtype
        The computation's float dtype.

    Returns
    -------
    ndarray of shape (n_rows, width) and dtype ``dtype``
    """
    dtype = np.dtype(dtype)
    X = sp.csr_matrix(X)
    n = X.shape[0]
    # Empty rows appended by extending indptr: no copy of the entries.
    empty = np.full(n_rows - n, X.indptr[-1], X.indptr.dtype)
    indptr = np.concatenate([X.indptr, empty])
    X = sp.csr_matrix((X.data.astype(dtype, copy=False), X.indices, indptr),
                      shape=(n_rows, X.shape[1]))  # fmt: skip
    W = np.asarray(W, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # as on the device
        H = np.asarray(X @ W)
        H += np.asarray(b, dtype=dtype)
    return H


def training_matrix(X, n_rows, dtype):
    """CSR copy of the training rows in ``dtype`` with empty rows appended up
    to ``n_rows`` (the padding rows of the last minibatch)."""
    X = sp.csr_matrix(X, dtype=dtype)
    X.sum_duplicates()
    if n_rows > X.shape[0]:
        empty = sp.csr_matrix((n_rows - X.shape[0], X.shape[1]), dtype=dtype)
        X = sp.vstack([X, empty], format="csr")
    return X


def batch_nnz_bound(X, batch_size):
    """Most entries any minibatch of ``batch_size`` rows of CSR ``X`` can
    hold: the sum of the ``batch_size`` largest row counts (rounded up to a
    multiple of 8). Padding every minibatch to it makes one program serve
    every epoch, whatever the shuffle."""
    counts = np.diff(X.indptr)
    k = min(batch_size, len(counts))
    largest = np.partition(counts, len(counts) - k)[len(counts) - k :] if k else counts
    return max(8, -(-int(largest.sum()) // 8) * 8)


def epoch_batches(X, order, nnz):
    """The minibatches of an epoch: :class:`SparseRows` whose arrays have a
    leading axis of ``len(order)`` (one minibatch per step, ``nnz`` entries
    each).

    Parameters
    ----------
    X : scipy.sparse.csr_matrix
        From :func:`training_matrix`.
    order : int array of shape (n_batches, batch_size)
        Row indices of each minibatch.
    nnz : int
        Entries per minibatch (from :func:`batch_nnz_bound`).
    """
    n_batches, batch_size = order.shape
    Xo = X[order.ravel()]  # rows in training order (CSR fancy indexing)
    counts = np.diff(Xo.indptr)
    row_in_batch = np.repeat(np.arange(Xo.shape[0]) % batch_size, counts)
    batch = np.repeat(np.arange(Xo.shape[0]) // batch_size, counts)
    position = np.arange(Xo.nnz) - Xo.indptr[np.arange(n_batches) * batch_size][batch]
    rows = np.zeros((n_batches, nnz), np.int32)
    cols = np.zeros((n_batches, nnz), np.int32)
    values = np.zeros((n_batches, nnz), Xo.dtype)
    rows[batch, position] = row_in_batch
    cols[batch, position] = Xo.indices
    values[batch, position] = Xo.data
    return SparseRows(rows, cols, values, (batch_size, X.shape[1]))


def check_input_options(net, X):
    """Refuse, for sparse ``X``, what would densify it: Gaussian input noise."""
    if issparse(X) and net.input_noise > 0:
        raise ValueError(
            f"input_noise={net.input_noise} adds Gaussian noise to every input, "
            "which would make a sparse X dense (every entry non-zero). Use "
            "input_dropout (applied to the stored entries) with sparse input, or "
            "pass X as a dense array to train with input noise."
        )
