"""Minibatch solvers on optax, and the compiled epoch they run in.

Every class here is a :class:`~skneural.solvers.StepwiseSolver`: it names an
optax transformation and its hyperparameters. The estimator runs it on
minibatches of ``batch_size`` rows (``batch_size=n_samples`` is full-batch
gradient descent, ``batch_size=1`` one sample per step). The gradient is that
of the estimator's objective, L2 penalty (``alpha``) included, so weight decay
composes with every solver; ``clip_norm`` clips the gradient's global norm
before the solver sees it.

In the formulas, ``g`` is the minibatch gradient, ``eta`` the learning rate and
``theta`` the parameters; products, squares and roots are per weight.

One epoch is one call of :func:`run_epoch`: a ``jax.lax.scan`` over the
minibatches of data that stay on the device for the whole fit. The rows are
padded once per fit to ``n_batches * batch_size`` with zero-weight rows, so the
last batch has the same shape as the others and a fit compiles one program.
The minibatch order (a small integer array) comes from the host each epoch,
drawn from the estimator's ``random_state`` exactly as scikit-learn draws it.
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._devices import to_device
from .._program_cache import program
from .._objective import objective_and_state
from ._base import StepwiseSolver


class SGD(StepwiseSolver):
    """Stochastic gradient descent with (Nesterov) momentum, as scikit-learn's.

    The update is ``m <- momentum * m + g``, ``theta <- theta - lr * m`` (with
    Nesterov: ``theta <- theta - lr * (g + momentum * m)``), which equals
    scikit-learn's ``v <- momentum * v - lr * g``, ``theta <- theta + v`` at a
    constant learning rate. The estimator's ``learning_rate`` schedule
    ('constant', 'invscaling', 'adaptive') applies to it, as in scikit-learn.
    ``momentum=0`` is plain (minibatch) gradient descent
    ``theta <- theta - lr * g``.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size.
    momentum : float, default=0.9
        Momentum coefficient in ``[0, 1]``; 0 gives plain gradient descent.
    nesterov : bool, default=True
        Use Nesterov's momentum.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).

    See Also
    --------
    Momentum, Nesterov : The catalogue's heavy-ball and Nesterov methods.
    """

    uses_lr_schedule = True

    def __init__(
        self, learning_rate=0.001, momentum=0.9, nesterov=True, clip_norm=None
    ):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, momentum, nesterov):
        return optax.sgd(learning_rate, momentum=momentum, nesterov=nesterov)

    def _hyperparams(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum}

    def _static(self):
        return {"nesterov": bool(self.nesterov)}


class _HeavyBall(StepwiseSolver):
    """Momentum methods through ``optax.sgd``; ``_nesterov`` picks the rule."""

    _nesterov = False

    def __init__(self, learning_rate=0.01, momentum=0.9, clip_norm=None):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.clip_norm = clip_norm

    @classmethod
    def _factory(cls, learning_rate, momentum):
        return optax.sgd(learning_rate, momentum=momentum, nesterov=cls._nesterov)

    def _hyperparams(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum}


class Momentum(_HeavyBall):
    """Gradient descent with momentum ("heavy ball"), through ``optax.sgd``.

    The catalogue's rule ``m <- beta * m - eta * g``, ``theta <- theta + m``.
    optax keeps ``v = -m / eta`` instead (``v <- beta * v + g``,
    ``theta <- theta - eta * v``): the same iterates at a constant learning
    rate. With weight decay (``alpha``) this is the lecture's
    ``dW_t = eta (grad + rho W) + mu dW_{t-1}``.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size ``eta``.
    momentum : float, default=0.9
        Momentum coefficient ``beta`` in ``[0, 1)``.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """


class Nesterov(_HeavyBall):
    """Nesterov's accelerated gradient, through ``optax.sgd(nesterov=True)``.

    The catalogue's rule takes the gradient at the look-ahead point:
    ``m <- beta * m - eta * g(theta + beta * m)``, ``theta <- theta + m``.
    optax runs the same method in the look-ahead variable
    ``phi = theta + beta * m`` (Sutskever et al., 2013): the parameters it
    holds -- and the estimator's fitted weights -- are ``phi``, and the
    gradient is taken there, ``phi <- phi + (1 + beta) * m_new - beta * m``.
    The two sequences differ by ``beta * m``, which vanishes as training
    converges.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size ``eta``.
    momentum : float, default=0.9
        Momentum coefficient ``beta`` in ``[0, 1)``.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    _nesterov = True


