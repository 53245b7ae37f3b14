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


# ------------------------------------------------ every form of ``solver=``
def _solver_forms():
    """name -> a fresh value for ``solver=``: a name, a solver object, a raw
    optax transformation (a closure), one wrapped in OptaxSolver, and Optax."""
    import optax

    from skneural.solvers import Adam, Optax, OptaxSolver

    return {
        "name": "adam",
        "object": Adam(learning_rate=0.01),
        "raw-optax": optax.adamw(1e-2),
        "raw-optax-injected": optax.inject_hyperparams(optax.adam)(learning_rate=1e-2),
        "optax-solver": OptaxSolver(optax.chain(optax.clip(1.0), optax.sgd(1e-2))),
        "optax-wrapper": Optax(optax.adamw, learning_rate=1e-2, weight_decay=1e-3),
    }


@pytest.fixture(scope="module")
def fitted_forms(iris):
    X, y = iris
    return {
        name: NeuralClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0,
                               solver=solver).fit(X, y)  # fmt: skip
        for name, solver in _solver_forms().items()
    }


def _round_trip(model, how, tmp_path):
    import copy

    if how == "pickle":
        return pickle.loads(pickle.dumps(model))
    if how == "deepcopy":
        return copy.deepcopy(model)
    joblib.dump(model, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib")


@pytest.mark.parametrize("how", ["pickle", "joblib", "deepcopy"])
@pytest.mark.parametrize("form", list(_solver_forms()))
def test_every_solver_form_round_trips(fitted_forms, iris, form, how, tmp_path):
    """Identical predictions after loading, and the loaded model trains on
    (its solver works) exactly as the original does."""
    X, y = iris
    model = fitted_forms[form]
    loaded = _round_trip(model, how, tmp_path)
    for a, b in zip(_outputs(loaded, X), _outputs(model, X)):
        np.testing.assert_array_equal(a, b)
    import copy

    original = copy.deepcopy(model) if how != "deepcopy" else pickle.loads(
        pickle.dumps(model)
    )
    loaded.partial_fit(X, y)
    original.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))


@pytest.mark.parametrize("form", list(_solver_forms()))
def test_every_solver_form_clones_and_refits(fitted_forms, iris, form):
    from sklearn.base import clone

    X, y = iris
    model = fitted_forms[form]
    again = clone(model).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_grid_search_over_solver_forms(iris):
    import optax
    from sklearn.model_selection import GridSearchCV

    from skneural.solvers import Optax

    X, y = iris
    forms = _solver_forms()
    search = GridSearchCV(
        NeuralClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0),
        [{"solver": list(forms.values())},
         {"solver": [Optax(optax.adamw)], "solver__learning_rate": [1e-3, 1e-2]}],
        cv=2,
    )  # fmt: skip
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == len(forms) + 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    lrs = [p.get("solver__learning_rate") for p in search.cv_results_["params"]]
    assert lrs[-2:] == [1e-3, 1e-2]
    best = search.best_estimator_
    loaded = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(loaded.predict_proba(X), best.predict_proba(X))


def test_optax_wrapper_parameters():
    import optax
    from sklearn.base import clone

    from skneural.solvers import Optax

    solver = Optax(optax.adamw, learning_rate=1e-3)
    assert solver.get_params() == {"factory": optax.adamw, "learning_rate": 1e-3}
    solver.set_params(weight_decay=0.1, learning_rate=0.01)
    assert solver.get_params()["weight_decay"] == 0.1
    assert clone(solver).get_params() == solver.get_params()
    assert repr(solver) == "Optax(optax.adamw, learning_rate=0.01, weight_decay=0.1)"
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        solver.set_params(bogus=1)
    tx, hyper = solver.optax_transformation()
    assert hyper == {"learning_rate": 0.01, "weight_decay": 0.1}
    # Float arguments are traced: another learning rate, the same program.
    other = Optax(optax.adamw, learning_rate=0.5, weight_decay=0.2)
    assert other.optax_transformation()[0] is tx


def test_optax_wrapper_trains_as_the_transformation(iris):
    """Optax(f, **kw) trains exactly like f(**kw) given as a transformation."""
    import optax

    from skneural.solvers import Optax

    X, y = iris
    kw = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    a = NeuralClassifier(solver=Optax(optax.adamw, learning_rate=1e-2), **kw).fit(X, y)
    b = NeuralClassifier(solver=optax.adamw(1e-2), **kw).fit(X, y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-5)


@pytest.mark.parametrize("form", ["raw-optax", "optax-solver"])
def test_skops_refuses_closures_at_dump(fitted_forms, form, tmp_path):
    model = fitted_forms[form]
    with pytest.raises(TypeError, match=r"skneural\.solvers\.Optax.*pickle or joblib"):
        skops_io.dump(model, tmp_path / "model.skops")


def test_skops_round_trips_the_optax_wrapper(fitted_forms, iris, tmp_path):
    """The documented types to trust: the estimator, Optax and the optax
    function it names."""
    X, _ = iris
    model = fitted_forms["optax-wrapper"]
    skops_io.dump(model, tmp_path / "model.skops")
    untrusted = skops_io.get_untrusted_types(file=tmp_path / "model.skops")
    assert sorted(untrusted) == [
        "optax._src.alias.adamw",
        "skneural._estimators.NeuralClassifier",
        "skneural._network.Net",
        "skneural.solvers._base.Optax",
    ]
    loaded = skops_io.load(tmp_path / "model.skops", trusted=untrusted)
    for a, b in zip(_outputs(loaded, X), _outputs(model, X)):
        np.testing.assert_array_equal(a, b)
    assert loaded.solver.get_params() == model.solver.get_params()


def test_solver_forms_load_in_a_fresh_process(fitted_forms, iris, tmp_path):
    """Raw optax transformations pickled by value load with plain pickle in a
    new process and predict identically."""
    X, _ = iris
    np.save(tmp_path / "X.npy", X)
    for name, model in fitted_forms.items():
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(model))
        np.save(tmp_path / f"{name}.pred.npy", model.predict_proba(X))
    script = """
import pathlib, pickle, sys
import numpy as np
folder = pathlib.Path(sys.argv[1])
X = np.load(folder / "X.npy")
for path in sorted(folder.glob("*.pkl")):
    model = pickle.loads(path.read_bytes())
    np.testing.assert_array_equal(
        model.predict_proba(X), np.load(folder / f"{path.stem}.pred.npy"))
    model.partial_fit(X, model.predict(X))
    print("ok", path.stem)
"""
    root = str(pathlib.Path(skneural.__file__).resolve().parents[1])
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("ok ") == len(fitted_forms), result.stdout
