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
from sklearn.utils._param_validation import Interval, StrOptions

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


class ScaleByAdamEfficientState(NamedTuple):
    """State of :func:`adam_efficient`: step count and moment averages."""

    count: jnp.ndarray
    mu: optax.Updates
    nu: optax.Updates


def adam_efficient(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0):
    """Adam in the "efficient" form of Kingma and Ba (2015), scikit-learn's.

    ``m <- b1 m + (1 - b1) g``, ``s <- b2 s + (1 - b2) g^2`` and the update
    ``-lr_t * m / (sqrt(s + eps_root) + eps)`` with the bias correction folded
    into the step size, ``lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)`` (the
    paper's Section 2, last paragraph; scikit-learn's ``AdamOptimizer``).
    It equals Algorithm 1 (``optax.adam``) up to where ``eps`` sits: here it
    is added to ``sqrt(s)``, there to ``sqrt(s_hat) = sqrt(s / (1 - b2^t))``.

    Parameters
    ----------
    learning_rate : float
        Step size ``lr``.
    b1, b2 : float, default=0.9, 0.999
        Decays of the first- and second-moment averages.
    eps : float, default=1e-8
        Added to the root of the (uncorrected) second moment.
    eps_root : float, default=0.0
        Added to the second moment under the root.

    Returns
    -------
    optax.GradientTransformation
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like(params)
        return ScaleByAdamEfficientState(
            count=jnp.zeros([], jnp.int32), mu=zeros, nu=zeros
        )

    def update_fn(updates, state, params=None):
        del params
        count = state.count + 1
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g**2, state.nu, updates)
        t = count.astype(jnp.asarray(b2).dtype)
        lr_t = learning_rate * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        updates = jax.tree.map(
            lambda m, v: -lr_t * m / (jnp.sqrt(v + eps_root) + eps), mu, nu
        )
        return updates, ScaleByAdamEfficientState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init_fn, update_fn)


#: The forms of :class:`Adam`.
ADAM_FORMS = ("efficient", "algorithm1")


def _adam_form(form):
    """``form`` checked (the static argument of :class:`Adam`)."""
    if form not in ADAM_FORMS:
        raise ValueError(f"form must be one of {sorted(ADAM_FORMS)}, got {form!r}.")
    return form


#: Constraints of the arguments the Adam family shares.
_ADAM_CONSTRAINTS = {
    "learning_rate": POSITIVE,
    "beta_1": BELOW_ONE,
    "beta_2": BELOW_ONE,
    "epsilon": NON_NEGATIVE,
    "epsilon_root": NON_NEGATIVE,
    "clip_norm": CLIP_NORM,
}


class Adam(StepwiseSolver):
    """Adam (Kingma and Ba, 2015), in scikit-learn's form or optax's.

    ``m`` and ``s`` are moving averages of the gradient and of its square with
    decay ``beta_1`` and ``beta_2``, and the bias-corrected averages are
    ``m_hat = m / (1 - beta_1^t)``, ``s_hat = s / (1 - beta_2^t)``. The paper
    gives the step in two forms, which differ only in where ``epsilon`` is
    added:

    * ``form="efficient"`` (default; the paper's Section 2, scikit-learn's
      MLP and the ``solver="adam"`` of the estimators): the bias correction
      is folded into the step size,
      ``lr_t * m / (sqrt(s + epsilon_root) + epsilon)`` with
      ``lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``
      (:func:`adam_efficient`). Float64 fits follow scikit-learn's weights.
    * ``form="algorithm1"`` (the paper's Algorithm 1 and ``optax.adam``):
      ``lr * m_hat / (sqrt(s_hat + epsilon_root) + epsilon)``. The textbook
      rule ``lr * m_hat / sqrt(s_hat + eps)`` is
      ``Adam(form="algorithm1", epsilon=0, epsilon_root=eps)``.

    The two agree while ``sqrt(s_hat)`` is large against ``epsilon``; weights
    with near-zero gradients move differently.

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
        Added to the second moment under the square root.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``g <- g * clip_norm / ||g||`` where ``||g|| > clip_norm``).
    form : {'efficient', 'algorithm1'}, default='efficient'
        Where ``epsilon`` is added (see above). A structural (compile-time)
        argument.

    References
    ----------
    Kingma, D. P. and Ba, J. (2015). Adam: A method for stochastic
    optimization. ICLR (arXiv:1412.6980).
    """

    _static_params = {"form": _adam_form}
    _estimator_params = {
        "learning_rate": "learning_rate_init",
        "beta_1": "beta_1",
        "beta_2": "beta_2",
        "epsilon": "epsilon",
    }
    _parameter_constraints = {
        **_ADAM_CONSTRAINTS,
        "form": [StrOptions(set(ADAM_FORMS))],
    }

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
        epsilon_root=0.0, clip_norm=None, form="efficient",
    ):  # fmt: skip
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.epsilon_root = epsilon_root
        self.clip_norm = clip_norm
        self.form = form

    @staticmethod
    def _factory(learning_rate, beta_1, beta_2, epsilon, epsilon_root, form):
        if form == "efficient":
            return adam_efficient(
                learning_rate, b1=beta_1, b2=beta_2, eps=epsilon, eps_root=epsilon_root
            )
        return optax.adam(
            learning_rate, b1=beta_1, b2=beta_2, eps=epsilon, eps_root=epsilon_root
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    ``optax.adamw``: the Adam step (Algorithm 1's form) plus ``weight_decay * theta``, both scaled
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

    # Its own defaults when named (solver='adamw'), with no form.
    _static_params = {}
    _estimator_params = {}
    _parameter_constraints = {**_ADAM_CONSTRAINTS, "weight_decay": NON_NEGATIVE}

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
        epsilon_root=0.0, weight_decay=0.01, clip_norm=None,
    ):  # fmt: skip
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.epsilon_root = epsilon_root
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm

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


class NAdam(Adam):
    """Adam with Nesterov momentum (Dozat, 2016), through ``optax.nadam``.

    As :class:`Adam` in Algorithm 1's form, but the step uses
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

    # Its own defaults when named (solver='nadam'), with no form.
    _static_params = {}
    _estimator_params = {}
    _parameter_constraints = _ADAM_CONSTRAINTS

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
        return optax.nadam(
            learning_rate, b1=beta_1, b2=beta_2, eps=epsilon, eps_root=epsilon_root
        )
