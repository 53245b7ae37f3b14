"""Hyperparameter searches and ensembles that train many networks at once.

:class:`BatchedGridSearchCV` and :class:`BatchedRandomizedSearchCV` are
scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` and
:class:`~sklearn.model_selection.RandomizedSearchCV` (same parameters, same
attributes, same results) with one difference in how the candidates are
trained: every (candidate, fold) fit of a stepwise solver is prepared as its
own ``fit`` would prepare it, and the fits that share an architecture, a
solver, a batch size and a dtype are trained together, in one compiled program
that steps all of them at once (``jax.vmap``). Numeric hyperparameters
(``learning_rate_init``, ``alpha``, ``l1``, ``momentum``, Adam's betas,
``random_state``, ``tol``, ``max_iter``, schedules, early stopping...) can
differ within such a group; each model keeps its own random draws and
stopping decisions, so it ends with the parameters its own fit would have
reached, up to floating-point rounding. The search then scores the trained
models exactly as scikit-learn's search does.

:func:`fit_batched` does the same for a list of estimators on one data set,
for example an ensemble over random seeds.
"""

import inspect
import time

import jax
import numpy as np
from joblib import parallel_config
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params

from . import _devices
from ._batched import prefit, train_batched
from ._estimators import BaseNeural

__all__ = ["BatchedGridSearchCV", "BatchedRandomizedSearchCV", "fit_batched"]


def fit_batched(estimators, X, y, sample_weight=None, *, batched="auto"):
    """Fit several skneural estimators on the same data, together.

    Estimators with a stepwise solver that share an architecture, a solver
    type, a batch size and a dtype are trained in one compiled program, all
    models stepping at once; the others are fitted one by one. Each estimator
    ends as if ``est.fit(X, y, sample_weight)`` had been called on it (up to
    floating-point rounding): same initial weights, minibatch orders, stopping
    and fitted attributes.

    Parameters
    ----------
    estimators : list of NeuralClassifier or NeuralRegressor
        Estimators to fit (in place), for example clones of one estimator with
        different ``random_state`` (an ensemble) or hyperparameters. Each
        must be a distinct object: the same object twice is an error.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    batched : {'auto', True, False}, default='auto'
        Whether to train together: True always, False never (one fit after
        another), 'auto' when the estimators compute on an accelerator (GPU,
        TPU). On a CPU a stack of small models costs as much per model as
        fitting them one by one, and its compilation and lockstep (models
        that stopped wait for the others) make it slower overall: see
        :ref:`batched_search`.

    Returns
    -------
    estimators : list
        The same estimators, fitted.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from sklearn.datasets import load_iris
    >>> from skneural import NeuralClassifier
    >>> from skneural.model_selection import fit_batched
    >>> X, y = load_iris(return_X_y=True)
    >>> base = NeuralClassifier(hidden_layer_sizes=(16,), max_iter=50)
    >>> ensemble = fit_batched(
    ...     [clone(base).set_params(random_state=s) for s in range(5)], X, y,
    ...     batched=True)
    >>> len({round(m.loss_, 6) for m in ensemble})
    5
    """
    estimators = list(estimators)
    for est in estimators:
        if not isinstance(est, BaseNeural):
            raise TypeError(
                "fit_batched fits skneural estimators; got "
                f"{type(est).__name__}. Use a loop of fit calls for others."
            )
    if len({id(est) for est in estimators}) != len(estimators):
        raise ValueError(
            "fit_batched got the same estimator object more than once; each "
            "model needs its own estimator (for example clone(est) for each)."
        )
    jobs = [(est, X, y, sample_weight) for est in estimators if _batch(est, batched)]
    done_by_id = {id(job[0]): est for job, est in zip(jobs, train_batched(jobs))}
    fitted = [done_by_id.get(id(est)) for est in estimators]
    for est, done in zip(estimators, fitted):
        if done is None:
            est.fit(X, y, sample_weight=sample_weight)
    return estimators


def _batch(est, batched):
    """Whether ``est`` is trained in a batch under the ``batched`` setting."""
    if batched != "auto":
        return bool(batched)
    try:
        devices = _devices.resolve(est.device)
    except (ValueError, TypeError):
        return False  # its own fit reports the error
    device = devices[0] if devices else jax.devices()[0]
    return device.platform != "cpu"


