"""Dropout, batch normalisation, layer activations, penalties, clipping and
gradient diagnostics."""

import warnings

import jax
import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.datasets import load_digits, load_iris, make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skneural import Activation, GradientWarning, NeuralClassifier, NeuralRegressor
from skneural._network import BN_EPSILON
from skneural._objective import ravel, shapes_of
from skneural._problem import Problem
from skneural.solvers import SGD

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X)[:600], y[:600]


def _relu(h):
    return np.maximum(h, 0)


def _numpy_forward(est, X, hidden):
    """Inference-mode forward pass written independently in numpy."""
    h = X
    for W, b, extra, state in zip(est.coefs_, est.intercepts_, est.layer_params_,
                                  est.layer_state_):
        h = h @ W + b
        if state:
            h = (h - state["mean"]) / np.sqrt(state["var"] + BN_EPSILON)
            h = h * extra["gamma"] + extra["beta"]
        h = hidden(h, extra)
    return h @ est.coefs_[-1] + est.intercepts_[-1]


# ---------------------------------------------------------------- dropout
def test_dropout_changes_training_but_predict_is_deterministic(digits):
    X, y = digits
    common = dict(hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    plain = NeuralClassifier(**common).fit(X, y)
    drop = NeuralClassifier(dropout=0.5, **common).fit(X, y)
    assert drop.loss_curve_[-1] > plain.loss_curve_[-1]  # noisier, slower fit
    np.testing.assert_array_equal(drop.predict_proba(X), drop.predict_proba(X))
    # Inference uses every unit unscaled: the plain numpy forward pass.
    z = _numpy_forward(drop, X, lambda h, _: _relu(h))
    np.testing.assert_allclose(drop.predict_proba(X), softmax(z, axis=1), rtol=1e-4,
                               atol=1e-6)
    again = NeuralClassifier(dropout=0.5, **common).fit(X, y)
    np.testing.assert_array_equal(again.coefs_[0], drop.coefs_[0])


def test_dropout_per_layer_and_input_dropout(digits):
    X, y = digits
    clf = NeuralClassifier(hidden_layer_sizes=(32, 16), dropout=[0.2, 0.0],
                           input_dropout=0.1, max_iter=60, learning_rate_init=0.01,
                           random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="one per hidden layer"):
        NeuralClassifier(hidden_layer_sizes=(32, 16), dropout=[0.2]).fit(X, y)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        NeuralClassifier(hidden_layer_sizes=(32,), dropout=[1.0]).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [dict(dropout=0.2), dict(input_dropout=0.1), dict(input_noise=0.1),
     dict(activation="rrelu")],
)
def test_random_objectives_are_rejected_by_whole_batch_solvers(iris, params):
    X, y = iris
    with pytest.raises(ValueError, match="random"):
        NeuralClassifier(solver="lbfgs", **params).fit(X, y)


def test_input_noise_changes_training(iris):
    X, y = iris
    a = NeuralClassifier(max_iter=5, random_state=0).fit(X, y)
    b = NeuralClassifier(max_iter=5, random_state=0, input_noise=0.5).fit(X, y)
    assert not np.allclose(a.coefs_[0], b.coefs_[0])


# ---------------------------------------------------------------- batch norm
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_batch_norm_inference_uses_running_statistics(iris, solver):
    X, y = iris
    clf = NeuralClassifier(hidden_layer_sizes=(8, 6), batch_norm=True, solver=solver,
                           max_iter=30, random_state=0).fit(X, y)
    assert [set(s) for s in clf.layer_state_] == [{"mean", "var"}] * 2
    assert [set(p) for p in clf.layer_params_] == [{"gamma", "beta"}] * 2
    z = _numpy_forward(clf, X, lambda h, _: _relu(h))
    np.testing.assert_allclose(clf.predict_proba(X), softmax(z, axis=1), rtol=1e-4,
                               atol=1e-6)
    if solver == "lbfgs":
        # Whole-batch: the statistics of all the data (variance m/(m-1)).
        h = X @ clf.coefs_[0] + clf.intercepts_[0]
        np.testing.assert_allclose(clf.layer_state_[0]["mean"], h.mean(0), atol=1e-8)
        np.testing.assert_allclose(clf.layer_state_[0]["var"], h.var(0, ddof=1),
                                   rtol=1e-8)
    else:
        assert not np.allclose(clf.layer_state_[0]["var"], 1.0)  # updated


def test_batch_norm_running_statistics_update_rule(iris):
    """One full-batch step: running = 0.9 * initial + 0.1 * batch statistics."""
    X, y = iris
    clf = NeuralClassifier(hidden_layer_sizes=(5,), batch_norm=True, shuffle=False,
                           solver=SGD(learning_rate=1e-30, momentum=0.0),
                           batch_size=len(X), max_iter=1, random_state=0,
                           dtype="float64").fit(X, y)
    h = X @ clf.coefs_[0] + clf.intercepts_[0]
    np.testing.assert_allclose(clf.layer_state_[0]["mean"], 0.1 * h.mean(0),
                               rtol=1e-10)
    np.testing.assert_allclose(clf.layer_state_[0]["var"],
                               0.9 + 0.1 * h.var(0, ddof=1), rtol=1e-10)


