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

import jax
import jax.numpy as jnp
import numpy as np

from ._program_cache import program
from ._activations import OUTPUT_ACTIVATIONS
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


#: The compiled functions of this module (see
#: :func:`skneural._driver.bound_program_caches`).
PROGRAMS = (
    predict_output, inference_objective, flat_value_and_grad, flat_hvp,
    flat_residuals, flat_residuals_and_jacobian, flat_objective, flat_gauss_newton,
)  # fmt: skip
