"""What a failed call leaves behind: nothing.

:func:`unchanged_on_error` wraps the estimators' ``fit`` and ``partial_fit``:
it records the estimator's attributes before the call and, when the call
raises (bad input found during validation, an error inside training), puts
them back, so the estimator is exactly as it was before the call. Only the
containers are copied (lists and dicts, which training appends to); the
arrays are shared, as training replaces them rather than writing into them.
"""

import copy
import functools

from ._stopping import ATTRIBUTES, History

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


def read_history(est):
    """The estimator's training history (:class:`~skneural._stopping.History`);
    fields it does not have take their defaults."""
    defaults = History()
    return History(**{
        field: copy.deepcopy(getattr(est, attr, getattr(defaults, field)))
        for field, attr in ATTRIBUTES.items()
    })  # fmt: skip


def write_history(est, history):
    """Store ``history`` as the estimator's fitted attributes."""
    for field, attr in ATTRIBUTES.items():
        setattr(est, attr, getattr(history, field))


def start_history(est):
    """The training history of a fresh fit: empty curves and scikit-learn
    MLP's stopping bookkeeping (validation scores with early stopping, the
    best training loss without)."""
    fresh = History.fresh(est.early_stopping)
    for field in ATTRIBUTES:
        if field not in ("n_iter", "t", "loss"):
            setattr(est, ATTRIBUTES[field], getattr(fresh, field))
