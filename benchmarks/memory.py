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

sparse (``--sparse``)
    A TF-IDF-like CSR matrix (Zipf-distributed word columns, l2-normalised
    rows; 20,000 x 50,000 with 0.2% stored entries by default, labels of 4
    classes from a random linear function of the rows), hidden (64,), 3
    epochs of 'adam': skneural's NeuralClassifier and scikit-learn's
    MLPClassifier, **each in a process of its own**, report the peak resident
    memory of that process (``ru_maxrss``: everything, XLA's buffers and the
    data included), the fit time (skneural's includes its compilation), the
    time of ``predict_proba`` on 5,000 held-out rows (first call, which
    compiles, and a second call: "again s") and the accuracy on them. ``--sparse-large`` is the same at 100,000 x 200,000 with 0.05%.
    The load average is printed: timings on a loaded machine are not
    comparable.

Memory of the other cases is measured with :mod:`tracemalloc`: the peak of traced allocations
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
    python benchmarks/memory.py --sparse         # TF-IDF-like CSR, 20k x 50k
    python benchmarks/memory.py --sparse-large   # 100k x 200k, 0.05%
    python benchmarks/memory.py --sparse --sparse-shape 2000 5000 0.002  # smoke
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
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


SPARSE_SHAPES = {
    "default": (20_000, 50_000, 0.002),
    "large": (100_000, 200_000, 0.0005),
}
SPARSE_TEST_ROWS = 5000


def tfidf_like(n_rows, n_features, density, seed=0):
    """A TF-IDF-like CSR float64 matrix and 4-class labels.

    Row lengths are Poisson around ``density * n_features``; columns are
    drawn with Zipf-like frequencies (``1 / rank``), counts weighted by the
    inverse document frequency and each row l2-normalised, as
    :class:`~sklearn.feature_extraction.text.TfidfVectorizer` gives. The
    labels are the argmax of a random linear function of the rows.
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    lengths = np.maximum(rng.poisson(density * n_features, n_rows), 1)
    p = 1.0 / np.arange(1, n_features + 1)
    cols = rng.choice(n_features, size=int(lengths.sum()), p=p / p.sum())
    rows = np.repeat(np.arange(n_rows), lengths)
    X = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n_rows, n_features))
    X.sum_duplicates()
    df = np.bincount(X.indices, minlength=n_features)
    X.data = np.log1p(X.data) * np.log((1 + n_rows) / (1 + df[X.indices]))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1 / np.maximum(norms, 1e-12)) @ X
    y = np.asarray((X @ rng.standard_normal((n_features, 4))).argmax(axis=1)).ravel()
    return X.tocsr(), y


def sparse_worker(library, n_rows, n_features, density):
    """One library's sparse fit and prediction (run in a fresh process)."""
    X, y = tfidf_like(n_rows + SPARSE_TEST_ROWS, n_features, density)
    X_train, y_train = X[:n_rows], y[:n_rows]
    X_test, y_test = X[n_rows:], y[n_rows:]
    params = dict(hidden_layer_sizes=(64,), max_iter=3, random_state=0)
    model = NeuralClassifier(**params) if library == "skneural" else MLPClassifier(
        **params
    )
    tic = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - tic
    tic = time.perf_counter()
    proba = model.predict_proba(X_test)
    predict_s = time.perf_counter() - tic
    tic = time.perf_counter()
    model.predict_proba(X_test)
    again_s = time.perf_counter() - tic
    accuracy = float(np.mean(model.classes_[proba.argmax(axis=1)] == y_test))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    print(json.dumps(dict(
        estimator=library, **{"peak RSS MiB": peak_mib, "fit s": fit_s,
                              "predict_proba s": predict_s,
                              "again s": again_s, "accuracy": accuracy},
        **{"X nnz": int(X_train.nnz)},
    )))  # fmt: skip


def sparse_case(n_rows, n_features, density):
    """Both libraries' sparse runs, each in its own process."""
    rows = []
    case = f"sparse {n_rows} x {n_features}, {density:.2%} stored"
    for library in ("skneural", "scikit-learn"):
        out = subprocess.run(
            [sys.executable, __file__, "--sparse-worker", library, str(n_rows),
             str(n_features), str(density)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            rows.append({"case": case, "estimator": library,
                         "peak RSS MiB": f"failed ({out.returncode}): "
                         + out.stderr.strip().splitlines()[-1][:80]})  # fmt: skip
            continue
        rows.append({"case": case, **json.loads(out.stdout.strip().splitlines()[-1])})
    dense = n_rows * n_features * 4 / 2**20
    print(f"{case}: a dense float32 copy of X would take {dense:,.0f} MiB.")
    return rows


def _print_table(rows):
    keys = list(dict.fromkeys(k for row in rows for k in row))
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        cells = [
            f"{v:.3f}" if isinstance(v, float) else str(v)
            for v in (row.get(k, "") for k in keys)
        ]
        print("| " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="predict rows")
    parser.add_argument("--fit-rows", type=int, default=100_000, help="fit rows")
    parser.add_argument("--sparse", action="store_true",
                        help="the TF-IDF-like sparse case (20k x 50k, 0.2%%)")
    parser.add_argument("--sparse-large", action="store_true",
                        help="the sparse case at 100k x 200k, 0.05%%")
    parser.add_argument("--sparse-shape", nargs=3, type=float,
                        metavar=("ROWS", "FEATURES", "DENSITY"),
                        help="another size for --sparse (e.g. a smoke test)")
    parser.add_argument("--sparse-worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sparse_worker:
        library, n, d, density = args.sparse_worker
        sparse_worker(library, int(n), int(d), float(density))
        return
    print(
        f"skneural {skneural.__version__}, scikit-learn {sklearn.__version__}, "
        f"jax {jax.__version__} (backend: {jax.default_backend()}), "
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    if args.sparse or args.sparse_large or args.sparse_shape:
        print("Load average (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
        shapes = []
        if args.sparse_shape:
            n, d, density = args.sparse_shape
            shapes.append((int(n), int(d), density))
        elif args.sparse:
            shapes.append(SPARSE_SHAPES["default"])
        if args.sparse_large:
            shapes.append(SPARSE_SHAPES["large"])
        rows = [row for shape in shapes for row in sparse_case(*shape)]
        print("Peak resident memory of each process (ru_maxrss), fit time, "
              f"predict_proba time on {SPARSE_TEST_ROWS} held-out rows and "
              "their accuracy.\n")  # fmt: skip
        _print_table(rows)
        print("Load average after: %.2f %.2f %.2f" % os.getloadavg())
        return
    print(
        "Peak host memory traced by tracemalloc (numpy buffers and Python "
        "objects; XLA's device buffers are not seen).\n"
    )
    rows = predict_case(args.rows) + fit_case(args.fit_rows)
    _print_table(rows)


if __name__ == "__main__":
    main()