class AdaGrad(StepwiseSolver):
    """AdaGrad (Duchi et al., 2011), through ``optax.adagrad``.

    ``s <- s + g^2``, ``theta <- theta - eta * g / sqrt(s + epsilon)``: the
    catalogue's ``g_t / sqrt(sum_i g_i^2)`` (``s`` starts at
    ``initial_accumulator_value``; weights whose gradients have all been zero
    do not move).

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size ``eta``.
    initial_accumulator_value : float, default=0.0
        Initial ``s``; 0 is the catalogue's rule (optax's default is 0.1).
        A structural (compile-time) argument.
    epsilon : float, default=1e-7
        Added under the square root.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    def __init__(
        self, learning_rate=0.01, initial_accumulator_value=0.0, epsilon=1e-7,
        clip_norm=None,
    ):  # fmt: skip
        self.learning_rate = learning_rate
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, initial_accumulator_value, epsilon):
        return optax.adagrad(
            learning_rate,
            initial_accumulator_value=initial_accumulator_value,
            eps=epsilon,
        )

    def _hyperparams(self):
        return {"learning_rate": self.learning_rate, "epsilon": self.epsilon}

    def _static(self):
        # It fills the initial state, which is built once per structure.
        return {"initial_accumulator_value": float(self.initial_accumulator_value)}


class ScaleByAdaDeltaState(NamedTuple):
    """State of :func:`scale_by_adadelta`: running means of ``g^2`` and
    ``dW^2``."""

    mean_grad_sq: optax.Updates
    mean_step_sq: optax.Updates


def scale_by_adadelta(rho=0.95, rho_step=None, eps=1e-6):
    """AdaDelta's scaling with separate decays for the two running means.

    ``S <- a S + (1 - a) g^2``; ``u = sqrt(D + eps) / sqrt(S + eps) * g``;
    ``D <- b D + (1 - b) u^2``, where ``D`` on the right of ``u`` holds the
    steps up to the previous one (the catalogue's ``D_t`` with ``dW_{t-1}``).
    With ``a == b`` this is ``optax.scale_by_adadelta``.

    Parameters
    ----------
    rho : float, default=0.95
        Decay ``a`` of the mean squared gradient ``S``.
    rho_step : float or None, default=None
        Decay ``b`` of the mean squared step ``D``; None means ``rho``.
    eps : float, default=1e-6
        Added under both square roots (``D`` starts at zero).

    Returns
    -------
    optax.GradientTransformation
    """
    rho_step = rho if rho_step is None else rho_step

    def init_fn(params):
        zeros = optax.tree.zeros_like(params)
        return ScaleByAdaDeltaState(mean_grad_sq=zeros, mean_step_sq=zeros)

    def update_fn(updates, state, params=None):
        del params
        S = optax.tree.update_moment(updates, state.mean_grad_sq, rho, 2)
        updates = jax.tree.map(
            lambda g, s, d: jnp.sqrt(d + eps) / jnp.sqrt(s + eps) * g,
            updates,
            S,
            state.mean_step_sq,
        )
        D = optax.tree.update_moment(updates, state.mean_step_sq, rho_step, 2)
        return updates, ScaleByAdaDeltaState(mean_grad_sq=S, mean_step_sq=D)

    return optax.GradientTransformation(init_fn, update_fn)


class AdaDelta(StepwiseSolver):
    """AdaDelta (Zeiler, 2012) with the catalogue's two decay rates.

    ``S <- a S + (1 - a) g^2``, ``D <- b D + (1 - b) dW_{t-1}^2``,
    ``dW = -eta * sqrt(D + eps) / sqrt(S + eps) * g``. With the default
    ``learning_rate=1`` the step needs no learning rate (Zeiler's rule) and
    ``D`` accumulates exactly the weight changes ``dW``; with another value
    ``D`` accumulates ``dW / eta``, as in ``optax.adadelta``. ``optax`` has one
    decay for both means, so the scaling is :func:`scale_by_adadelta`, equal
    to optax's when ``rho_step`` is None.

    Parameters
    ----------
    learning_rate : float, default=1.0
        Multiplies the step.
    rho : float, default=0.95
        Decay ``a`` of the mean squared gradient.
    rho_step : float or None, default=None
        Decay ``b`` of the mean squared step; None means ``rho``.
    epsilon : float, default=1e-6
        Added under both square roots.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    def __init__(
        self, learning_rate=1.0, rho=0.95, rho_step=None, epsilon=1e-6, clip_norm=None
    ):
        self.learning_rate = learning_rate
        self.rho = rho
        self.rho_step = rho_step
        self.epsilon = epsilon
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, rho, rho_step, epsilon):
        return optax.chain(
            scale_by_adadelta(rho, rho_step, epsilon),
            optax.scale_by_learning_rate(learning_rate),
        )

    def _hyperparams(self):
        rho_step = self.rho if self.rho_step is None else self.rho_step
        return {
            "learning_rate": self.learning_rate,
            "rho": self.rho,
            "rho_step": rho_step,
            "epsilon": self.epsilon,
        }


class RMSProp(StepwiseSolver):
    """RMSProp (Tieleman and Hinton, 2012), through ``optax.rmsprop``.

    ``s <- rho * s + (1 - rho) g^2``,
    ``theta <- theta - eta * g / sqrt(s + epsilon)`` (epsilon under the root,
    as in the catalogue; ``s`` starts at zero).

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size ``eta``.
    rho : float, default=0.9
        Decay of the mean squared gradient.
    epsilon : float, default=1e-8
        Added under the square root.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-8, clip_norm=None):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, rho, epsilon):
        return optax.rmsprop(learning_rate, decay=rho, eps=epsilon, eps_in_sqrt=True)

    def _hyperparams(self):
        return {
            "learning_rate": self.learning_rate,
            "rho": self.rho,
            "epsilon": self.epsilon,
        }


class Adam(StepwiseSolver):
    """Adam (Kingma and Ba, 2014), through ``optax.adam``.

    ``m`` and ``s`` are moving averages of the gradient and of its square with
    decay ``beta_1`` and ``beta_2``; the step is
    ``lr * m_hat / (sqrt(s_hat + epsilon_root) + epsilon)`` with the
    bias-corrected ``m_hat = m / (1 - beta_1^t)``, ``s_hat = s / (1 - beta_2^t)``.

    The defaults put epsilon outside the root (the paper's Algorithm 1, optax
    and, up to where the bias correction is applied, scikit-learn's 'adam').
    The catalogue's ``eta m_hat / sqrt(s_hat + eps)`` is
    ``Adam(epsilon=0, epsilon_root=eps)``.

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
    epsilon_root : float, default=0.0
        Added to ``s_hat`` under the square root.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
        epsilon_root=0.0, clip_norm=None,
    ):  # fmt: skip
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.epsilon_root = epsilon_root
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, beta_1, beta_2, epsilon, epsilon_root):
        return optax.adam(
            learning_rate, b1=beta_1, b2=beta_2, eps=epsilon, eps_root=epsilon_root
        )

    def _hyperparams(self):
        return {
            "learning_rate": self.learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "epsilon_root": self.epsilon_root,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    ``optax.adamw``: the Adam step plus ``weight_decay * theta``, both scaled
    by the learning rate, ``theta <- theta - eta * (adam + weight_decay *
    theta)``. The decay applies to every parameter, biases included, and is
    separate from the estimator's ``alpha`` (an L2 term of the objective,
    whose gradient Adam rescales).

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decays of the moment averages.
    epsilon : float, default=1e-8
        Added to the denominator.
    epsilon_root : float, default=0.0
        Added under the square root.
    weight_decay : float, default=0.01
        Decoupled weight-decay rate.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
        epsilon_root=0.0, weight_decay=0.01, clip_norm=None,
    ):  # fmt: skip
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            epsilon_root=epsilon_root,
            clip_norm=clip_norm,
        )
        self.weight_decay = weight_decay

    @staticmethod
    def _factory(learning_rate, beta_1, beta_2, epsilon, epsilon_root, weight_decay):
        return optax.adamw(
            learning_rate,
            b1=beta_1,
            b2=beta_2,
            eps=epsilon,
            eps_root=epsilon_root,
            weight_decay=weight_decay,
        )

    def _hyperparams(self):
        return {**super()._hyperparams(), "weight_decay": self.weight_decay}


