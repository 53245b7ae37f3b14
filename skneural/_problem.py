"""The whole-data objective as a problem for whole-batch solvers.

A :class:`Problem` wraps the compiled functions of :mod:`skneural._objective`
(value and gradient, Hessian-vector products, residuals, Jacobian,
Gauss-Newton pieces) on a flat float64 parameter vector, with the rows split
across devices when a ``sharding`` is given.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._devices import replicated
from ._losses import LOSSES
from ._network import as_net
from ._objective import (
    flat_gauss_newton,
    flat_hvp,
    flat_objective,
    flat_residuals,
    flat_residuals_and_jacobian,
    flat_value_and_grad,
    l2_mask,
    padded_rows,
    precision,
)
from ._sparse import SparseRows


class GaussNewton(NamedTuple):
    """The least-squares form of a :class:`Problem` linearised at a point.

    Returned by :meth:`Problem.gauss_newton`; every entry is a JAX array in
    the problem's compute dtype, left on the device(s).

    Attributes
    ----------
    value : scalar
        The objective, ``0.5 * ||r(x)||^2``.
    grad : array of shape (n_params,)
        Its gradient.
    jacobian : array of shape (n_rows * residuals_per_sample, n_params)
        Jacobian of the data residuals (:func:`data_residuals`); with a
        ``sharding``, the rows of zero-weight padding rows (all zero) follow
        those of the samples.
    gram : array of shape (n_params, n_params) or None
        ``jacobian.T @ jacobian`` when asked for, else None.
    diagonal : array of shape (n_params,)
        Diagonal of the Gauss-Newton matrix ``J^T J + diag(l2_diagonal)``
        (data and L2 residuals).
    """

    value: object
    grad: object
    jacobian: object
    gram: object
    diagonal: object


class Problem:
    """The whole-data objective over a flat parameter vector, for solvers.

    A :class:`~skneural.solvers.WholeBatchSolver` receives one of these. Its
    methods :meth:`value_and_grad` (also ``problem(x)``), :meth:`hvp`,
    :meth:`residuals`, :meth:`jacobian` and :meth:`residuals_and_jacobian`
    take and return float64 numpy arrays (the scipy convention);
    :meth:`gauss_newton` and :meth:`least_squares_value` take and return JAX
    arrays, for solvers whose iterations stay on the device. All evaluate
    compiled JAX functions in the compute ``dtype``, and with a ``sharding``
    all of them split the rows across its devices.

    Parameters
    ----------
    X, Y, w : arrays
        Inputs, encoded targets (2-d) and sample weights. ``X`` may be a
        :class:`~skneural._sparse.SparseRows` (sparse input): the objective,
        gradient and Hessian-vector products then never form it densely.
    alpha, l1, entropy : float
        Penalty strengths (L2, L1, entropy).
    shapes : tuple
        Parameter shapes, from :func:`shapes_of`.
    activation, loss : str
        Names in the activation and loss registries (``activation`` may also
        be an architecture, see :func:`skneural._network.as_net`).
    dtype : numpy dtype
        Compute precision.
    sharding : jax.sharding.NamedSharding or None
        Data parallel: every method splits the rows across these devices
        (padded with zero-weight rows to a multiple of their number).

    Attributes
    ----------
    X, Y, w : JAX arrays
        The data on the default device, in ``dtype`` (``X`` possibly a
        :class:`~skneural._sparse.SparseRows`), without padding.
    alpha, l1, entropy : float
        Penalty strengths, rounded to ``dtype``.
    shapes, activation, loss, dtype, sharding
        As given (``dtype`` as a numpy dtype).
    n_params : int
        Length of the flat parameter vector.
    n_samples, n_outputs : int
        Shape of the targets.
    """

    def __init__(self, X, Y, w, alpha, *, shapes, activation, loss, dtype, l1=0.0,
                 entropy=0.0, sharding=None):  # fmt: skip
        self.dtype = np.dtype(dtype)
        self.shapes = shapes
        self.activation = activation
        self.loss = loss
        self.sharding = sharding
        self.n_params = sum(
            int(np.prod(shape)) for layer in shapes for _, shape in layer
        )
        self.n_samples, self.n_outputs = Y.shape
        with precision(self.dtype):
            if sharding is not None and isinstance(X, SparseRows):
                raise ValueError(
                    "Data-parallel whole-batch fits (a list of several devices) "
                    "split dense rows; X is sparse. Pass one device, or X as a "
                    "dense array."
                )
            # device_put, not jnp.asarray: no conversion program per shape.
            host = [
                a if isinstance(a, SparseRows) else np.asarray(a, dtype=self.dtype)
                for a in (X, Y, w, alpha, l1, entropy)
            ]
            self.X, self.Y, self.w = (
                a.to_device(self.dtype) if isinstance(a, SparseRows)
                else jax.device_put(a)
                for a in host[:3]
            )  # fmt: skip
            self.alpha, self.l1, self.entropy = (float(a) for a in host[3:])
            penalties = tuple(jax.device_put(host[3:]))
            self._dense_X = None
            self._least_squares_rows = None
            self._l2 = None
            # What the objective, gradient and Hessian-vector products see:
            # the rows padded with zero-weight rows (which the weighted
            # objective ignores) to one of a few sizes (see padded_rows), so
            # that fits of different sizes share their programs; with
            # ``sharding`` (data parallel), to a multiple of the number of
            # devices too, and split across them.
            n_rows = padded_rows(self.n_samples)
            if sharding is not None:
                n_rows += -n_rows % sharding.mesh.size
            pad = n_rows - self.n_samples
            rows = [
                SparseRows(*self.X.tree_flatten()[0], (n_rows, a.shape[1]))
                if isinstance(a, SparseRows)  # more rows, the same entries
                else np.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1))
                for a in host[:3]
            ]  # fmt: skip
            if sharding is None:
                self._objective_data = tuple(jax.device_put(rows)) + penalties
            else:
                self._objective_data = tuple(jax.device_put(rows, sharding)) + tuple(
                    jax.device_put(penalties, replicated(sharding))
                )

    @property
    def _static(self):
        return dict(shapes=self.shapes, activation=self.activation, loss=self.loss)

    def _x(self, x):
        return jnp.asarray(x, dtype=self.dtype)

    # ------------------------------------------------------------ objective
    def value_and_grad(self, x):
        """Objective and gradient at ``x``.

        Parameters
        ----------
        x : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        value : float
            The objective; ``inf`` where it or the gradient is not finite.
        grad : ndarray of shape (n_params,)
            Its gradient (float64); zeros where not finite.
        """
        with precision(self.dtype):
            value, grad = flat_value_and_grad(
                self._x(x), *self._objective_data, **self._static
            )
        value, grad = float(value), np.asarray(grad, dtype=np.float64)
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            return np.inf, np.zeros_like(grad)
        return value, grad

    __call__ = value_and_grad

    def hvp(self, x, v):
        """Hessian of the objective at ``x`` times ``v`` (exact, by JAX).

        Returns
        -------
        ndarray of shape (n_params,)
        """
        with precision(self.dtype):
            out = flat_hvp(
                self._x(x), self._x(v), *self._objective_data, **self._static
            )
        return np.asarray(out, dtype=np.float64)

    # ----------------------------------------------------- least-squares form
    # For least-squares solvers (Levenberg-Marquardt): the objective as half a
    # sum of squared residuals, 0.5 * ||r(x)||^2, and their Jacobian.

    def require_least_squares(self, solver):
        """Raise unless the objective is a sum of squared per-sample residuals.

        Batch normalisation couples the samples of a batch, and the L1 and
        entropy penalties have no residual form here: least-squares solvers
        reject them with a clear message.

        Parameters
        ----------
        solver : str
            The solver's name, for the message.
        """
        net = as_net(self.activation, len(self.shapes) - 1)
        options = []
        if net.batch_norm:
            options.append("batch_norm=True")
        if self.l1 != 0:
            options.append("l1")
        if self.entropy != 0:
            options.append("entropy_reg")
        if options:
            raise ValueError(
                f"{solver} minimises a sum of squared per-sample residuals; "
                f"{', '.join(options)} cannot be written in that form. Use "
                "'lbfgs' or a stepwise solver, or turn these options off."
            )

    @property
    def dense_X_nbytes(self):
        """Bytes a dense copy of a sparse ``X`` takes (0 when ``X`` is dense).

        Least-squares solvers densify a sparse ``X`` (:meth:`dense_X`): their
        per-sample Jacobian rows are dense whatever the input, and the
        Jacobian (``n_samples`` rows of ``n_params >= n_features`` entries) is
        larger than the dense ``X``. Their memory checks count these bytes.
        """
        if not isinstance(self.X, SparseRows):
            return 0
        return self.X.shape[0] * self.X.shape[1] * self.dtype.itemsize

    def dense_X(self):
        """``X`` as a dense device array (densified once, on first use)."""
        X = self.X
        if not isinstance(X, SparseRows):
            return X
        if self._dense_X is None:
            with precision(self.dtype):
                self._dense_X = jnp.zeros(X.shape, self.dtype).at[X.rows, X.cols].add(
                    X.values
                )
        return self._dense_X

    def _rows(self, dense=True):
        """``(X, Y, w)`` of the least-squares form and the number of rows.

        On one device: the data as given (``X`` densified when ``dense``).
        With a ``sharding``: ``X`` dense, the rows padded with zero-weight
        rows to a multiple of the number of devices and split across them.
        """
        if self.sharding is None:
            X = self.dense_X() if dense else self.X
            return (X, self.Y, self.w), self.n_samples
        if self._least_squares_rows is None:
            n = self.n_samples
            pad = -n % self.sharding.mesh.size
            host = [np.asarray(a) for a in (self.X, self.Y, self.w)]
            rows = [np.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)) for a in host]
            with precision(self.dtype):
                self._least_squares_rows = tuple(jax.device_put(rows, self.sharding))
        return self._least_squares_rows, self._least_squares_rows[1].shape[0]

    @property
    def residuals_per_sample(self):
        """Data residuals per sample, from the loss's residual form.

        ``n_outputs`` for squared error, 1 for the other losses (see
        :func:`data_residuals`).
        """
        residuals = LOSSES[self.loss].residuals
        shape = jax.eval_shape(
            residuals,
            jax.ShapeDtypeStruct((1, self.n_outputs), self.dtype),
            jax.ShapeDtypeStruct((1, self.n_outputs), self.dtype),
            jax.ShapeDtypeStruct((1,), self.dtype),
        ).shape
        return int(shape[1])

    @property
    def n_data_residuals(self):
        """Number of data residuals, ``n_samples * residuals_per_sample``."""
        return self.n_samples * self.residuals_per_sample

    @property
    def l2_diagonal(self):
        """Diagonal of the L2 term's Hessian, ``alpha / sum(w)`` on weights.

        Returns
        -------
        ndarray of shape (n_params,)
            ``alpha / sum(w)`` at the entries of the weight matrices, 0 at the
            biases (which are not penalised); the L2 term of the objective is
            ``0.5 * sum(l2_diagonal * x**2)``.
        """
        wsum = float(np.sum(np.asarray(self.w, dtype=np.float64)))
        scale = self.alpha / wsum if wsum > 0 else 0.0
        return scale * l2_mask(self.shapes)

    @property
    def residual_size(self):
        """Length of :meth:`residuals`: data residuals plus one per weight when
        ``alpha > 0``."""
        n_penalised = int(l2_mask(self.shapes).sum()) if self.alpha > 0 else 0
        return self.n_data_residuals + n_penalised

    def jacobian_nbytes(self, itemsize=8):
        """Bytes of the dense :meth:`jacobian` (float64 by default), plus
        those of the dense copy of a sparse ``X`` it is computed from."""
        return self.residual_size * self.n_params * itemsize + self.dense_X_nbytes

    def _with_l2(self, x, r, J=None):
        """Append the L2 residuals (and their Jacobian rows) to the data ones."""
        r = [np.asarray(r[: self.n_data_residuals], dtype=np.float64)]
        J = None if J is None else [np.asarray(J[: self.n_data_residuals],
                                               dtype=np.float64)]  # fmt: skip
        if self.alpha > 0:
            idx = np.flatnonzero(l2_mask(self.shapes))
            root = np.sqrt(self.l2_diagonal[idx])
            r.append(root * np.asarray(x, dtype=np.float64)[idx])
            if J is not None:
                rows = np.zeros((idx.size, self.n_params))
                rows[np.arange(idx.size), idx] = root
                J.append(rows)
        r = np.concatenate(r)
        return r if J is None else (r, np.concatenate(J))

    def residuals(self, x):
        """Residuals ``r(x)`` with ``0.5 * ||r(x)||^2`` equal to the objective.

        The data residuals of :func:`data_residuals`, followed, when
        ``alpha > 0``, by ``sqrt(alpha / sum(w)) * W`` for every weight (the
        L2 term; biases are not penalised).

        Returns
        -------
        ndarray of shape (residual_size,)
        """
        rows, _ = self._rows(dense=False)
        with precision(self.dtype):
            r = flat_residuals(self._x(x), *rows, **self._static)
        return self._with_l2(x, r)

    def jacobian(self, x):
        """Jacobian ``dr/dx`` of :meth:`residuals`, dense.

        It takes :meth:`jacobian_nbytes` bytes: check them first on large
        problems.

        Returns
        -------
        ndarray of shape (residual_size, n_params)
        """
        return self.residuals_and_jacobian(x)[1]

    def residuals_and_jacobian(self, x):
        """:meth:`residuals` and :meth:`jacobian` at ``x``, from one program.

        Returns
        -------
        r : ndarray of shape (residual_size,)
        J : ndarray of shape (residual_size, n_params)
        """
        rows, _ = self._rows()
        with precision(self.dtype):
            r, J = flat_residuals_and_jacobian(self._x(x), *rows, **self._static)
        return self._with_l2(x, r, J)

    def gauss_newton(self, x, *, gram=True):
        """The objective, its gradient and the data Jacobian at ``x``.

        For least-squares solvers whose iterations stay on the device: ``x``
        and every output are JAX arrays in the compute dtype. The objective
        and gradient are those of :meth:`least_squares_value` (the same rows),
        the Jacobian that of the data residuals (the L2 residuals are the
        diagonal :attr:`l2_diagonal`, added to :attr:`GaussNewton.diagonal`).

        Parameters
        ----------
        x : array of shape (n_params,)
            Flat parameters.
        gram : bool, default=True
            Also form ``J^T J`` (``n_params`` square).

        Returns
        -------
        GaussNewton
        """
        rows, _ = self._rows()
        with precision(self.dtype):
            if self._l2 is None:
                self._l2 = jax.device_put(
                    np.asarray(self.l2_diagonal, dtype=self.dtype)
                )
            return GaussNewton(
                *flat_gauss_newton(
                    self._x(x), *rows, self._objective_data[3], self._l2, gram=gram,
                    **self._static,
                )  # fmt: skip
            )

    def least_squares_value(self, x):
        """The objective at ``x``, as a JAX scalar left on the device.

        Computed on the rows of :meth:`gauss_newton` (``X`` dense), so that
        a least-squares solver compares values computed the same way.
        """
        rows, _ = self._rows()
        with precision(self.dtype):
            return flat_objective(
                self._x(x), *rows, self._objective_data[3], **self._static
            )
