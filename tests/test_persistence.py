"""Persistence: pickle, joblib and skops round trips of fitted estimators.

A fitted estimator stores numpy arrays and builtin values only (no JAX
arrays, no compiled functions), so it reloads in a process without an
accelerator and predicts exactly as before; with :mod:`skops.io` it loads
trusting only skneural's own classes besides numpy and builtin types.
"""

import os
import pathlib
import pickle
import pickletools
import subprocess
import sys
import types

import jax
import joblib
import numpy as np
import pytest
from sklearn.datasets import make_regression

import skneural
from skneural import Activation, NeuralClassifier, NeuralRegressor
from skneural.solvers import SGD, RMSProp

skops_io = pytest.importorskip("skops.io")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: Estimators and architectures to persist: both estimators, stepwise and
#: whole-batch solvers (named and objects), batch norm, PReLU, dropout, an
#: Activation object and a float64 model.
CONFIGS = {
    "classifier-adam": (NeuralClassifier, {"solver": "adam"}),
    "classifier-lbfgs": (NeuralClassifier, {"solver": "lbfgs"}),
    "classifier-rmsprop-batchnorm-prelu": (
        NeuralClassifier,
        {"solver": RMSProp(learning_rate=0.01), "batch_norm": True,
         "activation": "prelu"},
    ),
    "classifier-sgd-dropout": (
        NeuralClassifier,
        {"solver": SGD(learning_rate=0.05), "dropout": [0.2, 0.1],
         "hidden_layer_sizes": (6, 4)},
    ),
    "regressor-sgd": (NeuralRegressor, {"solver": "sgd"}),
    "regressor-lm": (NeuralRegressor, {"solver": "lm"}),
    "regressor-lbfgs-batchnorm-leaky": (
        NeuralRegressor,
        {"solver": "lbfgs", "batch_norm": True,
         "activation": Activation("leaky_relu", negative_slope=0.2)},
    ),
    "regressor-adam-float64": (NeuralRegressor, {"solver": "adam", "dtype": "float64"}),
}  # fmt: skip


@pytest.fixture(scope="module")
def fitted(iris):
    """name -> (fitted estimator, X)."""
    X_reg, y_reg = make_regression(n_samples=60, n_features=4, random_state=0)
    models = {}
    for name, (estimator, params) in CONFIGS.items():
        X, y = iris if estimator is NeuralClassifier else (X_reg, y_reg / 100)
        params = {"hidden_layer_sizes": (5,), "max_iter": 10, "random_state": 0,
                  **params}  # fmt: skip
        models[name] = (estimator(**params).fit(X, y), X)
    return models


def _outputs(model, X):
    """Everything the model predicts on X."""
    out = [model.predict(X)]
    if isinstance(model, NeuralClassifier):
        out += [model.predict_proba(X), model.predict_log_proba(X)]
    return out


