"""Minibatch solvers on optax.

Every class here is a :class:`~skneural.solvers.StepwiseSolver`: it names an
optax transformation and its hyperparameters. The estimator runs it on
minibatches of ``batch_size`` rows (``batch_size=n_samples`` is full-batch
gradient descent, ``batch_size=1`` one sample per step). The gradient is that
of the estimator's objective, L2 penalty (``alpha``) included, so weight decay
composes with every solver; ``clip_norm`` clips the gradient's global norm
before the solver sees it.

In the formulas, ``g`` is the minibatch gradient, ``eta`` the learning rate and
``theta`` the parameters; products, squares and roots are per weight.

The compiled epochs that run these transformations are in
:mod:`skneural._epochs`.
"""

from numbers import Real
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from sklearn.utils._param_validation import Interval

from ._base import CLIP_NORM, StepwiseSolver

# Constraints shared by the solvers' parameters.
POSITIVE = [Interval(Real, 0, None, closed="neither")]
NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
#: Momentum coefficients and decay rates that may reach 1.
UNIT = [Interval(Real, 0, 1, closed="both")]
#: Decay rates below 1 (Adam's betas, as scikit-learn's beta_1 and beta_2).
BELOW_ONE = [Interval(Real, 0, 1, closed="left")]


class SGD(StepwiseSolver):
    """Stochastic gradient descent with (Nesterov) momentum, as scikit-learn's.

    The update is scikit-learn's: a velocity ``v <- momentum * v - lr * g``,
    then ``theta <- theta + v`` (with Nesterov's momentum
    ``theta <- theta + momentum * v - lr * g``, the new velocity applied
    once more). The learning rate multiplies only the new gradient, so when
    the estimator's ``learning_rate`` schedule ('invscaling', 'adaptive')
    changes it, the velocity built from past gradients keeps its size, as in
    scikit-learn's MLP (:func:`sgd_velocity`). ``momentum=0`` is plain
    (minibatch) gradient descent ``theta <- theta - lr * g``.

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
    Momentum, Nesterov : The heavy-ball and Nesterov methods in optax's form.
    """

    uses_lr_schedule = True
    _static_params = {"nesterov": bool}
    _estimator_params = {
        "learning_rate": "learning_rate_init",
        "momentum": "momentum",
        "nesterov": "nesterovs_momentum",
    }
    _parameter_constraints = {
        "learning_rate": POSITIVE,
        "momentum": UNIT,
        "nesterov": ["boolean"],
        "clip_norm": CLIP_NORM,
    }

    def __init__(
        self, learning_rate=0.001, momentum=0.9, nesterov=True, clip_norm=None
    ):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, momentum, nesterov):
        return sgd_velocity(learning_rate, momentum, nesterov)


class SGDVelocityState(NamedTuple):
    """State of :func:`sgd_velocity`: the velocity ``v`` (the last step)."""

    velocity: optax.Updates


def sgd_velocity(learning_rate, momentum=0.9, nesterov=True):
    """scikit-learn's SGD with momentum as an optax transformation.

    ``v <- momentum * v - learning_rate * g``; the update is ``v``, or with
    Nesterov's momentum ``momentum * v - learning_rate * g`` (after the
    velocity update). At a constant learning rate this is ``optax.sgd``
    (which keeps ``-v / learning_rate``); when the learning rate changes
    between steps, only the new gradient is scaled by the new rate.

    Parameters
    ----------
    learning_rate : float
        Step size of the current step.
    momentum : float, default=0.9
        Decay of the velocity.
    nesterov : bool, default=True
        Nesterov's momentum.

    Returns
    -------
    optax.GradientTransformation
    """

    def init_fn(params):
        return SGDVelocityState(velocity=optax.tree.zeros_like(params))

    def update_fn(updates, state, params=None):
        del params

        def step(v, g):
            return momentum * v - learning_rate * g

        velocity = jax.tree.map(step, state.velocity, updates)
        if nesterov:
            updates = jax.tree.map(step, velocity, updates)
        else:
            updates = velocity
        return updates, SGDVelocityState(velocity=velocity)

    return optax.GradientTransformation(init_fn, update_fn)


