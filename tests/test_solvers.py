"""Every training algorithm of the catalogue, through the ``solver=`` plug.

Most tests are table-driven over :data:`skneural.solvers.SOLVERS` (plus a few
variants), so a solver added to the registry is tested without editing this
file; :data:`FAST` only speeds some of them up on the tiny problems here. The
known-answer tests run the catalogue's update rules, written out again in
numpy, next to the solvers.
"""

import doctest
import pathlib
import pickle
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier, NeuralRegressor
from skneural._losses import LOSSES
from skneural._objective import flat_value_and_grad, ravel, shapes_of
from skneural._problem import Problem
from skneural.solvers import (
    BFGS,
    SGD,
    SOLVERS,
    AdaDelta,
    AdaGrad,
    Adam,
    ConjugateGradient,
    LeastSquares,
    LevenbergMarquardt,
    Momentum,
    Nesterov,
    QuickProp,
    RMSProp,
    RProp,
    Progress,
    StepwiseSolver,
    WholeBatchResult,
    WholeBatchSolver,
)
from skneural.solvers._lm import damped_step
from skneural._epochs import set_hyperparams

# Hyperparameters that make a solver quick on the small problems of this file.
# A registered solver missing here is tested with its defaults.
FAST = {
    "sgd": SGD(learning_rate=0.05),
    "momentum": Momentum(learning_rate=0.05),
    "nesterov": Nesterov(learning_rate=0.05),
    "adagrad": AdaGrad(learning_rate=0.1),
    "rmsprop": RMSProp(learning_rate=0.01),
    "adam": Adam(learning_rate=0.01),
    "adamw": SOLVERS["adamw"](learning_rate=0.01),
    "nadam": SOLVERS["nadam"](learning_rate=0.01),
    "rprop": RProp(learning_rate=0.05),
}

# Variants with their own code paths, tested alongside the registry.
VARIANTS = {
    "cg-fletcher-reeves": ConjugateGradient(beta="fletcher-reeves", restart=50),
    "cg-polak-ribiere-restart": ConjugateGradient(beta="polak-ribiere", restart=50),
    "lm-levenberg": LevenbergMarquardt(damping="levenberg"),
    "rprop-irprop": RProp(learning_rate=0.05, variant="irprop-"),
    "least-squares-lm": LeastSquares(method="lm"),
}

CASES = {name: FAST.get(name, cls()) for name, cls in SOLVERS.items()} | VARIANTS


def solver(case):
    return clone(CASES[case])


def is_stepwise(case):
    return isinstance(CASES[case], StepwiseSolver)


STEPWISE = [c for c in CASES if is_stepwise(c)]
WHOLE_BATCH = [c for c in CASES if not is_stepwise(c)]

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[::3], y[::3]  # 599 samples: quick, still 10 classes
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_friedman1(n_samples=150, random_state=0)
    return X, (y - y.mean()) / y.std()


def fit(case, est, X, y, **params):
    """Fit with the case's solver; skip where scipy's 'lm' cannot run."""
    est = est(solver=solver(case), random_state=0, **params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y)
    except ValueError as exc:
        if "at least as many residuals as parameters" in str(exc):
            pytest.skip("scipy's method='lm' needs more residuals than parameters")
        raise


# ------------------------------------------------------------ the registry
def test_registry_covers_the_catalogue():
    expected = {
        "sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam",
        "adamw", "nadam", "rprop", "quickprop", "lbfgs", "bfgs", "cg",
        "newton-cg", "trust-ncg", "trust-krylov", "lm",
    }  # fmt: skip
    assert expected <= set(SOLVERS)
    for name, cls in SOLVERS.items():
        assert issubclass(cls, (StepwiseSolver, WholeBatchSolver)), name


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_names_are_accepted_and_map_to_default_instances(name):
    est = NeuralClassifier(solver=name)
    obj = est._solver_object()
    assert isinstance(obj, SOLVERS[name])
    if name not in ("sgd", "adam"):  # those two take the estimator's MLP params
        assert obj.get_params() == SOLVERS[name]().get_params()


@pytest.mark.parametrize("case", sorted(CASES))
def test_solver_objects_are_sklearn_style(case):
    s = solver(case)
    params = s.get_params()
    c = clone(s)
    assert c is not s and c.get_params() == params
    assert repr(s).startswith(type(s).__name__ + "(")
    assert pickle.loads(pickle.dumps(s)).get_params() == params
    if params:
        key = sorted(params)[0]
        assert s.set_params(**{key: params[key]}) is s


@pytest.mark.parametrize("case", STEPWISE)
def test_numeric_hyperparameters_reuse_the_transformation(case):
    s = solver(case)
    tx, hyper = s.optax_transformation()
    changed = {k: v * 0.5 for k, v in hyper.items() if k == "learning_rate"}
    tx2, hyper2 = clone(s).set_params(**changed).optax_transformation()
    assert tx2 is tx
    assert hyper2 == {**hyper, **changed}


