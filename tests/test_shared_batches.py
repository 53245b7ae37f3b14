"""Small models compute their minibatches as one of a few padded sizes, so
that fits of different batch sizes share one training program: the same fit
as with each minibatch computed at its own size, up to rounding."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_wine, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import skneural._config as config
import skneural._driver as driver
from skneural import NeuralClassifier, NeuralRegressor
from skneural._epochs import run_epoch_chunk
from test_chunked_epochs import _assert_same


@pytest.fixture
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _fits(make, fit, monkeypatch):
    """``fit(make())`` with the shared layout and with exact batch shapes."""
    out = []
    for work in (config.SHARED_BATCH_WORK, 0):
        monkeypatch.setattr(config, "SHARED_BATCH_WORK", work)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.append(fit(make()))
    monkeypatch.undo()
    return out


def _layout(est, X, y):
    """The shared layout the estimator's fit would use (None: exact shapes)."""
    seen = []
    real = driver.shared_layout

    def spy(c):
        seen.append(real(c))
        return seen[-1]

    driver.shared_layout = spy
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
    finally:
        driver.shared_layout = real
    return seen[0]


@pytest.mark.parametrize("batch_size", [3, 10, 32, 33, 100, "auto"])
def test_padded_minibatches_equal_exact_ones(wine, monkeypatch, batch_size):
    """float64: the padded computation gives the exact-shape fit (rows of
    zero weight add exact zeros; only the order of the sums differs)."""
    X, y = wine
    make = lambda: NeuralClassifier(hidden_layer_sizes=(12,), batch_size=batch_size,  # noqa: E731
                                    max_iter=60, dtype="float64", random_state=0)
    a, b = _fits(make, lambda m: m.fit(X, y), monkeypatch)
    assert _layout(make(), X, y) is not None
    _assert_same(a, b)


def test_padding_with_sample_weight_batch_norm_and_a_regressor(monkeypatch):
    X, y = make_regression(n_samples=191, n_features=5, noise=1.0, random_state=0)
    X, y = StandardScaler().fit_transform(X), y / y.std()
    weights = np.random.RandomState(0).uniform(0, 2, len(y))
    weights[:7] = 0
    make = lambda: NeuralRegressor(hidden_layer_sizes=(9, 4), batch_size=20,  # noqa: E731
                                   batch_norm=True, activation="tanh", max_iter=40,
                                   dtype="float64", random_state=0)  # fmt: skip
    a, b = _fits(make, lambda m: m.fit(X, y, sample_weight=weights), monkeypatch)
    # 191 samples: the data hold 192 rows (the samples and one padding row).
    layout = _layout(make(), X, y)
    assert layout.rows == 192 and layout.batch_rows == 32
    _assert_same(a, b)
    for s, t in zip(a.layer_state_, b.layer_state_, strict=True):
        for k in s:
            np.testing.assert_allclose(s[k], t[k], rtol=1e-10)


def test_padding_with_partial_fit_verbose_and_adaptive_rate(wine, monkeypatch, capsys):
    X, y = wine
    classes = np.unique(y)

    def partial(m):
        for start in range(0, len(X), 50):
            m.partial_fit(X[start : start + 50], y[start : start + 50], classes=classes)
        return m

    make = lambda: NeuralClassifier(hidden_layer_sizes=(6,), batch_size=16,  # noqa: E731
                                    dtype="float64", random_state=0)  # fmt: skip
    a, b = _fits(make, partial, monkeypatch)
    for x, z in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(x, z, rtol=1e-10, atol=1e-12)
    # One epoch per call (verbose) and a learning rate cut inside the fit.
    make = lambda: NeuralClassifier(solver="sgd", learning_rate="adaptive",  # noqa: E731
                                    learning_rate_init=0.5, tol=1e-2, batch_size=24,
                                    max_iter=80, verbose=1, dtype="float64",
                                    random_state=0)  # fmt: skip
    a, b = _fits(make, lambda m: m.fit(X, y), monkeypatch)
    assert "Iteration" in capsys.readouterr().out
    _assert_same(a, b)


def test_batch_sizes_share_a_program(wine):
    """Batches of up to 32 rows share one program, of 33 to 256 another, and
    so do data of nearby sizes."""
    X, y = wine

    def programs(batch_sizes, n=len(X)):
        before = run_epoch_chunk._cache_size()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for batch_size in batch_sizes:
                NeuralClassifier(hidden_layer_sizes=(17,), batch_size=batch_size,
                                 max_iter=3, random_state=0).fit(X[:n], y[:n])  # fmt: skip
        return run_epoch_chunk._cache_size() - before

    assert programs([10, 20, 32]) == 1
    assert programs([50, 100, 256, "auto"]) == 1
    # 170 samples: data of 192 rows as for 178.
    assert programs([10, 50], n=170) == 0


def test_exact_shapes_where_padding_would_cost(wine):
    X, y = wine
    small = dict(hidden_layer_sizes=(11,), max_iter=2, random_state=0)
    assert _layout(NeuralClassifier(batch_size=10, **small), X, y) is not None
    # Too much padded arithmetic: one row per batch, or a large network.
    default_width = dict(small, hidden_layer_sizes=(100,))
    assert _layout(NeuralClassifier(batch_size=1, **default_width), X, y) is None
    wide = dict(small, hidden_layer_sizes=(2000,))
    assert _layout(NeuralClassifier(batch_size=50, **wide), X, y) is None
    # Random layers draw per batch shape; sparse data; batches over 256 rows.
    assert _layout(NeuralClassifier(batch_size=10, dropout=0.2, **small), X, y) is None
    assert _layout(NeuralClassifier(batch_size=10, **small), sp.csr_matrix(X), y) is None
    big = np.tile(X, (3, 1)), np.tile(y, 3)
    assert _layout(NeuralClassifier(batch_size=300, **small), *big) is None
    assert _layout(NeuralClassifier(batch_size=256, **small), *big) is not None
