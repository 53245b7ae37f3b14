"""Behaviour of NeuralClassifier / NeuralRegressor as scikit-learn estimators."""

import pickle
import re
import warnings

import jax
import numpy as np
import optax
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier, NeuralRegressor
from skneural.solvers import LBFGS, SGD, Adam, OptaxSolver
from skneural._epochs import run_epoch, run_epoch_chunk


def programs():
    """Compiled training programs of single models (one epoch or several)."""
    return run_epoch._cache_size() + run_epoch_chunk._cache_size()

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=200, n_features=6, noise=5.0, random_state=0)
    return X, y / 100


def _leaves_are_plain(obj, seen=None):
    """True when every value reachable in ``obj`` is numpy or builtin."""
    if isinstance(obj, jax.Array):
        return False
    if isinstance(obj, (list, tuple)):
        return all(_leaves_are_plain(v) for v in obj)
    if isinstance(obj, dict):
        return all(_leaves_are_plain(v) for v in obj.values())
    if hasattr(obj, "_asdict"):
        return _leaves_are_plain(obj._asdict())
    return True


# ---------------------------------------------------------------- scikit-learn API
def test_pipeline_with_scaler(iris):
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), NeuralClassifier(max_iter=300, random_state=0))
    assert model.fit(X, y).score(X, y) > 0.95


def test_grid_search_over_architecture_alpha_and_solver_params(iris):
    X, y = iris
    search = GridSearchCV(
        NeuralClassifier(solver=Adam(), max_iter=50, random_state=0),
        {
            "hidden_layer_sizes": [(5,), (10,)],
            "alpha": [1e-4, 1e-2],
            "solver__learning_rate": [1e-3, 1e-2],
        },
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert set(search.best_params_) == {
        "hidden_layer_sizes", "alpha", "solver__learning_rate"
    }
    assert search.best_estimator_.solver.learning_rate == search.best_params_[
        "solver__learning_rate"
    ]
    # A larger learning rate trains further in 50 epochs.
    scores = search.cv_results_["mean_test_score"]
    lr = np.array([p["solver__learning_rate"] for p in search.cv_results_["params"]])
    assert scores[lr == 1e-2].mean() > scores[lr == 1e-3].mean()


def test_cross_val_score(iris):
    X, y = iris
    scores = cross_val_score(NeuralClassifier(max_iter=300, random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_clone_keeps_params_and_drops_fit(iris):
    X, y = iris
    clf = NeuralClassifier(hidden_layer_sizes=(7, 3), solver=SGD(momentum=0.5),
                           max_iter=5, random_state=0).fit(X, y)
    c = clone(clf)
    assert not hasattr(c, "coefs_")
    assert c.get_params()["solver__momentum"] == 0.5
    assert c.solver is not clf.solver


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_pickle_round_trip_identical_and_plain(iris, solver):
    X, y = iris
    clf = NeuralClassifier(solver=solver, max_iter=20, random_state=0).fit(X, y)
    assert all(_leaves_are_plain(v) for v in vars(clf).values())
    assert all(isinstance(c, np.ndarray) for c in clf.coefs_ + clf.intercepts_)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # partial_fit continues from the pickled optimizer state.
    if solver == "adam":
        loaded.partial_fit(X, y)
        assert loaded.t_ == clf.t_ + len(X)


def test_pandas_input_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = NeuralClassifier(max_iter=20, random_state=0).fit(df, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="valid feature names"):
        np.testing.assert_array_equal(clf.predict(df), clf.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df.rename(columns={"a": "z"}))


def test_set_output_pandas_pipeline(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = make_pipeline(StandardScaler(), NeuralClassifier(max_iter=20, random_state=0))
    model.set_output(transform="pandas")
    model.fit(df, y)
    np.testing.assert_array_equal(model[-1].feature_names_in_, ["a", "b", "c", "d"])
    assert model.predict(df).shape == (len(df),)


def test_tags():
    clf_tags = NeuralClassifier().__sklearn_tags__()
    reg_tags = NeuralRegressor().__sklearn_tags__()
    assert clf_tags.estimator_type == "classifier"
    assert reg_tags.estimator_type == "regressor"
    assert clf_tags.classifier_tags.multi_label
    assert clf_tags.input_tags.sparse and reg_tags.input_tags.sparse
    assert clf_tags.requires_fit and reg_tags.requires_fit


# ---------------------------------------------------------------- outputs
@pytest.mark.parametrize(
    "kind, out_activation, n_outputs, proba_shape",
    [
        ("binary", "logistic", 1, 2),
        ("multiclass", "softmax", 3, 3),
        ("multilabel", "logistic", 4, 4),
    ],
)
def test_classifier_outputs(kind, out_activation, n_outputs, proba_shape):
    if kind == "multilabel":
        X, y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    else:
        X, y = load_iris(return_X_y=True)
        if kind == "binary":
            y = np.where(y == 0, "setosa", "other")
    clf = NeuralClassifier(max_iter=300, random_state=0).fit(X, y)
    assert clf.out_activation_ == out_activation
    assert clf.n_outputs_ == n_outputs
    assert clf.n_layers_ == 3
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), proba_shape)
    if kind != "multilabel":
        np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
        np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
        # The probabilities are float32 (1 - p loses digits); predict_log_proba
        # is a float64 log-sigmoid / log-softmax of the network's output.
        np.testing.assert_allclose(
            clf.predict_log_proba(X), np.log(proba), rtol=1e-4
        )
    assert clf.predict(X).shape == np.shape(y)
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "poisson"])
def test_regressor_losses_train(regression, loss):
    X, y = regression
    X = StandardScaler().fit_transform(X)
    if loss == "poisson":
        y = np.exp(y - y.mean())
    reg = NeuralRegressor(loss=loss, max_iter=100, random_state=0).fit(X, y)
    assert reg.out_activation_ == ("exp" if loss == "poisson" else "identity")
    assert reg.loss_curve_[-1] < 0.5 * reg.loss_curve_[0]
    assert reg.predict(X).shape == (len(X),)
    if loss == "poisson":
        assert (reg.predict(X) > 0).all()