def _final_estimator(est):
    """The estimator a pipeline ends in (``est`` itself otherwise)."""
    return est.steps[-1][1] if isinstance(est, Pipeline) else est


class _BatchedSearchMixin:
    """Trains a search's candidates together before scikit-learn scores them."""

    _batched_constraint = {"batched": [StrOptions({"auto"}), "boolean"]}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # scikit-learn passes its callback context to ``_run_search`` when
        # the parent's signature names it (1.9 and later): keep that signature.
        parent = cls.__mro__[2]._run_search
        if "callback_ctx" in inspect.signature(parent).parameters:

            def _run_search(self, evaluate_candidates, *, callback_ctx=None):
                _BatchedSearchMixin._run_search(
                    self, evaluate_candidates, callback_ctx=callback_ctx
                )

            cls._run_search = _run_search

    def fit(self, X, y=None, *, groups=None, **params):
        """Run fit with all sets of parameters.

        The candidates' fits are trained together where they can be (see the
        class description); everything else is scikit-learn's ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter.
        **params : dict
            Parameters passed to the estimator's ``fit`` (``sample_weight``).

        Returns
        -------
        self : object
            The fitted search.
        """
        self._batched_input = (X, y, groups, params)
        self.n_batched_fits_ = 0
        self.batched_fit_time_ = 0.0
        final = _final_estimator(self.estimator)
        if not (isinstance(final, BaseNeural) and _batch(final, self.batched)):
            self._batched_input = None
            try:
                return super().fit(X, y, groups=groups, **params)
            finally:
                del self._batched_input
        try:
            # Workers of other processes would not see the trained states.
            with parallel_config(backend="threading"):
                return super().fit(X, y, groups=groups, **params)
        finally:
            del self._batched_input

    def _run_search(self, evaluate_candidates, **kwargs):
        def evaluate(candidate_params, cv=None, *args, **kw):
            if self._batched_input is None:  # not batching
                return evaluate_candidates(candidate_params, cv, *args, **kw)
            candidate_params = list(candidate_params)
            tic = time.perf_counter()
            with prefit(self._jobs(candidate_params, cv)) as n_fitted:
                self.batched_fit_time_ += time.perf_counter() - tic
                self.n_batched_fits_ += n_fitted
                return evaluate_candidates(candidate_params, cv, *args, **kw)

        super()._run_search(evaluate, **kwargs)

    def _jobs(self, candidate_params, cv):
        """The (final estimator, X, y, sample_weight) of every candidate fit."""
        X, y, groups, params = self._batched_input
        cv = cv or self._checked_cv_orig
        splits = list(cv.split(X, y, groups=groups))
        if not isinstance(_final_estimator(self.estimator), BaseNeural):
            return []
        jobs = []
        for candidate in candidate_params:
            for train, _ in splits:
                est = clone(self.estimator).set_params(**clone(candidate, safe=False))
                X_train, y_train = _safe_split(est, X, y, train)
                if isinstance(est, Pipeline):
                    # The preprocessing steps are deterministic transforms
                    # fitted again by the pipeline's own fit; the final
                    # network is what is trained here.
                    if params:
                        continue
                    X_train = est[:-1].fit_transform(X_train, y_train)
                    jobs.append((est.steps[-1][1], X_train, y_train, None))
                    continue
                fit_params = _check_method_params(X, params=params, indices=train)
                sample_weight = fit_params.get("sample_weight")
                if set(fit_params) - {"sample_weight"}:
                    continue
                jobs.append((est, X_train, y_train, sample_weight))
        return jobs


_NOTE = """
    With batching on (``batched``), the candidates are trained together by
    this process, whatever ``n_jobs`` is: all fits of a stepwise solver with
    the same architecture, solver type, batch size and dtype run in one
    compiled program, which steps every model at once (``jax.vmap``).
    Whole-batch solvers ('lbfgs', 'cg', 'lm'...) and other estimators are
    fitted one by one, as in scikit-learn's search. With a
    :class:`~sklearn.pipeline.Pipeline` ending in a skneural estimator, the
    preprocessing steps are fitted on each training fold and the networks
    trained together.

    ``cv_results_["mean_fit_time"]`` is the time each candidate's ``fit``
    took to take its trained state; the time spent training the batches is
    ``batched_fit_time_``.
"""

