"""Per-model bookkeeping of a stepwise fit: history, stopping, learning rate.

Everything here is host-side and per model, so that one model trained alone
and the same model trained in a stack with others take the same decisions:

- :class:`History`: what a fitted estimator carries from fit to fit (its
  curves, ``n_iter_``, ``t_``, scikit-learn MLP's stopping counters);
- :class:`LearningRate`: scikit-learn MLP's learning-rate schedules;
- :class:`Stopping`: after each epoch, divergence (:meth:`Stopping.check_finite`)
  and the ``tol`` / ``n_iter_no_change`` / early-stopping / ``max_iter``
  decisions (:meth:`Stopping.after_epoch`), with the gradient diagnostics.
"""

import copy
import warnings
from dataclasses import dataclass, field, fields

import numpy as np
from sklearn.exceptions import ConvergenceWarning

#: Gradient diagnostics (see ``grad_norm_curve_``): a warning is emitted once
#: per fit when a layer's mean gradient norm in an epoch grows past
#: GRAD_NORM_EXPLODING times its value in the fit's first epoch, or when the
#: first layer's falls below GRAD_NORM_VANISHING times the output layer's.
GRAD_NORM_EXPLODING = 1e3
GRAD_NORM_VANISHING = 1e-4

#: A finite loss above this many times the fit's first epoch loss counts as
#: divergence (training stops, the lowest-loss parameters are kept).
DIVERGENCE_FACTOR = 1e4


class GradientWarning(UserWarning):
    """Warning about exploding or vanishing gradients during training (see
    ``grad_norm_curve_``)."""


@dataclass
class History:
    """The training history of one model, as its fitted attributes hold it.

    Each field is the fitted attribute named in :data:`ATTRIBUTES`; a fit
    starts from the estimator's current history (continued by ``warm_start``
    and ``partial_fit``, as scikit-learn's MLP continues it) and returns the
    updated one, which the estimator stores.
    """

    n_iter: int = 0
    t: int = 0
    loss: float = None
    loss_curve: list = field(default_factory=list)
    grad_norm_curve: list = field(default_factory=list)
    validation_scores: list = None
    validation_loss_curve: list = None
    best_loss: float = None
    best_validation_score: float = None
    no_improvement_count: int = 0

    @classmethod
    def fresh(cls, early_stopping):
        """The history of a fresh fit: scikit-learn MLP's starting values
        (validation scores with early stopping, the best training loss
        without)."""
        if early_stopping:
            return cls(validation_scores=[], validation_loss_curve=[],
                       best_validation_score=-np.inf)  # fmt: skip
        return cls(best_loss=np.inf)

    def continued(self, early_stopping):
        """A copy to continue training with, completed where the previous
        fit did not keep a field this one needs (an earlier fit without early
        stopping, or by a whole-batch solver)."""
        h = copy.deepcopy(self)
        h.n_iter = 0
        h.loss_curve = list(h.loss_curve or [])
        h.grad_norm_curve = list(h.grad_norm_curve or [])
        if early_stopping:
            if h.validation_scores is None:
                h.validation_scores = []
                h.best_validation_score = -np.inf
            if h.validation_loss_curve is None:
                h.validation_loss_curve = []
        elif h.best_loss is None:
            h.best_loss = np.inf
        return h


#: History field -> the estimator's attribute.
ATTRIBUTES = {f.name: f.name + "_" for f in fields(History)}
ATTRIBUTES["no_improvement_count"] = "_no_improvement_count"


