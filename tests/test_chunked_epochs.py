"""Several epochs per device call (small models) give the fit of one epoch
per call: same epochs, same stopping, same parameters."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import skneural._chunked as chunked
import skneural._config
import skneural._driver as driver
from skneural import NeuralClassifier, NeuralRegressor


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _fit_both(make, X, y, monkeypatch, fits=1):
    """The same estimator fitted with several epochs per call and with one."""
    out = []
    for one_per_call in (False, True):
        if one_per_call:
            monkeypatch.setattr(driver, "epochs_per_call", lambda *args: 1)
        est = make()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(fits):
                est.fit(X, y)
        out.append((est, sorted({str(w.message) for w in caught})))
    monkeypatch.undo()
    return out


def _assert_same(a, b):
    assert a.n_iter_ == b.n_iter_
    assert a.t_ == b.t_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def _count_calls(monkeypatch, name):
    """Count the calls of the driver's compiled function ``name``."""
    calls = {"n": 0}
    real = getattr(driver, name)

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, name, counted)
    return calls


def test_small_models_run_several_epochs_per_call(iris, monkeypatch):
    X, y = iris
    config_work = len(X) * (4 * 100 + 100 * 3)
    assert config_work <= chunked.CHUNK_WORK[0]
    calls = _count_calls(monkeypatch, "run_epoch_chunk")
    clf = NeuralClassifier(max_iter=200, tol=0, n_iter_no_change=1000,
                           random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ == 200
    # 4, 4, 8, 16, 32, 32, ... epochs per call: far fewer calls than epochs.
    assert calls["n"] <= 10


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_convergence_inside_a_call_matches_one_epoch_per_call(iris, dtype, monkeypatch):
    """The fit stops (tol) in the middle of a call: the epochs after it are
    dropped, and a warm-started second fit continues identically (the
    shuffling state went back too)."""
    X, y = iris
    make = lambda: NeuralClassifier(hidden_layer_sizes=(8,), max_iter=300, tol=1e-3,
                                    warm_start=True, random_state=0)  # noqa: E731
    (a, wa), (b, wb) = _fit_both(make, X.astype(dtype), y, monkeypatch, fits=2)
    # Calls end after 4, 8, 16, 32, 64, 96, ... epochs: this one stopped inside.
    assert a.n_iter_ < 300 and a.n_iter_ not in {4, 8, 16, *range(32, 300, 32)}
    assert wa == wb
    _assert_same(a, b)


def test_adaptive_learning_rate_matches_one_epoch_per_call(iris, monkeypatch):
    """'adaptive' divides the rate inside a call: the call is cut there."""
    X, y = iris
    make = lambda: NeuralClassifier(solver="sgd", learning_rate="adaptive",  # noqa: E731
                                    learning_rate_init=0.5, tol=1e-2, max_iter=120,
                                    random_state=0)  # fmt: skip
    (a, wa), (b, wb) = _fit_both(make, X, y, monkeypatch)
    assert wa == wb
    assert any("Setting learning rate" in m for m in wa) or a.n_iter_ == 120
    _assert_same(a, b)


def test_divergence_inside_a_call_restores_the_same_epoch(monkeypatch):
    """A loss blowing up in the middle of a call: the parameters of the
    lowest-loss epoch before it are kept, as with one epoch per call."""
    X, y = make_regression(n_samples=64, n_features=4, random_state=0)
    X, y = StandardScaler().fit_transform(X), y / y.std()
    make = lambda: NeuralRegressor(solver="sgd", learning_rate_init=0.3,  # noqa: E731
                                   momentum=0.99, hidden_layer_sizes=(16,),
                                   batch_size=16, tol=0, n_iter_no_change=1000,
                                   max_iter=200, random_state=0)  # fmt: skip
    # Exact batch shapes: the diverging trajectory's last bits, which decide
    # the epoch it blows up in, depend on how each batch is computed.
    monkeypatch.setattr(skneural._config, "SHARED_BATCH_WORK", 0)
    (a, wa), (b, wb) = _fit_both(make, X, y, monkeypatch)
    assert any("Training stopped at epoch" in m for m in wa), wa
    assert wa == wb
    # Epoch 15 diverged: inside the third call (epochs 9 to 16).
    assert a.n_iter_ == b.n_iter_ == 14
    np.testing.assert_allclose(a.loss_, b.loss_, rtol=1e-12)
    for x, y in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def test_dropout_draws_match_one_epoch_per_call(iris, monkeypatch):
    X, y = iris
    make = lambda: NeuralClassifier(hidden_layer_sizes=(16,), dropout=0.3,  # noqa: E731
                                    max_iter=40, random_state=0)  # fmt: skip
    (a, _), (b, _) = _fit_both(make, X, y, monkeypatch)
    _assert_same(a, b)


def test_verbose_and_validation_run_one_epoch_per_call(iris, capsys, monkeypatch):
    """A display or a validation set needs each epoch as it ends."""
    X, y = iris
    for params in (dict(verbose=2), dict(early_stopping=True)):
        calls = _count_calls(monkeypatch, "run_epoch")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = NeuralClassifier(max_iter=6, tol=0, n_iter_no_change=100,
                                   random_state=0, **params).fit(X, y)  # fmt: skip
        monkeypatch.undo()
        assert calls["n"] == clf.n_iter_ == 6
    assert "Iteration 6" in capsys.readouterr().out


@pytest.mark.parametrize("batch_norm", [False, True])
def test_runtime_activations_equal_the_networks_own(iris, monkeypatch, batch_norm):
    """Small networks of identity/logistic/tanh/relu layers choose the
    activation at run time (one program for all): same fit as with the
    activation compiled in."""
    import skneural._config as config

    X, y = iris
    for activation in ["identity", "logistic", "tanh", "relu", ["tanh", "relu"]]:
        fits = []
        for work in (config.RUNTIME_ACTIVATION_WORK, 0):
            monkeypatch.setattr(config, "RUNTIME_ACTIVATION_WORK", work)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fits.append(NeuralClassifier(
                    hidden_layer_sizes=(7, 5), activation=activation,
                    batch_norm=batch_norm, max_iter=30, random_state=0,
                ).fit(X.astype(np.float64), y))  # fmt: skip
        a, b = fits
        _assert_same(a, b)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-12)
        if batch_norm:  # the run-time choice is not part of the fitted state
            for s, t in zip(a.layer_state_, b.layer_state_, strict=True):
                assert set(s) == set(t) == {"mean", "var"}
                for k in s:
                    np.testing.assert_allclose(s[k], t[k], rtol=1e-12)


def test_runtime_activations_share_one_program(iris):
    from skneural._epochs import run_epoch_chunk

    X, y = iris
    NeuralClassifier(hidden_layer_sizes=(9,), max_iter=3, random_state=0).fit(X, y)
    before = run_epoch_chunk._cache_size()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for activation in ["identity", "logistic", "tanh"]:
            NeuralClassifier(hidden_layer_sizes=(9,), activation=activation,
                             max_iter=3, random_state=0).fit(X, y)  # fmt: skip
    assert run_epoch_chunk._cache_size() == before
    # Not for other activations, nor for larger networks.
    NeuralClassifier(hidden_layer_sizes=(9,), activation="elu", max_iter=3,
                     random_state=0).fit(X, y)  # fmt: skip
    assert run_epoch_chunk._cache_size() == before + 1


def test_verbose_does_not_change_the_fit(iris, capsys):
    """verbose runs one epoch per call, the quiet fit several: same result
    (both compile with the same options)."""
    X, y = iris
    fits = [NeuralClassifier(hidden_layer_sizes=(8,), max_iter=300, verbose=v,
                             random_state=0).fit(X, y) for v in (0, 1)]  # fmt: skip
    assert "Iteration" in capsys.readouterr().out
    _assert_same(*fits)
