"""Activations, initialisers and class weights."""

import pickle

import jax
import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LinearRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV
from sklearn.utils.class_weight import compute_sample_weight

from skneural import Activation, NeuralClassifier, NeuralRegressor, _activations
from skneural._activations import (
    ACTIVATIONS,
    LAYER_ACTIVATIONS,
    STEP_FUNCTIONS,
    Elementwise,
    LayerType,
    function,
    layer_type,
    resolve,
)
from skneural._network import INITIALIZERS, Net, as_net, forward, init

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _softplus(x, beta=1.0):
    return np.log1p(np.exp(beta * x)) / beta


# The catalogue's formulas, written independently in numpy.
FORMULAS = {
    "identity": lambda x: x,
    "linear": lambda x: x,
    "logistic": expit,
    "sigmoid": expit,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(0, x),
    "leaky_relu": lambda x: np.maximum(0.1 * x, x),
    "elu": lambda x: np.where(x >= 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(
        x >= 0, x, 1.6732632423543772 * (np.exp(x) - 1)
    ),
    "gelu": lambda x: x / 2 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "swish": lambda x: x * expit(x),
    "silu": lambda x: x * expit(x),
    "softplus": _softplus,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "hard_sigmoid": lambda x: np.where(x <= -3, 0, np.where(x >= 3, 1, x / 6 + 0.5)),
    "hard_swish": lambda x: np.where(x <= -3, 0, np.where(x >= 3, x, x * (x + 3) / 6)),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "piecewise_linear": lambda x: np.where(x >= 0.5, 1, np.where(x <= -0.5, 0, x + 0.5)),
}


def test_every_activation_has_a_reference_formula():
    assert set(FORMULAS) == set(ACTIVATIONS)


# Points away from every kink (0, +-0.5, +-1, +-3), where derivatives exist.
X_GRID = np.array([-4.2, -2.7, -1.3, -0.8, -0.3, -0.1, 0.2, 0.7, 1.6, 2.2, 3.4])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradients(name):
    with jax.enable_x64(True):
        f = function(name)
        np.testing.assert_allclose(np.asarray(f(X_GRID)), FORMULAS[name](X_GRID),
                                   rtol=1e-12, atol=1e-12)
        grad = np.asarray(jax.vmap(jax.grad(f))(X_GRID))
    eps = 1e-6
    fd = (FORMULAS[name](X_GRID + eps) - FORMULAS[name](X_GRID - eps)) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_activation_parameters():
    x = np.array([-2.0, -0.2, 0.3, 2.0])
    np.testing.assert_allclose(Activation("leaky_relu", negative_slope=0.3)(x),
                               np.maximum(0.3 * x, x), rtol=1e-6)
    np.testing.assert_allclose(Activation("elu", alpha=2.0)(x),
                               np.where(x >= 0, x, 2 * (np.exp(x) - 1)), rtol=1e-6)
    np.testing.assert_allclose(Activation("softplus", beta=3.0)(x),
                               _softplus(x, 3.0), rtol=1e-6)
    np.testing.assert_allclose(Activation("soft_shrink", lambd=1.0)(x),
                               np.where(x > 1, x - 1, np.where(x < -1, x + 1, 0)))


def test_activation_object_is_a_good_parameter():
    a = Activation("leaky_relu", negative_slope=0.2)
    assert a == Activation("leaky_relu", negative_slope=0.2)
    assert hash(a) == hash(Activation("leaky_relu", negative_slope=0.2))
    assert pickle.loads(pickle.dumps(a)) == a
    assert repr(a) == "Activation('leaky_relu', negative_slope=0.2)"
    with pytest.raises(ValueError, match="Unknown activation"):
        Activation("nope")


def test_grid_search_over_activations():
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        NeuralClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0),
        {"activation": ["tanh", "gelu", Activation("leaky_relu", negative_slope=0.2)]},
        cv=3,
    ).fit(X, y)
    assert search.best_score_ > 0.9
    assert len(search.cv_results_["params"]) == 3


def test_per_layer_activations_and_callables():
    X, y = load_iris(return_X_y=True)
    clf = NeuralClassifier(hidden_layer_sizes=(8, 6), activation=["tanh", "elu"],
                           solver="lbfgs", random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    # A callable equal to 'tanh' gives the same fit as the name.
    a = NeuralClassifier(hidden_layer_sizes=(5,), activation=jax.numpy.tanh,
                         solver="lbfgs", max_iter=30, random_state=0).fit(X, y)
    b = NeuralClassifier(hidden_layer_sizes=(5,), activation="tanh", solver="lbfgs",
                         max_iter=30, random_state=0).fit(X, y)
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-10)
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        NeuralClassifier(hidden_layer_sizes=(8, 6), activation=["tanh"]).fit(X, y)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_entry_is_documented(name):
    entry = ACTIVATIONS[name]
    assert isinstance(entry, Elementwise)
    assert entry.formula
    assert set(entry.symbols) <= set(entry.defaults)