def check_gradients(norms, first, epoch):
    """Warn about exploding or vanishing gradients; True if it warned."""
    norms = np.asarray(norms, dtype=np.float64)
    if np.any(norms > GRAD_NORM_EXPLODING * np.asarray(first)):
        warnings.warn(
            f"Exploding gradients at epoch {epoch}: layer gradient norms "
            f"grew from {np.round(first, 4).tolist()} in the first epoch to "
            f"{np.round(norms, 4).tolist()} (more than {GRAD_NORM_EXPLODING:g} "
            "times). Lower the learning rate, scale the inputs or set clip_norm.",
            GradientWarning,
        )
        return True
    if norms[-1] > 0 and norms[0] < GRAD_NORM_VANISHING * norms[-1]:
        warnings.warn(
            f"Vanishing gradients at epoch {epoch}: the first layer's "
            f"gradient norm {norms[0]:.3g} is below {GRAD_NORM_VANISHING:g} times "
            f"the output layer's ({norms[-1]:.3g}). Try a ReLU-like activation, "
            "batch_norm=True or fewer layers.",
            GradientWarning,
        )
        return True
    return False


class LearningRate:
    """scikit-learn MLP's learning-rate schedules of SGD.

    'constant' keeps the solver's rate; 'invscaling' sets ``eta_t = eta_0 /
    (t + 1) ** power_t`` after every epoch (``t`` samples seen so far);
    'adaptive' divides the rate by 5 when the loss (or validation score)
    stops improving, down to 1e-6.

    Parameters
    ----------
    schedule : {'constant', 'invscaling', 'adaptive'}
    initial : float
        ``eta_0``, the solver's learning rate.
    current : float or None
        The rate the optimizer state holds now (a continued ``partial_fit``
        keeps an adapted one); None for 'constant'.
    power_t : float
    """

    def __init__(self, schedule, initial, current, power_t):
        self.schedule, self.initial, self.power_t = schedule, initial, power_t
        self.value = current

    def after_epoch(self, t):
        """The new rate after an epoch (``t`` samples seen), or None."""
        if self.schedule != "invscaling":
            return None
        self.value = float(self.initial) / (t + 1) ** self.power_t
        return self.value

    def reduce(self):
        """'adaptive': divide the rate by 5 (True) unless it reached 1e-6."""
        if self.schedule == "adaptive" and self.value > 1e-6:
            self.value /= 5.0
            return True
        return False


