"""The training objective and the compiled functions built on it.

This is the one place where ``jax.jit`` and ``jax.grad`` meet the network. The
objective of a batch with per-row weights ``w`` (zero for padding rows) is::

    sum_i w_i loss(y_i, z_i) / sum_i w_i  +  0.5 * alpha * sum_l ||W_l||^2 / sum_i w_i

which is scikit-learn's MLP objective (its L2 term is also divided by the
number, or total weight, of the samples in the batch).

Everything that changes the traced program (activation, loss, shapes) is a
static argument; numeric hyperparameters such as ``alpha`` are traced, so
varying them reuses the compiled code.
"""

import contextlib
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ._activations import OUTPUT_ACTIVATIONS
from ._losses import LOSSES
from ._network import forward


def precision(dtype):
    """Context in which JAX computes in ``dtype``.

    float64 needs JAX's x64 mode; it is switched on for the duration of the
    context only, never globally.
    """
    if np.dtype(dtype) == np.float64:
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def objective(params, X, Y, w, alpha, *, activation, loss):
    """Regularised, weighted mean loss of a batch.

    Returns
    -------
    value : scalar
        Loss plus L2 penalty, the quantity that is minimised.
    """
    z = forward(params, X, activation)
    per_sample = LOSSES[loss].fn(Y, z)
    wsum = jnp.sum(w)
    # A batch with no weight contributes nothing (and no division by zero).
    denom = jnp.where(wsum > 0, wsum, 1.0)
    data = jnp.sum(w * per_sample) / denom
    l2 = sum(jnp.sum(layer["W"] ** 2) for layer in params)
    return data + 0.5 * alpha * l2 / denom * (wsum > 0)


value_and_grad = jax.value_and_grad(objective)


@partial(jax.jit, static_argnames=("activation", "out_activation"))
def predict_output(params, X, *, activation, out_activation):
    """Network output after the output activation (compiled)."""
    return OUTPUT_ACTIVATIONS[out_activation](forward(params, X, activation))


def shapes_of(params):
    """Static description of the parameter pytree: a tuple of (W, b) shapes."""
    return tuple((tuple(p["W"].shape), tuple(p["b"].shape)) for p in params)


def unravel(x, shapes):
    """Inverse of :func:`ravel`: a flat vector back to the parameter pytree."""
    params, start = [], 0
    for w_shape, b_shape in shapes:
        n_w, n_b = int(np.prod(w_shape)), int(np.prod(b_shape))
        W = x[start : start + n_w].reshape(w_shape)
        b = x[start + n_w : start + n_w + n_b].reshape(b_shape)
        params.append({"W": W, "b": b})
        start += n_w + n_b
    return params


def ravel(params):
    """Flatten the parameter pytree into one vector (W then b, layer by layer)."""
    xp = jnp if isinstance(params[0]["W"], jax.Array) else np
    return xp.concatenate([xp.concatenate([p["W"].ravel(), p["b"]]) for p in params])


def _flat_objective(x, X, Y, w, alpha, *, shapes, activation, loss):
    return objective(unravel(x, shapes), X, Y, w, alpha, activation=activation, loss=loss)


@partial(jax.jit, static_argnames=("shapes", "activation", "loss"))
def flat_value_and_grad(x, X, Y, w, alpha, *, shapes, activation, loss):
    """Objective and gradient over the flat parameter vector (for scipy)."""
    return jax.value_and_grad(_flat_objective)(
        x, X, Y, w, alpha, shapes=shapes, activation=activation, loss=loss
    )


@partial(jax.jit, static_argnames=("shapes", "activation", "loss"))
def flat_hvp(x, v, X, Y, w, alpha, *, shapes, activation, loss):
    """Exact Hessian-vector product ``H(x) v`` (forward-over-reverse)."""

    def grad(x):
        return jax.grad(_flat_objective)(
            x, X, Y, w, alpha, shapes=shapes, activation=activation, loss=loss
        )

    return jax.jvp(grad, (x,), (v,))[1]