class NAdam(Adam):
    """Adam with Nesterov momentum (Dozat, 2016), through ``optax.nadam``.

    As :class:`Adam`, but the step uses
    ``beta_1 * m_hat_{t+1} + (1 - beta_1) * g / (1 - beta_1^t)`` in place of
    ``m_hat``: the first moment one step ahead.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decays of the moment averages.
    epsilon : float, default=1e-8
        Added to the denominator.
    epsilon_root : float, default=0.0
        Added under the square root.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    @staticmethod
    def _factory(learning_rate, beta_1, beta_2, epsilon, epsilon_root):
        return optax.nadam(
            learning_rate, b1=beta_1, b2=beta_2, eps=epsilon, eps_root=epsilon_root
        )


@program(static_argnames=("tx",))
def init_state(params, *, tx):
    """``tx.init`` compiled once per transformation and parameter shapes."""
    return tx.init(params)


def set_hyperparams(state, values, dtype):
    """Return ``state`` with its injected hyperparameters set to ``values``."""
    if not values:
        return state
    hyper = dict(state.hyperparams)
    hyper.update(to_device(dict(values), dtype))
    return state._replace(hyperparams=hyper)


def _tree_isfinite(tree):
    """Whether every entry of ``tree`` is finite, through the sum of all
    entries (a NaN or an infinity makes it non-finite): one reduction per
    array instead of an ``isfinite`` pass, which compiles faster. A sum that
    overflows from finite entries (beyond ~3e38 in float32) also counts as
    non-finite; training has diverged long before."""
    return jnp.isfinite(sum(jnp.sum(x) for x in jax.tree_util.tree_leaves(tree)))


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


def _epoch(params, opt_state, state, order, seed, X, Y, w, mask, reg, first_step=0, *,
           tx, net, loss, skip_empty=False, sharding=None):  # fmt: skip
    """:func:`run_epoch`'s computation (not compiled on its own)."""
    key = jax.random.key(seed)
    grad_fn = jax.value_and_grad(objective_and_state, has_aux=True)

    def rows(a, idx):
        if sharding is None:
            return a[idx]
        # Data parallel: each device computes its slice of the minibatch;
        # XLA sums the gradients across devices.
        return jax.lax.with_sharding_constraint(a[idx], sharding)

    def step(carry, inputs):
        params, opt_state, state = carry
        i, idx = inputs
        (value, new_state), grads = grad_fn(
            params, state, rows(X, idx), rows(Y, idx), rows(w, idx), reg["alpha"],
            activation=net,
            loss=loss, key=jax.random.fold_in(key, first_step + i) if net.stochastic else None,
            l1=reg["l1"], entropy=reg["entropy"],
        )  # fmt: skip
        norms = _layer_norms(grads)
        grads = _clip(grads, reg["clip_norm"])
        updates, new_opt_state = tx.update(grads, opt_state, params)
        new = (optax.apply_updates(params, updates), new_opt_state, new_state)
        count = jnp.sum(mask[idx])
        if not skip_empty:
            return new, (value * count, norms, jnp.ones((), norms.dtype))
        # A batch made only of padding rows (models of a batched fit have
        # fewer batches than the longest one) leaves everything unchanged.
        valid = count > 0
        new = jax.tree_util.tree_map(partial(jnp.where, valid), new, carry)
        return new, (jnp.where(valid, value * count, 0.0), norms * valid, valid.astype(norms.dtype))

    steps = jnp.arange(order.shape[0])
    (params, opt_state, state), (weighted, norms, valid) = jax.lax.scan(
        step, (params, opt_state, state), (steps, order)
    )
    mean_loss = jnp.sum(weighted) / jnp.sum(mask)
    mean_norms = norms.sum(axis=0) / valid.sum()
    return params, opt_state, state, mean_loss, mean_norms, _tree_isfinite(params)


