"""Adam and its variants (AdamW, NAdam) as stepwise solvers."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from sklearn.utils._param_validation import StrOptions

from ._base import CLIP_NORM, StepwiseSolver
from ._stepwise import BELOW_ONE, NON_NEGATIVE, POSITIVE


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