# ------------------------------------------------------- table over problems
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_solver_solves_xor(case):
    params = dict(hidden_layer_sizes=(8,), activation="tanh", alpha=0.0, tol=1e-6)
    if is_stepwise(case):
        params.update(batch_size=4, max_iter=1500, n_iter_no_change=50)
    else:
        params.update(max_iter=500)
    clf = fit(case, NeuralClassifier, XOR_X, XOR_Y, **params)
    np.testing.assert_array_equal(clf.predict(XOR_X), XOR_Y)


def _initial(est, X, y, **params):
    """The estimator at its initial parameters (a solver that never moves)."""
    params = {**params, "max_iter": 1, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est(solver=optax.set_to_zero(), **params).fit(X, y)


def _log_loss(clf, X, y):
    proba = clf.predict_proba(X).astype(np.float64)
    return log_loss(y, proba / proba.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_solver_lowers_training_loss_on_digits(case, digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), alpha=0.0, max_iter=10, tol=0.0)
    before = _log_loss(_initial(NeuralClassifier, X, y, **params), X, y)
    after = _log_loss(fit(case, NeuralClassifier, X, y, **params), X, y)
    assert after < 0.8 * before


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_solver_lowers_training_loss_on_regression(case, regression):
    X, y = regression
    params = dict(hidden_layer_sizes=(8,), activation="tanh", alpha=0.0, tol=0.0,
                  max_iter=20)  # fmt: skip
    before = np.mean((_initial(NeuralRegressor, X, y, **params).predict(X) - y) ** 2)
    reg = fit(case, NeuralRegressor, X, y, **params)
    after = np.mean((reg.predict(X) - y) ** 2)
    assert after < 0.8 * before


@pytest.mark.parametrize("case", sorted(CASES))
def test_uniform_fitted_attributes_verbose_and_warning(case, regression, capsys):
    X, y = regression
    est = NeuralRegressor(
        hidden_layer_sizes=(8,), activation="tanh", solver=solver(case), max_iter=3,
        tol=0.0, verbose=True, random_state=0,
    )  # fmt: skip
    try:
        with pytest.warns(ConvergenceWarning, match="max_iter|[Mm]aximum iterations"):
            est.fit(X, y)
    except ValueError as exc:
        if "at least as many residuals" in str(exc):
            pytest.skip("scipy's method='lm' needs more residuals than parameters")
        raise
    out = capsys.readouterr().out
    assert est.n_iter_ == 3
    assert len(est.loss_curve_) == est.n_iter_
    assert est.t_ == X.shape[0] * est.n_iter_
    assert re.search(r"Iteration 1, loss = [0-9.]+", out) and "Iteration 3" in out
    assert est.loss_ == pytest.approx(est.loss_curve_[-1], rel=1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fitted_estimator_pickles(case, regression):
    X, y = regression
    reg = fit(case, NeuralRegressor, X, y, hidden_layer_sizes=(4,), max_iter=3)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))


@pytest.mark.parametrize("case", sorted(CASES))
def test_early_stopping_applies_to_stepwise_solvers_only(case, regression):
    X, y = regression
    reg = fit(case, NeuralRegressor, X, y, hidden_layer_sizes=(4,), max_iter=3,
              early_stopping=True)  # fmt: skip
    if is_stepwise(case):
        assert len(reg.validation_scores_) == reg.n_iter_
    else:
        assert reg.validation_scores_ is None


def test_grid_search_over_solver_objects_and_their_parameters(digits):
    X, y = digits
    grid = [
        {"solver": [Momentum(), Nesterov()], "solver__learning_rate": [0.01, 0.1]},
        {"solver": [ConjugateGradient()],
         "solver__beta": ["polak-ribiere", "fletcher-reeves"]},
        {"solver": [LevenbergMarquardt()],
         "solver__damping": ["marquardt", "levenberg"]},
    ]  # fmt: skip
    search = GridSearchCV(
        NeuralClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0),
        grid,
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    tried = {
        (type(p["solver"]).__name__, p.get("solver__learning_rate"),
         p.get("solver__beta"), p.get("solver__damping"))
        for p in search.cv_results_["params"]
    }  # fmt: skip
    assert len(tried) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.8


# ------------------------------------------------- known answers, stepwise
def _quadratic():
    """A coupled quadratic with a pytree parameter, its numpy gradient."""
    A = np.array([[3.0, 0.8, -0.5], [0.8, 1.0, 0.3], [-0.5, 0.3, 0.5]])
    b = np.array([1.0, -2.0, 0.5])

    def grad(theta):
        return A @ theta - b

    return grad, np.array([0.7, -0.3, 1.1])