class _HeavyBall(StepwiseSolver):
    """Momentum methods through ``optax.sgd``; ``_nesterov`` picks the rule."""

    _nesterov = False
    _parameter_constraints = {
        "learning_rate": POSITIVE,
        "momentum": UNIT,
        "clip_norm": CLIP_NORM,
    }

    def __init__(self, learning_rate=0.01, momentum=0.9, clip_norm=None):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.clip_norm = clip_norm

    @classmethod
    def _factory(cls, learning_rate, momentum):
        return optax.sgd(learning_rate, momentum=momentum, nesterov=cls._nesterov)


class Momentum(_HeavyBall):
    """Gradient descent with momentum ("heavy ball"), through ``optax.sgd``.

    The classical rule ``m <- beta * m - eta * g``, ``theta <- theta + m``.
    optax keeps ``v = -m / eta`` instead (``v <- beta * v + g``,
    ``theta <- theta - eta * v``): the same iterates at a constant learning
    rate. With weight decay (``alpha``) this is the textbook form (Rumelhart,
    Hinton and Williams, 1986)
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

    Nesterov's rule takes the gradient at the look-ahead point:
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
    paper's ``g_t / sqrt(sum_i g_i^2)`` (``s`` starts at
    ``initial_accumulator_value``; weights whose gradients have all been zero
    do not move).

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size ``eta``.
    initial_accumulator_value : float, default=0.0
        Initial ``s``; 0 is the paper's rule (optax's default is 0.1).
        A structural (compile-time) argument.
    epsilon : float, default=1e-7
        Added under the square root.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    """

    # It fills the initial state, which is built once per structure.
    _static_params = {"initial_accumulator_value": float}
    _parameter_constraints = {
        "learning_rate": POSITIVE,
        "initial_accumulator_value": NON_NEGATIVE,
        "epsilon": NON_NEGATIVE,
        "clip_norm": CLIP_NORM,
    }

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


class ScaleByAdaDeltaState(NamedTuple):
    """State of :func:`scale_by_adadelta`: running means of ``g^2`` and
    ``dW^2``."""

    mean_grad_sq: optax.Updates
    mean_step_sq: optax.Updates


def scale_by_adadelta(rho=0.95, rho_step=None, eps=1e-6):
    """AdaDelta's scaling with separate decays for the two running means.

    ``S <- a S + (1 - a) g^2``; ``u = sqrt(D + eps) / sqrt(S + eps) * g``;
    ``D <- b D + (1 - b) u^2``, where ``D`` on the right of ``u`` holds the
    steps up to the previous one (Zeiler's ``D_t`` with ``dW_{t-1}``).
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
    """AdaDelta (Zeiler, 2012), with separate decay rates for its two averages.

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

    _parameter_constraints = {
        "learning_rate": POSITIVE,
        "rho": UNIT,
        "rho_step": [*UNIT, None],
        "epsilon": NON_NEGATIVE,
        "clip_norm": CLIP_NORM,
    }

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
        # rho_step=None is rho's value, traced like the others.
        hyper = super()._hyperparams()
        if hyper["rho_step"] is None:
            hyper["rho_step"] = hyper["rho"]
        return hyper


class RMSProp(StepwiseSolver):
    """RMSProp (Tieleman and Hinton, 2012), through ``optax.rmsprop``.

    ``s <- rho * s + (1 - rho) g^2``,
    ``theta <- theta - eta * g / sqrt(s + epsilon)`` (epsilon under the root,
    as in Tieleman and Hinton's lecture; ``s`` starts at zero).

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

    _parameter_constraints = {
        "learning_rate": POSITIVE,
        "rho": UNIT,
        "epsilon": NON_NEGATIVE,
        "clip_norm": CLIP_NORM,
    }

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-8, clip_norm=None):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, rho, epsilon):
        return optax.rmsprop(learning_rate, decay=rho, eps=epsilon, eps_in_sqrt=True)