@pytest.mark.parametrize("name", sorted(LAYER_ACTIVATIONS))
def test_layer_type_entry_declares_its_layer(name):
    """Every layer type: its parameter shapes (width factor, extra
    parameters and their initial values), its randomness flag and its
    documentation come from its entry."""
    entry = LAYER_ACTIVATIONS[name]
    assert isinstance(entry, LayerType)
    assert entry.summary and entry.description
    a = Activation(name)
    assert layer_type(a) is entry
    assert a.kwargs == entry.defaults
    assert resolve(name, 2) == (a, a)
    with pytest.raises(TypeError, match="layer"):
        a(np.zeros(3))
    net = Net((a,), (0.0,))
    assert net.stochastic is entry.stochastic
    rng = np.random.RandomState(0)
    params, _ = init(rng, [4, 5, 3], a, np.float64, net=net)
    k = entry.width_factor(**a.kwargs)
    assert params[0]["W"].shape == (4, 5 * k)
    extras = entry.extra_params(5, np.float64, **a.kwargs)
    assert set(params[0]) == {"W", "b", *extras}
    for key, value in extras.items():
        np.testing.assert_array_equal(params[0][key], value)
    z = forward(params, np.ones((2, 4)), net)
    assert z.shape == (2, 3)


@pytest.mark.parametrize("name", sorted(LAYER_ACTIVATIONS))
def test_layer_type_fits_and_predicts(name):
    X, y = load_iris(return_X_y=True)
    solver = "adam" if LAYER_ACTIVATIONS[name].stochastic else "lbfgs"
    clf = NeuralClassifier(hidden_layer_sizes=(6,), activation=name, solver=solver,
                           max_iter=50, random_state=0).fit(X, y)
    assert clf.predict(X).shape == y.shape
    assert np.all(np.isfinite(clf.predict_proba(X)))


