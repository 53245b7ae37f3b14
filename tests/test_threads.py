"""Threads: a fitted model shared between threads, fits running in threads.

Compiled programs, the x64 switch (a context, not a global flag) and the
progress reporter (a context variable) are per thread, so concurrent
predictions and fits neither share mutable state nor interfere.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import clone

from skneural import NeuralClassifier, NeuralRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_concurrent_predictions_equal_sequential(iris, dtype):
    X, y = iris
    model = NeuralClassifier(hidden_layer_sizes=(6,), max_iter=10, random_state=0,
                             dtype=dtype).fit(X, y)  # fmt: skip
    inputs = [X, X[:7], sp.csr_matrix(X), X[::-1], X[:1]] * 4
    expected = [model.predict_proba(x) for x in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(model.predict_proba, inputs))
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def _fit(model, X, y):
    return model.fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "lbfgs", "lm"])
def test_threaded_fits_do_not_interfere(solver):
    """Fits in joblib's threading backend (n_jobs=2), a float32 and a float64
    model among them, end exactly as the same fits run one after the other."""
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4)
    y = X @ rng.randn(4) + 0.1 * rng.randn(80)
    base = NeuralRegressor(hidden_layer_sizes=(5,), max_iter=8, solver=solver)
    models = [
        clone(base).set_params(random_state=seed, dtype=dtype)
        for seed in range(3) for dtype in ("float32", "float64")
    ]  # fmt: skip
    sequential = [clone(m).fit(X, y) for m in models]
    threaded = Parallel(n_jobs=2, backend="threading")(
        delayed(_fit)(clone(m), X, y) for m in models
    )
    for a, b in zip(threaded, sequential):
        assert a.coefs_[0].dtype == b.coefs_[0].dtype
        np.testing.assert_array_equal(a.predict(X), b.predict(X))
        assert a.loss_curve_ == b.loss_curve_
