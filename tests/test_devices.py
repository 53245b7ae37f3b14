"""The ``device`` parameter: placement, errors, data-parallel training."""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skneural import NeuralClassifier, NeuralRegressor


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_named_cpu_device_gives_the_default_result(iris):
    X, y = iris
    with jax.default_device(jax.devices("cpu")[0]):  # the default on a GPU machine too
        default = NeuralClassifier(max_iter=5, random_state=0).fit(X, y)
    for device in ("cpu", "cpu:0", ["cpu:0"]):
        clf = NeuralClassifier(max_iter=5, random_state=0, device=device).fit(X, y)
        for a, b in zip(default.coefs_, clf.coefs_):
            np.testing.assert_array_equal(a, b)
        assert all(isinstance(W, np.ndarray) for W in clf.coefs_)
        np.testing.assert_array_equal(clf.predict(X), default.predict(X))


@pytest.mark.parametrize(
    "device, match",
    [
        ("tpu", "not available: JAX sees"),
        ("cpu:99", "not available: JAX sees"),
        ("cpu:x", "not a device name"),
        (["cpu:0", "cpu:0"], "twice"),
        ([], "empty"),
        ([0], "strings"),
    ],
)
def test_unavailable_or_malformed_device(iris, device, match):
    X, y = iris
    if device == "tpu" and any(d.platform == "tpu" for d in jax.devices()):
        pytest.skip("a TPU is present")
    with pytest.raises((ValueError, TypeError), match=match):
        NeuralClassifier(max_iter=2, device=device).fit(X, y)


def test_device_object_is_rejected_by_validation(iris):
    with pytest.raises(ValueError, match="device"):
        NeuralClassifier(device=jax.devices()[0]).fit(*iris)


def test_prediction_falls_back_when_the_device_is_missing(iris):
    """A model fitted elsewhere (say on a GPU) predicts on this machine."""
    X, y = iris
    clf = NeuralClassifier(max_iter=3, random_state=0, device="cpu").fit(X, y)
    expected = clf.predict_proba(X)
    clf.device = "cpu:99"  # as if unpickled on a machine without that device
    np.testing.assert_array_equal(clf.predict_proba(X), expected)


def test_whole_batch_solver_and_regressor_take_a_device(iris):
    X, y = iris
    for est, target in [(NeuralClassifier(solver="lbfgs", max_iter=5), y),
                        (NeuralRegressor(max_iter=5), y.astype(float))]:  # fmt: skip
        with jax.default_device(jax.devices("cpu")[0]):
            default = est.set_params(random_state=0).fit(X, target).predict(X)
        named = est.set_params(device=["cpu"]).fit(X, target).predict(X)
        np.testing.assert_array_equal(default, named)


