"""Behaviours that make the estimators drop-in replacements for scikit-learn's
MLPClassifier and MLPRegressor: fitted dtypes, weights set by hand, a single
class, convergence reports and the messages for mistyped names."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils._param_validation import InvalidParameterError

from skneural import Activation, NeuralClassifier, NeuralRegressor
from skneural.solvers import FTOL, SOLVERS, loss_converged


def _iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


# ----------------------------------------------------------------- dtypes
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("compute", [None, "float32", "float64"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Estimator", [NeuralClassifier, NeuralRegressor])
def test_fitted_arrays_follow_the_input_dtype(Estimator, dtype, compute, solver):
    """As scikit-learn's MLP: coefs_/intercepts_ (and predictions of the
    regressor) in X's float dtype, whatever precision the fit computes in."""
    X, y = _iris()
    est = Estimator(hidden_layer_sizes=(5,), max_iter=5, random_state=0,
                    solver=solver, dtype=compute).fit(X.astype(dtype), y)  # fmt: skip
    assert all(c.dtype == dtype for c in est.coefs_ + est.intercepts_)
    expected = compute or ("float64" if solver == "lbfgs" else "float32")
    assert est._predict_dtype() == np.dtype(expected)
    if Estimator is NeuralRegressor:
        assert est.predict(X.astype(dtype)).dtype == dtype


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_float64_attributes_of_a_float32_fit_predict_as_before():
    """Storing float32 results as float64 changes no prediction, and a
    continued fit picks up exactly where it stopped."""
    X, y = _iris()
    a = NeuralClassifier(hidden_layer_sizes=(5,), max_iter=6, random_state=0)
    b = NeuralClassifier(hidden_layer_sizes=(5,), max_iter=6, random_state=0)
    a.fit(X, y)
    b.fit(X.astype(np.float32), y)
    assert a.coefs_[0].dtype == np.float64 and b.coefs_[0].dtype == np.float32
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q.astype(np.float64))
    # The same float64 probabilities, returned in each input's dtype.
    np.testing.assert_array_equal(
        a.predict_proba(X).astype(np.float32), b.predict_proba(X.astype(np.float32))
    )
    a.set_params(warm_start=True, max_iter=3).fit(X, y)
    b.set_params(warm_start=True, max_iter=3).fit(X.astype(np.float32), y)
    assert a.coefs_[0].dtype == np.float64
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0].astype(np.float64))


# --------------------------------------------------------- weights by hand
def _hand_set(est, coefs, intercepts, **attrs):
    est.coefs_ = [np.array(c) for c in coefs]
    est.intercepts_ = [np.array(b) for b in intercepts]
    for k, v in attrs.items():
        setattr(est, k, v)
    return est


