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