def _run_transformation(s, theta0, grad, n_steps):
    """Parameters after each of ``n_steps`` updates of solver ``s``."""
    with jax.enable_x64(True):
        tx, hyper = s.optax_transformation()
        params = {"a": jnp.asarray(theta0[:2]), "b": jnp.asarray(theta0[2:])}
        state = set_hyperparams(tx.init(params), hyper, jnp.float64)
        out = []
        for _ in range(n_steps):
            theta = np.concatenate([params["a"], params["b"]])
            g = grad(theta)
            g = {"a": jnp.asarray(g[:2]), "b": jnp.asarray(g[2:])}
            updates, state = tx.update(g, state, params)
            params = optax.apply_updates(params, updates)
            out.append(np.concatenate([params["a"], params["b"]]))
    return out


def _momentum(grad, theta, n, eta, beta):
    m, out = 0 * theta, []
    for _ in range(n):
        m = beta * m - eta * grad(theta)
        theta = theta + m
        out.append(theta)
    return out


def _nesterov(grad, theta, n, eta, beta):
    # The optimiser holds the look-ahead point theta + beta * m.
    m, out = 0 * theta, []
    for _ in range(n):
        m = beta * m - eta * grad(theta + beta * m)
        theta = theta + m
        out.append(theta + beta * m)
    return out


def _adagrad(grad, theta, n, eta):
    s, out = 0 * theta, []
    for _ in range(n):
        g = grad(theta)
        s = s + g**2
        theta = theta - eta * g / np.sqrt(s)
        out.append(theta)
    return out


def _adadelta(grad, theta, n, a, b, eps):
    S, D, dW, out = 0 * theta, 0 * theta, 0 * theta, []
    for _ in range(n):
        g = grad(theta)
        S = a * S + (1 - a) * g**2
        D = b * D + (1 - b) * dW**2
        dW = -np.sqrt(D + eps) / np.sqrt(S + eps) * g
        theta = theta + dW
        out.append(theta)
    return out


def _rmsprop(grad, theta, n, eta, beta, eps):
    s, out = 0 * theta, []
    for _ in range(n):
        g = grad(theta)
        s = beta * s + (1 - beta) * g**2
        theta = theta - eta * g / np.sqrt(s + eps)
        out.append(theta)
    return out


def _adam(grad, theta, n, eta, b1, b2, eps_root, eps_out):
    m, s, out = 0 * theta, 0 * theta, []
    for t in range(1, n + 1):
        g = grad(theta)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g**2
        m_hat, s_hat = m / (1 - b1**t), s / (1 - b2**t)
        theta = theta - eta * m_hat / (np.sqrt(s_hat + eps_root) + eps_out)
        out.append(theta)
    return out


def _adam_efficient(grad, theta, n, eta, b1, b2, eps):
    """Kingma and Ba's "efficient" form, as scikit-learn's AdamOptimizer."""
    m, s, out = 0 * theta, 0 * theta, []
    for t in range(1, n + 1):
        g = grad(theta)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g**2
        eta_t = eta * np.sqrt(1 - b2**t) / (1 - b1**t)
        theta = theta - eta_t * m / (np.sqrt(s) + eps)
        out.append(theta)
    return out


def _sgd_sklearn(grad, theta, n, eta, mu, nesterov):
    """scikit-learn's SGDOptimizer: v <- mu v - eta g; step v or mu v - eta g."""
    v, out = 0 * theta, []
    for _ in range(n):
        g = grad(theta)
        v = mu * v - eta * g
        theta = theta + (mu * v - eta * g if nesterov else v)
        out.append(theta)
    return out


def _rprop(grad, theta, n, eta0, a=1.2, b=0.5, eta_min=1e-6, eta_max=50.0,
           irprop=False):  # fmt: skip
    eta, g_prev, out = np.full_like(theta, eta0), 0 * theta, []
    for _ in range(n):
        g = grad(theta)
        p = g_prev * g
        eta = np.where(p > 0, np.minimum(eta_max, a * eta),
                       np.where(p < 0, np.maximum(eta_min, b * eta), eta))  # fmt: skip
        if irprop:  # iRprop-: no step after a sign change, forget the gradient
            g = np.where(p < 0, 0.0, g)
        theta = theta - eta * np.sign(g)
        g_prev = g
        out.append(theta)
    return out