def test_poisson_rejects_negative_targets(regression):
    X, y = regression
    with pytest.raises(ValueError, match="negative"):
        NeuralRegressor(loss="poisson").fit(X, y - 10)


def test_multi_output_regression(regression):
    X, y = regression
    Y = np.c_[y, -2 * y]
    reg = NeuralRegressor(solver="lbfgs", max_iter=200, random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (len(X), 2)
    assert reg.score(X, Y) > 0.9


# ---------------------------------------------------------------- precision
@pytest.mark.parametrize(
    "solver, dtype, compute_dtype",
    [
        ("adam", None, np.float32),
        ("adam", "float64", np.float64),
        ("lbfgs", None, np.float64),
        ("lbfgs", "float32", np.float32),
    ],
)
def test_dtype_policy(iris, solver, dtype, compute_dtype):
    """The computation's precision follows ``dtype`` (or the solver kind); the
    fitted arrays follow the input's dtype, as scikit-learn's MLP's."""
    X, y = iris
    clf = NeuralClassifier(solver=solver, dtype=dtype, max_iter=20, random_state=0)
    clf.fit(X, y)
    assert all(c.dtype == np.float64 for c in clf.coefs_ + clf.intercepts_)
    assert clf._predict_dtype() == compute_dtype
    if compute_dtype == np.float32:  # float32 results, stored exactly
        assert all(
            np.array_equal(c, c.astype(np.float32)) for c in clf.coefs_ + clf.intercepts_
        )
    assert clf.predict_proba(X).dtype == np.float64
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_float64_input_is_not_changed_by_jax_globally(iris):
    X, y = iris
    NeuralClassifier(solver="lbfgs", max_iter=5).fit(X, y)
    assert not jax.config.jax_enable_x64
    assert jax.numpy.asarray(np.ones(2)).dtype == np.float32


# ---------------------------------------------------------------- training loop
def test_same_random_state_same_result(iris):
    X, y = iris
    a = NeuralClassifier(max_iter=20, random_state=7).fit(X, y)
    b = NeuralClassifier(max_iter=20, random_state=7).fit(X, y)
    c = NeuralClassifier(max_iter=20, random_state=8).fit(X, y)
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_tol_and_n_iter_no_change_stop_training(iris):
    X, y = iris
    clf = NeuralClassifier(max_iter=1000, tol=1e-2, n_iter_no_change=3,
                           random_state=0).fit(X, y)
    assert clf.n_iter_ < 1000
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.t_ == clf.n_iter_ * len(X)


def test_max_iter_warns(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        NeuralClassifier(max_iter=3, random_state=0).fit(X, y)


def test_early_stopping_keeps_best_validation_params(iris):
    X, y = iris
    clf = NeuralClassifier(early_stopping=True, max_iter=500, random_state=0,
                           n_iter_no_change=5, learning_rate_init=0.01).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 500
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # The kept parameters are those of the best validation epoch: refit on the
    # same split for exactly that many epochs and compare.
    best_epoch = int(np.argmax(clf.validation_scores_)) + 1
    ref = clone(clf).set_params(max_iter=best_epoch, n_iter_no_change=10**6).fit(X, y)
    np.testing.assert_allclose(ref.coefs_[0], clf.coefs_[0], rtol=1e-5, atol=1e-6)


def test_early_stopping_with_sample_weight_and_partial_fit_error(iris):
    X, y = iris
    sw = np.random.RandomState(0).uniform(0.5, 2, len(y))
    clf = NeuralClassifier(early_stopping=True, max_iter=20, random_state=0)
    clf.fit(X, y, sample_weight=sw)
    assert len(clf.validation_scores_) == clf.n_iter_
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y)


def test_adaptive_learning_rate_divides_by_five(iris, capsys):
    X, y = iris
    clf = NeuralClassifier(solver="sgd", learning_rate="adaptive", learning_rate_init=0.5,
                           tol=10.0, n_iter_no_change=1, max_iter=6, verbose=True,
                           random_state=0).fit(X, y)
    out = capsys.readouterr().out
    rates = [float(r) for r in re.findall(r"Setting learning rate to ([0-9.]+)", out)]
    assert rates[:2] == pytest.approx([0.1, 0.02])
    assert clf.n_iter_ == 6


def test_verbose_prints_loss(iris, capsys):
    X, y = iris
    NeuralClassifier(max_iter=2, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"Iteration 1, loss = [0-9.]+", out)
    assert "Iteration 2" in out


def test_warm_start_continues(iris):
    X, y = iris
    clf = NeuralClassifier(max_iter=10, warm_start=True, random_state=0).fit(X, y)
    first = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 20
    assert clf.loss_curve_[10] < first
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 2], y[y < 2])


