"""The training objective and the compiled functions built on it.

This is the one place where ``jax.jit`` and ``jax.grad`` meet the network. The
objective of a batch with per-row weights ``w`` (zero for padding rows) is::

    [sum_i w_i (loss(y_i, z_i) + entropy * H(p_i))
     + 0.5 * alpha * sum_l ||W_l||^2 + l1 * sum_l |W_l|_1] / sum_i w_i

With ``entropy = l1 = 0`` it is scikit-learn's MLP objective (its L2 term is
also divided by the number, or total weight, of the samples in the batch).
``H(p) = -sum_k p_k log p_k`` is the entropy of the predicted class
probabilities (summed binary entropies for sigmoid outputs), so the entropy
term gives ``L - lambda sum_k p_k log p_k``: it favours confident
predictions. Penalties apply to the weights ``W``, not to biases, PReLU slopes
or batch-normalisation scales.

Everything that changes the traced program (activation, loss, shapes) is a
static argument; numeric hyperparameters such as ``alpha`` are traced, so
varying them reuses the compiled code.
"""

import contextlib
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._program_cache import program
from ._activations import OUTPUT_ACTIVATIONS
from ._devices import replicated
from ._losses import LOSSES
from ._network import apply, as_net, forward
from ._sparse import SparseRows


def precision(dtype):
    """Context in which JAX computes in ``dtype``.

    float64 needs JAX's x64 mode; it is switched on for the duration of the
    context only, never globally.
    """
    if np.dtype(dtype) == np.float64:
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def _entropy(z, out_activation):
    if out_activation == "softmax":
        p = jax.nn.softmax(z, axis=-1)
        return jax.nn.logsumexp(z, axis=-1) - jnp.sum(p * z, axis=-1)
    p = jax.nn.sigmoid(z)
    return jnp.sum(jax.nn.softplus(z) - p * z, axis=-1)


def objective_and_state(
    params, state, X, Y, w, alpha, *, activation, loss, key=None, l1=0.0,
    entropy=0.0, train=True,
):  # fmt: skip
    """Regularised, weighted mean loss of a batch, and the updated state.

    ``train`` selects the network's training mode (dropout, batch statistics);
    ``key`` feeds its random draws.
    """
    net = as_net(activation, len(params) - 1)
    if state is None:
        state = [
            {"mean": jnp.zeros(layer["b"].shape), "var": jnp.ones(layer["b"].shape)}
            if net.batch_norm
            else {}
            for layer in params[:-1]
        ]
    # Rows of zero weight (padding, sample_weight=0) contribute nothing, even
    # where their values would overflow: they enter as zeros.
    counted = w > 0
    if isinstance(X, SparseRows):
        X = X.where_rows(counted)
    else:
        X = jnp.where(counted[:, None], X, 0)
    Y = jnp.where(counted.reshape((-1,) + (1,) * (Y.ndim - 1)), Y, 0)
    z, new_state = apply(params, state, X, net, train=train, key=key, weight=w)
    per_sample = LOSSES[loss].fn(Y, z)
    out = LOSSES[loss].out_activation
    if out in ("softmax", "logistic"):
        per_sample = per_sample + entropy * _entropy(z, out)
    wsum = jnp.sum(w)
    # A batch with no weight contributes nothing (and no division by zero).
    denom = jnp.where(wsum > 0, wsum, 1.0)
    data = jnp.sum(w * per_sample) / denom
    l2 = sum(jnp.sum(layer["W"] ** 2) for layer in params)
    l1_norm = sum(jnp.sum(jnp.abs(layer["W"])) for layer in params)
    penalty = (0.5 * alpha * l2 + l1 * l1_norm) / denom * (wsum > 0)
    return data + penalty, new_state


def objective(params, X, Y, w, alpha, *, activation, loss, **kwargs):
    """Regularised, weighted mean loss of a batch (training mode).

    Returns
    -------
    value : scalar
        Loss plus penalties, the quantity that is minimised.
    """
    return objective_and_state(
        params, None, X, Y, w, alpha, activation=activation, loss=loss, **kwargs
    )[0]


value_and_grad = jax.value_and_grad(objective)