def _quickprop(grad, theta, n, eta0, mu_max=1.75):
    S_prev, dW, out = 0 * theta, 0 * theta, []
    for _ in range(n):
        S = grad(theta)
        new = np.empty_like(theta)
        for i in range(theta.size):  # the catalogue's rule, weight by weight
            denom = S_prev[i] - S[i]
            if denom != 0:
                beta = S[i] / denom
            else:
                beta = np.inf if S[i] != 0 else 0.0
            gamma = S[i] * (-dW[i]) * beta if dW[i] != 0 else 0.0
            mu = mu_max if (beta > mu_max or gamma < 0) else beta
            eta = eta0 if (dW[i] == 0 or -dW[i] * S[i] > 0) else 0.0
            new[i] = -eta * S[i] + mu * dW[i]
        S_prev, dW = S, new
        theta = theta + dW
        out.append(theta)
    return out


KNOWN_ANSWERS = {
    "momentum": (Momentum(learning_rate=0.1, momentum=0.8),
                 lambda g, t, n: _momentum(g, t, n, 0.1, 0.8)),
    "nesterov": (Nesterov(learning_rate=0.1, momentum=0.8),
                 lambda g, t, n: _nesterov(g, t, n, 0.1, 0.8)),
    "adagrad": (AdaGrad(learning_rate=0.3, epsilon=0.0),
                lambda g, t, n: _adagrad(g, t, n, 0.3)),
    "adadelta": (AdaDelta(rho=0.9, rho_step=0.8, epsilon=1e-2),
                 lambda g, t, n: _adadelta(g, t, n, 0.9, 0.8, 1e-2)),
    "rmsprop": (RMSProp(learning_rate=0.05, rho=0.9, epsilon=1e-4),
                lambda g, t, n: _rmsprop(g, t, n, 0.05, 0.9, 1e-4)),
    "adam-catalogue": (Adam(learning_rate=0.1, epsilon=0.0, epsilon_root=1e-3,
                            form="algorithm1"),
                       lambda g, t, n: _adam(g, t, n, 0.1, 0.9, 0.999, 1e-3, 0.0)),
    "adam-algorithm1": (Adam(learning_rate=0.1, form="algorithm1"),
                        lambda g, t, n: _adam(g, t, n, 0.1, 0.9, 0.999, 0.0, 1e-8)),
    "adam-efficient": (Adam(learning_rate=0.1, epsilon=1e-3),
                       lambda g, t, n: _adam_efficient(g, t, n, 0.1, 0.9, 0.999,
                                                       1e-3)),
    "sgd-nesterov": (SGD(learning_rate=0.1, momentum=0.8),
                     lambda g, t, n: _sgd_sklearn(g, t, n, 0.1, 0.8, True)),
    "sgd-momentum": (SGD(learning_rate=0.1, momentum=0.8, nesterov=False),
                     lambda g, t, n: _sgd_sklearn(g, t, n, 0.1, 0.8, False)),
    "rprop": (RProp(learning_rate=0.4), lambda g, t, n: _rprop(g, t, n, 0.4)),
    "rprop-irprop": (RProp(learning_rate=0.4, variant="irprop-"),
                     lambda g, t, n: _rprop(g, t, n, 0.4, irprop=True)),
    "quickprop": (QuickProp(learning_rate=0.2),
                  lambda g, t, n: _quickprop(g, t, n, 0.2)),
}  # fmt: skip


@pytest.mark.parametrize("rule", sorted(KNOWN_ANSWERS))
def test_stepwise_update_rules_match_the_catalogue(rule):
    s, reference = KNOWN_ANSWERS[rule]
    # A transformation built first with other numeric values must not leak
    # them into the state of the next (the transformation is cached).
    clone(s).set_params(learning_rate=7.0).optax_transformation()
    grad, theta0 = _quadratic()
    n = 6
    ours = _run_transformation(s, theta0, grad, n)
    theirs = reference(grad, theta0, n)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours[-1], theta0)


def test_rprop_branches_are_exercised():
    """On the quadratic, gradients change sign (the step shrinks) and keep it
    (the step grows)."""
    grad, theta0 = _quadratic()
    signs = np.sign([grad(t) for t in [theta0] + _rprop(grad, theta0, 6, 0.4)])
    products = signs[1:] * signs[:-1]
    assert (products > 0).any() and (products < 0).any()


def test_adadelta_equals_optax_with_one_decay():
    grad, theta0 = _quadratic()
    ours = _run_transformation(AdaDelta(rho=0.9), theta0, grad, 5)
    reference = _run_transformation(
        _OptaxAsSolver(optax.adadelta(1.0, rho=0.9, eps=1e-6)), theta0, grad, 5
    )
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


class _OptaxAsSolver:
    def __init__(self, tx):
        self.tx = optax.inject_hyperparams(lambda: tx)()

    def optax_transformation(self):
        return self.tx, {}