class Stopping:
    """Stopping state of one model's stepwise fit.

    Holds the model's :class:`History` (updated every epoch) and decides,
    after each epoch, whether training goes on: divergence, scikit-learn
    MLP's ``tol`` / ``n_iter_no_change`` test on the training loss or (early
    stopping) the validation score, ``max_iter``, a single epoch for
    ``partial_fit``, a callback's request. It also tracks the epoch with the
    lowest loss (restored after a divergence) and the best validation score
    (kept at the end with early stopping).

    Attributes
    ----------
    active : bool
        Training goes on.
    best : bool
        The last epoch's parameters are the best so far on the validation set.
    improved : bool
        The last epoch's loss is this fit's lowest.
    diverged : bool
        Training stopped on a divergence.
    """

    def __init__(self, history, *, tol, n_iter_no_change, early_stopping, max_iter,
                 incremental, n_samples, learning_rate, reporter):  # fmt: skip
        self.history = history
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.early_stopping, self.max_iter = early_stopping, max_iter
        self.incremental, self.n_samples = incremental, n_samples
        self.learning_rate, self.reporter = learning_rate, reporter
        self.active, self.best, self.improved, self.diverged = True, False, False, False
        self.warned = False
        self.lowest_loss, self.lowest_epoch = np.inf, None

    def check_finite(self, loss, finite, norms=None):
        """False (with a ConvergenceWarning) when the epoch diverged.

        Diverged: the loss or the parameters are not finite, or the loss grew
        past ``DIVERGENCE_FACTOR`` times the first epoch's. The driver then
        restores the parameters of this fit's epoch with the lowest loss
        (:attr:`improved` marks them), or this fit's initial ones.
        """
        h = self.history
        first = h.loss_curve[0] if h.loss_curve else None
        finite = bool(finite) and bool(np.isfinite(loss))
        if finite and (first is None or loss <= DIVERGENCE_FACTOR * max(first, 1e-3)):
            return True
        if not np.isfinite(loss):
            what = f"the loss became non-finite ({loss})"
        elif not finite:
            what = f"the parameters became non-finite (loss {loss:.4g})"
        else:
            what = (
                f"the loss grew to {loss:.4g}, more than {DIVERGENCE_FACTOR:g} "
                f"times the first epoch's ({first:.4g})"
            )
        kept = (
            "the parameters from the start of this fit were kept"
            if self.lowest_epoch is None
            else f"the parameters of epoch {self.lowest_epoch} (this fit's lowest "
            f"loss, {self.lowest_loss:.4g}) were kept"
        )
        self.reporter.end("diverged")
        norms = None if norms is None else np.asarray(norms, dtype=np.float64)
        if (not self.warned and norms is not None and np.isfinite(norms).all()
                and h.grad_norm_curve and h.n_iter):  # fmt: skip
            # The diverging epoch's gradients tell why.
            first = h.grad_norm_curve[-h.n_iter]
            self.warned = check_gradients(norms, first, h.n_iter + 1)
        warnings.warn(
            f"Training stopped at epoch {h.n_iter + 1}: {what}; {kept}. "
            "Lower the learning rate or scale the inputs.",
            ConvergenceWarning,
        )
        self.active = False
        self.diverged = True
        return False

    def after_epoch(self, loss, norms, score=None, val_loss=None, seconds=0.0,
                    params=None, state=None):  # fmt: skip
        """Bookkeeping after a finite epoch; returns the new learning rate or None.

        ``score`` and ``val_loss`` are the validation score and objective
        (early stopping); ``params`` and ``state``, the epoch's parameters, go
        to the progress callbacks.
        """
        h = self.history
        h.n_iter += 1
        self.improved = loss < self.lowest_loss
        if self.improved:
            self.lowest_loss, self.lowest_epoch = loss, h.n_iter
        h.loss = loss
        h.t += self.n_samples
        h.loss_curve.append(loss)
        h.grad_norm_curve.append(np.asarray(norms, dtype=np.float64))
        first_norms = h.grad_norm_curve[-h.n_iter]
        self.warned = self.warned or check_gradients(norms, first_norms, h.n_iter)
        if self.early_stopping:
            h.validation_loss_curve.append(float(val_loss))
        self.best = self._count_no_improvement(score)
        if self.reporter.epoch(  # True when a callback asks to stop
            h.n_iter,
            loss,
            h.validation_scores[-1] if self.early_stopping else None,
            seconds,
            params=params,
            state=state,
        ):
            self.active = False
            return None
        new_lr = self.learning_rate.after_epoch(h.t)
        if h.no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            msg = (
                f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs."
            )
            if self.learning_rate.reduce():
                new_lr = self.learning_rate.value
                h.no_improvement_count = 0
                self.reporter.message(msg + " Setting learning rate to %f" % new_lr)
            else:
                self.reporter.end("converged", msg + " Stopping.")
                self.active = False
        if self.incremental:
            self.active = False
        elif self.active and h.n_iter >= self.max_iter:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and "
                "the optimization hasn't converged yet." % self.max_iter,
                ConvergenceWarning,
            )
            self.active = False
        return new_lr

    def _count_no_improvement(self, score):
        """scikit-learn MLP's ``_update_no_improvement_count``; True when
        these are the best parameters on the validation set."""
        h = self.history
        if self.early_stopping:
            h.validation_scores.append(score)
            if score < h.best_validation_score + self.tol:
                h.no_improvement_count += 1
            else:
                h.no_improvement_count = 0
            if score > h.best_validation_score:
                h.best_validation_score = score
                return True
            return False
        if h.loss_curve[-1] > h.best_loss - self.tol:
            h.no_improvement_count += 1
        else:
            h.no_improvement_count = 0
        if h.loss_curve[-1] < h.best_loss:
            h.best_loss = h.loss_curve[-1]
        return False
