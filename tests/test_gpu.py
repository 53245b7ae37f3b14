"""Training on an NVIDIA (or other) GPU: run where JAX sees one, skipped elsewhere.

Each test compares the GPU's result with the same computation on the CPU of
the same machine. float64 results must agree to rounding (a GPU computes
float64 products exactly, in another order); float32 ones only closely,
since XLA may compute float32 matrix products on a GPU in TensorFloat-32
(10-bit mantissa) by default.
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning

import skneural._driver as training
from skneural import NeuralClassifier, NeuralRegressor
from skneural.model_selection import BatchedGridSearchCV


def _devices(platform):
    try:
        return jax.devices(platform)
    except RuntimeError:  # no such backend (CPU-only jaxlib, JAX_PLATFORMS=cpu)
        return []


GPUS = _devices("gpu")
HAS_CPU = bool(_devices("cpu"))

pytestmark = pytest.mark.skipif(
    not GPUS, reason="no GPU: jax.devices('gpu') finds none on this machine"
)
needs_cpu = pytest.mark.skipif(not HAS_CPU, reason="JAX's CPU backend is disabled")

#: float32 on the GPU against float32 on the CPU (TensorFloat-32 products).
F32 = dict(rtol=2e-2, atol=5e-3)
#: float64: the same arithmetic in another order.
F64 = dict(rtol=1e-6, atol=1e-9)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _assert_close_fits(gpu, cpu, tol):
    assert gpu.n_iter_ == cpu.n_iter_
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=tol["rtol"])
    for a, b in zip(gpu.coefs_ + gpu.intercepts_, cpu.coefs_ + cpu.intercepts_):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, **tol)


def _epoch_devices(monkeypatch):
    """Record the platform of the training data of every compiled epoch."""
    seen = []
    real = training.run_epoch

    def spy(*args, **kwargs):
        seen.append({d.platform for d in kwargs["X"].devices()})
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "run_epoch", spy)
    return seen


@needs_cpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_and_predict_on_the_gpu_match_the_cpu(digits, dtype, monkeypatch):
    X, y = digits
    kw = dict(hidden_layer_sizes=(64,), max_iter=5, batch_size=128, random_state=0,
              dtype=dtype)  # fmt: skip
    cpu = NeuralClassifier(device="cpu", **kw).fit(X, y)
    seen = _epoch_devices(monkeypatch)
    gpu = NeuralClassifier(device="gpu", **kw).fit(X, y)
    assert seen and all(p == {"gpu"} for p in seen), seen  # trained on the GPU
    tol = F64 if dtype == "float64" else F32
    _assert_close_fits(gpu, cpu, tol)
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), **tol)
    assert abs(gpu.score(X, y) - cpu.score(X, y)) <= 0.01
    gpu_labels, cpu_labels = gpu.predict(X), cpu.predict(X)
    assert np.mean(gpu_labels == cpu_labels) >= (1.0 if dtype == "float64" else 0.99)


def test_default_device_is_the_gpu(digits, monkeypatch):
    """With a CUDA-enabled JAX, no ``device``: JAX's default device, the GPU."""
    if jax.default_backend() != "gpu":
        pytest.skip(f"JAX's default backend is {jax.default_backend()}")
    X, y = digits
    seen = _epoch_devices(monkeypatch)
    NeuralClassifier(max_iter=2, random_state=0).fit(X, y)
    assert seen and all(p == {"gpu"} for p in seen)


def test_verbose_summary_names_the_gpu(digits, capsys):
    X, y = digits
    NeuralClassifier(max_iter=2, verbose=2, device="gpu", random_state=0).fit(X, y)
    last = capsys.readouterr().out.splitlines()[-1]
    assert f" on gpu:0 ({GPUS[0].device_kind})" in last, last


@needs_cpu
@pytest.mark.parametrize("solver", ["lbfgs", "trust-ncg", "lm"])
def test_float64_whole_batch_solvers_on_the_gpu(digits, solver):
    """Whole-batch solvers compute in float64 by default, on the GPU too."""
    if solver == "lm":  # residuals and their Jacobian: a small regression
        X, y = make_friedman1(n_samples=300, random_state=0)
        kw = dict(hidden_layer_sizes=(10,), max_iter=20, solver=solver,
                  random_state=0)  # fmt: skip
        cpu = NeuralRegressor(device="cpu", **kw).fit(X, y)
        gpu = NeuralRegressor(device="gpu", **kw).fit(X, y)
    else:
        X, y = digits
        kw = dict(hidden_layer_sizes=(32,), max_iter=15, solver=solver,
                  random_state=0)  # fmt: skip
        cpu = NeuralClassifier(device="cpu", **kw).fit(X, y)
        gpu = NeuralClassifier(device="gpu", **kw).fit(X, y)
    assert gpu.coefs_[0].dtype == np.float64
    _assert_close_fits(gpu, cpu, dict(rtol=1e-6, atol=1e-8))
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-6, atol=1e-8)


