"""Peak host memory of predict and of fit epochs, against the size of X.

Cases:

predict
    A NeuralClassifier with hidden layers (256, 128), trained for 2 epochs on
    2,000 rows, predicts 1e6 x 100 rows given as float32 and as float64; so
    does scikit-learn's MLPClassifier trained the same way. Each predict is
    run once untraced (compilation), then traced.
fit
    One, then three epochs of 'adam' (batch 256, hidden (256, 128)) on
    100k x 100 float32 rows: the peak should be about one padded copy of X
    (made once per fit, then moved to the device), the same for one epoch and
    for three: no copy of X per epoch.

Memory is measured with :mod:`tracemalloc`: the peak of traced allocations
during the call, above what was allocated before it. tracemalloc sees numpy's
buffers (numpy reports them to it) and Python objects, **not** XLA's buffers:
the arrays skneural moves to the device, and on the CPU backend XLA's own host
allocations for them, are invisible to it. The numbers are the host-side
copies made around the compiled code (validation, padding, casting, the
result); the device copy of X made by ``fit`` comes on top (in device memory,
or in host memory on the CPU backend).

Usage::

    python benchmarks/memory.py            # ~1-2 minutes on 2 cores, ~5 GB RAM
    python benchmarks/memory.py --rows 200000   # a smaller predict case
"""

import argparse
import os
import platform
import tracemalloc
import warnings

import jax
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import skneural
from skneural import NeuralClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
HIDDEN = (256, 128)
N_FEATURES = 100
N_CLASSES = 10


def traced_peak(fn):
    """Peak traced bytes allocated while ``fn()`` runs (above the start)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def _data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES), dtype=np.float32).astype(dtype, copy=False)
    y = rng.integers(0, N_CLASSES, n)
    return X, y


def predict_case(n_rows):
    X_train, y_train = _data(2000, np.float32, seed=1)
    params = dict(hidden_layer_sizes=HIDDEN, max_iter=2, random_state=0)
    ours = NeuralClassifier(**params).fit(X_train, y_train)
    theirs = MLPClassifier(**params).fit(X_train.astype(np.float64), y_train)
    rows = []
    for dtype in (np.float32, np.float64):
        X, _ = _data(n_rows, dtype)
        case = f"predict {n_rows:.0e} x {N_FEATURES} {np.dtype(dtype).name}"
        for name, model in (("skneural", ours), ("scikit-learn", theirs)):
            model.predict(X)  # untraced: compiles for every chunk size
            peak = traced_peak(lambda m=model, X=X: m.predict(X))
            rows.append(
                {
                    "case": case,
                    "estimator": name,
                    "X MiB": X.nbytes / 2**20,
                    "peak MiB": peak / 2**20,
                    "peak / X": peak / X.nbytes,
                }
            )
        del X
    return rows


def fit_case(n_rows=100_000):
    X, y = _data(n_rows, np.float32)
    rows = []
    params = dict(hidden_layer_sizes=HIDDEN, batch_size=256, tol=0, random_state=0)
    NeuralClassifier(max_iter=1, **params).fit(X[:512], y[:512])  # compile once
    NeuralClassifier(max_iter=1, **params).fit(X, y)  # ... for this shape too
    for epochs in (1, 3):
        model = NeuralClassifier(max_iter=epochs, **params)
        peak = traced_peak(lambda m=model: m.fit(X, y))
        rows.append(
            {
                "case": f"fit {n_rows:.0e} x {N_FEATURES} float32, {epochs} epoch(s)",
                "estimator": "skneural",
                "X MiB": X.nbytes / 2**20,
                "peak MiB": peak / 2**20,
                "peak / X": peak / X.nbytes,
            }
        )
    return rows


def _print_table(rows):
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="predict rows")
    parser.add_argument("--fit-rows", type=int, default=100_000, help="fit rows")
    args = parser.parse_args()
    print(
        f"skneural {skneural.__version__}, scikit-learn {sklearn.__version__}, "
        f"jax {jax.__version__} (backend: {jax.default_backend()}), "
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        "Peak host memory traced by tracemalloc (numpy buffers and Python "
        "objects; XLA's device buffers are not seen).\n"
    )
    rows = predict_case(args.rows) + fit_case(args.fit_rows)
    _print_table(rows)


if __name__ == "__main__":
    main()
