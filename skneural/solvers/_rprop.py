"""RProp: resilient backpropagation, as an optax transformation.

optax has ``optax.rprop``, but not used here: it implements the iRprop-
variant only; it fills its initial step sizes from the learning rate when the
state is created (here the initial step is a traced hyperparameter, searchable
without recompiling); and, in the optax versions skneural supports (checked
with 0.2.8), its ``scale_by_rprop`` returns the *previous* step's update, so
that every update lags one step and the first is zero (optax pull request
#1725). :func:`rprop` implements both Riedmiller and Braun's (1993) rule
(without weight-backtracking, the default) and iRprop-, and the tests check
both against the formulas.
"""

from numbers import Real
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import CLIP_NORM, StepwiseSolver, as_given


class RpropState(NamedTuple):
    """State of :func:`rprop`."""

    count: jax.Array  # updates done so far
    step_sizes: optax.Updates  # per-weight eta_{t-1}
    prev_grads: optax.Updates  # grad_{t-1} (zeroed after a sign change: iRprop-)


def rprop(
    learning_rate,
    eta_plus=1.2,
    eta_minus=0.5,
    min_step_size=1e-6,
    max_step_size=50.0,
    *,
    variant="rprop-",
):
    """Rprop's update (sign included), per weight.

    With ``p = grad_{t-1} * grad_t``::

        eta_t = min(max_step_size, eta_plus * eta_{t-1})   if p > 0
                max(min_step_size, eta_minus * eta_{t-1})  if p < 0
                eta_{t-1}                                   if p = 0
        dW_t  = -eta_t * sign(grad_t)

    ``eta_0 = learning_rate``; ``grad_{-1} = 0``, so the first step is
    ``-learning_rate * sign(grad_0)``.

    Parameters
    ----------
    learning_rate : float
        Initial step size ``eta_0``.
    eta_plus, eta_minus : float, default=1.2, 0.5
        Growth and shrink factors (``a`` and ``b`` above).
    min_step_size, max_step_size : float, default=1e-6, 50.0
        Bounds of the step sizes.
    variant : {'rprop-', 'irprop-'}, default='rprop-'
        'rprop-' is the rule as written above (Rprop without
        weight-backtracking, Igel and Huesken 2000). 'irprop-' additionally
        skips the step of a weight whose gradient changed sign and stores a
        zero gradient for it, so that its next step size is not shrunk again
        (the variant of ``optax.rprop`` and ``torch.optim.Rprop``).

    Returns
    -------
    optax.GradientTransformation
    """
    if variant not in ("rprop-", "irprop-"):
        raise ValueError(f"variant must be 'rprop-' or 'irprop-', got {variant!r}.")

    def init_fn(params):
        zeros = optax.tree.zeros_like(params)
        return RpropState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update_fn(grads, state, params=None):
        del params
        first = state.count == 0

        def one(g, prev_g, step):
            step = jnp.where(first, jnp.asarray(learning_rate, step.dtype), step)
            p = g * prev_g
            step = jnp.where(
                p > 0,
                jnp.minimum(step * eta_plus, max_step_size),
                jnp.where(p < 0, jnp.maximum(step * eta_minus, min_step_size), step),
            )
            if variant == "irprop-":
                g = jnp.where(p < 0, jnp.zeros_like(g), g)
            return -step * jnp.sign(g), step, g

        out = jax.tree.map(one, grads, state.prev_grads, state.step_sizes)
        leaves = jax.tree.structure(grads)
        updates, steps, stored = jax.tree.transpose(
            leaves, jax.tree.structure((0, 0, 0)), out
        )
        return updates, RpropState(optax.safe_increment(state.count), steps, stored)

    return optax.GradientTransformation(init_fn, update_fn)


class RProp(StepwiseSolver):
    """Resilient backpropagation (Riedmiller and Braun, 1993).

    Each weight has its own step size, adapted from the signs of two
    successive gradients: multiplied by ``eta_plus`` (``a = 1.2``) while the
    sign stays, by ``eta_minus`` (``b = 0.5``) when it flips, kept within
    ``[min_step_size, max_step_size] = [1e-6, 50]``; the weight moves by its
    step size against the sign of its gradient (see :func:`rprop`). The
    default ``variant='rprop-'`` is Riedmiller and Braun's (1993) rule (no
    weight-backtracking; after a sign change the weight still moves, by the
    shrunk step); ``'irprop-'`` is iRprop- (as ``torch.optim.Rprop``).

    RProp is a full-batch method: the signs it compares are those of the
    gradient of the whole objective. It runs on whatever minibatches the
    estimator's ``batch_size`` makes (with ``'auto'``, ``min(200,
    n_samples)`` rows), where the sign of a minibatch gradient is a noisy
    estimate and the step sizes collapse; pass ``batch_size=n_samples`` (or
    any value at least the number of samples) for the algorithm as
    published. ``alpha`` adds its L2 term to the gradient (the published
    RProp has no regularisation: set ``alpha=0``). Clipping rescales the
    gradient without changing its signs, so ``clip_norm`` is accepted, as by
    every stepwise solver, but does not change RProp's steps.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Initial step size ``eta_0`` of every weight.
    eta_plus : float, default=1.2
        Growth factor ``a``.
    eta_minus : float, default=0.5
        Shrink factor ``b``.
    min_step_size : float, default=1e-6
        Lower bound of a step size.
    max_step_size : float, default=50.0
        Upper bound of a step size.
    variant : {'rprop-', 'irprop-'}, default='rprop-'
        The update rule (structural).
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before the update.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skneural import NeuralClassifier
    >>> from skneural.solvers import RProp
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = NeuralClassifier((10,), solver=RProp(), batch_size=len(X),
    ...                        max_iter=200, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _static_params = {"variant": as_given}
    _parameter_constraints = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "eta_plus": [Interval(Real, 0, None, closed="neither")],
        "eta_minus": [Interval(Real, 0, None, closed="neither")],
        "min_step_size": [Interval(Real, 0, None, closed="left")],
        "max_step_size": [Interval(Real, 0, None, closed="neither")],
        "variant": [StrOptions({"rprop-", "irprop-"})],
        "clip_norm": CLIP_NORM,
    }

    def __init__(
        self, learning_rate=0.01, eta_plus=1.2, eta_minus=0.5, min_step_size=1e-6,
        max_step_size=50.0, variant="rprop-", clip_norm=None,
    ):  # fmt: skip
        self.learning_rate = learning_rate
        self.eta_plus = eta_plus
        self.eta_minus = eta_minus
        self.min_step_size = min_step_size
        self.max_step_size = max_step_size
        self.variant = variant
        self.clip_norm = clip_norm

    @staticmethod
    def _factory(
        learning_rate, eta_plus, eta_minus, min_step_size, max_step_size, variant
    ):
        return rprop(
            learning_rate,
            eta_plus,
            eta_minus,
            min_step_size,
            max_step_size,
            variant=variant,
        )
