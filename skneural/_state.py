"""What a failed call leaves behind: nothing.

:func:`unchanged_on_error` wraps the estimators' ``fit`` and ``partial_fit``:
it records the estimator's attributes before the call and, when the call
raises (bad input found during validation, an error inside training), puts
them back, so the estimator is exactly as it was before the call. Only the
containers are copied (lists and dicts, which training appends to); the
arrays are shared, as training replaces them rather than writing into them.
"""

import functools

import numpy as np

#: Attributes of scikit-learn's callback machinery: managed by ``_fit_context``
#: around the call, never restored here.
_CALLBACK_MARK = "callback"


def _copy_containers(value):
    if type(value) is list:
        return [_copy_containers(v) for v in value]
    if type(value) is dict:
        return {k: _copy_containers(v) for k, v in value.items()}
    return value


def snapshot(est):
    """The estimator's attributes, containers copied."""
    return {
        k: _copy_containers(v) for k, v in vars(est).items() if _CALLBACK_MARK not in k
    }


def restore(est, saved):
    """Put back the attributes recorded by :func:`snapshot`."""
    for k in [k for k in vars(est) if _CALLBACK_MARK not in k and k not in saved]:
        delattr(est, k)
    vars(est).update(saved)


def unchanged_on_error(method):
    """Decorate a fitting method: when it raises, the estimator is restored."""

    @functools.wraps(method)
    def wrapper(est, *args, **kwargs):
        saved = snapshot(est)
        try:
            return method(est, *args, **kwargs)
        except BaseException:
            restore(est, saved)
            raise

    return wrapper


def start_history(est):
    """The training history of a fresh fit: empty curves and scikit-learn
    MLP's stopping bookkeeping (validation scores with early stopping, the
    best training loss without)."""
    est.loss_curve_ = []
    est.grad_norm_curve_ = []
    est._no_improvement_count = 0
    if est.early_stopping:
        est.validation_scores_ = []
        est.validation_loss_curve_ = []
        est.best_validation_score_ = -np.inf
        est.best_loss_ = None
    else:
        est.validation_scores_ = None
        est.validation_loss_curve_ = None
        est.best_validation_score_ = None
        est.best_loss_ = np.inf
