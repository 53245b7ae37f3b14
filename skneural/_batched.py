"""Training many estimators at once, and handing the results to their ``fit``.

:func:`train_batched` prepares each estimator's fit exactly as its own
``fit`` would (validation, initialisation, random draws), groups the stepwise
fits that can share one compiled program (same architecture, solver, batch
shape and dtype) and trains each group with :func:`skneural._driver.train`,
in one program.

A batched search uses it through :func:`prefit`: the fitted states are kept
in a registry keyed by the estimator's parameters and a hash of its training
data, and an estimator's ``fit`` called with exactly those parameters and data
takes its fitted state from there instead of training (:func:`_prefitted`).
The registry is filled and emptied by the search; outside a search it is empty
and ``fit`` trains as usual.
"""

import contextlib
import copy

import joblib
import scipy.sparse as sp

from . import _devices
from ._state import restore, snapshot
from ._driver import train

#: Registry of prefitted states: key -> ``vars(estimator)`` after its fit.
_PREFIT = {}

#: Upper bound on the training data (in bytes, padded, all models together)
#: that one batched program stacks on the device; larger groups are split.
MAX_BATCH_BYTES = 2**31


def _key(est, X, y, sample_weight):
    try:
        return (
            type(est).__qualname__,
            joblib.hash(est.get_params(deep=False)),
            joblib.hash(X),
            joblib.hash(y),
            joblib.hash(sample_weight),
        )
    except Exception:  # parameters that cannot be hashed (e.g. closures)
        return None


def _prefitted(est, X, y, sample_weight):
    """The fitted state prepared for ``est.fit(X, y, sample_weight)``, or None."""
    if not _PREFIT:
        return None
    state = _PREFIT.get(_key(est, X, y, sample_weight))
    return None if state is None else copy.deepcopy(state)


def train_batched(jobs):
    """Fit ``(estimator, X, y, sample_weight)`` jobs, stepwise ones together.

    Returns the list of fitted estimators, with None for the jobs that were
    not trained here (whole-batch solvers, invalid parameters or data: their
    own ``fit`` deals with them).
    """
    from .solvers import StepwiseSolver

    if len({id(job[0]) for job in jobs}) != len(jobs):
        raise ValueError(
            "The same estimator object appears more than once; each job needs "
            "its own estimator (use sklearn.base.clone)."
        )
    configs, fitted = [], [None] * len(jobs)
    for i, (est, X, y, sample_weight) in enumerate(jobs):
        if getattr(est, "_skl_callbacks", None):
            continue  # callbacks follow a fit of their own
        saved = snapshot(est)
        try:
            est._validate_params()
            with _devices.scope(_devices.resolve(est.device)):
                prepared = est._prepare(X, y, sample_weight, incremental=False)
            if not isinstance(prepared[3], StepwiseSolver) or sp.issparse(prepared[0]):
                # Whole-batch solvers, and sparse X (minibatches of its own
                # entries), are fitted on their own.
                restore(est, saved)
                continue
            est._fitted_net = est._layer_activations
            configs.append((i, est._stepwise_config(*prepared, incremental=False)))
        except Exception:  # the estimator's own fit raises it again
            restore(est, saved)
            continue
    groups = {}
    for i, config in configs:
        groups.setdefault(config.group_key, []).append((i, config))
    for group in groups.values():
        chunk, size = [], 0
        for i, config in group + [(None, None)]:
            nbytes = 0 if config is None else sum(a.nbytes for a in config.data.values())
            if config is None or (chunk and size + nbytes > MAX_BATCH_BYTES):
                if chunk:
                    results = train([c for _, c in chunk])
                    for (j, _), result in zip(chunk, results):
                        jobs[j][0]._apply_result(result)
                        fitted[j] = jobs[j][0]
                chunk, size = [], 0
            if config is not None:
                chunk.append((i, config))
                size += nbytes
    return fitted


@contextlib.contextmanager
def prefit(jobs):
    """Train ``jobs`` with :func:`train_batched` and, inside the block, let
    ``fit`` with the same parameters and data take the trained states.

    Yields the number of jobs trained in batches.
    """
    keys = [_key(est, X, y, sw) for est, X, y, sw in jobs]
    todo = [job for job, key in zip(jobs, keys) if key is not None]
    todo_keys = [key for key in keys if key is not None]
    fitted = train_batched(todo)
    added = []
    for key, est in zip(todo_keys, fitted):
        if est is not None and key not in _PREFIT:
            _PREFIT[key] = dict(vars(est))
            added.append(key)
    try:
        yield len(added)
    finally:
        for key in added:
            _PREFIT.pop(key, None)
