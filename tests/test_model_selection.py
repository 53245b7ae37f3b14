"""Batched training: fit_batched, BatchedGridSearchCV, BatchedRandomizedSearchCV.

Every model trained in a batch must end where its own fit ends: same
parameters (float64: to rounding), same number of epochs, same curves.
"""

import warnings

import jax
import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skneural._batched as batched
from skneural import NeuralClassifier, NeuralRegressor
from skneural.model_selection import (
    BatchedGridSearchCV,
    BatchedRandomizedSearchCV,
    fit_batched,
)
from skneural.solvers import SGD


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:400])
    return X, y[:400]


def _assert_same_fit(a, b, rtol=1e-8, atol=1e-10):
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol)
    for Wa, Wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(Wa, Wb, rtol=rtol, atol=atol)
    if a.validation_scores_ is not None:
        np.testing.assert_allclose(a.validation_scores_, b.validation_scores_)


# Settings that exercise every part of the per-model bookkeeping: the stopping
# rule, the learning-rate schedules, early stopping with its split and best
# parameters, random draws for dropout, batch-norm state, class weights.
CASES = {
    "adam seeds and rates": [
        dict(random_state=s, learning_rate_init=lr, alpha=a)
        for s, lr, a in [(0, 1e-3, 1e-4), (1, 1e-2, 1e-2), (2, 3e-3, 0.0)]
    ],
    "tol stop at different epochs": [
        dict(random_state=0, tol=t, n_iter_no_change=k, max_iter=60)
        for t, k in [(1e-2, 2), (1e-4, 5), (0.0, 10)]
    ],
    "sgd schedules": [
        dict(solver="sgd", learning_rate=s, learning_rate_init=0.05, random_state=1,
             tol=1e-3, n_iter_no_change=3)
        for s in ("constant", "invscaling", "adaptive")
    ],
    "early stopping": [
        dict(early_stopping=True, random_state=s, validation_fraction=f)
        for s, f in [(0, 0.1), (1, 0.2), (2, 0.3)]
    ],
    "dropout and batch norm": [
        dict(dropout=0.2, batch_norm=True, random_state=s) for s in range(3)
    ],
    "class weights": [
        dict(class_weight=w, random_state=0) for w in (None, "balanced", {0: 3.0})
    ],
}


