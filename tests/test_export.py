"""to_sklearn() and from_sklearn(): the same network as a scikit-learn MLP.

Table-driven over scikit-learn's four activations, the targets (binary,
multiclass, multilabel, one and several regression outputs, Poisson) and both
dtypes; every other entry of the activation registries is refused.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skneural import Activation, NeuralClassifier, NeuralRegressor
from skneural._activations import ACTIVATIONS, LAYER_ACTIVATIONS
from skneural._export import MLP_ACTIVATIONS, _mlp_activation
from skneural._network import as_net

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: Public fitted attributes of scikit-learn's MLP that must be copied.
PUBLIC = ("n_layers_", "n_outputs_", "out_activation_", "n_iter_", "t_", "loss_",
          "n_features_in_")  # fmt: skip


def _rtol(dtype):
    return 1e-6 if np.dtype(dtype) == np.float64 else 2e-5


def _data(target, dtype):
    rng = np.random.RandomState(0)
    if target in ("binary", "multiclass", "strings"):
        X, y = make_classification(
            120, 6, n_informative=4, n_classes=2 if target == "binary" else 3,
            random_state=0,
        )  # fmt: skip
        if target == "strings":
            y = np.array(["setosa", "versicolor", "virginica"])[y]
    elif target == "multilabel":
        X = rng.normal(size=(120, 6))
        y = (X[:, :3] + 0.3 * rng.normal(size=(120, 3)) > 0).astype(int)
    elif target == "poisson":
        X = rng.normal(size=(120, 6))
        y = rng.poisson(np.exp(0.3 * X[:, 0]))
    else:
        X, y = make_regression(
            120, 6, n_targets=2 if target == "multioutput" else 1, random_state=0
        )
        y = y / y.std()
    return X.astype(dtype), y


def _skneural(target, activation, dtype, **params):
    X, y = _data(target, dtype)
    params = {"max_iter": 20, **params}
    if target in ("binary", "multiclass", "strings", "multilabel"):
        est = NeuralClassifier((5, 4), activation, random_state=0, dtype=dtype,
                               **params)  # fmt: skip
    else:
        loss = "poisson" if target == "poisson" else "squared_error"
        est = NeuralRegressor(loss, (5, 4), activation, random_state=0, dtype=dtype,
                              **params)  # fmt: skip
    return est.fit(X, y), X


def _assert_same_predictions(a, b, X, dtype):
    rtol = _rtol(dtype)
    pa, pb = a.predict(X), b.predict(X)
    if hasattr(a, "predict_proba"):
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=rtol,
                                   atol=rtol * 1e-3)  # fmt: skip
    else:
        scale = np.abs(pb).max()
        np.testing.assert_allclose(pa, pb, rtol=rtol, atol=rtol * scale)


TARGETS = ["binary", "multiclass", "strings", "multilabel", "regression",
           "multioutput", "poisson"]  # fmt: skip
#: Every MLP activation (float64), every target (float32, and the regression
#: in float64 too).
CASES = (
    [(a, "multiclass", "float64") for a in ("identity", "logistic", "tanh", "relu")]
    + [("relu", t, "float32") for t in TARGETS]
    + [("tanh", "regression", "float64")]
)
ALIAS_CASES = [(a, "binary", "float64") for a in ("linear", "sigmoid")]


@pytest.mark.parametrize("activation, target, dtype", CASES + ALIAS_CASES)
def test_to_sklearn_predicts_the_same(activation, target, dtype):
    est, X = _skneural(target, activation, dtype)
    mlp = est.to_sklearn()
    assert type(mlp) is (MLPClassifier if target in TARGETS[:4] else MLPRegressor)
    assert mlp.activation == MLP_ACTIVATIONS[activation]
    assert mlp.hidden_layer_sizes == (5, 4)
    _assert_same_predictions(mlp, est, X, dtype)
    # Same for the other input dtype (the network's own dtype computes).
    _assert_same_predictions(mlp, est, X.astype(np.float64), "float32")
    for name in PUBLIC:
        assert getattr(mlp, name) == getattr(est, name), name
    assert mlp.loss_curve_ == est.loss_curve_
    assert mlp.best_loss_ == est.best_loss_
    for a, b in zip(mlp.coefs_ + mlp.intercepts_, est.coefs_ + est.intercepts_):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype and a is not b
    if hasattr(est, "classes_"):
        np.testing.assert_array_equal(mlp.classes_, est.classes_)
    if target == "poisson":
        assert mlp.loss == "poisson" and mlp.out_activation_ == "exp"


def test_to_sklearn_params_and_names():
    pd = pytest.importorskip("pandas")
    X, y = _data("multiclass", "float64")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = NeuralClassifier(
        [3], "sigmoid", solver="sgd", alpha=0.01, batch_size=16,
        learning_rate="invscaling", learning_rate_init=0.05, max_iter=5, tol=1e-3,
        momentum=0.8, nesterovs_momentum=False, random_state=3, verbose=0,
        n_iter_no_change=4, dropout=0.2, l1=0.001,
    ).fit(df, y)  # fmt: skip
    mlp = est.to_sklearn()
    params = mlp.get_params()
    assert params["activation"] == "logistic"
    for name in ("solver", "alpha", "batch_size", "learning_rate",
                 "learning_rate_init", "max_iter", "tol", "momentum",
                 "nesterovs_momentum", "random_state", "n_iter_no_change"):  # fmt: skip
        assert params[name] == est.get_params()[name], name
    assert params["verbose"] is False
    np.testing.assert_array_equal(mlp.feature_names_in_, est.feature_names_in_)
    # Dropout acts only in training: the fitted function is the same.
    _assert_same_predictions(mlp, est, df, "float32")
    # The returned model keeps training in scikit-learn.
    mlp.partial_fit(df, y)
    clone(mlp).fit(df, y)


@pytest.mark.parametrize(
    "solver, expected", [("lm", "lbfgs"), ("rmsprop", "adam"), ("sgd", "sgd")],
)  # fmt: skip
def test_to_sklearn_solver(solver, expected):
    X, y = _data("regression", "float64")
    est = NeuralRegressor(hidden_layer_sizes=(3,), solver=solver, max_iter=5,
                          random_state=0).fit(X, y)  # fmt: skip
    assert est.to_sklearn().solver == expected


def test_to_sklearn_warm_start_in_sklearn():
    X, y = _data("multiclass", "float64")
    est = NeuralClassifier((4,), solver="adam", early_stopping=True, max_iter=5,
                           random_state=0, dtype="float64").fit(X, y)  # fmt: skip
    mlp = est.to_sklearn().set_params(warm_start=True, max_iter=3)
    assert mlp.validation_scores_ == est.validation_scores_
    mlp.fit(X, y)
    assert len(mlp.validation_scores_) > len(est.validation_scores_)


#: What scikit-learn's MLP cannot represent: every other registry entry.
REFUSED = (
    [a for a in ACTIVATIONS if a not in MLP_ACTIVATIONS]
    + list(LAYER_ACTIVATIONS)
    + [Activation("leaky_relu", negative_slope=0.3), Activation("maxout", pieces=3),
       Activation("relu")]
)


@pytest.mark.parametrize("activation", REFUSED, ids=repr)
def test_mlp_activation_refuses(activation):
    net = as_net(activation, 2)
    if activation == Activation("relu"):
        assert _mlp_activation(net) == "relu"
        return
    with pytest.raises(ValueError, match="scikit-learn's MLP cannot represent.*ONNX"):
        _mlp_activation(net)


@pytest.mark.parametrize(
    "activation", ["elu", "prelu", Activation("softplus", beta=2.0)], ids=repr
)
def test_to_sklearn_refuses_other_activations(activation):
    est, _ = _skneural("binary", activation, "float32", max_iter=1)
    before = [c.copy() for c in est.coefs_]
    with pytest.raises(ValueError, match="scikit-learn's MLP cannot represent.*ONNX"):
        est.to_sklearn()
    for a, b in zip(before, est.coefs_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: _skneural("binary", ["relu", "tanh"], "float32"), "per-layer"),
        (lambda: _skneural("binary", lambda x: x * 2.0, "float32"), "callable"),
        (lambda: _skneural("binary", "relu", "float32", batch_norm=True),
         "batch normalisation"),
        (lambda: (NeuralRegressor("huber", (3,), max_iter=2).fit(
            *_data("regression", "float32")), None), "loss='huber'"),
        (lambda: (NeuralRegressor("absolute_error", (3,), max_iter=2).fit(
            *_data("regression", "float32")), None), "loss='absolute_error'"),
    ],
    ids=["per-layer", "callable", "batch_norm", "huber", "absolute_error"],
)  # fmt: skip
def test_to_sklearn_refuses(make, match):
    est, _ = make()
    with pytest.raises(ValueError, match=match):
        est.to_sklearn()


def test_to_sklearn_same_activation_per_layer_and_not_fitted():
    est, X = _skneural("multiclass", ["tanh", Activation("tanh")], "float64")
    _assert_same_predictions(est.to_sklearn(), est, X, "float64")
    with pytest.raises(NotFittedError):
        NeuralClassifier().to_sklearn()


def _sklearn(target, activation, dtype, solver="adam", **params):
    X, y = _data(target, dtype)
    params = {"max_iter": 30, **params}
    if target in ("binary", "multiclass", "strings", "multilabel"):
        mlp = MLPClassifier((5, 4), activation=activation, solver=solver,
                            random_state=0, **params)  # fmt: skip
    else:
        mlp = MLPRegressor(
            loss="poisson" if target == "poisson" else "squared_error",
            hidden_layer_sizes=(5, 4), activation=activation, solver=solver,
            random_state=0, **params,
        )  # fmt: skip
    return mlp.fit(X, y), X, y


@pytest.mark.parametrize("activation, target, dtype", CASES)
def test_from_sklearn_predicts_the_same(activation, target, dtype):
    mlp, X, y = _sklearn(target, activation, dtype)
    cls = NeuralClassifier if target in TARGETS[:4] else NeuralRegressor
    est = cls.from_sklearn(mlp)
    assert type(est) is cls
    assert est.coefs_[0].dtype == mlp.coefs_[0].dtype == np.dtype(dtype)
    assert est.dtype == dtype and est.activation == activation
    _assert_same_predictions(est, mlp, X, dtype)
    for name in PUBLIC:
        assert getattr(est, name) == getattr(mlp, name), name
    assert est.loss_curve_ == mlp.loss_curve_
    for a, b in zip(mlp.coefs_, est.coefs_):
        assert a is not b
    assert est.score(X, y) == pytest.approx(mlp.score(X, y), rel=_rtol(dtype))
    # Ready to train on: one more epoch with a fresh optimiser state.
    est.partial_fit(X, y)
    assert est.n_iter_ == 1 and est.t_ == mlp.t_ + X.shape[0]


@pytest.mark.parametrize("solver", ["lm", "rmsprop"])
def test_from_sklearn_warm_start_polishes(solver):
    mlp, X, y = _sklearn("regression", "tanh", "float64", max_iter=50)
    est = NeuralRegressor.from_sklearn(mlp).set_params(
        solver=solver, warm_start=True, max_iter=30, learning_rate_init=1e-3
    )  # fmt: skip
    start = NeuralRegressor.from_sklearn(mlp)
    loss_start = 0.5 * np.mean((start.predict(X) - y) ** 2)
    est.fit(X, y)
    assert 0.5 * np.mean((est.predict(X) - y) ** 2) < loss_start
    assert est.coefs_[0].dtype == np.float64


def test_from_sklearn_warm_start_classifier_keeps_classes():
    mlp, X, y = _sklearn("strings", "relu", "float64")
    est = NeuralClassifier.from_sklearn(mlp)
    est.set_params(solver="lbfgs", warm_start=True, max_iter=20).fit(X, y)
    np.testing.assert_array_equal(est.classes_, mlp.classes_)
    assert set(est.predict(X)) <= set(mlp.classes_)
    assert est.score(X, y) >= mlp.score(X, y) - 0.05


def test_from_sklearn_early_stopping_and_round_trip():
    mlp, X, y = _sklearn("multiclass", "relu", "float64", early_stopping=True)
    est = NeuralClassifier.from_sklearn(mlp)
    assert est.validation_scores_ == mlp.validation_scores_
    assert est.best_validation_score_ == mlp.best_validation_score_
    est.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert len(est.validation_scores_) > len(mlp.validation_scores_)
    back = NeuralClassifier.from_sklearn(est.to_sklearn())
    _assert_same_predictions(back, est, X, "float64")
    assert clone(back).get_params() == back.get_params()


def test_from_sklearn_errors():
    mlp, _, _ = _sklearn("regression", "relu", "float64")
    with pytest.raises(TypeError, match="expects a fitted .*MLPClassifier"):
        NeuralClassifier.from_sklearn(mlp)
    with pytest.raises(TypeError, match="MLPRegressor"):
        NeuralRegressor.from_sklearn(NeuralRegressor())
    with pytest.raises(NotFittedError):
        NeuralRegressor.from_sklearn(MLPRegressor())