# ---------------------------------------------------------------- layer activations
def test_prelu_slopes_are_learned(iris):
    X, y = iris
    clf = NeuralClassifier(hidden_layer_sizes=(6,), activation="prelu",
                           learning_rate_init=0.05, max_iter=50,
                           random_state=0).fit(X, y)
    a = clf.layer_params_[0]["a"]
    assert a.shape == (6,) and not np.allclose(a, 0.25)
    z = _numpy_forward(clf, X, lambda h, e: np.where(h >= 0, h, e["a"] * h))
    np.testing.assert_allclose(clf.predict_proba(X), softmax(z, axis=1), rtol=1e-4,
                               atol=1e-6)


def test_rrelu_uses_the_mean_slope_at_inference(iris):
    X, y = iris
    act = Activation("rrelu", lower=0.1, upper=0.3)
    clf = NeuralClassifier(hidden_layer_sizes=(6,), activation=act, max_iter=20,
                           random_state=0).fit(X, y)
    z = _numpy_forward(clf, X, lambda h, _: np.where(h >= 0, h, 0.2 * h))
    np.testing.assert_allclose(clf.predict_proba(X), softmax(z, axis=1), rtol=1e-4,
                               atol=1e-6)


def test_maxout_layer(iris):
    X, y = iris
    clf = NeuralClassifier(hidden_layer_sizes=(5,), activation=Activation(
        "maxout", pieces=3), solver="lbfgs", random_state=0).fit(X, y)
    assert clf.coefs_[0].shape == (4, 15) and clf.coefs_[1].shape == (5, 3)
    z = _numpy_forward(clf, X, lambda h, _: h.reshape(len(h), 5, 3).max(-1))
    np.testing.assert_allclose(clf.predict_proba(X), softmax(z, axis=1), rtol=1e-8,
                               atol=1e-12)
    assert clf.score(X, y) > 0.95


# ---------------------------------------------------------------- penalties
def test_l1_penalty_shrinks_weights(iris):
    X, y = iris
    common = dict(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0)
    plain = NeuralClassifier(**common).fit(X, y)
    lasso = NeuralClassifier(l1=0.5, **common).fit(X, y)
    assert np.abs(lasso.coefs_[0]).sum() < 0.5 * np.abs(plain.coefs_[0]).sum()


def test_penalised_objective_matches_formula():
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(20, 3)), np.eye(3)[rng.randint(3, size=20)]
    clf = NeuralClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    clf.fit(X, Y.argmax(1))
    params = clf._params()
    w = rng.uniform(0.5, 2, 20)
    alpha, l1, ent = 0.3, 0.2, 0.7
    problem = Problem(X, Y, w, alpha, l1=l1, entropy=ent, shapes=shapes_of(params),
                      activation="relu", loss="log_loss", dtype=np.float64)
    value, _ = problem(ravel(params))
    h = _relu(X @ params[0]["W"] + params[0]["b"])
    p = softmax(h @ params[1]["W"] + params[1]["b"], axis=1)
    loss = -(Y * np.log(p)).sum(1)
    entropy = -(p * np.log(p)).sum(1)
    W2 = sum((q["W"] ** 2).sum() for q in params)
    W1 = sum(np.abs(q["W"]).sum() for q in params)
    expected = (np.sum(w * (loss + ent * entropy)) + 0.5 * alpha * W2 + l1 * W1) / w.sum()
    assert value == pytest.approx(expected, rel=1e-6)


def test_entropy_regularisation_sets_prediction_confidence():
    """Noisy labels keep the plain fit uncertain; the entropy term sharpens it,
    a negative strength (confidence penalty) blurs it."""
    X, y = make_classification(400, 10, flip_y=0.3, random_state=0)

    def mean_entropy(entropy_reg):
        clf = NeuralClassifier(hidden_layer_sizes=(8,), solver="lbfgs", alpha=1.0,
                               entropy_reg=entropy_reg, random_state=0).fit(X, y)
        p = np.clip(clf.predict_proba(X), 1e-12, 1)
        return -(p * np.log(p)).sum(1).mean()

    assert mean_entropy(1.0) < mean_entropy(0.0) - 0.05
    assert mean_entropy(-0.5) > mean_entropy(0.0) + 0.05