def test_streaming_on_the_gpu_equals_in_memory(digits, monkeypatch):
    """A forced small threshold: the data stays on the host and goes to the
    GPU in chunks of minibatches, with the same steps as in memory."""
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=3, batch_size=64, random_state=0,
              dtype="float64", dropout=0.2, device="gpu")  # fmt: skip
    in_memory = NeuralClassifier(**kw).fit(X, y)
    shapes, places = [], []
    real = training.run_epoch

    def spy(*args, **kwargs):
        shapes.append(kwargs["X"].shape)
        places.append({d.platform for d in kwargs["X"].devices()})
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "STREAM_ABOVE_BYTES", 1)
    # 64 features + 10 target columns + weight + mask, float64, 64 rows
    monkeypatch.setattr(training, "STREAM_CHUNK_BYTES", 4 * 64 * 76 * 8)
    monkeypatch.setattr(training, "run_epoch", spy)
    streamed = NeuralClassifier(**kw).fit(X, y)
    # at most a chunk at a time on the GPU, several chunks per epoch
    assert max(s[0] for s in shapes) <= 4 * 64 and len(shapes) >= 3 * 6
    assert all(p == {"gpu"} for p in places)
    _assert_close_fits(streamed, in_memory, dict(rtol=1e-10, atol=1e-12))


def test_gpu_reports_its_memory_for_automatic_streaming():
    """Streaming is decided from the device's free memory: the GPU reports it."""
    stats = GPUS[0].memory_stats()
    assert stats and stats["bytes_limit"] > 0
    assert training.STREAM_ABOVE_BYTES is None


@pytest.mark.parametrize("batched", [True, "auto"])
def test_batched_search_on_the_gpu_equals_the_plain_search(digits, batched):
    X, y = digits
    X, y = X[:600], y[:600]
    est = NeuralClassifier(hidden_layer_sizes=(16,), max_iter=15, random_state=0,
                           dtype="float64", device="gpu")  # fmt: skip
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
    together = BatchedGridSearchCV(est, grid, cv=3, batched=batched).fit(X, y)
    alone = BatchedGridSearchCV(est, grid, cv=3, batched=False).fit(X, y)
    assert together.n_batched_fits_ == 4 * 3  # 'auto' batches on an accelerator
    assert alone.n_batched_fits_ == 0
    np.testing.assert_allclose(
        together.cv_results_["mean_test_score"], alone.cv_results_["mean_test_score"],
        atol=1e-12,
    )
    assert together.best_params_ == alone.best_params_
    _assert_close_fits(together.best_estimator_, alone.best_estimator_, F64)


@pytest.mark.skipif(len(GPUS) < 2, reason="data-parallel training needs 2 GPUs")
def test_data_parallel_on_two_gpus_matches_one(digits):
    X, y = digits
    kw = dict(max_iter=4, random_state=0, dtype="float64", batch_size=200)
    one = NeuralClassifier(device="gpu:0", **kw).fit(X, y)
    two = NeuralClassifier(device=["gpu:0", "gpu:1"], **kw).fit(X, y)
    _assert_close_fits(two, one, F64)


PREDICT_ON_CPU = textwrap.dedent(
    """
    import pickle, sys
    import jax, numpy as np
    assert {d.platform for d in jax.devices()} == {"cpu"}, jax.devices()
    with open(sys.argv[1], "rb") as f:
        clf, X = pickle.load(f)
    assert clf.device == "gpu"  # as fitted; prediction falls back to the CPU
    np.save(sys.argv[2], clf.predict_proba(X))
    """
)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gpu_trained_model_predicts_in_a_cpu_only_process(digits, dtype, tmp_path):
    X, y = digits
    clf = NeuralClassifier(hidden_layer_sizes=(64,), max_iter=5, random_state=0,
                           dtype=dtype, device="gpu").fit(X, y)  # fmt: skip
    on_gpu = clf.predict_proba(X)
    model, out, script = tmp_path / "m.pkl", tmp_path / "p.npy", tmp_path / "p.py"
    model.write_bytes(pickle.dumps((clf, X)))
    script.write_text(PREDICT_ON_CPU)
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=path)
    command = [sys.executable, str(script), str(model), str(out)]
    result = subprocess.run(command, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    on_cpu = np.load(out)
    np.testing.assert_allclose(on_cpu, on_gpu, **(F64 if dtype == "float64" else F32))
    assert np.mean(on_cpu.argmax(1) == on_gpu.argmax(1)) >= 0.99