W1 = [[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]
W2 = [[0.1], [0.2]]
B1, B2 = [0.1, 0.1], [1.0]


def test_partial_fit_from_weights_set_by_hand_equals_mlp():
    """scikit-learn's worked example (one backpropagation step from given
    weights), with only MLP's public attributes set: the same step."""
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    params = dict(solver="sgd", learning_rate_init=0.1, alpha=0.1,
                  activation="logistic", random_state=1, max_iter=1,
                  hidden_layer_sizes=2, momentum=0)  # fmt: skip
    public = dict(n_outputs_=1, n_layers_=3, out_activation_="logistic")
    ours = _hand_set(NeuralClassifier(dtype="float64", **params), [W1, W2], [B1, B2],
                     **public)  # fmt: skip
    theirs = _hand_set(MLPClassifier(**params), [W1, W2], [B1, B2], **public,
                       n_iter_=0, t_=0, best_loss_=np.inf, loss_curve_=[],
                       _no_improvement_count=0, n_features_in_=3)  # fmt: skip
    ours.partial_fit(X, y, classes=[0, 1])
    theirs.partial_fit(X, y, classes=[0, 1])
    for p, q in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(p, q, rtol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.coefs_[0][0, 0] != 0.1  # it moved
    assert ours.n_iter_ == 1 and ours.t_ == 1 and len(ours.loss_curve_) == 1


@pytest.mark.parametrize("extra", [{}, {"batch_norm": True}, {"activation": "prelu"}])
def test_predict_and_warm_start_from_weights_set_by_hand(extra):
    """Only coefs_ and intercepts_ (and classes_ for a classifier): prediction
    works, and warm_start / partial_fit continue from those weights, the
    extra layer parameters and state at their initial values."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, -1.0, 0.5]
    reg = NeuralRegressor(hidden_layer_sizes=(2,), solver="sgd", momentum=0,
                          max_iter=1, warm_start=True, dtype="float64", **extra)
    _hand_set(reg, [W1, W2], [B1, B2])
    hidden = np.maximum(X @ np.array(W1) + B1, 0) if not extra else None
    if hidden is not None:
        np.testing.assert_allclose(reg.predict(X), hidden @ np.array(W2)[:, 0] + 1)
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    assert reg.n_iter_ == 1 and reg.coefs_[0].shape == (3, 2)
    assert not np.allclose(reg.coefs_[0], W1)
    assert reg.coefs_[0].dtype == np.float64

    clf = NeuralClassifier(hidden_layer_sizes=(2,), solver="sgd", **extra)
    _hand_set(clf, [W1, W2], [B1, B2], classes_=np.array(["a", "b"]))
    assert set(clf.predict(X)) <= {"a", "b"}
    assert clf.predict_proba(X).shape == (30, 2)
    clf.partial_fit(X, np.where(y > 0, "a", "b"))
    assert not np.allclose(clf.coefs_[0], W1)


def test_hand_set_multiclass_and_multilabel_are_told_apart():
    X = np.random.RandomState(0).normal(size=(8, 3))
    W, b = np.ones((3, 3)) * [[1.0, 0.0, -1.0]], np.zeros(3)
    multi = _hand_set(NeuralClassifier(hidden_layer_sizes=()), [W], [b],
                      classes_=np.array([0, 1, 2]))  # fmt: skip
    np.testing.assert_allclose(multi.predict_proba(X).sum(1), 1, rtol=1e-6)
    labels = _hand_set(NeuralClassifier(hidden_layer_sizes=()), [W], [b],
                       classes_=np.arange(3), out_activation_="logistic")  # fmt: skip
    assert labels.predict(X).shape == (8, 3)


# ------------------------------------------------------------ single class
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_single_class_is_fitted_as_mlp_does(solver):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(20, 3)), np.full(20, "a")
    params = dict(hidden_layer_sizes=(3,), max_iter=20, random_state=0, solver=solver)
    with pytest.warns(RuntimeWarning, match="single class .'a'.*predicts this class"):
        ours = NeuralClassifier(dtype="float64", **params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        theirs = MLPClassifier(**params).fit(X, y)  # no such warning there
    assert list(ours.classes_) == ["a"]
    assert (ours.predict(X) == "a").all()
    proba = ours.predict_proba(X)
    assert proba.shape == theirs.predict_proba(X).shape == (20, 2)
    np.testing.assert_allclose(proba, theirs.predict_proba(X), rtol=1e-6)
    assert ours.score(X, y) == 1.0


def test_single_class_partial_fit_and_early_stopping():
    X = np.random.RandomState(0).normal(size=(20, 2))
    with pytest.warns(RuntimeWarning, match="single class"):
        clf = NeuralClassifier(solver="sgd").partial_fit(X, np.ones(20), classes=[1])
    assert (clf.predict(X) == 1).all()
    with warnings.catch_warnings():  # scikit-learn's test: no UserWarning
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        NeuralClassifier(early_stopping=True, validation_fraction=0.2,
                         max_iter=3).fit(X[:10], np.ones(10))  # fmt: skip


# ------------------------------------------------------- convergence reports
def test_loss_converged_is_scipys_relative_test():
    assert loss_converged([2.0, 2.0 * (1 - FTOL / 2)])
    assert not loss_converged([2.0, 2.0 * (1 - 2 * FTOL)])
    assert loss_converged([1e-3, 1e-3 - FTOL / 2])  # scaled by max(|f|, 1)
    assert not loss_converged([1.0]) and not loss_converged([1.0, np.nan])


def test_lm_on_a_flat_loss_reports_convergence():
    """Levenberg-Marquardt stops when no damped step lowers a loss that is flat
    to ~1e-12: converged, no ConvergenceWarning."""
    X, y = make_friedman1(300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = NeuralRegressor(hidden_layer_sizes=(10,), solver="lm",
                              random_state=0).fit(X, y)  # fmt: skip
    assert reg.n_iter_ < reg.max_iter
    assert loss_converged(reg.loss_curve_)


@pytest.mark.parametrize("solver", ["lm", "bfgs", "cg"])
def test_whole_batch_solvers_still_warn_when_not_converged(solver):
    X, y = make_friedman1(100, random_state=0)
    with pytest.warns(ConvergenceWarning, match="without converging"):
        NeuralRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=3,
                        random_state=0).fit(X, y)  # fmt: skip


def test_lm_warns_when_mu_max_is_hit_on_a_falling_loss():
    from skneural.solvers import LevenbergMarquardt

    X, y = make_friedman1(100, random_state=0)
    with pytest.warns(ConvergenceWarning, match="mu exceeded mu_max"):
        NeuralRegressor(hidden_layer_sizes=(5,), random_state=0,
                        solver=LevenbergMarquardt(mu=1.0, mu_max=1.0)).fit(X, y)


# ---------------------------------------------------------------- messages
@pytest.mark.parametrize(
    "Estimator, param, value, suggestion",
    [
        (NeuralClassifier, "solver", "adma", "adam"),
        (NeuralClassifier, "solver", "LBFGS", "lbfgs"),
        (NeuralRegressor, "activation", "rleu", "relu"),
        (NeuralRegressor, "activation", ["tanh", "tahn"], "tanh"),
        (NeuralRegressor, "init", "he_unifrom", "he_uniform"),
        (NeuralRegressor, "loss", "squared_eror", "squared_error"),
    ],
)
def test_unknown_names_list_public_names_and_the_closest(
    Estimator, param, value, suggestion
):
    X, y = _iris()
    est = Estimator(hidden_layer_sizes=(3, 3), **{param: value})
    with pytest.raises(InvalidParameterError) as info:
        est.fit(X, y)
    msg = str(info.value)
    assert msg.endswith(f"Did you mean {suggestion!r}?")
    assert f"The {param!r} parameter of {Estimator.__name__} must be" in msg
    assert "skneural.solvers._" not in msg and "<class" not in msg
    listed = msg.split("must be ")[1].split(". Got")[0]
    names = [w.strip("'") for w in listed.replace(" or ", ", ").split(", ")
             if w.startswith("'")]  # fmt: skip
    assert names == sorted(names) and suggestion in names


def test_wrong_solver_type_names_public_types_only():
    with pytest.raises(InvalidParameterError) as info:
        NeuralClassifier(solver=5).fit(*_iris())
    msg = str(info.value)
    assert "skneural.solvers._" not in msg and "'sgd'" in msg
    assert "optax.GradientTransformation" in msg and "Did you mean" not in msg
    assert all(repr(n) in msg for n in SOLVERS)


def test_unknown_activation_object_and_device_suggest():
    with pytest.raises(ValueError, match="Did you mean 'relu'"):
        Activation("rleu")
    with pytest.raises(ValueError, match="Did you mean 'gpu'"):
        NeuralClassifier(device="gpo", max_iter=1).fit(*_iris())


def test_mlp_param_dtypes_and_single_class_against_mlp_regressor():
    """The regressor's float32 path too, against scikit-learn's."""
    X, y = _iris()
    ours = NeuralRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    theirs = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X.astype(np.float32), y)
        theirs.fit(X.astype(np.float32), y)
    assert [c.dtype for c in ours.coefs_] == [c.dtype for c in theirs.coefs_]
