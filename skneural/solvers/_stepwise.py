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

from .._objective import value_and_grad
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


@partial(jax.jit, static_argnames=("tx", "activation", "loss"))
def run_epoch(params, opt_state, order, X, Y, w, mask, alpha, *, tx, activation, loss):
    """One pass over the (padded) training data.

    Parameters
    ----------
    params, opt_state : pytrees
        Network parameters and optimizer state.
    order : int array of shape (n_batches, batch_size)
        Row indices of each minibatch, in training order. Padding rows (zero
        weight) fill the end of the last batch.
    X, Y, w, mask : arrays with ``n_batches * batch_size`` rows
        Inputs, encoded targets, sample weights (zero on padding rows) and 1
        for real rows, 0 for padding rows.
    alpha : scalar
        L2 penalty strength (traced).

    Returns
    -------
    params, opt_state : pytrees
        After the epoch.
    mean_loss : scalar
        Mean over the real rows of the minibatch objectives, each weighted by
        its number of real rows (scikit-learn's ``loss_``).
    finite : bool scalar
        Whether every parameter is finite after the epoch.
    """

    def step(carry, idx):
        params, opt_state = carry
        value, grads = value_and_grad(
            params, X[idx], Y[idx], w[idx], alpha, activation=activation, loss=loss
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state), value * jnp.sum(mask[idx])

    (params, opt_state), weighted = jax.lax.scan(step, (params, opt_state), order)
    mean_loss = jnp.sum(weighted) / jnp.sum(mask)
    return params, opt_state, mean_loss, _tree_isfinite(params)