def test_quickprop_exercises_every_branch():
    """On the quadratic, QuickProp meets beta > mu_max, gamma < 0, the secant
    step and steps without the gradient term."""
    grad, theta0 = _quadratic()
    thetas = [theta0] + _quickprop(grad, theta0, 6, 0.2)
    S = [grad(t) for t in thetas[:-1]]
    dW = [b - a for a, b in zip(thetas[:-1], thetas[1:])]
    beta = [S[t] / (S[t - 1] - S[t]) for t in range(2, 6)]
    gamma = [S[t] * -dW[t - 1] * beta[t - 2] for t in range(2, 6)]
    beta, gamma = np.array(beta), np.array(gamma)
    assert (beta > 1.75).any() or (gamma < 0).any()
    assert ((beta <= 1.75) & (gamma >= 0)).any()
    assert any((-dW[t - 1] * S[t] <= 0).any() for t in range(2, 6))


@pytest.mark.parametrize("s, reference", [
    (QuickProp(learning_rate=0.3), lambda g, t, n: _quickprop(g, t, n, 0.3)),
    (RProp(learning_rate=0.05), lambda g, t, n: _rprop(g, t, n, 0.05)),
], ids=["quickprop", "rprop"])  # fmt: skip
def test_full_batch_estimator_follows_the_rule(s, reference, regression):
    """Through the estimator, full batch, with an L2 penalty: the weights after
    three epochs are the rule's, with the gradient of the objective."""
    X, y = regression
    X, y = X[:40], y[:40]
    params = dict(hidden_layer_sizes=(3,), activation="tanh", alpha=0.3, batch_size=40,
                  shuffle=False, dtype="float64", random_state=0)  # fmt: skip
    init = _initial(NeuralRegressor, X, y, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = NeuralRegressor(solver=s, max_iter=3, tol=0.0, **params).fit(X, y)
    shapes = shapes_of(init._params())

    def grad(x):
        with jax.enable_x64(True):
            _, g = flat_value_and_grad(
                jnp.asarray(x), jnp.asarray(X), jnp.asarray(y[:, None]),
                jnp.ones(len(X)), 0.3, shapes=shapes, activation="tanh",
                loss="squared_error",
            )  # fmt: skip
        return np.asarray(g)

    expected = reference(grad, np.asarray(ravel(init._params())), 3)[-1]
    np.testing.assert_allclose(np.asarray(ravel(reg._params())), expected, rtol=1e-10)


@pytest.mark.parametrize("case", STEPWISE)
def test_gradient_clipping_composes_with_every_stepwise_solver(case):
    """With clip_norm, a step equals the unclipped solver's step on the
    gradient rescaled to norm clip_norm."""
    s = solver(case)
    grad, theta0 = _quadratic()

    def big(theta):
        return 100.0 * grad(theta)

    def clipped(theta):
        g = big(theta)
        return g * min(1.0, 0.5 / np.linalg.norm(g))

    ours = _run_transformation(clone(s).set_params(clip_norm=0.5), theta0, big, 3)
    reference = _run_transformation(s, theta0, clipped, 3)
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-14)


# --------------------------------------------- known answers, conjugate gradient
def _tiny_problem(loss="log_loss", alpha=0.1, n_outputs=3, hidden=4, seed=0):
    rng = np.random.RandomState(seed)
    n, d = 30, 3
    X = rng.normal(size=(n, d))
    if loss in ("log_loss", "binary_log_loss"):
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=n)]
        if loss == "binary_log_loss":
            Y = rng.randint(2, size=(n, n_outputs)).astype(float)
    elif loss == "poisson":
        Y = rng.poisson(1.0, size=(n, n_outputs)).astype(float)
    else:
        Y = rng.normal(size=(n, n_outputs))
    sizes = [d, hidden, n_outputs]
    shapes = tuple((("W", (a, b)), ("b", (b,))) for a, b in zip(sizes[:-1], sizes[1:]))
    problem = Problem(X, Y, rng.uniform(0.5, 2.0, n), alpha, shapes=shapes,
                      activation="tanh", loss=loss, dtype=np.float64)  # fmt: skip
    x0 = rng.uniform(-0.5, 0.5, problem.n_params)
    return problem, x0


