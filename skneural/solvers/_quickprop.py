"""QuickProp (Fahlman, 1988) as an optax transformation.

optax has no QuickProp; :func:`quickprop` is written as an
``optax.GradientTransformation`` so that it composes (clipping, schedules,
``optax.chain``) like the library's own.
"""

from numbers import Real
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from sklearn.utils._param_validation import Interval

from ._base import CLIP_NORM, StepwiseSolver


class QuickPropState(NamedTuple):
    """State of :func:`quickprop`: the previous gradient and weight change."""

    prev_grads: optax.Updates  # S(t-1)
    prev_updates: optax.Updates  # dW(t-1)


def quickprop(learning_rate, mu_max=1.75):
    """Fahlman's (1988) QuickProp update, per weight.

    With ``S = S(t)`` the gradient of the objective (L2 term ``rho W``
    included), ``S' = S(t-1)`` and ``dW' = dW(t-1)``::

        beta  = S / (S' - S)
        gamma = S * (-dW') * beta
        mu    = mu_max  if beta > mu_max or gamma < 0  else  beta
        eta   = learning_rate  if dW' = 0 or -dW' * S > 0  else  0
        dW    = -eta * S + mu * dW'

    ``S(-1) = dW(-1) = 0``, so the first step is ``-learning_rate * S``. Where
    ``S' = S`` the quotient is taken as ``+inf`` (so ``mu = mu_max``) if
    ``S != 0`` and as 0 if ``S = 0`` (a weight with a zero gradient stays
    still).

    Parameters
    ----------
    learning_rate : float
        ``eta0``, the gradient step where it applies.
    mu_max : float, default=1.75
        Largest momentum factor (Fahlman's maximum growth factor).

    Returns
    -------
    optax.GradientTransformation
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like(params)
        return QuickPropState(prev_grads=zeros, prev_updates=zeros)

    def update_fn(grads, state, params=None):
        del params

        def one(S, S_prev, dW_prev):
            denom = S_prev - S
            safe = jnp.where(denom != 0, denom, 1)
            # "+inf" as any value above mu_max: it selects mu_max below.
            beta = jnp.where(
                denom != 0, S / safe, jnp.where(S == 0, 0, mu_max + 1).astype(S.dtype)
            )
            gamma = S * (-dW_prev) * beta
            mu = jnp.where((beta > mu_max) | (gamma < 0), mu_max, beta)
            eta = jnp.where((dW_prev == 0) | (-dW_prev * S > 0), learning_rate, 0)
            return (-eta * S + mu * dW_prev).astype(S.dtype)

        updates = jax.tree.map(one, grads, state.prev_grads, state.prev_updates)
        return updates, QuickPropState(prev_grads=grads, prev_updates=updates)

    return optax.GradientTransformation(init_fn, update_fn)


class QuickProp(StepwiseSolver):
    """QuickProp (Fahlman, 1988): a secant step per weight.

    Every weight takes a secant ("quadratic") step towards the minimum of the
    parabola through its last two slopes, ``beta * dW(t-1)`` with
    ``beta = S(t) / (S(t-1) - S(t))``, its growth bounded by ``mu_max`` (1.75);
    a gradient step ``-eta0 * S`` is added only while the slope keeps the
    direction of the previous step (see :func:`quickprop` for the exact rule).
    ``S`` is the gradient of the estimator's objective, so Fahlman's
    weight-decay term ``rho W`` is the estimator's ``alpha`` term.

    Like :class:`RProp`, QuickProp is a full-batch method: it compares
    successive gradients of one function. It runs on the minibatches the
    estimator's ``batch_size`` makes, where successive slopes belong to
    different minibatches and the secant steps are noise; pass
    ``batch_size=n_samples`` (or larger) for the algorithm as published.

    Parameters
    ----------
    learning_rate : float, default=0.1
        ``eta0``; typical values lie between 0.01 and 0.6.
    mu_max : float, default=1.75
        Largest momentum factor.
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update
        (``S <- S * clip_norm / ||S||`` where ``||S|| > clip_norm``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skneural import NeuralClassifier
    >>> from skneural.solvers import QuickProp
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = NeuralClassifier((10,), solver=QuickProp(), batch_size=len(X),
    ...                        max_iter=200, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "mu_max": [Interval(Real, 0, None, closed="left")],
        "clip_norm": CLIP_NORM,
    }

    def __init__(self, learning_rate=0.1, mu_max=1.75, clip_norm=None):
        self.learning_rate = learning_rate
        self.mu_max = mu_max
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(learning_rate, mu_max):
        return quickprop(learning_rate, mu_max)