def test_partial_fit_equals_fit_epochs(regression):
    """Two partial_fit calls are the first two epochs of a fit (optimizer
    state, e.g. Adam's moments, carries over)."""
    X, y = regression
    common = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0, tol=0)
    full = NeuralRegressor(max_iter=2, **common).fit(X, y)
    inc = NeuralRegressor(**common)
    inc.partial_fit(X, y)
    inc.partial_fit(X, y)
    assert inc.n_iter_ == 1 and inc.t_ == 2 * len(X)
    np.testing.assert_allclose(inc.loss_curve_, full.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(inc.coefs_[0], full.coefs_[0], rtol=1e-5, atol=1e-7)


def test_partial_fit_classes(iris):
    X, y = iris
    clf = NeuralClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y + 1)


def test_partial_fit_unavailable_for_whole_batch_solvers():
    assert not hasattr(NeuralClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(NeuralRegressor(solver=LBFGS()), "partial_fit")
    assert hasattr(NeuralRegressor(solver=SGD()), "partial_fit")


# ---------------------------------------------------------------- sample weights
@pytest.mark.filterwarnings("ignore:Got `batch_size`")
def test_sample_weight_equivalence_float32(iris):
    """Integer weights equal repeated rows (full-batch, float32 tolerance)."""
    X, y = iris
    sw = np.random.RandomState(0).randint(0, 3, len(y))
    common = dict(max_iter=30, random_state=0, batch_size=10_000)
    a = NeuralClassifier(**common).fit(X, y, sample_weight=sw)
    b = NeuralClassifier(**common).fit(np.repeat(X, sw, 0), np.repeat(y, sw))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)


