"""Quality parity with scikit-learn's MLPClassifier / MLPRegressor.

Both sides get the same data, the same constructor parameters and the same
seeds (random_state 0, 1, 2); scikit-learn's scores are computed in the same
run, never hard-coded. skneural must be at most ``margin`` worse than
scikit-learn on the mean test score over the seeds (being better is fine).
"""

import functools

import numpy as np
import pytest
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    make_friedman1,
)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier, NeuralRegressor

# Default max_iter=200 does not converge on some of these sets (iris, breast
# cancer with adam, ...): the warning is expected and the same on both sides.
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

SEEDS = (0, 1, 2)
CLASSIFIER_MARGIN = 0.01  # accuracy points
REGRESSOR_MARGIN = 0.02  # R^2

CLASSIFICATION_SETS = {
    "digits": load_digits,
    "breast_cancer": load_breast_cancer,
    "iris": load_iris,
}


@functools.lru_cache(maxsize=None)
def _classification_data(name):
    """25% stratified test split (random_state=0), X scaled on train."""
    X, y = CLASSIFICATION_SETS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@functools.lru_cache(maxsize=None)
def _regression_data(name):
    """25% test split (random_state=0); X and y scaled on train."""
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    elif name == "friedman1":
        X, y = make_friedman1(n_samples=1000, random_state=0)
    else:
        raise ValueError(name)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    x_scaler = StandardScaler().fit(X_train)
    y_scaler = StandardScaler().fit(y_train.reshape(-1, 1))
    return (
        x_scaler.transform(X_train),
        x_scaler.transform(X_test),
        y_scaler.transform(y_train.reshape(-1, 1)).ravel(),
        y_scaler.transform(y_test.reshape(-1, 1)).ravel(),
    )


def _mean_score(estimator_class, params, data):
    """Mean test score (accuracy or R^2) over SEEDS, and the per-seed scores."""
    X_train, X_test, y_train, y_test = data
    scores = [
        estimator_class(random_state=seed, **params)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for seed in SEEDS
    ]
    return float(np.mean(scores)), scores


def _assert_parity(ours_class, theirs_class, params, data, margin):
    ours, ours_all = _mean_score(ours_class, params, data)
    theirs, theirs_all = _mean_score(theirs_class, params, data)
    assert ours >= theirs - margin, (
        f"{ours_class.__name__} mean score {ours:.4f} (per seed {ours_all}) is "
        f"more than {margin} below {theirs_class.__name__}'s {theirs:.4f} "
        f"(per seed {theirs_all}) with {params}"
    )


# ---------------------------------------------------------------- classifier
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("dataset", list(CLASSIFICATION_SETS))
def test_classifier_parity(dataset, solver):
    # Default parameters (hidden_layer_sizes=(100,), max_iter=200, ...) except
    # the solver; the same on both sides.
    params = {} if solver == "adam" else {"solver": solver}
    _assert_parity(
        NeuralClassifier,
        MLPClassifier,
        params,
        _classification_data(dataset),
        CLASSIFIER_MARGIN,
    )


# ----------------------------------------------------------------- regressor
# max_iter per data set, the same on both sides: on friedman1 lbfgs needs ~400
# iterations to converge, so 1000 there. On diabetes (331 training rows) the
# default 100-unit network overfits, and more iterations only lower the test R^2
# (adam: ~0.25 at 200 iterations, below 0 at 1000, still not converged), so the
# defaults are kept there.
REGRESSION_MAX_ITER = {"diabetes": 200, "friedman1": 1000}


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("dataset", list(REGRESSION_MAX_ITER))
def test_regressor_parity(dataset, solver):
    params = {"solver": solver, "max_iter": REGRESSION_MAX_ITER[dataset]}
    _assert_parity(
        NeuralRegressor,
        MLPRegressor,
        params,
        _regression_data(dataset),
        REGRESSOR_MARGIN,
    )


# ----------------------------------------------------------------------- XOR
X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([0, 1, 1, 0])

# Settings checked to reach 100% for random_state 0..9 (both skneural and MLP).
XOR_SETTINGS = {
    "lbfgs": dict(solver="lbfgs"),
    "adam": dict(solver="adam", learning_rate_init=0.1, max_iter=500),
    "sgd": dict(solver="sgd", learning_rate_init=0.5, max_iter=1000),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("solver", list(XOR_SETTINGS))
def test_xor_learned_with_one_hidden_layer(solver, seed):
    clf = NeuralClassifier(
        hidden_layer_sizes=(4,),
        activation="tanh",
        random_state=seed,
        **XOR_SETTINGS[solver],
    ).fit(X_XOR, Y_XOR)
    np.testing.assert_array_equal(clf.predict(X_XOR), Y_XOR)
    assert clf.score(X_XOR, Y_XOR) == 1.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("solver", list(XOR_SETTINGS))
def test_xor_not_learned_without_hidden_layer(solver, seed):
    # A linear model (logistic regression) separates at most 3 of the 4 points.
    clf = NeuralClassifier(
        hidden_layer_sizes=(), random_state=seed, **XOR_SETTINGS[solver]
    ).fit(X_XOR, Y_XOR)
    assert clf.coefs_[0].shape == (2, 1)
    assert clf.score(X_XOR, Y_XOR) <= 0.75
