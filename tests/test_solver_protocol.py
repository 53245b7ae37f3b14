"""The stepwise solver protocol: hyperparameters declared once in the
constructor, parameter constraints checked at fit, gradient clipping as one
optax link shared by the estimator's and the solver's ``clip_norm``, and
named solvers built from each class's table of estimator parameters."""

import warnings

import numpy as np
import optax
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError, make_constraint

from skneural import NeuralClassifier, NeuralRegressor
from skneural.solvers import (
    SGD,
    SOLVERS,
    Adam,
    Optax,
    OptaxSolver,
    StepwiseSolver,
    named_solver,
)

STEPWISE = sorted(n for n, c in SOLVERS.items() if issubclass(c, StepwiseSolver))


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _invalid_value(constraints):
    """A value none of ``constraints`` accepts."""
    checks = [make_constraint(c) for c in constraints]
    for value in ("bogus", -1.0, 2.0, 0.0, None, 1.5):
        if not any(c.is_satisfied_by(value) for c in checks):
            return value
    raise AssertionError(f"no invalid value for {constraints}")  # pragma: no cover


def _cases():
    for name in STEPWISE:
        for param, constraints in SOLVERS[name]._parameter_constraints.items():
            yield name, param, _invalid_value(constraints)


@pytest.mark.parametrize("name", STEPWISE)
def test_every_constructor_argument_has_a_constraint(name):
    cls = SOLVERS[name]
    assert set(cls._parameter_constraints) == set(cls().get_params())


@pytest.mark.parametrize("name,param,value", list(_cases()))
def test_an_invalid_solver_parameter_is_refused_at_fit(iris, name, param, value):
    X, y = iris
    solver = SOLVERS[name](**{param: value})
    est = NeuralClassifier((3,), solver=solver, max_iter=1)
    with pytest.raises(InvalidParameterError) as info:
        est.fit(X, y)
    message = str(info.value)
    assert f"The {param!r} parameter of {SOLVERS[name].__name__} must be" in message
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("name", STEPWISE)
def test_hyperparameters_are_the_constructor_arguments(name):
    """Numeric arguments are traced (the hyperparameters), structural ones
    are static, clip_norm is the clipping link's."""
    s = SOLVERS[name]()
    _, hyper = s.optax_transformation()
    static = s._static()
    assert set(hyper) | set(static) | {"clip_norm"} == set(s.get_params())
    assert not set(hyper) & set(static)
    assert "clip_norm" not in hyper  # no clipping: no link


@pytest.mark.parametrize("name", STEPWISE)
def test_estimator_and_solver_clip_norm_share_one_link(name):
    s = SOLVERS[name]()
    by_estimator, hyper = s.optax_transformation(clip_norm=0.5)
    by_solver, hyper2 = clone(s).set_params(clip_norm=0.5).optax_transformation()
    assert by_estimator is by_solver and hyper == hyper2
    assert hyper["clip_norm"] == 0.5
    # Another threshold: the same transformation (the norm is traced).
    assert s.optax_transformation(clip_norm=3.0)[0] is by_estimator
    assert s.optax_transformation()[0] is not by_estimator
    with pytest.raises(ValueError, match="both on the estimator"):
        clone(s).set_params(clip_norm=1.0).optax_transformation(clip_norm=1.0)


@pytest.mark.parametrize(
    "solver", [SGD(learning_rate=0.05), Adam(learning_rate=0.01), SOLVERS["rprop"]()]
)
def test_estimator_and_solver_clip_norm_give_the_same_trajectory(iris, solver):
    X, y = iris
    common = dict(hidden_layer_sizes=(5,), batch_size=30, max_iter=5,
                  random_state=0, dtype="float64", tol=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = NeuralClassifier(solver=clone(solver), clip_norm=0.1, **common).fit(X, y)
        b = NeuralClassifier(solver=clone(solver).set_params(clip_norm=0.1),
                             **common).fit(X, y)  # fmt: skip
    assert a.loss_curve_ == b.loss_curve_
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q)


def _weights(est):
    return [a.copy() for a in est.coefs_ + est.intercepts_]


def _step_norm(before, after):
    """Norm of the change of all weights from ``before`` to ``after``."""
    return np.linalg.norm(np.concatenate(
        [(p - q).ravel() for p, q in zip(after, before)]
    ))  # fmt: skip


@pytest.mark.parametrize("solver", [optax.sgd(0.5), "optax-wrapper"])
def test_estimator_clip_norm_clips_optax_solvers(iris, solver):
    """One full-batch step of plain gradient descent moves lr * clip_norm."""
    X, y = iris
    if solver == "optax-wrapper":
        solver = Optax(optax.sgd, learning_rate=0.5)
    common = dict(hidden_layer_sizes=(5,), batch_size=len(X), max_iter=1,
                  shuffle=False, random_state=0, dtype="float64", alpha=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = NeuralClassifier(solver=optax.sgd(1e-30), **common).fit(X, y)
        moved = NeuralClassifier(solver=solver, clip_norm=0.01, **common).fit(X, y)
    step = _step_norm(_weights(start), _weights(moved))
    assert step == pytest.approx(0.5 * 0.01, rel=1e-8)


def test_raw_transformation_without_clipping_is_used_as_it_is():
    tx = optax.adam(1e-3)
    assert OptaxSolver(tx).optax_transformation() == (tx, {})
    clipped, hyper = OptaxSolver(tx).optax_transformation(clip_norm=1.0)
    assert hyper == {"clip_norm": 1.0}
    assert OptaxSolver(tx).optax_transformation(clip_norm=2.0)[0] is clipped


def test_partial_fit_applies_the_estimator_clip_norm_as_set_now(iris):
    """The optimizer state carries the threshold; partial_fit keeps the
    state but takes the estimator's clip_norm as it is at that call."""
    X, y = iris
    est = NeuralRegressor(hidden_layer_sizes=(5,),
                          solver=SGD(learning_rate=0.5, momentum=0.0),
                          batch_size=len(X), shuffle=False, random_state=0,
                          dtype="float64", alpha=0, clip_norm=0.01)  # fmt: skip
    est.partial_fit(X, y)
    first = _weights(est)
    est.set_params(clip_norm=0.02).partial_fit(X, y)
    assert _step_norm(first, _weights(est)) == pytest.approx(0.5 * 0.02, rel=1e-8)


def test_named_solvers_take_the_estimator_parameters_their_class_lists():
    params = NeuralClassifier(
        learning_rate_init=0.02, momentum=0.7, nesterovs_momentum=False,
        beta_1=0.8, beta_2=0.95, epsilon=1e-6,
    ).get_params(deep=False)  # fmt: skip
    del params["solver"]
    assert named_solver("sgd", params).get_params() == SGD(
        learning_rate=0.02, momentum=0.7, nesterov=False
    ).get_params()
    assert named_solver("adam", params).get_params() == Adam(
        learning_rate=0.02, beta_1=0.8, beta_2=0.95, epsilon=1e-6
    ).get_params()
    for name, cls in SOLVERS.items():
        if name not in ("sgd", "adam"):
            # Their own defaults (learning_rate_init does not apply to them).
            assert named_solver(name, params).get_params() == cls().get_params()
        est = NeuralClassifier(solver=name, **params)
        expected = named_solver(name, params).get_params()
        assert est._solver_object().get_params() == expected