def test_sample_weight_changes_fit_and_rejects_negative(regression):
    X, y = regression
    sw = np.where(np.arange(len(y)) < 100, 10.0, 0.1)
    a = NeuralRegressor(solver="lbfgs", max_iter=50, random_state=0).fit(X, y)
    b = NeuralRegressor(solver="lbfgs", max_iter=50, random_state=0).fit(
        X, y, sample_weight=sw
    )
    assert not np.allclose(a.predict(X), b.predict(X))
    with pytest.raises(ValueError, match="[Nn]egative"):
        NeuralRegressor().fit(X, y, sample_weight=-sw)


# ---------------------------------------------------------------- solvers as the plug
@pytest.mark.parametrize(
    "solver",
    [SGD(learning_rate=0.05), Adam(learning_rate=0.01), LBFGS(), optax.sgd(0.05, momentum=0.9),
     OptaxSolver(optax.adamw(0.01))],
    ids=["SGD", "Adam", "LBFGS", "optax.sgd", "OptaxSolver(adamw)"],
)
def test_solver_objects_train(iris, solver):
    X, y = iris
    clf = NeuralClassifier(solver=solver, max_iter=200, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95


def test_named_solver_equals_solver_object(iris):
    X, y = iris
    a = NeuralClassifier(solver="sgd", learning_rate_init=0.02, momentum=0.8,
                         max_iter=10, random_state=0).fit(X, y)
    b = NeuralClassifier(solver=SGD(learning_rate=0.02, momentum=0.8),
                         max_iter=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_numeric_hyperparameters_do_not_recompile(iris):
    """learning rate, momentum and alpha are traced: one program serves all."""
    X, y = iris
    NeuralClassifier(solver="sgd", max_iter=2, random_state=0).fit(X, y)
    before = programs()
    for lr, mom, alpha in [(0.1, 0.5, 1e-3), (0.01, 0.9, 1.0)]:
        NeuralClassifier(solver="sgd", learning_rate_init=lr, momentum=mom, alpha=alpha,
                         max_iter=2, random_state=1).fit(X, y)
    assert programs() == before


def test_compiled_program_is_reused_across_fits(iris):
    """warm_start, partial_fit, clones in cross-validation and a search over
    numeric parameters reuse the program of the first fit (same architecture
    and padded batch shape): no compilation after it."""
    X, y = iris
    est = NeuralClassifier(hidden_layer_sizes=(7,), max_iter=3, batch_size=40,
                           random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cross_val_score(est, X, y, cv=5)  # 120 training rows per fold
        before = programs()
        cross_val_score(est, X, y, cv=5)
        GridSearchCV(est, {"alpha": [1e-3, 1e-1], "learning_rate_init": [1e-3, 1e-2]},
                     cv=5, refit=False).fit(X, y)  # fmt: skip
        warm = clone(est).set_params(warm_start=True).fit(X[:120], y[:120])
        warm.fit(X[:120], y[:120])
        warm.partial_fit(X[:120], y[:120])
    assert programs() == before


def test_invalid_solver_type_is_rejected(iris):
    X, y = iris
    with pytest.raises(ValueError, match="solver"):
        NeuralClassifier(solver=object()).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        NeuralClassifier(solver="newton").fit(X, y)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, y: (np.where(X > 1, np.nan, X), y), "NaN"),
        (lambda X, y: (np.where(X > 1, np.inf, X), y), "infinity"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
        (lambda X, y: (X + 1j, y), "[Cc]omplex"),
    ],
    ids=["nan", "inf", "empty", "complex"],
)
def test_bad_input_raises_sklearn_errors(iris, make, match):
    X, y = make(*iris)
    with pytest.raises(ValueError, match=match):
        NeuralClassifier(max_iter=2).fit(X, y)


def test_wrong_number_of_features_at_predict(iris):
    X, y = iris
    clf = NeuralClassifier(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


def test_hidden_layer_sizes_must_be_positive(iris):
    X, y = iris
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        NeuralClassifier(hidden_layer_sizes=(5, 0)).fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_divergence_keeps_last_finite_parameters(regression, solver):
    X, y = regression
    X = X * 1e6
    params = dict(solver=solver, max_iter=50, random_state=0)
    if solver != "lbfgs":
        params["learning_rate_init"] = 1e6
    reg = NeuralRegressor(**params)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        reg.fit(X, y * 1e30)
    pred = reg.predict(X)
    assert np.isfinite(pred).all()
    assert all(np.isfinite(c).all() for c in reg.coefs_)
    if solver != "lbfgs":
        messages = [str(x.message) for x in w if x.category is ConvergenceWarning]
        assert any(re.search(r"epoch \d+.*non-finite", m) for m in messages), messages


def test_sparse_input_matches_dense(iris):
    sp = pytest.importorskip("scipy.sparse")
    X, y = iris
    dense = NeuralClassifier(max_iter=20, random_state=0).fit(X, y)
    sparse = NeuralClassifier(max_iter=20, random_state=0).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csc_matrix(X)), dense.predict_proba(X), rtol=1e-6
    )