_ESTIMATOR = """    estimator : estimator object
        A :class:`~skneural.NeuralClassifier`, a
        :class:`~skneural.NeuralRegressor` or a pipeline ending in one (other
        estimators work, without batching).
"""

_BATCHED = """    batched : {'auto', True, False}, default='auto'
        Whether to train the candidates together: True always, False never
        (the search is then scikit-learn's), 'auto' when the estimator
        computes on an accelerator (GPU, TPU). See :func:`fit_batched`.
"""

_ATTRIBUTES = """
    n_batched_fits_ : int
        Number of (candidate, fold) fits trained together in batches.

    batched_fit_time_ : float
        Seconds spent training those batches.
"""


class BatchedGridSearchCV(_BatchedSearchMixin, GridSearchCV):
    _parameter_constraints = {
        **GridSearchCV._parameter_constraints,
        **_BatchedSearchMixin._batched_constraint,
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        batched="auto",
    ):
        super().__init__(
            estimator, param_grid, scoring=scoring, n_jobs=n_jobs, refit=refit,
            cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
            error_score=error_score, return_train_score=return_train_score,
        )  # fmt: skip
        self.batched = batched

    __doc__ = (
        """Exhaustive search over a parameter grid, the candidates trained together.

    Same parameters, attributes and results as
    :class:`sklearn.model_selection.GridSearchCV`, which it extends.
    """
        + _NOTE
        + """
    Parameters
    ----------
"""
        + _ESTIMATOR
        + """    param_grid : dict or list of dicts
        As in :class:`~sklearn.model_selection.GridSearchCV`.
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, \
return_train_score
        As in :class:`~sklearn.model_selection.GridSearchCV`.
"""
        + _BATCHED
        + """
    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, \
scorer_, n_splits_, refit_time_, multimetric_
        As in :class:`~sklearn.model_selection.GridSearchCV`.
    """
        + _ATTRIBUTES
        + """
    See Also
    --------
    BatchedRandomizedSearchCV : Randomized search, batched the same way.
    fit_batched : Fit a list of estimators together.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skneural import NeuralClassifier
    >>> from skneural.model_selection import BatchedGridSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BatchedGridSearchCV(
    ...     NeuralClassifier(hidden_layer_sizes=(16,), max_iter=50, random_state=0),
    ...     {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}, cv=3,
    ...     batched=True,
    ... ).fit(X, y)
    >>> search.n_batched_fits_
    12
    """
    )


class BatchedRandomizedSearchCV(_BatchedSearchMixin, RandomizedSearchCV):
    _parameter_constraints = {
        **RandomizedSearchCV._parameter_constraints,
        **_BatchedSearchMixin._batched_constraint,
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        batched="auto",
    ):
        super().__init__(
            estimator, param_distributions, n_iter=n_iter, scoring=scoring,
            n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
            pre_dispatch=pre_dispatch, random_state=random_state,
            error_score=error_score, return_train_score=return_train_score,
        )  # fmt: skip
        self.batched = batched

    __doc__ = (
        """Randomized search over parameters, the candidates trained together.

    Same parameters, attributes and results as
    :class:`sklearn.model_selection.RandomizedSearchCV`, which it extends.
    """
        + _NOTE
        + """
    Parameters
    ----------
"""
        + _ESTIMATOR
        + """    param_distributions : dict or list of dicts
        As in :class:`~sklearn.model_selection.RandomizedSearchCV`.
    n_iter, scoring, n_jobs, refit, cv, verbose, pre_dispatch, random_state, \
error_score, return_train_score
        As in :class:`~sklearn.model_selection.RandomizedSearchCV`.
"""
        + _BATCHED
        + """
    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, \
scorer_, n_splits_, refit_time_, multimetric_
        As in :class:`~sklearn.model_selection.RandomizedSearchCV`.
    """
        + _ATTRIBUTES
        + """
    See Also
    --------
    BatchedGridSearchCV : Exhaustive search, batched the same way.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from skneural import NeuralClassifier
    >>> from skneural.model_selection import BatchedRandomizedSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BatchedRandomizedSearchCV(
    ...     NeuralClassifier(hidden_layer_sizes=(16,), max_iter=50, random_state=0),
    ...     {"alpha": loguniform(1e-5, 1e-1)}, n_iter=4, cv=3, random_state=0,
    ...     batched=True,
    ... ).fit(X, y)
    >>> search.n_batched_fits_
    12
    """
    )