def _assert_same_model(loaded, model, X):
    assert type(loaded) is type(model)
    assert repr(loaded.get_params()) == repr(model.get_params())
    for a, b in zip(_outputs(loaded, X), _outputs(model, X)):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    for a, b in zip(
        loaded.coefs_ + loaded.intercepts_, model.coefs_ + model.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


@pytest.mark.parametrize("name", CONFIGS)
def test_pickle_round_trip(fitted, name):
    model, X = fitted[name]
    _assert_same_model(pickle.loads(pickle.dumps(model)), model, X)


@pytest.mark.parametrize("name", CONFIGS)
def test_joblib_round_trip(fitted, name, tmp_path):
    model, X = fitted[name]
    joblib.dump(model, tmp_path / "model.joblib")
    _assert_same_model(joblib.load(tmp_path / "model.joblib"), model, X)


def _walk(obj, path="model", seen=None):
    """Yield (path, value) for every value reachable from ``obj``."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}[{k!r}]", seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]", seen)
    elif isinstance(obj, np.ndarray) and obj.dtype == object:
        for i, v in enumerate(obj.ravel()):
            yield from _walk(v, f"{path}.flat[{i}]", seen)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        for k, v in vars(obj).items():
            yield from _walk(v, f"{path}.{k}", seen)


def _pickled_globals(data):
    """Module of every class or function a pickle refers to."""
    modules, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            modules.add(arg.split(" ")[0])
        elif op.name == "STACK_GLOBAL":
            modules.add(strings[-2])
        if isinstance(arg, str):
            strings.append(arg)
    return modules


@pytest.mark.parametrize("name", CONFIGS)
def test_pickled_state_holds_no_jax_objects(fitted, name):
    """No jax arrays, compiled or plain functions anywhere in the state, and
    the pickle imports nothing from jax."""
    model, _ = fitted[name]
    data = pickle.dumps(model)
    for path, value in _walk(pickle.loads(data)):
        assert not isinstance(value, jax.Array), path
        assert not isinstance(value, (types.FunctionType, types.MethodType)), path
        assert not type(value).__module__.startswith(("jax", "jaxlib")), (
            path, type(value)
        )  # fmt: skip
    assert not [
        m for m in _pickled_globals(data) if m.split(".")[0] in ("jax", "jaxlib")
    ]


def test_unpickle_in_a_fresh_cpu_process(fitted, tmp_path):
    """Pickles load and predict identically in a new process restricted to
    the CPU (no accelerator needed)."""
    for name, (model, X) in fitted.items():
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(model))
        np.save(tmp_path / f"{name}.X.npy", X)
        classifier = isinstance(model, NeuralClassifier)
        pred = model.predict_proba(X) if classifier else model.predict(X)
        np.save(tmp_path / f"{name}.pred.npy", pred)
    script = """
import pathlib, pickle, sys
import jax, numpy as np
assert {d.platform for d in jax.devices()} == {"cpu"}, jax.devices()
folder = pathlib.Path(sys.argv[1])
for path in sorted(folder.glob("*.pkl")):
    name = path.stem
    model = pickle.loads(path.read_bytes())
    X = np.load(folder / f"{name}.X.npy")
    out = model.predict_proba(X) if hasattr(model, "classes_") else model.predict(X)
    np.testing.assert_array_equal(out, np.load(folder / f"{name}.pred.npy"))
    print("ok", name)
"""
    root = str(pathlib.Path(skneural.__file__).resolve().parents[1])
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": path}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("ok ") == len(fitted), result.stdout


@pytest.mark.parametrize("name", CONFIGS)
def test_skops_untrusted_types_are_only_skneural_classes(fitted, name, tmp_path):
    """skops trusts numpy, builtin and scikit-learn types; what the user must
    trust to load a model should be skneural's own classes and nothing else
    (a jax or optax type here means the estimator stores more than numpy)."""
    model, _ = fitted[name]
    skops_io.dump(model, tmp_path / "model.skops")
    untrusted = skops_io.get_untrusted_types(file=tmp_path / "model.skops")
    assert f"skneural._estimators.{type(model).__name__}" in untrusted
    others = [t for t in untrusted if not t.startswith("skneural.")]
    assert not others, f"untrusted types beyond skneural's: {others}"


@pytest.mark.parametrize("name", CONFIGS)
def test_skops_round_trip(fitted, name, tmp_path):
    """Trusting exactly the reported types loads an identical model; trusting
    nothing refuses to load."""
    model, X = fitted[name]
    skops_io.dump(model, tmp_path / "model.skops")
    untrusted = skops_io.get_untrusted_types(file=tmp_path / "model.skops")
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        skops_io.load(tmp_path / "model.skops", trusted=[])
    loaded = skops_io.load(tmp_path / "model.skops", trusted=untrusted)
    _assert_same_model(loaded, model, X)


@pytest.mark.parametrize("how", ["pickle", "joblib", "skops"])
def test_float64_model_reloads_in_float64(fitted, how, tmp_path):
    model, X = fitted["regressor-adam-float64"]
    path = tmp_path / "model"
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(model))
    elif how == "joblib":
        joblib.dump(model, path)
        loaded = joblib.load(path)
    else:
        skops_io.dump(model, path)
        loaded = skops_io.load(path, trusted=skops_io.get_untrusted_types(file=path))
    assert all(c.dtype == np.float64 for c in loaded.coefs_ + loaded.intercepts_)
    assert loaded.predict(X).dtype == np.float64
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # Still trainable where it stopped (stepwise solvers keep their state).
    loaded.partial_fit(X, model.predict(X))
    assert loaded.t_ == model.t_ + len(X)
