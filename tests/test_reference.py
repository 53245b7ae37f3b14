"""Numerical reference tests: skneural against scikit-learn and finite differences.

The same ``random_state`` gives the same initial weights as scikit-learn's MLP,
so in float64 the training trajectories can be compared step by step.
"""

import numpy as np
import pytest
from scipy.optimize import check_grad
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_regression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._base import LOSS_FUNCTIONS
from sklearn.preprocessing import StandardScaler

import jax
from skneural import NeuralClassifier, NeuralRegressor
from skneural._losses import LOSSES
from skneural._objective import flat_value_and_grad, ravel, shapes_of
from skneural._network import init


def _regression():
    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    return X, y / 100


def _classification(loader=load_iris):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _max_coef_diff(a, b):
    return max(np.abs(p - q).max() for p, q in zip(a.coefs_ + a.intercepts_,
                                                   b.coefs_ + b.intercepts_))


#: Every scikit-learn stepwise update: SGD with plain, classical and Nesterov
#: momentum under the three learning-rate schedules, and Adam. 'adaptive'
#: stalls quickly (tol=1e-2, n_iter_no_change=2) so that the rate changes
#: several times within the fit; the stopping rules are on (tol > 0) so that
#: equal trajectories must also stop at the same epoch.
_SGD_MOMENTA = {"plain": dict(momentum=0.0), "classical":
                dict(nesterovs_momentum=False), "nesterov": dict()}  # fmt: skip
_SCHEDULES = {
    "constant": dict(learning_rate="constant"),
    "invscaling": dict(learning_rate="invscaling", learning_rate_init=0.1),
    "adaptive": dict(learning_rate="adaptive", tol=1e-2, n_iter_no_change=2),
}
_STEPWISE = {
    f"sgd-{m}-{s}": {"solver": "sgd", "learning_rate_init": 0.01, **mp, **sp}
    for m, mp in _SGD_MOMENTA.items()
    for s, sp in _SCHEDULES.items()
}
_STEPWISE.update({
    "sgd-alpha": dict(solver="sgd", learning_rate_init=0.01, alpha=0.1),
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "adam-betas": dict(solver="adam", learning_rate_init=0.003, beta_1=0.8,
                       beta_2=0.99, epsilon=1e-6, alpha=0.01),
    "adam-stops": dict(solver="adam", learning_rate_init=0.01, tol=1e-3,
                       n_iter_no_change=3),
})  # fmt: skip


def _fit_both(params, task, shuffle, max_iter=25):
    if task == "regression":
        (X, y), ours, theirs = _regression(), NeuralRegressor, MLPRegressor
    else:
        (X, y), ours, theirs = _classification(), NeuralClassifier, MLPClassifier
    common = dict(hidden_layer_sizes=(7,), random_state=0, tol=0, shuffle=shuffle,
                  batch_size=40, max_iter=max_iter)
    common.update(params)
    a = ours(dtype="float64", **common).fit(X, y)
    b = theirs(**common).fit(X, y)
    return a, b


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("params", list(_STEPWISE.values()), ids=list(_STEPWISE))
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_stepwise_trajectory_equals_sklearn(params, task, shuffle):
    """Same init, same minibatch order (scikit-learn's shuffling is reproduced
    from ``random_state``), the same update rule: in float64 the same weights
    after every one of >= 20 epochs, hence the same stopping epoch."""
    a, b = _fit_both(params, task, shuffle)
    assert a.n_iter_ == b.n_iter_
    assert len(a.loss_curve_) == len(b.loss_curve_)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)
    assert _max_coef_diff(a, b) < 1e-10
    assert a.coefs_[0].dtype == np.float64


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["sgd-nesterov-adaptive", "adam-stops"])
def test_stepwise_comparison_is_not_trivial(name):
    """The grid above exercises what it claims: 'adaptive' lowers the rate
    within the fit, the stopping rule ends a fit before max_iter, and the
    weights move far from their initial values."""
    a, b = _fit_both(_STEPWISE[name], "classification", True, max_iter=200)
    if name.endswith("adaptive"):
        assert b._optimizer.learning_rate < 0.01 / 5**2
    assert b.n_iter_ < 200 and a.n_iter_ == b.n_iter_ >= 20
    assert _max_coef_diff(a, b) < 1e-10
    start = MLPClassifier(hidden_layer_sizes=(7,), random_state=0, max_iter=1,
                          learning_rate_init=1e-30, solver="sgd", momentum=0.0)
    with pytest.warns(Warning):
        start.fit(*_classification())
    assert _max_coef_diff(a, start) > 1e-2