def test_cuda_extra_brings_jax_with_cuda_12():
    """``pip install "skneural[cuda]"``: JAX's own CUDA 12 extra, no older
    than the JAX the package requires."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    from packaging.requirements import Requirement

    path = Path(__file__).resolve().parents[1] / "pyproject.toml"
    project = tomllib.loads(path.read_text())["project"]
    (cuda,) = map(Requirement, project["optional-dependencies"]["cuda"])
    (base,) = [r for r in map(Requirement, project["dependencies"]) if r.name == "jax"]
    assert cuda.name == "jax" and cuda.extras == {"cuda12"}
    assert cuda.specifier == base.specifier


def test_verbose_summary_names_the_device(iris, capsys):
    """verbose=2: the summary says where the fit ran, as ``device`` names it."""
    X, y = iris
    default = jax.devices()[0]
    for device, expected in [(None, f"{default.platform}:0"), ("cpu", "cpu:0"),
                             (["cpu:0"], "cpu:0")]:  # fmt: skip
        for solver in ("adam", "lbfgs"):
            NeuralClassifier(max_iter=2, verbose=2, solver=solver,
                             device=device).fit(X, y)  # fmt: skip
            last = capsys.readouterr().out.splitlines()[-1]
            assert last.startswith("Training max_iter reached after 2 ")
            assert f" on {expected}" in last, last
            assert f" on {expected} " in last or f" on {expected}," in last


def test_device_description_gives_the_kind_of_accelerators():
    """An accelerator is named with its kind (the GPU model); the CPU's kind,
    which only repeats the platform, is left out."""
    from types import SimpleNamespace

    from skneural._devices import describe

    cpu = jax.devices("cpu")[0]
    assert describe([cpu]) == "cpu:0"
    fake = [SimpleNamespace(platform="gpu", id=i, device_kind="NVIDIA H200")
            for i in (4, 5)]  # fmt: skip  (not JAX's devices: named by their id)
    assert describe(fake[:1]) == "gpu:4 (NVIDIA H200)"
    assert describe(fake) == "gpu:4, gpu:5 (NVIDIA H200)"
    with jax.default_device(cpu):
        assert describe(None) == "cpu:0"


DATA_PARALLEL = textwrap.dedent(
    """
    import warnings
    import jax, numpy as np
    from sklearn.datasets import load_digits
    import skneural._driver as training
    from skneural import NeuralClassifier
    warnings.simplefilter("ignore")
    assert len(jax.devices()) == 2, jax.devices()
    X, y = load_digits(return_X_y=True)
    X = X / 16
    calls = []
    real = training.run_epoch
    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)
    training.run_epoch = spy
    common = dict(random_state=0, max_iter=4, dtype="float64", dropout=0.0)
    for batch_size in (200, 7):
        one = NeuralClassifier(device="cpu:0", batch_size=batch_size, **common).fit(X, y)
        two = NeuralClassifier(device=["all"], batch_size=batch_size, **common).fit(X, y)
        np.testing.assert_allclose(one.loss_curve_, two.loss_curve_, rtol=1e-10)
        for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
            assert isinstance(b, np.ndarray)
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(one.predict(X), two.predict(X))
    # verbose=2 names both devices in its summary.
    import contextlib, io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        NeuralClassifier(device=["all"], max_iter=1, verbose=2).fit(X, y)
    assert " on cpu:0, cpu:1 " in out.getvalue().splitlines()[-1], out.getvalue()
    # The data-parallel program really splits the minibatch: each device
    # computes its half and the gradients are summed across devices.
    args, kwargs = calls[-1]
    assert kwargs["sharding"] is not None
    from skneural._objective import precision
    with precision(np.float64):
        hlo = real.lower(*args, **kwargs).compile().as_text()
    assert "all-reduce" in hlo, "no cross-device reduction in the program"

    # Whole-batch solvers: the objective's rows are split across the devices
    # (1797 rows: one zero-weight padding row), the same iterates.
    from skneural._objective import flat_value_and_grad
    from skneural._problem import Problem
    for solver in ("lbfgs", "trust-ncg"):
        kw = dict(solver=solver, max_iter=15, random_state=0, hidden_layer_sizes=(20,))
        one = NeuralClassifier(device="cpu:0", **kw).fit(X, y)
        two = NeuralClassifier(device=["all"], **kw).fit(X, y)
        assert one.n_iter_ == two.n_iter_
        np.testing.assert_allclose(one.loss_curve_, two.loss_curve_, rtol=1e-9)
        for a, b in zip(one.coefs_, two.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    from skneural._devices import batch_sharding
    from skneural._objective import ravel, shapes_of
    params = one._params()
    problem = Problem(X, np.eye(10)[y], np.ones(len(y)), 1e-4, shapes=shapes_of(params),
                      activation="relu", loss="log_loss", dtype=np.float64,
                      sharding=batch_sharding(jax.devices()))
    with precision(np.float64):
        x = np.asarray(ravel(params), dtype=np.float64)
        hlo = flat_value_and_grad.lower(x, *problem._objective_data,
                                        **problem._static).compile().as_text()
    assert "all-reduce" in hlo
    print("ok")
    """
)


def test_data_parallel_on_two_host_devices_matches_one_device(tmp_path):
    """Two CPU devices forced by XLA_FLAGS (a fresh process: the flag must be
    set before JAX starts): same fit as on one device, within rounding."""
    script = tmp_path / "dp.py"
    script.write_text(DATA_PARALLEL)
    root = str(Path(__file__).resolve().parents[1])  # this checkout's skneural
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu", PYTHONPATH=path)  # fmt: skip
    result = subprocess.run([sys.executable, str(script)], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


LEAST_SQUARES_PARALLEL = textwrap.dedent(
    """
    import warnings
    import jax, numpy as np
    from sklearn.datasets import load_digits
    from skneural import NeuralClassifier, NeuralRegressor
    from skneural._devices import batch_sharding
    from skneural._objective import precision, ravel, shapes_of
    from skneural._problem import Problem
    warnings.simplefilter("ignore")
    assert len(jax.devices()) == 2, jax.devices()
    X, y = load_digits(return_X_y=True)
    X, y = X[:301] / 16, y[:301]  # an odd number of rows: one padding row
    # Levenberg-Marquardt and scipy's least squares: the residuals and the
    # Jacobian are split across the devices like the objective, the same fit.
    cases = [(NeuralRegressor, y / 9.0, dict(alpha=1e-3)),
             (NeuralClassifier, y % 3, dict(alpha=1e-3))]
    for solver in ("lm", "least-squares"):
        for Estimator, target, options in cases:
            kw = dict(solver=solver, max_iter=6, random_state=0, dtype="float64",
                      hidden_layer_sizes=(4,), activation="tanh", **options)
            one = Estimator(device="cpu:0", **kw).fit(X, target)
            two = Estimator(device=["all"], **kw).fit(X, target)
            # Rounding differs with the split; scipy's trust-region iterations
            # amplify it most (to about 1e-7).
            assert one.n_iter_ == two.n_iter_, (solver, Estimator)
            np.testing.assert_allclose(one.loss_curve_, two.loss_curve_, rtol=1e-6)
            for a, b in zip(one.coefs_ + one.intercepts_,
                            two.coefs_ + two.intercepts_):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    params = one._params()
    Y = np.eye(3)[target]
    kw = dict(shapes=shapes_of(params), activation="tanh", loss="log_loss",
              dtype=np.float64)
    split = Problem(X, Y, np.ones(len(Y)), 1e-3, **kw,
                    sharding=batch_sharding(jax.devices()))
    single = Problem(X, Y, np.ones(len(Y)), 1e-3, **kw)
    x = np.asarray(ravel(params), dtype=np.float64)
    with precision(np.float64):
        lin = split.gauss_newton(x)
        assert not lin.jacobian.sharding.is_fully_replicated
        assert len(lin.jacobian.sharding.device_set) == 2
        ref = single.gauss_newton(x)
        np.testing.assert_allclose(lin.gram, ref.gram, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(lin.grad, ref.grad, rtol=1e-9, atol=1e-12)
        assert float(split.least_squares_value(x)) == float(lin.value)
    r, J = split.residuals_and_jacobian(x)
    r1, J1 = single.residuals_and_jacobian(x)
    assert r.shape == r1.shape == (split.residual_size,)
    np.testing.assert_allclose(r, r1, rtol=1e-12)
    np.testing.assert_allclose(J, J1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(split.residuals(x), r1, rtol=1e-12)
    np.testing.assert_allclose(split.jacobian(x), J1, rtol=1e-9, atol=1e-12)
    print("ok")
    """
)


def test_least_squares_solvers_split_rows_on_two_host_devices(tmp_path):
    """'lm' and 'least-squares' on two forced CPU devices: the residuals and
    Jacobian split across them, the same fit as on one device."""
    script = tmp_path / "ls.py"
    script.write_text(LEAST_SQUARES_PARALLEL)
    root = str(Path(__file__).resolve().parents[1])  # this checkout's skneural
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu", PYTHONPATH=path)  # fmt: skip
    result = subprocess.run([sys.executable, str(script)], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("options", [dict(dropout=0.3), dict(batch_norm=True, early_stopping=True)])
def test_streamed_training_equals_in_memory(iris, monkeypatch, options):
    """Data above the streaming threshold stays on the host; each epoch runs
    in chunks of minibatches with the same steps and random draws."""
    import skneural._driver as training

    X, y = iris
    kw = dict(random_state=0, max_iter=4, dtype="float64", batch_size=16, **options)
    # One epoch per call, as streaming runs them (several epochs per call
    # agree to rounding, tests/test_chunked_epochs.py), the default code
    # generator (the one of small models' programs gives programs of other
    # shapes, the streamed chunks, results that differ in the last bit) and
    # each minibatch at its own size (padded ones agree to rounding,
    # tests/test_shared_batches.py). Data this small is never streamed
    # outside this test.
    monkeypatch.setattr(training, "epochs_per_call", lambda *args: 1)
    monkeypatch.setattr("skneural._chunked.SMALL_COMPILER_OPTIONS", None)
    monkeypatch.setattr("skneural._config.SHARED_BATCH_WORK", 0)
    in_memory = NeuralClassifier(**kw).fit(X, y)
    shapes = []
    real = training.run_epoch

    def spy(*args, **kwargs):
        shapes.append(kwargs["X"].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "STREAM_ABOVE_BYTES", 1)
    # iris: 4 features + 3 target columns + weight + mask, float64, 16 rows
    monkeypatch.setattr(training, "STREAM_CHUNK_BYTES", 3 * 16 * 9 * 8)
    monkeypatch.setattr(training, "run_epoch", spy)
    streamed = NeuralClassifier(**kw).fit(X, y)
    assert max(s[0] for s in shapes) == 3 * 16  # never more than a chunk on the device
    for a, b in zip(in_memory.coefs_ + in_memory.intercepts_,
                    streamed.coefs_ + streamed.intercepts_):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(in_memory.loss_curve_, streamed.loss_curve_, rtol=1e-12)
