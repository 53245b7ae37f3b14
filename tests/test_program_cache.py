"""skneural's persistent program cache (skneural/_program_cache.py).

Compiled programs are stored on disk and loaded by later fits, in this process
after its memory is cleared or in another process, without tracing or
compiling. These tests count where each program came from
(``_program_cache.counts()``) rather than timing anything.
"""

import errno
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap
import warnings
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skneural import NeuralClassifier, NeuralRegressor, _program_cache
from skneural._program_cache import Unstable, _stable
from skneural.solvers import Adam, OptaxSolver

ROOT = pathlib.Path(__file__).parents[1]
X, Y = load_iris(return_X_y=True)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory for this test, and a process memory cleared."""
    directory = tmp_path / "programs"
    monkeypatch.setenv("SKNEURAL_CACHE_DIR", str(directory))
    monkeypatch.delenv("SKNEURAL_CACHE_MAX_BYTES", raising=False)
    _program_cache.reset()
    yield directory
    _program_cache.reset()


def _counts_of(fn):
    before = _program_cache.counts()
    result = fn()
    after = _program_cache.counts()
    return result, {k: after[k] - before[k] for k in after}


def _fit(**kwargs):
    params = dict(hidden_layer_sizes=(7,), max_iter=4, random_state=0)
    params.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NeuralClassifier(**params).fit(X, Y)
    return model.predict_proba(X)


def _entries(directory):
    return sorted(directory.glob("*.prog"))


def test_programs_are_written_then_loaded_from_disk(cache):
    first, counts = _counts_of(_fit)
    assert counts["compiled"] > 0 and counts["disk"] == 0
    written = _entries(cache)
    assert len(written) == counts["compiled"]

    # Same process, memory forgotten: every program comes back from disk.
    _program_cache._memory.clear()
    second, counts2 = _counts_of(_fit)
    assert counts2 == {"memory": counts["memory"], "disk": counts["compiled"],
                       "compiled": 0}  # fmt: skip
    np.testing.assert_array_equal(first, second)

    # And in memory for the next fit.
    _, counts3 = _counts_of(_fit)
    assert counts3["compiled"] == counts3["disk"] == 0


def test_results_equal_those_without_the_cache(cache, monkeypatch):
    cached = _fit(solver="sgd")
    _program_cache._memory.clear()
    from_disk = _fit(solver="sgd")
    monkeypatch.setenv("SKNEURAL_CACHE_DIR", "off")
    _program_cache.reset()
    plain = _fit(solver="sgd")
    np.testing.assert_array_equal(cached, plain)
    np.testing.assert_array_equal(from_disk, plain)


def test_float32_and_float64_programs_are_distinct(cache):
    def fit64():
        model = NeuralRegressor(hidden_layer_sizes=(5,), solver="lbfgs",
                                max_iter=5, random_state=0)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(X[:, :3], X[:, 3]).predict(X[:, :3])

    p32, p64 = _fit(), fit64()
    _program_cache._memory.clear()
    np.testing.assert_array_equal(_fit(), p32)
    np.testing.assert_array_equal(fit64(), p64)


def test_disabled_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SKNEURAL_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _program_cache.reset()
    try:
        assert _program_cache.cache_dir() is None
        _, counts = _counts_of(_fit)
        assert counts["disk"] == 0
        assert not (tmp_path / "xdg").exists()
    finally:
        _program_cache.reset()


def test_default_location(tmp_path, monkeypatch):
    monkeypatch.delenv("SKNEURAL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _program_cache.reset()
    try:
        assert _program_cache.cache_dir() == tmp_path / "skneural"
        monkeypatch.delenv("XDG_CACHE_HOME")
        _program_cache.reset()
        expected = pathlib.Path.home() / ".cache" / "skneural"
        assert _program_cache.cache_dir() == expected
    finally:
        _program_cache.reset()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "header"])
def test_corrupt_entries_are_ignored_and_rewritten(cache, damage):
    expected = _fit()
    entries = _entries(cache)
    for path in entries:
        blob = path.read_bytes()
        if damage == "truncate":
            path.write_bytes(blob[: len(blob) // 2])
        elif damage == "garbage":
            path.write_bytes(blob[:64] + b"\x00" * (len(blob) - 64))
        elif damage == "empty":
            path.write_bytes(b"")
        else:
            path.write_bytes(b"not a program" + blob[13:])
    _program_cache._memory.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        warnings.simplefilter("ignore", ConvergenceWarning)
        got, counts = _counts_of(_fit)
    np.testing.assert_array_equal(got, expected)
    assert counts["disk"] == 0 and counts["compiled"] == len(entries)
    # Rewritten whole: the next process (here: cleared memory) loads them.
    _program_cache._memory.clear()
    _, counts = _counts_of(_fit)
    assert counts["compiled"] == 0 and counts["disk"] == len(entries)


def test_entries_of_another_environment_are_not_loaded(cache, monkeypatch):
    _fit()
    _program_cache._memory.clear()
    # As if jax, the backend, the CPU or skneural's source had changed.
    monkeypatch.setattr(_program_cache, "_environment", "another environment")
    _, counts = _counts_of(_fit)
    assert counts["disk"] == 0 and counts["compiled"] > 0


def test_unwritable_directory_warns_once_and_works(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SKNEURAL_CACHE_DIR", str(blocker / "programs"))
    _program_cache.reset()
    try:
        with pytest.warns(RuntimeWarning, match="program cache is off") as record:
            expected_shape = _fit().shape
            _fit(hidden_layer_sizes=(3,))
        assert len([w for w in record if "program cache" in str(w.message)]) == 1
        assert expected_shape == (len(X), 3)
    finally:
        _program_cache.reset()


def test_full_disk_warns_once_and_works(cache, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    with pytest.warns(RuntimeWarning, match="No space left on device"):
        proba = _fit()
    assert proba.shape == (len(X), 3)
    assert _entries(cache) == []


def test_size_is_bounded_least_recently_used_first(cache, monkeypatch):
    _fit()
    sizes = [p.stat().st_size for p in _entries(cache)]
    limit = int(max(sizes) * 2.5)
    monkeypatch.setenv("SKNEURAL_CACHE_MAX_BYTES", str(limit))
    _program_cache._memory.clear()
    for width in (3, 4, 5):
        _fit(hidden_layer_sizes=(width,))
    remaining = _entries(cache)
    assert sum(p.stat().st_size for p in remaining) <= limit
    assert remaining, "the newest entries stay"
    newest = max(remaining, key=lambda p: p.stat().st_mtime)
    assert newest.stat().st_size <= limit


def test_clear_removes_every_entry(cache):
    _fit()
    assert _entries(cache)
    _program_cache.clear()
    assert _entries(cache) == []


class _UserTuple(NamedTuple):
    a: int


def test_only_stable_static_arguments_are_persisted():
    tx, _ = Adam().optax_transformation()
    assert _stable(tx).startswith("named:skneural.solvers")
    assert _stable(("relu", 1, 0.5, None)) == _stable(("relu", 1, 0.5, None))
    for unstable in (
        lambda x: x,
        _UserTuple(1),
        OptaxSolver(optax.adam(1e-3)).optax_transformation()[0],
        object(),
    ):
        with pytest.raises(Unstable):
            _stable(unstable)
    # Library functions are described by name.
    assert _stable(jnp.tanh) == _stable(jnp.tanh)


def test_user_callables_compile_as_usual_and_stay_in_memory(cache):
    def fit():
        return _fit(activation=lambda x: jnp.tanh(x) * 0.5, solver="sgd")

    first = fit()
    _program_cache._memory.clear()
    np.testing.assert_allclose(fit(), first, rtol=1e-6)


def test_verbose_summary_says_where_programs_came_from(cache, capsys):
    _fit(verbose=2)
    first = capsys.readouterr().out
    assert "compiled, 0 loaded from the cache]" in first
    _program_cache._memory.clear()
    _fit(verbose=2)
    second = capsys.readouterr().out
    assert "[programs: 0 compiled," in second


CHILD = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning
    from skneural import NeuralClassifier, _program_cache

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_iris(return_X_y=True)
    clf = NeuralClassifier(hidden_layer_sizes=(6,), max_iter=4, random_state=0)
    proba = clf.fit(X, y).predict_proba(X)
    print(json.dumps({"counts": _program_cache.counts(),
                      "proba": proba.round(12).tolist()}))
    """
)