def test_sgd_rate_change_scales_only_the_new_gradient():
    """Hand-computed: after a rate change the velocity keeps its size."""
    from skneural.solvers import SGD

    for nesterov in (False, True):
        tx, hyper = SGD(learning_rate=0.5, momentum=0.9,
                        nesterov=nesterov).optax_transformation()  # fmt: skip
        with jax.enable_x64(True):
            theta = jax.numpy.array([1.0])
            state = tx.init(theta)
            state.hyperparams.update({k: jax.numpy.asarray(v) for k, v in hyper.items()})
            g1, g2 = jax.numpy.array([2.0]), jax.numpy.array([3.0])
            u1, state = tx.update(g1, state, theta)
            state.hyperparams["learning_rate"] = jax.numpy.asarray(0.1)
            u2, state = tx.update(g2, state, theta)
        v1 = -0.5 * 2.0
        v2 = 0.9 * v1 - 0.1 * 3.0
        expected = (0.9 * v2 - 0.1 * 3.0) if nesterov else v2
        assert float(u2[0]) == pytest.approx(expected, rel=1e-12)
        assert float(u1[0]) == pytest.approx(
            (0.9 * v1 - 0.5 * 2.0) if nesterov else v1, rel=1e-12
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_adam_algorithm1_form_is_close_but_not_equal(task):
    """``Adam(form='algorithm1')`` (optax's placement of epsilon) stays
    available: close to scikit-learn's trajectory, not equal to it."""
    from skneural.solvers import Adam

    c, b = _fit_both(dict(solver="adam", learning_rate_init=0.01), task, False)
    X, y = _regression() if task == "regression" else _classification()
    a = clone(c).set_params(solver=Adam(learning_rate=0.01, form="algorithm1"))
    a.fit(X, y)
    assert _max_coef_diff(c, b) < 1e-10
    np.testing.assert_allclose(a.loss_curve_, c.loss_curve_, rtol=5e-3)
    assert _max_coef_diff(a, c) > 1e-8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "ours, theirs, data",
    [
        (NeuralRegressor, MLPRegressor, _regression),
        (NeuralClassifier, MLPClassifier, _classification),
        (NeuralClassifier, MLPClassifier,
         lambda: _classification(load_breast_cancer)),
    ],
    ids=["regression", "multiclass", "binary"],
)
def test_lbfgs_iterates_equal_sklearn(ours, theirs, data):
    X, y = data()
    common = dict(hidden_layer_sizes=(7,), random_state=0, solver="lbfgs", max_iter=10)
    a = ours(**common).fit(X, y)
    b = theirs(**common).fit(X, y)
    assert a.n_iter_ == b.n_iter_ == 10
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-10)
    assert _max_coef_diff(a, b) < 1e-9
    assert len(a.loss_curve_) == a.n_iter_
    assert a.loss_curve_[-1] == pytest.approx(a.loss_)


