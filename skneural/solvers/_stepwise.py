"""Minibatch solvers on optax, and the compiled epoch they run in.

One epoch is one call of :func:`run_epoch`: a ``jax.lax.scan`` over the
minibatches of data that stay on the device for the whole fit. The rows are
padded once per fit to ``n_batches * batch_size`` with zero-weight rows, so the
last batch has the same shape as the others and a fit compiles one program.
The minibatch order (a small integer array) comes from the host each epoch,
drawn from the estimator's ``random_state`` exactly as scikit-learn draws it.
"""

from functools import partial

import jax
import jax.numpy as jnp
import optax

from .._objective import objective_and_state
from ._base import StepwiseSolver


class SGD(StepwiseSolver):
    """Stochastic gradient descent with (Nesterov) momentum.

    The update is ``m <- momentum * m + g``, ``theta <- theta - lr * m`` (with
    Nesterov: ``theta <- theta - lr * (g + momentum * m)``), which equals
    scikit-learn's ``v <- momentum * v - lr * g``, ``theta <- theta + v`` at a
    constant learning rate. The estimator's ``learning_rate`` schedule
    ('constant', 'invscaling', 'adaptive') applies to it, as in scikit-learn.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size.
    momentum : float, default=0.9
        Momentum coefficient in ``[0, 1]``; 0 gives plain gradient descent.
    nesterov : bool, default=True
        Use Nesterov's momentum.
    """

    uses_lr_schedule = True

    def __init__(self, learning_rate=0.001, momentum=0.9, nesterov=True):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov

    @staticmethod
    def _factory(learning_rate, momentum, nesterov):
        return optax.sgd(learning_rate, momentum=momentum, nesterov=nesterov)

    def _hyperparams(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum}

    def _static(self):
        return {"nesterov": bool(self.nesterov)}


class Adam(StepwiseSolver):
    """Adam (Kingma and Ba, 2014), through ``optax.adam``.

    ``m`` and ``s`` are moving averages of the gradient and of its square with
    decay ``beta_1`` and ``beta_2``; the step is
    ``lr * m_hat / (sqrt(s_hat) + epsilon)`` with the bias-corrected
    ``m_hat = m / (1 - beta_1^t)``, ``s_hat = s / (1 - beta_2^t)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size.
    beta_1 : float, default=0.9
        Decay of the first-moment average, in ``[0, 1)``.
    beta_2 : float, default=0.999
        Decay of the second-moment average, in ``[0, 1)``.
    epsilon : float, default=1e-8
        Added to the denominator for numerical stability.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    @staticmethod
    def _factory(learning_rate, beta_1, beta_2, epsilon):
        return optax.adam(learning_rate, b1=beta_1, b2=beta_2, eps=epsilon)

    def _hyperparams(self):
        return {
            "learning_rate": self.learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


@partial(jax.jit, static_argnames=("tx",))
def init_state(params, *, tx):
    """``tx.init`` compiled once per transformation and parameter shapes."""
    return tx.init(params)


def set_hyperparams(state, values, dtype):
    """Return ``state`` with its injected hyperparameters set to ``values``."""
    if not values:
        return state
    hyper = dict(state.hyperparams)
    hyper.update({k: jnp.asarray(v, dtype=dtype) for k, v in values.items()})
    return state._replace(hyperparams=hyper)


def _tree_isfinite(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def _layer_norms(grads):
    """Euclidean norm of each layer's gradient (all its arrays together)."""
    return jnp.stack(
        [
            jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(layer)))
            for layer in grads
        ]
    )


def _clip(grads, clip_norm):
    """``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm`` (inf: no-op)."""
    norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grads)))
    scale = jnp.minimum(1.0, clip_norm / jnp.maximum(norm, 1e-30))
    return jax.tree_util.tree_map(lambda g: g * scale, grads)


@partial(jax.jit, static_argnames=("tx", "net", "loss"))
def run_epoch(params, opt_state, state, order, seed, X, Y, w, mask, reg, *, tx, net,
              loss):  # fmt: skip
    """One pass over the (padded) training data.

    Parameters
    ----------
    params, opt_state, state : pytrees
        Network parameters, optimizer state and network state (batch-norm
        running statistics).
    order : int array of shape (n_batches, batch_size)
        Row indices of each minibatch, in training order. Padding rows (zero
        weight) fill the end of the last batch.
    seed : int scalar
        Seeds the epoch's random draws (dropout, noise), one key per step.
    X, Y, w, mask : arrays with ``n_batches * batch_size`` rows
        Inputs, encoded targets, sample weights (zero on padding rows) and 1
        for real rows, 0 for padding rows.
    reg : dict of scalars
        ``alpha``, ``l1``, ``entropy`` and ``clip_norm`` (``inf``: no
        clipping), traced.

    Returns
    -------
    params, opt_state, state : pytrees
        After the epoch.
    mean_loss : scalar
        Mean over the real rows of the minibatch objectives, each weighted by
        its number of real rows (scikit-learn's ``loss_``).
    grad_norms : array of shape (n_layers,)
        Mean over the minibatches of each layer's gradient norm (before
        clipping).
    finite : bool scalar
        Whether every parameter is finite after the epoch.
    """
    key = jax.random.key(seed)
    grad_fn = jax.value_and_grad(objective_and_state, has_aux=True)

    def step(carry, inputs):
        params, opt_state, state = carry
        i, idx = inputs
        (value, state), grads = grad_fn(
            params, state, X[idx], Y[idx], w[idx], reg["alpha"], activation=net,
            loss=loss, key=jax.random.fold_in(key, i) if net.stochastic else None,
            l1=reg["l1"], entropy=reg["entropy"],
        )  # fmt: skip
        norms = _layer_norms(grads)
        grads = _clip(grads, reg["clip_norm"])
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state, state), (value * jnp.sum(mask[idx]), norms)

    steps = jnp.arange(order.shape[0])
    (params, opt_state, state), (weighted, norms) = jax.lax.scan(
        step, (params, opt_state, state), (steps, order)
    )
    mean_loss = jnp.sum(weighted) / jnp.sum(mask)
    return params, opt_state, state, mean_loss, norms.mean(axis=0), _tree_isfinite(params)