@program(static_argnames=("activation", "out_activation", "first_layer_done"))
def predict_output(params, X, *, activation, out_activation, state=None,
                   first_layer_done=False):  # fmt: skip
    """Network output after the output activation (inference mode, compiled).

    With ``first_layer_done``, ``X`` is the first layer's affine map of the
    inputs, already computed (see :func:`skneural._network.apply`).
    """
    net = as_net(activation, len(params) - 1)
    if state is None:
        state = [{} for _ in params[:-1]]
    z = apply(params, state, X, net, first_layer_done=first_layer_done)[0]
    return OUTPUT_ACTIVATIONS[out_activation](z)


@program(static_argnames=("activation", "loss"))
def inference_objective(params, state, X, Y, w, alpha, l1, entropy, *, activation,
                        loss):  # fmt: skip
    """The objective in inference mode (validation loss)."""
    return objective_and_state(
        params, state, X, Y, w, alpha, activation=activation, loss=loss, l1=l1,
        entropy=entropy, train=False,
    )[0]  # fmt: skip


def shapes_of(params):
    """Static description of the parameter pytree: per layer, (key, shape) pairs
    with ``W`` and ``b`` first and any other keys after, sorted."""
    return tuple(
        tuple((k, tuple(layer[k].shape)) for k in _keys(layer)) for layer in params
    )


#: Row counts up to this are padded to a power of two (see padded_rows).
_SMALL_ROWS = 256