class Problem:
    """The whole-data objective over a flat parameter vector, for solvers.

    A :class:`~skneural.solvers.WholeBatchSolver` receives one of these. Its
    methods take and return float64 numpy arrays (the scipy convention) and
    evaluate compiled JAX functions in the estimator's compute ``dtype``.

    Parameters
    ----------
    X, Y, w : arrays
        Inputs, encoded targets (2-d) and sample weights.
    alpha : float
        L2 penalty.
    shapes : tuple
        Parameter shapes, from :func:`shapes_of`.
    activation, loss : str
        Names in the activation and loss registries.
    dtype : numpy dtype
        Compute precision.

    Attributes
    ----------
    n_params : int
        Length of the flat parameter vector.
    n_samples, n_outputs : int
        Shape of the targets.
    """

    def __init__(self, X, Y, w, alpha, *, shapes, activation, loss, dtype):
        self.dtype = np.dtype(dtype)
        self.shapes = shapes
        self.activation = activation
        self.loss = loss
        self.n_params = sum(int(np.prod(a)) + int(np.prod(b)) for a, b in shapes)
        self.n_samples, self.n_outputs = Y.shape
        with precision(self.dtype):
            self.data = tuple(
                jnp.asarray(a, dtype=self.dtype) for a in (X, Y, w, alpha)
            )

    @property
    def _static(self):
        return dict(shapes=self.shapes, activation=self.activation, loss=self.loss)

    def value_and_grad(self, x):
        """Objective and gradient at ``x``; ``(inf, 0)`` where not finite."""
        with precision(self.dtype):
            value, grad = flat_value_and_grad(
                jnp.asarray(x, dtype=self.dtype), *self.data, **self._static
            )
        value, grad = float(value), np.asarray(grad, dtype=np.float64)
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            return np.inf, np.zeros_like(grad)
        return value, grad

    __call__ = value_and_grad

    def hvp(self, x, v):
        """Hessian of the objective at ``x`` times ``v`` (exact, by JAX)."""
        with precision(self.dtype):
            out = flat_hvp(
                jnp.asarray(x, dtype=self.dtype),
                jnp.asarray(v, dtype=self.dtype),
                *self.data,
                **self._static,
            )
        return np.asarray(out, dtype=np.float64)

    # ------------------------------------------------ least-squares form
    # Appended for least-squares solvers (Levenberg-Marquardt): the objective
    # as half a sum of squared residuals, 0.5 * ||r(x)||^2, and the Jacobian.

    @property
    def residuals_per_sample(self):
        """Data residuals per sample: ``n_outputs`` for squared error, else 1.

        See :func:`data_residuals` for their definition.
        """
        return self.n_outputs if self.loss == "squared_error" else 1

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
        _, _, w, alpha = self.data
        wsum = float(np.sum(np.asarray(w, dtype=np.float64)))
        scale = float(alpha) / wsum if wsum > 0 else 0.0
        return scale * l2_mask(self.shapes)

    @property
    def residual_size(self):
        """Length of :meth:`residuals`: data residuals plus one per weight when
        ``alpha > 0``."""
        n_penalised = int(l2_mask(self.shapes).sum()) if float(self.data[3]) > 0 else 0
        return self.n_data_residuals + n_penalised

    def jacobian_nbytes(self, itemsize=8):
        """Bytes of the dense :meth:`jacobian` (float64 by default)."""
        return self.residual_size * self.n_params * itemsize

    def residuals(self, x):
        """Residuals ``r(x)`` with ``0.5 * ||r(x)||^2`` equal to the objective.

        The data residuals of :func:`data_residuals`, followed, when
        ``alpha > 0``, by ``sqrt(alpha / sum(w)) * W`` for every weight (the
        L2 term; biases are not penalised).

        Returns
        -------
        ndarray of shape (residual_size,)
        """
        with precision(self.dtype):
            r = flat_residuals(jnp.asarray(x, dtype=self.dtype), *self.data[:3],
                               **self._static)  # fmt: skip
        parts = [np.asarray(r, dtype=np.float64)]
        if float(self.data[3]) > 0:
            idx = np.flatnonzero(l2_mask(self.shapes))
            x = np.asarray(x, dtype=np.float64)
            parts.append(np.sqrt(self.l2_diagonal[idx]) * x[idx])
        return np.concatenate(parts)

    def jacobian(self, x):
        """Jacobian ``dr/dx`` of :meth:`residuals`, dense.

        It takes :meth:`jacobian_nbytes` bytes: check them first on large
        problems.

        Returns
        -------
        ndarray of shape (residual_size, n_params)
        """
        with precision(self.dtype):
            _, J = flat_residuals_and_jacobian(
                jnp.asarray(x, dtype=self.dtype), *self.data[:3], **self._static
            )
        parts = [np.asarray(J, dtype=np.float64)]
        if float(self.data[3]) > 0:
            idx = np.flatnonzero(l2_mask(self.shapes))
            rows = np.zeros((idx.size, self.n_params))
            rows[np.arange(idx.size), idx] = np.sqrt(self.l2_diagonal[idx])
            parts.append(rows)
        return np.concatenate(parts)


