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

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ._activations import OUTPUT_ACTIVATIONS
from ._losses import LOSSES
from ._network import forward


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


@partial(jax.jit, static_argnames=("shapes", "activation", "loss"))
def flat_value_and_grad(x, X, Y, w, alpha, *, shapes, activation, loss):
    """Objective and gradient over the flat parameter vector (for scipy)."""

    def f(x):
        return objective(
            unravel(x, shapes), X, Y, w, alpha, activation=activation, loss=loss
        )

    return jax.value_and_grad(f)(x)