@pytest.mark.parametrize(
    "ours, sk, y_kind",
    [
        ("squared_error", "squared_error", "real"),
        ("poisson", "poisson", "counts"),
        ("log_loss", "log_loss", "onehot"),
        ("binary_log_loss", "binary_log_loss", "binary"),
        ("binary_log_loss", "binary_log_loss", "multilabel"),
    ],
)
def test_losses_equal_sklearn(ours, sk, y_kind):
    rng = np.random.RandomState(0)
    n, k = 50, 3
    z = rng.normal(size=(n, k))
    y = {
        "real": rng.normal(size=(n, k)),
        "counts": rng.poisson(2.0, size=(n, k)).astype(float),
        "onehot": np.eye(k)[rng.randint(k, size=n)],
        "binary": rng.randint(2, size=(n, 1)).astype(float),
        "multilabel": rng.randint(2, size=(n, k)).astype(float),
    }[y_kind]
    if y_kind == "binary":
        z = z[:, :1]
    loss = LOSSES[ours]
    out = np.asarray(
        {
            "identity": lambda z: z,
            "exp": np.exp,
            "softmax": lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True),
            "logistic": lambda z: 1 / (1 + np.exp(-z)),
        }[loss.out_activation](z)
    )
    w = rng.uniform(0.5, 2, size=n)
    with jax.enable_x64(True):
        ours_value = float(np.average(np.asarray(loss.fn(y, z)), weights=w))
    expected = LOSS_FUNCTIONS[sk](y, out, sample_weight=w)
    assert ours_value == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_gradient_matches_finite_differences(loss, activation):
    rng = np.random.RandomState(0)
    n, d, k = 20, 4, 3
    X = rng.normal(size=(n, d))
    y = {
        "log_loss": np.eye(k)[rng.randint(k, size=n)],
        "binary_log_loss": rng.randint(2, size=(n, k)).astype(float),
        "poisson": rng.poisson(1.0, size=(n, k)).astype(float),
    }.get(loss, rng.normal(size=(n, k)))
    params, _ = init(rng, [d, 5, k], activation, np.float64)
    w = rng.uniform(0.5, 2.0, size=n)
    static = dict(shapes=shapes_of(params), activation=activation, loss=loss)
    with jax.enable_x64(True):

        def f(x):
            return float(flat_value_and_grad(x, X, y, w, 0.3, **static)[0])

        def g(x):
            return np.asarray(flat_value_and_grad(x, X, y, w, 0.3, **static)[1])

        x0 = ravel(params)
        err = check_grad(f, g, x0, epsilon=1e-7)
    assert err < 1e-5 * max(1.0, np.linalg.norm(g(x0)))


def test_initial_weights_equal_sklearn():
    """A vanishing learning rate leaves the initial weights: both start alike."""
    X, y = _classification()
    common = dict(hidden_layer_sizes=(6, 4), random_state=3, solver="sgd",
                  learning_rate_init=1e-30, max_iter=1, momentum=0.0)
    with pytest.warns(Warning):
        a = NeuralClassifier(dtype="float64", **common).fit(X, y)
    with pytest.warns(Warning):
        b = MLPClassifier(**common).fit(X, y)
    assert _max_coef_diff(a, b) < 1e-15


def test_problem_hessian_vector_product_matches_finite_differences():
    from skneural._problem import Problem

    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 4)), np.eye(3)[rng.randint(3, size=30)]
    params, _ = init(rng, [4, 6, 3], "tanh", np.float64)
    problem = Problem(X, y, np.ones(30), 0.1, shapes=shapes_of(params),
                      activation="tanh", loss="log_loss", dtype=np.float64)
    x, v = ravel(params), rng.normal(size=problem.n_params)
    eps = 1e-5
    fd = (problem(x + eps * v)[1] - problem(x - eps * v)[1]) / (2 * eps)
    np.testing.assert_allclose(problem.hvp(x, v), fd, rtol=1e-5, atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_early_stopping_split_and_scores_equal_sklearn():
    """The validation split and shuffling come from random_state as in sklearn."""
    X, y = _classification(load_breast_cancer)
    common = dict(hidden_layer_sizes=(7,), random_state=0, solver="sgd",
                  learning_rate_init=0.01, early_stopping=True, max_iter=15,
                  n_iter_no_change=100)
    a = NeuralClassifier(dtype="float64", **common).fit(X, y)
    b = MLPClassifier(**common).fit(X, y)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)
    assert a.validation_scores_ == b.validation_scores_
    assert _max_coef_diff(a, b) < 1e-12