def l2_mask(shapes):
    """1 at the weight-matrix entries of the flat parameter vector, 0 at biases."""
    return np.concatenate(
        [
            np.concatenate([np.ones(int(np.prod(w))), np.zeros(int(np.prod(b)))])
            for w, b in shapes
        ]
    )


def data_residuals(x, X, Y, scale, *, shapes, activation, loss):
    """Data residuals of some rows, whose squares sum to twice their loss.

    With ``s_i = w_i / sum(w)`` (``scale``), ``0.5 * sum(r**2)`` over all rows
    is the data term of the objective, ``sum_i s_i loss_i``:

    * ``'squared_error'``: ``r_ik = sqrt(s_i / n_outputs) * (y_ik - z_ik)``,
      one per sample and output -- the target minus the output, ``e = d - o``,
      so Gauss-Newton on them is the classical Levenberg-Marquardt method;
    * any other loss (log-loss, binary log-loss, Poisson, absolute error,
      Huber): ``r_i = sqrt(2 s_i loss_i)``, one per sample. ``0.5 ||r||^2``
      is then exactly the estimator's objective, so every solver minimises
      and reports the same quantity, and ``J^T r`` is its exact gradient; the
      Gauss-Newton matrix ``J^T J = sum_i s_i grad(loss_i) grad(loss_i)^T /
      (2 loss_i)`` is positive semi-definite. Squared error on probabilities
      (the other common choice for classifiers) would minimise a different
      objective than the one the estimator reports. Where ``loss_i`` reaches
      0 the root's derivative ``grad(loss_i) / sqrt(2 loss_i)`` is a ``0/0``
      (its limit is finite for these losses); the argument of the root is
      floored at the smallest normal number, which makes the residual's
      gradient 0 there instead of NaN.

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
    r : array of shape (n_rows, n_outputs) or (n_rows, 1)
    """
    z = forward(unravel(x, shapes), X, activation)
    if loss == "squared_error":
        return jnp.sqrt(scale / Y.shape[1])[:, None] * (Y - z)
    value = 2 * scale * LOSSES[loss].fn(Y, z)
    return jnp.sqrt(jnp.maximum(value, jnp.finfo(z.dtype).tiny))[:, None]


def _row_scale(w):
    wsum = jnp.sum(w)
    return w / jnp.where(wsum > 0, wsum, 1.0)


@partial(jax.jit, static_argnames=("shapes", "activation", "loss"))
def flat_residuals(x, X, Y, w, *, shapes, activation, loss):
    """All data residuals (:func:`data_residuals`) as one vector."""
    r = data_residuals(
        x, X, Y, _row_scale(w), shapes=shapes, activation=activation, loss=loss
    )
    return r.reshape(-1)


@partial(jax.jit, static_argnames=("shapes", "activation", "loss"))
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
