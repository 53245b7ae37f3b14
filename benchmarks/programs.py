"""Compiled programs and memory growth of repeated calls on data of new sizes.

Cases:

partial_fit
    150 ``partial_fit`` calls of a NeuralClassifier (hidden (100,), 'adam') on
    growing slices ``X[:n]``, n = 11 ... 160, of 20-feature, 3-class data
    (scikit-learn's MLPClassifier is timed on the same calls).
fit
    60 ``fit`` calls (5 epochs, batch 'auto') on ``X[:n]``, n = 100, 150, ...,
    3,050: 1 to 16 minibatches of 200 rows.

For each: the wall time, the XLA compilations (JAX's monitoring event
``/jax/core/compile/backend_compile_duration``), the programs held by the
training step (``run_epoch._cache_size()``) and the growth of the process's
resident memory (RSS, from ``/proc/self/status``) over the calls. Training
pads its rows to a few sizes (see the robustness guide), so both cases should
compile a handful of programs and grow memory by much less than 150 MB.

Usage::

    python benchmarks/programs.py           # ~1 minute on 2 cores
    python benchmarks/programs.py --quick   # 20 calls each (smoke test)
"""

import argparse
import platform
import time
import warnings

import jax
import numpy as np
from jax import monitoring
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skneural import NeuralClassifier
from skneural._epochs import run_epoch

warnings.simplefilter("ignore", ConvergenceWarning)
COMPILES = [0]


def _count(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        COMPILES[0] += 1


def rss_mb():
    """Resident memory of this process in MB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(name, calls):
    """Run ``calls`` (a list of thunks); report time, compilations, memory."""
    calls[0]()  # first call: imports, first compilations
    compiles, programs, rss = COMPILES[0], run_epoch._cache_size(), rss_mb()
    tic = time.perf_counter()
    for call in calls[1:]:
        call()
    seconds = time.perf_counter() - tic
    print(
        f"{name:<28} {len(calls):>5} calls {seconds:8.2f} s  "
        f"compilations {COMPILES[0] - compiles:>4}  "
        f"training programs +{run_epoch._cache_size() - programs:<3} "
        f"RSS {rss:7.0f} -> {rss_mb():7.0f} MB (+{rss_mb() - rss:.0f})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 calls per case")
    args = parser.parse_args()
    n_calls = 20 if args.quick else None
    monitoring.register_event_duration_secs_listener(_count)
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {platform.machine()}")

    rng = np.random.RandomState(0)
    X, y = rng.randn(3100, 20), rng.randint(0, 3, 3100)
    sizes = list(range(11, 161))[:n_calls]
    clf = NeuralClassifier(random_state=0)
    mlp = MLPClassifier(random_state=0)

    def ours(n):
        return lambda: clf.partial_fit(X[:n], y[:n], classes=[0, 1, 2])

    def theirs(n):
        return lambda: mlp.partial_fit(X[:n], y[:n], classes=[0, 1, 2])

    measure("partial_fit (skneural)", [ours(n) for n in [10] + sizes])
    measure("partial_fit (scikit-learn)", [theirs(n) for n in [10] + sizes])

    fit_sizes = list(range(100, 3100, 50))[:n_calls]

    def fit(n):
        return lambda: NeuralClassifier(max_iter=5, random_state=0).fit(X[:n], y[:n])

    measure("fit (skneural)", [fit(n) for n in [100] + fit_sizes])


if __name__ == "__main__":
    main()