def _child_env(directory):
    return dict(os.environ, JAX_PLATFORMS="cpu", SKNEURAL_CACHE_DIR=str(directory))


def _parse(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def test_a_second_process_compiles_nothing(tmp_path):
    directory = tmp_path / "programs"

    def run():
        done = subprocess.run([sys.executable, "-c", CHILD], env=_child_env(directory),
                              cwd=ROOT, capture_output=True, text=True, timeout=300,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return _parse(done.stdout)

    first, second = run(), run()
    assert first["counts"]["compiled"] > 0 and first["counts"]["disk"] == 0
    assert second["counts"]["compiled"] == 0
    assert second["counts"]["disk"] == first["counts"]["compiled"]
    assert second["proba"] == first["proba"]


def test_concurrent_writers_leave_complete_entries(tmp_path):
    directory = tmp_path / "programs"
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD], env=_child_env(directory),
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)  # fmt: skip
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outputs]
    results = [_parse(out) for out, _ in outputs]
    assert all(r["proba"] == results[0]["proba"] for r in results)
    assert not list(directory.glob(".tmp-*")), "no temporary file left behind"
    done = subprocess.run([sys.executable, "-c", CHILD], env=_child_env(directory),
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    last = _parse(done.stdout)
    assert last["counts"]["compiled"] == 0 and last["counts"]["disk"] > 0
    assert last["proba"] == results[0]["proba"]


LM_CHILD = textwrap.dedent(
    """
    import json, warnings
    from sklearn.datasets import make_regression
    from sklearn.exceptions import ConvergenceWarning
    from skneural import NeuralRegressor, _program_cache

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    reg = NeuralRegressor(solver="lm", hidden_layer_sizes=(5,), max_iter=10,
                          random_state=0).fit(X, y / 100)
    print(json.dumps({"counts": _program_cache.counts(),
                      "pred": reg.predict(X).round(10).tolist()}))
    """
)


def test_programs_calling_library_kernels_are_not_stored(tmp_path):
    """Levenberg-Marquardt's step solves a linear system with LAPACK (a
    custom call): loading that executable in a new process, before the
    process registered the kernel, crashed it. Such programs are compiled in
    each process; the others still come from the cache."""
    directory = tmp_path / "programs"

    def run():
        done = subprocess.run([sys.executable, "-c", LM_CHILD],
                              env=_child_env(directory), cwd=ROOT,
                              capture_output=True, text=True, timeout=300,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return _parse(done.stdout)

    first, second = run(), run()
    assert second["pred"] == first["pred"]
    assert second["counts"]["disk"] > 0
    assert 0 < second["counts"]["compiled"] < first["counts"]["compiled"]