def _cg_iterates(s, problem, x0, n):
    xs = [x0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in range(1, n + 1):
            res = s.minimize(problem, x0, max_iter=k, max_fun=10**6, tol=0.0,
                             verbose=False)  # fmt: skip
            assert res.n_iter == k
            xs.append(res.x)
    return xs


@pytest.mark.parametrize("beta, restart", [
    ("fletcher-reeves", None), ("fletcher-reeves", 2), ("polak-ribiere", 100),
    ("polak-ribiere", 2), ("polak-ribiere", None),
])  # fmt: skip
def test_conjugate_gradient_directions_match_the_catalogue(beta, restart):
    """``W_{t+1} - W_t = -eta_t p_t`` with ``eta_t > 0`` and ``p_t`` from the
    catalogue's formula; scipy's path (PR, no restart) uses PR+."""
    problem, x0 = _tiny_problem()
    xs = _cg_iterates(ConjugateGradient(beta=beta, restart=restart), problem, x0, 4)
    g = [problem(x)[1] for x in xs]
    p = g[0]
    for t in range(4):
        if t > 0:
            if restart is not None and t % restart == 0:
                b = 0.0
            elif beta == "fletcher-reeves":
                b = g[t] @ g[t] / (g[t - 1] @ g[t - 1])
            else:
                b = g[t] @ (g[t] - g[t - 1]) / (g[t - 1] @ g[t - 1])
                if restart is None:
                    b = max(0.0, b)
            p = g[t] + b * p
        dx = xs[t + 1] - xs[t]
        eta = -(dx @ p) / (p @ p)
        assert eta > 0
        np.testing.assert_allclose(dx, -eta * p, rtol=1e-7, atol=1e-12)
        assert problem(xs[t + 1])[0] < problem(xs[t])[0]


# ----------------------------------------------------- least squares and LM
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_residuals_square_to_the_objective_and_jacobian_is_exact(loss, alpha):
    problem, x = _tiny_problem(loss=loss, alpha=alpha)
    r, J = problem.residuals(x), problem.jacobian(x)
    value, grad = problem(x)
    assert r.shape == (problem.residual_size,)
    assert J.shape == (problem.residual_size, problem.n_params)
    assert 0.5 * r @ r == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(J.T @ r, grad, rtol=1e-9, atol=1e-12)
    eps = 1e-6
    for j in range(0, problem.n_params, 5):
        e = np.zeros(problem.n_params)
        e[j] = eps
        fd = (problem.residuals(x + e) - problem.residuals(x - e)) / (2 * eps)
        np.testing.assert_allclose(J[:, j], fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("damping", ["marquardt", "levenberg"])
@pytest.mark.parametrize("m, n", [(30, 10), (10, 30)])
def test_damped_step_is_the_same_on_both_sides(m, n, damping):
    rng = np.random.RandomState(0)
    with jax.enable_x64(True):
        J = jnp.asarray(rng.normal(size=(m, n)))
        g = jnp.asarray(rng.normal(size=n))
        l2 = jnp.asarray(np.abs(rng.normal(size=n)) * (rng.uniform(size=n) > 0.5))
        D = jnp.sum(J**2, axis=0) + l2 if damping == "marquardt" else jnp.ones(n)
        lam = 0.01 * D
        a = damped_step(g, J, J.T @ J, l2, lam, side="params")
        b = damped_step(g, J, None, l2, lam, side="residuals")
        direct = -np.linalg.solve(np.asarray(J.T @ J) + np.diag(l2 + lam), g)
    np.testing.assert_allclose(a, direct, rtol=1e-8)
    np.testing.assert_allclose(b, direct, rtol=1e-8)


def test_lm_beats_adam_in_far_fewer_iterations(regression):
    X, y = regression
    params = dict(hidden_layer_sizes=(10,), activation="tanh", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lm = NeuralRegressor(solver="lm", max_iter=40, **params).fit(X, y)
        adam = NeuralRegressor(solver=Adam(learning_rate=0.01), max_iter=1000,
                               tol=0.0, **params).fit(X, y)  # fmt: skip
    mse = [np.mean((m.predict(X) - y) ** 2) for m in (lm, adam)]
    assert mse[0] < mse[1]
    assert lm.n_iter_ <= 40 and adam.n_iter_ >= 10 * lm.n_iter_


@pytest.mark.parametrize("damping", ["marquardt", "levenberg"])
def test_lm_with_fewer_residuals_than_parameters(damping):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(12, 4)), rng.normal(size=12)
    reg = NeuralRegressor(hidden_layer_sizes=(20,), activation="tanh", alpha=0.0,
                          solver=LevenbergMarquardt(damping=damping), max_iter=100,
                          random_state=0).fit(X, y)  # fmt: skip
    n_params = sum(c.size for c in reg.coefs_) + sum(b.size for b in reg.intercepts_)
    assert len(y) < n_params
    assert np.mean((reg.predict(X) - y) ** 2) < 1e-6  # interpolates
    with pytest.raises(ValueError, match="at least as many residuals as parameters"):
        NeuralRegressor(hidden_layer_sizes=(20,), alpha=0.0,
                        solver=LeastSquares(method="lm")).fit(X, y)  # fmt: skip


def test_lm_agrees_with_scipy_least_squares():
    """A linear network: LM, scipy's 'lm' and 'trf' all reach the least-squares
    optimum, computed independently by numpy."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=80)
    A = np.c_[X, np.ones(80)]
    best = 0.5 * np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2)
    losses = {}
    for name, s in [("lm", LevenbergMarquardt()),
                    ("lm-levenberg", LevenbergMarquardt(damping="levenberg")),
                    ("scipy-lm", LeastSquares("lm")), ("scipy-trf", LeastSquares()),
                    ("scipy-trf-exact", LeastSquares(tr_solver="exact"))]:  # fmt: skip
        reg = NeuralRegressor(hidden_layer_sizes=(2,), activation="identity",
                              alpha=0.0, solver=s, tol=1e-10, max_iter=200,
                              random_state=0).fit(X, y)  # fmt: skip
        losses[name] = reg.loss_
    for name, value in losses.items():
        assert value == pytest.approx(best, rel=1e-6), name


def test_memory_guard_raises_before_forming_the_jacobian(digits):
    X, y = digits
    clf = NeuralClassifier(hidden_layer_sizes=(16,),
                           solver=LevenbergMarquardt(memory_limit=10**6))  # fmt: skip
    with pytest.raises(ValueError, match=r"599 x 1210 Jacobian.*lbfgs") as info:
        clf.fit(X, y)
    assert "MiB" in str(info.value) and "memory_limit" in str(info.value)
    with pytest.raises(ValueError, match=r"1210 x 1210.*lbfgs"):
        NeuralClassifier(hidden_layer_sizes=(16,),
                         solver=BFGS(memory_limit=10**6)).fit(X, y)  # fmt: skip


def test_lm_default_budget_rejects_a_large_problem_quickly():
    """20000 samples, 10201 parameters: about 5 GiB, rejected from the shapes."""
    X = np.zeros((20_000, 100))
    y = np.arange(20_000) % 2
    clf = NeuralClassifier(hidden_layer_sizes=(100,), solver="lm")
    with pytest.raises(ValueError, match=r"20000 x 10201 Jacobian.*1\.0 GiB"):
        clf.fit(X, y)


# ------------------------------------------------- the documented protocol
def test_user_guide_examples_run():
    """docs/solvers.rst: the user-defined solvers in it train and work."""
    path = pathlib.Path(__file__).parents[1] / "docs" / "solvers.rst"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = doctest.testfile(
            str(path), module_relative=False, optionflags=doctest.ELLIPSIS
        )
    assert result.attempted > 0
    assert result.failed == 0


# ------------------------------------------------------- losses, one entry each
def test_every_loss_declares_its_task_and_residual_form():
    from skneural._losses import TASKS, losses_for

    for name, loss in LOSSES.items():
        assert loss.task in TASKS, name
        assert callable(loss.residuals), name
    assert losses_for("classification") == ["binary_log_loss", "log_loss"]
    regression = losses_for("regression")
    assert "squared_error" in regression and not set(regression) & {"log_loss"}
    with pytest.raises(ValueError, match="task must be one of"):
        losses_for("ranking")


REGRESSION_LOSSES = sorted(n for n, loss in LOSSES.items() if loss.task == "regression")


@pytest.mark.parametrize("solver", ["lm", "lbfgs"])
@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_every_regression_loss_trains_with_lm_and_lbfgs(regression, loss, solver):
    """Table-driven over the regression losses of LOSSES: each one lowers its
    objective with Levenberg-Marquardt (through its residual form) and L-BFGS."""
    X, y = regression
    y = np.exp(y) if loss == "poisson" else y  # counts-like, non-negative
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = NeuralRegressor(hidden_layer_sizes=(5,), activation="tanh", loss=loss,
                              solver=solver, max_iter=30, random_state=0).fit(X, y)
    curve = np.asarray(reg.loss_curve_)
    assert np.isfinite(curve).all() and len(curve) == reg.n_iter_ >= 1
    assert curve[-1] < curve[0] and reg.loss_ == pytest.approx(curve[-1])
    assert np.all(np.diff(curve) <= 1e-12 * np.abs(curve[:-1])) or solver == "lbfgs"


def test_a_new_loss_is_one_entry(monkeypatch):
    """A loss added to LOSSES (function, output activation, residual form,
    task) gets residuals that square to its objective, and LM minimises it."""
    from skneural._losses import Loss, root_residuals

    def log_cosh(y, z):
        return jnp.mean(jnp.logaddexp(y - z, z - y) - jnp.log(2.0), axis=-1)

    entry = Loss(log_cosh, "identity", root_residuals(log_cosh), "regression")
    monkeypatch.setitem(LOSSES, "log_cosh", entry)
    problem, x0 = _tiny_problem(loss="log_cosh", alpha=0.1)
    assert problem.residuals_per_sample == 1
    r, J = problem.residuals_and_jacobian(x0)
    value, grad = problem(x0)
    assert 0.5 * r @ r == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(J.T @ r, grad, rtol=1e-9, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = LevenbergMarquardt().minimize(problem, x0, max_iter=10, max_fun=100,
                                            tol=0.0, verbose=False)  # fmt: skip
    assert res.fun < value and res.n_iter == len(res.loss_curve)


# --------------------------------------------------- the public Problem interface
def test_problem_has_named_fields_and_device_side_least_squares():
    problem, x0 = _tiny_problem(loss="squared_error", alpha=0.3)
    assert problem.X.shape == (30, 3) and problem.Y.shape == (30, 3)
    assert problem.w.shape == (30,) and problem.alpha == 0.3
    assert problem.l1 == 0.0 and problem.entropy == 0.0 and problem.sharding is None
    assert problem.loss == "squared_error" and problem.residuals_per_sample == 3
    r, J = problem.residuals_and_jacobian(x0)
    np.testing.assert_array_equal(r, problem.residuals(x0))
    np.testing.assert_array_equal(J, problem.jacobian(x0))
    value, grad = problem.value_and_grad(x0)
    with jax.enable_x64(True):
        lin = problem.gauss_newton(jnp.asarray(x0))
        data = J[: problem.n_data_residuals]
        assert float(lin.value) == pytest.approx(value, rel=1e-12)
        assert float(problem.least_squares_value(jnp.asarray(x0))) == float(lin.value)
        np.testing.assert_allclose(lin.grad, grad, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(lin.jacobian, data, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(lin.gram, data.T @ data, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(lin.diagonal, np.sum(J**2, axis=0), rtol=1e-10)
        assert problem.gauss_newton(jnp.asarray(x0), gram=False).gram is None


# ------------------------------------------------- progress by explicit callback
class _OldSignature(WholeBatchSolver):
    """A user-defined solver written before ``minimize`` took ``callback``."""

    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose):
        progress = Progress(verbose)
        x, (f, g) = x0, problem(x0)
        for _ in range(max_iter):
            x = x - 0.1 * g
            f, g = problem(x)
            progress(f, x)
        return WholeBatchResult(x=x, fun=f, n_iter=len(progress.curve),
                                loss_curve=progress.curve)  # fmt: skip


class _NewSignature(_OldSignature):
    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose, callback=None):
        self.seen_callback_ = callback is not None
        progress = Progress(verbose, callback)
        x, (f, g) = x0, problem(x0)
        for _ in range(max_iter):
            x = x - 0.1 * g
            f, g = problem(x)
            if progress(f, x):
                break
        return WholeBatchResult(x=x, fun=f, n_iter=len(progress.curve),
                                loss_curve=progress.curve)  # fmt: skip


def test_whole_batch_solver_with_the_old_minimize_signature_still_trains(iris, capsys):
    X, y = iris
    old = NeuralClassifier((5,), solver=_OldSignature(), max_iter=5,
                           random_state=0).fit(X, y)  # fmt: skip
    new = NeuralClassifier((5,), solver=_NewSignature(), max_iter=5,
                           random_state=0).fit(X, y)  # fmt: skip
    assert new.solver.seen_callback_
    assert old.n_iter_ == new.n_iter_ == 5
    np.testing.assert_allclose(old.loss_curve_, new.loss_curve_, rtol=1e-12)
    # verbose: the old solver prints Progress's own lines, the new one the
    # estimator's display (the same lines without a terminal).
    clone(old).set_params(verbose=True).fit(X, y)
    clone(new).set_params(verbose=True).fit(X, y)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("Iter")]
    assert len(lines) == 10


def test_builtin_solvers_pass_their_callback_to_progress():
    """Every built-in whole-batch solver calls the callback once per iteration
    with the parameters, and stops when it returns True."""
    from skneural.solvers import SOLVERS

    problem, x0 = _tiny_problem(loss="squared_error", alpha=0.1)
    whole = {name: s for name, s in SOLVERS.items()
             if isinstance(s(), WholeBatchSolver)}  # fmt: skip
    assert {"lbfgs", "lm", "cg", "least-squares"} <= set(whole)
    for name, cls in sorted(whole.items()):
        for s in [cls()] + ([ConjugateGradient(restart=3)] if name == "cg" else []):
            calls = []

            def callback(n_iter, loss, x):
                calls.append((n_iter, loss, None if x is None else np.array(x)))
                return n_iter >= 3

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = s.minimize(problem, x0, max_iter=50, max_fun=10**4, tol=0.0,
                                 verbose=False, callback=callback)  # fmt: skip
            assert [c[0] for c in calls] == [1, 2, 3], name
            assert res.n_iter == 3 and res.loss_curve == [c[1] for c in calls], name
            assert calls[-1][2] is not None and calls[-1][2].shape == x0.shape, name