@program(static_argnames=("tx", "net", "loss", "sharding"))
def run_epoch(params, opt_state, state, order, seed, X, Y, w, mask, reg, first_step=0, *,
              tx, net, loss, sharding=None):  # fmt: skip
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
    first_step : int scalar
        Index of the first minibatch in the epoch (when an epoch is run in
        chunks of minibatches, each chunk's data streamed from the host): the
        random draws of step ``i`` depend only on ``seed`` and
        ``first_step + i``.
    sharding : jax.sharding.NamedSharding or None
        Data parallel: how each minibatch is split across devices (first
        axis); the parameters are replicated.

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
    return _epoch(params, opt_state, state, order, seed, X, Y, w, mask, reg, first_step,
                  tx=tx, net=net, loss=loss, sharding=sharding)  # fmt: skip


@program(static_argnames=("tx", "net", "loss"))
def run_epochs(active, params, opt_state, state, order, seed, X, Y, w, mask, reg, *,
               tx, net, loss):  # fmt: skip
    """:func:`run_epoch` for a stack of models trained together (``jax.vmap``).

    Every argument of :func:`run_epoch` gains a leading axis of length
    ``n_models``: each model has its own parameters, optimizer state (with
    its own injected hyperparameters), minibatch order, seed, data, weights
    and penalties. ``order`` may hold batches made only of padding rows (for
    models with fewer batches than others): they leave the model unchanged.
    Models whose ``active`` entry is False (they stopped) keep their
    parameters and states.
    """
    out = jax.vmap(partial(_epoch, tx=tx, net=net, loss=loss, skip_empty=True))(
        params, opt_state, state, order, seed, X, Y, w, mask, reg
    )
    kept = select(active, out[:3], (params, opt_state, state))
    return (*kept, *out[3:])


@program
def select(which, new, old):
    """Per model (leading axis), ``new`` where ``which`` else ``old``."""

    def pick(a, b):
        return jnp.where(which.reshape(which.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, new, old)