# ---------------------------------------------------------------- clipping
def test_clip_norm_caps_the_step(iris):
    """One full-batch SGD step without momentum moves lr * clip_norm exactly."""
    X, y = iris
    common = dict(hidden_layer_sizes=(5,), batch_size=len(X), max_iter=1,
                  shuffle=False, random_state=0, dtype="float64", alpha=0)
    start = NeuralClassifier(solver=SGD(learning_rate=1e-30, momentum=0.0),
                             **common).fit(X, y)
    moved = NeuralClassifier(solver=SGD(learning_rate=0.5, momentum=0.0),
                             clip_norm=0.01, **common).fit(X, y)
    step = np.concatenate([(a - b).ravel() for a, b in zip(
        moved.coefs_ + moved.intercepts_, start.coefs_ + start.intercepts_)])
    assert np.linalg.norm(step) == pytest.approx(0.5 * 0.01, rel=1e-8)
    assert np.linalg.norm(moved.grad_norm_curve_[0]) > 0.01  # recorded unclipped
    with pytest.raises(ValueError, match="clip_norm"):
        NeuralClassifier(solver="lbfgs", clip_norm=1.0).fit(X, y)
    # The solver object's clip_norm clips the same step; both at once is an error.
    via_solver = NeuralClassifier(
        solver=SGD(learning_rate=0.5, momentum=0.0, clip_norm=0.01), **common
    ).fit(X, y)
    for a, b in zip(via_solver.coefs_, moved.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(ValueError, match="both on the estimator"):
        NeuralClassifier(solver=SGD(clip_norm=1.0), clip_norm=1.0).fit(X, y)


# ---------------------------------------------------------------- diagnostics
def test_grad_norm_curve_matches_the_gradient(iris):
    X, y = iris
    clf = NeuralClassifier(hidden_layer_sizes=(5, 4), batch_size=len(X), max_iter=1,
                           solver=SGD(learning_rate=1e-30, momentum=0.0),
                           dtype="float64", random_state=0).fit(X, y)
    params = clf._params()
    Y = np.eye(3)[y]
    problem = Problem(X, Y, np.ones(len(X)), clf.alpha, shapes=shapes_of(params),
                      activation="relu", loss="log_loss", dtype=np.float64)
    _, grad = problem(ravel(params))
    sizes = [W.size + b.size for W, b in zip(clf.coefs_, clf.intercepts_)]
    norms = [np.linalg.norm(g) for g in np.split(grad, np.cumsum(sizes)[:-1])]
    np.testing.assert_allclose(clf.grad_norm_curve_[0], norms, rtol=1e-6)
    assert len(clf.grad_norm_curve_) == clf.n_iter_


def test_vanishing_gradients_warn():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(GradientWarning, match="Vanishing"):
        NeuralClassifier(hidden_layer_sizes=(4,) * 12, activation="logistic",
                         max_iter=2, random_state=0).fit(X, y)


def test_exploding_gradients_warn():
    X, y = make_regression(n_samples=100, n_features=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("error", category=GradientWarning)
        with pytest.raises(GradientWarning, match="Exploding"):
            NeuralRegressor(hidden_layer_sizes=(20, 20), solver="sgd",
                            learning_rate_init=0.05, max_iter=30,
                            random_state=0).fit(X, y)


def test_no_gradient_warning_on_a_healthy_fit(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=GradientWarning)
        NeuralClassifier(max_iter=50, random_state=0).fit(X, y)


def test_validation_loss_curve(digits):
    X, y = digits
    clf = NeuralClassifier(early_stopping=True, max_iter=30, random_state=0).fit(X, y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    assert NeuralClassifier(max_iter=2).fit(X, y).validation_loss_curve_ is None


def test_grid_search_over_regularisation(iris):
    X, y = iris
    search = GridSearchCV(
        NeuralClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0,
                         learning_rate_init=0.01),
        {"dropout": [0.0, 0.2], "batch_norm": [False, True],
         "activation": ["relu", "prelu"]},
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert search.best_score_ > 0.85


def test_regressor_with_regularisation():
    X, y = make_regression(n_samples=300, n_features=8, noise=5, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    reg = NeuralRegressor(hidden_layer_sizes=(32,), dropout=0.1, batch_norm=True,
                          l1=1e-4, clip_norm=5.0, max_iter=200, learning_rate_init=0.01,
                          random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.9


def test_sigmoid_output_entropy_is_binary_entropy():
    from skneural._objective import _entropy

    z = np.array([[-2.0, 0.5], [1.0, 3.0]])
    p = expit(z)
    expected = -(p * np.log(p) + (1 - p) * np.log(1 - p)).sum(1)
    with jax.enable_x64(True):
        np.testing.assert_allclose(_entropy(z, "logistic"), expected, rtol=1e-12)


@pytest.mark.parametrize("solver", ["lm", "least-squares"])
@pytest.mark.parametrize(
    "params, match",
    [(dict(batch_norm=True), "batch_norm"), (dict(l1=0.1), "l1"),
     (dict(entropy_reg=0.1), "entropy_reg")],
)
def test_least_squares_solvers_reject_non_residual_objectives(iris, solver, params,
                                                              match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        NeuralClassifier(hidden_layer_sizes=(4,), solver=solver, **params).fit(X, y)


@pytest.mark.parametrize("solver", ["bfgs", "cg", "newton-cg", "trust-ncg"])
def test_whole_batch_solvers_train_with_batch_norm_and_penalties(iris, solver):
    X, y = iris
    clf = NeuralClassifier(hidden_layer_sizes=(6,), solver=solver, batch_norm=True,
                           l1=1e-3, max_iter=50, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9