def padded_rows(n):
    """Rows the whole-batch objective is computed on for ``n`` samples: a power
    of two up to 256 (at least 32), then the next of 8 sizes per doubling
    (at most 1/8 more rows than ``n``)."""
    if n <= _SMALL_ROWS:
        return max(32, 1 << (n - 1).bit_length())
    step = 1 << (n.bit_length() - 4)
    return -(-n // step) * step


def _keys(layer):
    return ["W", "b"] + sorted(set(layer) - {"W", "b"})


def unravel(x, shapes):
    """Inverse of :func:`ravel`: a flat vector back to the parameter pytree."""
    params, start = [], 0
    for layer_shapes in shapes:
        layer = {}
        for key, shape in layer_shapes:
            n = int(np.prod(shape))
            layer[key] = x[start : start + n].reshape(shape)
            start += n
        params.append(layer)
    return params


def ravel(params):
    """Flatten the parameter pytree into one vector (layer by layer, W, b, ...)."""
    xp = jnp if isinstance(params[0]["W"], jax.Array) else np
    return xp.concatenate([layer[k].ravel() for layer in params for k in _keys(layer)])


def _flat_objective(x, X, Y, w, alpha, l1=0.0, entropy=0.0, *, shapes, activation,
                    loss):  # fmt: skip
    return objective(
        unravel(x, shapes), X, Y, w, alpha, activation=activation, loss=loss, l1=l1,
        entropy=entropy,
    )  # fmt: skip


@program(static_argnames=("shapes", "activation", "loss"))
def flat_value_and_grad(x, X, Y, w, alpha, l1=0.0, entropy=0.0, *, shapes,
                        activation, loss):  # fmt: skip
    """Objective and gradient over the flat parameter vector (for scipy)."""
    return jax.value_and_grad(_flat_objective)(
        x, X, Y, w, alpha, l1, entropy, shapes=shapes, activation=activation,
        loss=loss,
    )  # fmt: skip


@program(static_argnames=("shapes", "activation", "loss"))
def flat_hvp(x, v, X, Y, w, alpha, l1=0.0, entropy=0.0, *, shapes, activation,
             loss):  # fmt: skip
    """Exact Hessian-vector product ``H(x) v`` (forward-over-reverse)."""

    def grad(x):
        return jax.grad(_flat_objective)(
            x, X, Y, w, alpha, l1, entropy, shapes=shapes, activation=activation,
            loss=loss,
        )  # fmt: skip

    return jax.jvp(grad, (x,), (v,))[1]


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


def l2_mask(shapes):
    """1 at the weight-matrix entries of the flat parameter vector, else 0
    (biases, PReLU slopes and batch-normalisation parameters)."""
    return np.concatenate(
        [
            np.full(int(np.prod(shape)), 1.0 if key == "W" else 0.0)
            for layer in shapes
            for key, shape in layer
        ]
    )


def data_residuals(x, X, Y, scale, *, shapes, activation, loss):
    """Data residuals of some rows, whose squares sum to twice their loss.

    With ``s_i = w_i / sum(w)`` (``scale``), ``0.5 * sum(r**2)`` over all rows
    is the data term of the objective, ``sum_i s_i loss_i``. The residuals are
    the loss's residual form (:attr:`skneural._losses.Loss.residuals`):

    * squared error (:func:`~skneural._losses.difference_residuals`):
      ``r_ik = sqrt(s_i / n_outputs) * (y_ik - z_ik)``, one per sample and
      output -- the target minus the output, ``e = d - o``, so Gauss-Newton on
      them is the classical Levenberg-Marquardt method;
    * the other losses (log-loss, binary log-loss, Poisson, absolute error,
      Huber; :func:`~skneural._losses.root_residuals`): ``r_i = sqrt(2 s_i
      loss_i)``, one per sample. ``0.5 ||r||^2`` is then exactly the
      estimator's objective, so every solver minimises and reports the same
      quantity, and ``J^T r`` is its exact gradient.

    Parameters
    ----------
    x : array of shape (n_params,)
        Flat parameters.
    X, Y : arrays
        Inputs and encoded targets of the rows.
    scale : array of shape (n_rows,)
        ``w_i / sum(w)`` (the sum over all training rows).

    Returns
    -------
    r : array of shape (n_rows, k)
        ``k`` is the loss's number of residuals per sample.
    """
    z = forward(unravel(x, shapes), X, activation)
    return LOSSES[loss].residuals(Y, z, scale)


def _row_scale(w):
    wsum = jnp.sum(w)
    return w / jnp.where(wsum > 0, wsum, 1.0)


@program(static_argnames=("shapes", "activation", "loss"))
def flat_residuals(x, X, Y, w, *, shapes, activation, loss):
    """All data residuals (:func:`data_residuals`) as one vector."""
    r = data_residuals(
        x, X, Y, _row_scale(w), shapes=shapes, activation=activation, loss=loss
    )
    return r.reshape(-1)


@program(static_argnames=("shapes", "activation", "loss"))
def flat_residuals_and_jacobian(x, X, Y, w, *, shapes, activation, loss):
    """Data residuals and their Jacobian ``dr/dx``, row by row.

    The Jacobian is built by ``jax.vmap`` over samples of the per-sample
    reverse-mode Jacobian: much faster here than ``jax.jacrev`` or
    ``jax.jacfwd`` of the whole residual vector.

    Returns
    -------
    r : array of shape (n_data_residuals,)
    J : array of shape (n_data_residuals, n_params)
    """

    def row(Xi, Yi, si):
        def f(x):
            return data_residuals(
                x, Xi[None], Yi[None], si[None],
                shapes=shapes, activation=activation, loss=loss,
            )[0]  # fmt: skip

        return f(x), jax.jacrev(f)(x)

    r, J = jax.vmap(row)(X, Y, _row_scale(w))
    return r.reshape(-1), J.reshape(-1, x.shape[0])


@program(static_argnames=("shapes", "activation", "loss"))
def flat_objective(x, X, Y, w, alpha, *, shapes, activation, loss):
    """The objective over the flat parameter vector (no L1 or entropy term)."""
    return _flat_objective(
        x, X, Y, w, alpha, shapes=shapes, activation=activation, loss=loss
    )


@program(static_argnames=("shapes", "activation", "loss", "gram"))
def flat_gauss_newton(x, X, Y, w, alpha, l2, *, shapes, activation, loss, gram):
    """Objective, gradient, data Jacobian, (with ``gram``) ``J^T J`` and the
    diagonal of the Gauss-Newton matrix ``J^T J + diag(l2)``.

    The fields of :class:`GaussNewton`; ``l2`` is the diagonal of the L2
    term's Hessian (:attr:`Problem.l2_diagonal`).
    """
    static = dict(shapes=shapes, activation=activation, loss=loss)
    value, grad = jax.value_and_grad(_flat_objective)(x, X, Y, w, alpha, **static)
    _, J = flat_residuals_and_jacobian(x, X, Y, w, **static)
    JtJ = J.T @ J if gram else None
    diag = (jnp.diagonal(JtJ) if gram else jnp.sum(J**2, axis=0)) + l2
    return value, grad, J, JtJ, diag