def test_predict_large_input_in_chunks(iris, monkeypatch):
    import skneural._predict as est

    X, y = iris
    clf = NeuralClassifier(max_iter=5, random_state=0).fit(X, y)
    full = clf.predict_proba(X)
    monkeypatch.setattr(est, "PREDICT_CHUNK", 16)
    np.testing.assert_allclose(clf.predict_proba(X), full, rtol=1e-6)


@pytest.mark.parametrize("one_per_call, interrupted_call, kept",
                         [(True, 3, 2), (False, 2, 4)])  # fmt: skip
def test_keyboard_interrupt_keeps_last_completed_call(iris, monkeypatch, one_per_call,
                                                      interrupted_call, kept):  # fmt: skip
    """Ctrl-C during fit: a usable estimator with the parameters after the
    last completed device call, a warning, and partial_fit continues from
    there. With one epoch per call that is the last finished epoch; a small
    model runs several epochs per call (4, then doubling), and Ctrl-C during
    its second call keeps the 4 epochs of the first."""
    import skneural._driver as est

    X, y = iris
    name = "run_epoch" if one_per_call else "run_epoch_chunk"
    if one_per_call:
        monkeypatch.setattr("skneural._chunked.CHUNK_WORK", (0, 0))
    reference = NeuralClassifier(max_iter=kept, shuffle=False, tol=0, random_state=0)
    reference.fit(X, y)
    calls = {"n": 0}
    real = getattr(est, name)

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == interrupted_call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(est, name, interrupted)
    clf = NeuralClassifier(max_iter=50, shuffle=False, tol=0, random_state=0)
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)
    assert calls["n"] == interrupted_call
    assert clf.n_iter_ == kept
    np.testing.assert_array_equal(clf.coefs_[0], reference.coefs_[0])
    assert clf.loss_curve_ == reference.loss_curve_
    assert clf.predict(X).shape == y.shape
    monkeypatch.setattr(est, name, real)
    clf.partial_fit(X, y)
    assert clf.t_ == (kept + 1) * len(X)
