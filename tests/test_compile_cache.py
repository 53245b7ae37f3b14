"""JAX's persistent compilation cache serves skneural's programs across processes
(with skneural's own program cache switched off).

Two fresh interpreters fit the same small network with ``JAX_COMPILATION_CACHE_DIR``
set: the first compiles and writes every program to the cache, the second reads
them all back. The signal is JAX's own monitoring events
(``/jax/compilation_cache/cache_misses`` is recorded when an entry is written,
``/jax/compilation_cache/cache_hits`` when one is loaded), not timing.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import json
    import warnings

    from jax import monitoring

    events = {}

    def count(event, **kwargs):
        events[event] = events.get(event, 0) + 1

    monitoring.register_event_listener(count)

    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning

    from skneural import NeuralClassifier

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_iris(return_X_y=True)
    clf = NeuralClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    clf.fit(X, y).predict(X)
    print(json.dumps(events))
    """
)

ROOT = pathlib.Path(__file__).parents[1]
USING = "/jax/compilation_cache/tasks_using_cache"
HITS = "/jax/compilation_cache/cache_hits"
WRITES = "/jax/compilation_cache/cache_misses"


def _fit_in_fresh_process(cache_dir):
    env = dict(
        os.environ,
        JAX_PLATFORMS="cpu",
        JAX_COMPILATION_CACHE_DIR=str(cache_dir),
        # The default (1 s) skips programs that compile quickly, as small
        # networks on a CPU do.
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        # JAX's own cache alone (skneural's program cache, which sits in front
        # of it, is tested in test_program_cache.py).
        SKNEURAL_CACHE_DIR="off",
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        check=False,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_is_served_from_the_cache(tmp_path):
    cache_dir = tmp_path / "jax_cache"

    first = _fit_in_fresh_process(cache_dir)
    # JAX enabled the cache on this backend (the CPU on CI) ...
    assert first.get(USING, 0) == 1
    # ... compiled every program afresh and wrote it to the directory.
    assert first.get(WRITES, 0) > 0
    assert first.get(HITS, 0) == 0
    assert len(list(cache_dir.glob("*-cache"))) == first[WRITES]

    # The second process compiles nothing: every program comes from the cache.
    second = _fit_in_fresh_process(cache_dir)
    assert second.get(USING, 0) == 1
    assert second.get(HITS, 0) == first[WRITES]
    assert second.get(WRITES, 0) == 0