@pytest.mark.parametrize("case", CASES)
def test_fit_batched_equals_one_by_one(digits, case):
    X, y = digits
    base = NeuralClassifier(hidden_layer_sizes=(16,), max_iter=25, dtype="float64",
                            batch_size=64)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alone = [clone(base).set_params(**p).fit(X, y) for p in CASES[case]]
        together = fit_batched([clone(base).set_params(**p) for p in CASES[case]], X, y,
                               batched=True)
    for a, b in zip(alone, together):
        _assert_same_fit(a, b)
        np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_fit_batched_regressor_with_sample_weight_float32():
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=0)
    y = y / y.std()
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    base = NeuralRegressor(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    params = [dict(alpha=a, learning_rate_init=lr) for a in (1e-4, 1e-1) for lr in (1e-3, 1e-2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alone = [clone(base).set_params(**p).fit(X, y, sample_weight=w) for p in params]
        together = fit_batched([clone(base).set_params(**p) for p in params], X, y, w,
                               batched=True)
    for a, b in zip(alone, together):
        _assert_same_fit(a, b, rtol=1e-4, atol=1e-5)


def test_fit_batched_mixed_solvers_and_architectures(digits):
    """Fits that cannot share a program are grouped or fitted alone."""
    X, y = digits
    estimators = [
        NeuralClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
        NeuralClassifier(hidden_layer_sizes=(12,), max_iter=5, random_state=0),
        NeuralClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5,
                         random_state=0),
        NeuralClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=1),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = fit_batched([clone(e) for e in estimators], X, y, batched=True)
        for est, got in zip(estimators, fitted):
            _assert_same_fit(est.fit(X, y), got, rtol=1e-4, atol=1e-5)


def test_fit_batched_rejects_other_estimators(digits):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="skneural estimators"):
        fit_batched([LogisticRegression()], *digits)


def test_batched_fits_stop_separately(digits):
    """A model that stops early is frozen while the others go on."""
    X, y = digits
    params = [dict(max_iter=3), dict(max_iter=12), dict(max_iter=7)]
    base = NeuralClassifier(hidden_layer_sizes=(8,), random_state=0, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = fit_batched([clone(base).set_params(**p) for p in params], X, y,
                             batched=True)
    assert [m.n_iter_ for m in fitted] == [3, 12, 7]


def test_batched_divergence_keeps_last_finite_epoch(digits):
    X, y = digits
    X = X * 1e3
    base = NeuralClassifier(hidden_layer_sizes=(8,), max_iter=6, random_state=0)
    params = [dict(solver=SGD(learning_rate=1e4, momentum=0.9)),
              dict(solver=SGD(learning_rate=1e-3, momentum=0.9))]  # fmt: skip
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fitted = fit_batched([clone(base).set_params(**p) for p in params], X, y,
                             batched=True)
    assert any("non-finite" in str(w.message) for w in record)
    diverged, fine = fitted
    assert diverged.n_iter_ < 6 and fine.n_iter_ == 6
    assert all(np.isfinite(W).all() for W in diverged.coefs_)
    assert np.isfinite(diverged.predict_proba(X)).all()


def test_batched_grid_search_equals_grid_search(digits, monkeypatch):
    from skneural._estimators import BaseNeural

    X, y = digits
    trainings = []
    real_fit = BaseNeural._fit

    def counted(self, *args, **kwargs):
        trainings.append(self.get_params()["hidden_layer_sizes"])
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(BaseNeural, "_fit", counted)
    est = NeuralClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0,
                           dtype="float64")  # fmt: skip
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2],
            "hidden_layer_sizes": [(8,), (16,)]}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BatchedGridSearchCV(est, grid, cv=3, return_train_score=True, batched=True).fit(X, y)
        ref = GridSearchCV(est, grid, cv=3, return_train_score=True).fit(X, y)
    assert ours.n_batched_fits_ == 8 * 3
    # Every fit of the batched search took its trained state: the only
    # training through ``fit`` was the refit (the plain search trained 25).
    assert len(trainings) == 1 + 8 * 3 + 1
    assert ours.batched_fit_time_ > 0
    for key in ("mean_test_score", "std_test_score", "mean_train_score"):
        np.testing.assert_allclose(ours.cv_results_[key], ref.cv_results_[key])
    assert ours.best_params_ == ref.best_params_
    _assert_same_fit(ours.best_estimator_, ref.best_estimator_)
    assert not batched._PREFIT  # the registry is emptied after the search


def test_batched_randomized_search_pipeline_and_scoring(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), NeuralClassifier(
        hidden_layer_sizes=(8,), max_iter=10, random_state=0, dtype="float64"))  # fmt: skip
    dist = {"neuralclassifier__alpha": loguniform(1e-5, 1e-1)}
    kw = dict(n_iter=4, cv=2, random_state=0, scoring="neg_log_loss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BatchedRandomizedSearchCV(pipe, dist, batched=True, **kw).fit(X, y)
        ref = RandomizedSearchCV(pipe, dist, **kw).fit(X, y)
    assert ours.n_batched_fits_ == 8
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )
    assert ours.best_params_ == ref.best_params_


def test_batched_search_with_sample_weight_and_whole_batch_solver(digits):
    X, y = digits
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    est = NeuralClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0,
                           dtype="float64")  # fmt: skip
    grid = {"solver": ["adam", "lbfgs"], "alpha": [1e-4, 1e-1]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BatchedGridSearchCV(est, grid, cv=2, batched=True).fit(X, y, sample_weight=w)
        ref = GridSearchCV(est, grid, cv=2).fit(X, y, sample_weight=w)
    assert ours.n_batched_fits_ == 4  # the adam ones; lbfgs fits one by one
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )


def test_batched_search_reports_bad_candidates_like_grid_search(digits):
    X, y = digits
    est = NeuralClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    grid = {"alpha": [1e-4, -1.0]}
    with pytest.raises(ValueError, match="alpha"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            BatchedGridSearchCV(est, grid, cv=2, error_score="raise", batched=True).fit(X, y)
    assert not batched._PREFIT


def test_fit_outside_a_search_never_uses_the_registry(digits, monkeypatch):
    X, y = digits
    calls = []
    real = batched._key
    monkeypatch.setattr(batched, "_key", lambda *a: calls.append(1) or real(*a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NeuralClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
    assert calls == []  # no hashing of the data when no search runs


@pytest.mark.parametrize("early_stopping", [False, True])
def test_shrinking_the_stack_keeps_every_model_exact(digits, monkeypatch, early_stopping):
    """Models that stopped leave the stack (recompiled smaller): the others
    go on unchanged and every model still ends as its own fit."""
    import skneural._driver as training

    shrinks = []

    def always(times, size, new_size, runs):
        shrinks.append((size, new_size))
        return True

    monkeypatch.setattr(training, "_worth_shrinking", always)
    X, y = digits
    base = NeuralClassifier(hidden_layer_sizes=(8,), random_state=0, tol=0,
                            dtype="float64", early_stopping=early_stopping)  # fmt: skip
    params = [dict(max_iter=m, random_state=s)
              for s, m in enumerate([2, 20, 5, 9, 3, 4, 2, 14])]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alone = [clone(base).set_params(**p).fit(X, y) for p in params]
        together = fit_batched([clone(base).set_params(**p) for p in params], X, y,
                               batched=True)
    assert (8, 4) in shrinks and (4, 2) in shrinks  # 8 -> 4 -> 2 -> 1 models
    for a, b in zip(alone, together):
        _assert_same_fit(a, b)


def test_auto_batches_only_on_accelerators(digits, monkeypatch):
    """batched='auto': on a CPU the fits run one by one (a stack of small
    models is no cheaper there); on an accelerator they are batched."""
    import skneural.model_selection as ms

    X, y = digits
    default = NeuralClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    batch = ms._batch
    assert batch(default, "auto") == (jax.devices()[0].platform != "cpu")
    # On the CPU whatever the machine (tests/test_gpu.py checks a GPU's 'auto').
    est = clone(default).set_params(device="cpu")
    grid = {"alpha": [1e-4, 1e-2]}
    assert not batch(est, "auto")
    assert batch(est, True) and not batch(est, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = BatchedGridSearchCV(est, grid, cv=2).fit(X, y)
        assert cpu.n_batched_fits_ == 0
        off = BatchedGridSearchCV(est, grid, cv=2, batched=False).fit(X, y)
        assert off.n_batched_fits_ == 0
        monkeypatch.setattr(ms, "_batch", lambda est, batched: batched != False)  # noqa: E712
        accelerated = BatchedGridSearchCV(est, grid, cv=2).fit(X, y)
        assert accelerated.n_batched_fits_ == 4
    np.testing.assert_allclose(
        cpu.cv_results_["mean_test_score"], accelerated.cv_results_["mean_test_score"],
        rtol=1e-5,
    )


def test_batched_search_parameters_are_searchable_and_validated(digits):
    search = BatchedGridSearchCV(NeuralClassifier(), {"alpha": [1e-4]}, batched=True)
    assert clone(search).get_params()["batched"] is True
    with pytest.raises(ValueError, match="batched"):
        BatchedGridSearchCV(NeuralClassifier(), {"alpha": [1e-4]}, batched="x").fit(*digits)