def _pairs(h, params, key, train, scale):
    """Toy layer: tanh of a learned scale times the mean of pairs of units."""
    pairs = h.reshape(h.shape[:-1] + (h.shape[-1] // 2, 2)).mean(axis=-1)
    return jax.numpy.tanh(params["s"] * pairs)


TOY_LAYER = LayerType(
    _pairs,
    defaults={"scale": 0.5},
    params=lambda units, dtype, scale: {"s": np.full(units, scale, dtype=dtype)},
    width=lambda scale: 2,
    summary="toy pairs",
    description="Toy layer of the tests.",
)
TOY_ACTIVATION = Elementwise(lambda x: x / (1 + x**2), r":math:`x / (1 + x^2)`")


@pytest.fixture
def toy_registries(monkeypatch):
    """A layer type and an elementwise activation added as one entry each."""
    monkeypatch.setitem(_activations.LAYER_ACTIVATIONS, "toy_pairs", TOY_LAYER)
    monkeypatch.setitem(_activations.ACTIVATIONS, "toy_rational", TOY_ACTIVATION)


def test_new_layer_type_is_one_registry_entry(toy_registries):
    X, y = load_iris(return_X_y=True)
    clf = NeuralClassifier(hidden_layer_sizes=(5,), activation="toy_pairs",
                           solver="lbfgs", max_iter=200, random_state=0)
    clf._validate_params()
    clf.fit(X, y)
    assert clf.coefs_[0].shape == (4, 10)
    assert clf.layer_params_[0]["s"].shape == (5,)
    assert not np.allclose(clf.layer_params_[0]["s"], 0.5)  # learned
    assert clf.score(X, y) > 0.9
    # Its keyword arguments, a list of layers and a stepwise solver.
    clf = NeuralClassifier(
        hidden_layer_sizes=(6, 4),
        activation=[Activation("toy_pairs", scale=2.0), "toy_rational"],
        max_iter=20, random_state=0,
    ).fit(X, y)
    assert clf.coefs_[0].shape == (4, 12)
    assert clf.predict(X).shape == y.shape
    with pytest.raises(ValueError, match="takes no argument"):
        Activation("toy_pairs", pieces=3)


def test_new_activation_is_one_registry_entry(toy_registries):
    X, y = make_regression(n_samples=60, n_features=3, random_state=0)
    reg = NeuralRegressor(hidden_layer_sizes=(6,), activation="toy_rational",
                          solver="lbfgs", max_iter=50, random_state=0)
    reg._validate_params()
    reg.fit(X, y)
    z = np.asarray(reg.predict(X))
    params = [{"W": W, "b": b} for W, b in zip(reg.coefs_, reg.intercepts_)]
    expected = forward(params, X, as_net(lambda x: x / (1 + x**2), 1))
    np.testing.assert_allclose(z, np.asarray(expected).ravel(), rtol=1e-5,
                               atol=1e-8)
    assert "toy_rational" in _activations.ActivationNames().options


def test_unregistered_names_are_still_refused():
    X, y = load_iris(return_X_y=True)
    for name in ("toy_pairs", "toy_rational"):
        with pytest.raises(ValueError, match="activation"):
            NeuralClassifier(activation=name).fit(X, y)


def test_registries_do_not_overlap():
    assert not set(ACTIVATIONS) & set(LAYER_ACTIVATIONS)
    assert not (set(ACTIVATIONS) | set(LAYER_ACTIVATIONS)) & set(STEP_FUNCTIONS)


@pytest.mark.parametrize("step", ["heaviside", "sign"])
def test_step_functions_point_to_the_perceptron(step):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="Perceptron"):
        NeuralClassifier(activation=step).fit(X, y)
    with pytest.raises(ValueError, match="Perceptron"):
        resolve(["relu", step], 2)


def test_identity_network_is_a_linear_model():
    """The catalogue: a multilayer net with linear activations is one layer."""
    X, y = make_regression(n_samples=100, n_features=4, noise=0.1, random_state=0)
    reg = NeuralRegressor(hidden_layer_sizes=(6, 3), activation="identity",
                          solver="lbfgs", alpha=0, tol=1e-10, max_iter=2000,
                          random_state=0).fit(X, y)
    W = reg.coefs_[0] @ reg.coefs_[1] @ reg.coefs_[2]
    b = (reg.intercepts_[0] @ reg.coefs_[1] + reg.intercepts_[1]) @ reg.coefs_[2]
    b = b + reg.intercepts_[2]
    np.testing.assert_allclose(reg.predict(X), (X @ W + b).ravel(), rtol=1e-9)
    lin = LinearRegression().fit(X, y)
    np.testing.assert_allclose(W.ravel(), lin.coef_, rtol=1e-4)


# ---------------------------------------------------------------- initialisers
@pytest.mark.parametrize(
    "method, std",
    [
        ("glorot_normal", lambda fi, fo: np.sqrt(2 / (fi + fo))),
        ("he_uniform", lambda fi, fo: np.sqrt(2 / fi)),
        ("he_normal", lambda fi, fo: np.sqrt(2 / fi)),
        ("lecun_normal", lambda fi, fo: np.sqrt(1 / fi)),
    ],
)
def test_initialisers_have_their_variance(method, std):
    params, _ = init(np.random.RandomState(0), [400, 300, 10], "relu", np.float32, method)
    W = params[0]["W"]
    assert W.shape == (400, 300) and W.dtype == np.float32
    assert W.std() == pytest.approx(std(400, 300), rel=0.03)
    assert abs(W.mean()) < 0.01 * std(400, 300) * 10
    assert not params[0]["b"].any()


def test_orthogonal_initialiser():
    W, _ = init(np.random.RandomState(0), [50, 30, 2], "relu", np.float64, "orthogonal")
    np.testing.assert_allclose(W[0]["W"].T @ W[0]["W"], np.eye(30), atol=1e-5)


@pytest.mark.parametrize("method", sorted(INITIALIZERS))
def test_initialisers_are_reproducible_and_train(method):
    X, y = load_iris(return_X_y=True)
    a = NeuralClassifier(init=method, solver="lbfgs", random_state=0).fit(X, y)
    b = NeuralClassifier(init=method, solver="lbfgs", random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert a.score(X, y) > 0.95


# ---------------------------------------------------------------- class weights
def test_class_weight_balanced_equals_sample_weights():
    X, y = make_classification(n_samples=300, weights=[0.85, 0.15], random_state=0)
    a = NeuralClassifier(class_weight="balanced", solver="lbfgs", max_iter=50,
                         random_state=0).fit(X, y)
    b = NeuralClassifier(solver="lbfgs", max_iter=50, random_state=0).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y)
    )
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-10)


def test_class_weight_raises_minority_recall():
    X, y = make_classification(n_samples=600, weights=[0.9, 0.1], flip_y=0.05,
                               class_sep=0.5, random_state=0)
    plain = NeuralClassifier(max_iter=300, random_state=0).fit(X, y)
    weighted = clone(plain).set_params(class_weight={0: 1, 1: 10}).fit(X, y)
    assert recall_score(y, weighted.predict(X)) > recall_score(y, plain.predict(X))


def test_class_weight_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="partial_fit"):
        NeuralClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    Y = np.c_[y == 0, y == 1].astype(int)
    with pytest.raises(ValueError, match="multilabel"):
        NeuralClassifier(class_weight={0: 1, 1: 2}).fit(X, Y)
