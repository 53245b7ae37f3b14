"""Speed of skneural against scikit-learn's MLP, measured in the same run.

Every case times skneural and scikit-learn on the same data with the same
parameters, several repeats, and reports medians and the ratio
``scikit-learn time / skneural time`` (above 1: skneural is faster). skneural's
first fit in the process (compilation included) and its steady-state fit (the
compiled program reused) are reported separately.

Cases (the project's issue on speed):

a. load_digits, default parameters, whole fit.
b. make_classification 100k x 100, 10 classes, 75% train, hidden (256, 128),
   batch 256, 10 epochs, tol=0: time per epoch.
c. make_regression 50k x 50, hidden (128, 64), batch 256: time per epoch.
d. 'lbfgs' on 20k rows of (b), 200 iterations.
e. GridSearchCV, 12 candidates x 5 folds on load_digits; also skneural's
   BatchedGridSearchCV (candidates trained together).
f. predict throughput on 1e6 rows (the model of (b)).
g. MNIST from ../shared/datasets/mnist (60k x 784, hidden (256, 128), 10
   epochs): skipped when the folder is absent.
h. small minibatches (batch_size 10, 32, 64) on (b) and MNIST.

Usage::

    python benchmarks/speed.py                 # all cases, ~10 minutes on 2 cores
    python benchmarks/speed.py --cases a b e   # a subset
    python benchmarks/speed.py --quick         # 1 repeat, fewer epochs
    python benchmarks/speed.py --json out.json

Achieved GFLOP/s counts ``6 * n_rows * sum(fan_in * fan_out)`` per epoch
(forward 2, backward 4 multiply-adds per weight and row) against the float32
matmul throughput numpy reaches on this machine (measured at start).
"""

import argparse
import gzip
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier, NeuralRegressor
from skneural.model_selection import BatchedGridSearchCV

warnings.simplefilter("ignore", ConvergenceWarning)
MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "mnist"


def _timed(fn):
    tic = time.perf_counter()
    out = fn()
    return time.perf_counter() - tic, out


def _median(fn, repeats):
    times = [_timed(fn)[0] for _ in range(repeats)]
    return statistics.median(times)


def matmul_peak():
    """float32 GFLOP/s of numpy's matmul on this machine (median of 5)."""
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    a @ a
    t = _median(lambda: a @ a, 5)
    return 2 * 2048**3 / t / 1e9


def _flops_per_epoch(n_rows, units):
    return 6 * n_rows * sum(i * o for i, o in zip(units[:-1], units[1:]))


def _epoch_case(name, X, y, ours, theirs, hidden, epochs, repeats, peak, batch):
    """Per-epoch times: skneural first fit, steady state; scikit-learn f64, f32."""
    common = dict(hidden_layer_sizes=hidden, batch_size=batch, max_iter=epochs,
                  tol=0, random_state=0, n_iter_no_change=10**9)
    first, model = _timed(lambda: ours(**common).fit(X, y))
    steady = _median(lambda: ours(**common).fit(X, y), repeats) / epochs
    sk_epochs = max(1, min(epochs, 3 if batch >= 64 else 1))
    sk_common = {**common, "max_iter": sk_epochs}
    sk64 = _median(lambda: theirs(**sk_common).fit(X, y), repeats) / sk_epochs
    X32 = X.astype(np.float32)
    sk32 = _median(lambda: theirs(**sk_common).fit(X32, y), repeats) / sk_epochs
    n_out = model.n_outputs_
    units = [X.shape[1], *hidden, n_out]
    gflops = _flops_per_epoch(len(X), units) / steady / 1e9
    return dict(
        case=name,
        skneural_first_fit_s=first,
        skneural_epoch_s=steady,
        sklearn_f64_epoch_s=sk64,
        sklearn_f32_epoch_s=sk32,
        ratio_f64=sk64 / steady,
        ratio_f32=sk32 / steady,
        gflops=gflops,
        peak_fraction=gflops / peak,
    ), model


def case_a(repeats, quick, peak):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    first, _ = _timed(lambda: NeuralClassifier(random_state=0).fit(X, y))
    steady = _median(lambda: NeuralClassifier(random_state=0).fit(X, y), repeats)
    sk = _median(lambda: MLPClassifier(random_state=0).fit(X, y), repeats)
    return [dict(case="a digits defaults (whole fit)", skneural_first_fit_s=first,
                 skneural_fit_s=steady, sklearn_fit_s=sk, ratio_first=sk / first,
                 ratio_steady=sk / steady)]


def _data_b(n=100_000):
    X, y = make_classification(n, 100, n_informative=50, n_classes=10,
                               random_state=0)
    cut = int(0.75 * n)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def case_b(repeats, quick, peak, batches=(256,)):
    X, y, Xt, yt = _data_b()
    rows = []
    for batch in batches:
        row, model = _epoch_case(f"b classification 75k x 100, batch {batch}", X, y,
                                 NeuralClassifier, MLPClassifier, (256, 128),
                                 3 if quick else 10, repeats, peak, batch)
        row["test_accuracy"] = model.score(Xt, yt)
        rows.append(row)
    return rows


def case_c(repeats, quick, peak):
    X, y = make_regression(50_000, 50, noise=1.0, random_state=0)
    y = (y - y.mean()) / y.std()
    row, _ = _epoch_case("c regression 50k x 50, batch 256", X, y, NeuralRegressor,
                         MLPRegressor, (128, 64), 3 if quick else 10, repeats, peak,
                         256)
    return [row]


def case_d(repeats, quick, peak):
    X, y, _, _ = _data_b()
    X, y = X[:20_000], y[:20_000]
    common = dict(hidden_layer_sizes=(256, 128), solver="lbfgs", random_state=0,
                  max_iter=50 if quick else 200, tol=0)
    first, _ = _timed(lambda: NeuralClassifier(**common).fit(X, y))
    steady = _median(lambda: NeuralClassifier(**common).fit(X, y), repeats)
    sk = _median(lambda: MLPClassifier(**common).fit(X, y), repeats)
    return [dict(case=f"d lbfgs 20k x 100, {common['max_iter']} iterations",
                 skneural_first_fit_s=first, skneural_fit_s=steady, sklearn_fit_s=sk,
                 ratio_steady=sk / steady)]


def case_e(repeats, quick, peak):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    grid = {"hidden_layer_sizes": [(50,), (100,)], "alpha": [1e-4, 1e-3, 1e-2],
            "learning_rate_init": [1e-3, 1e-2]}
    ours = _median(lambda: GridSearchCV(NeuralClassifier(random_state=0), grid,
                                        cv=5).fit(X, y), 1)
    batched = _median(lambda: BatchedGridSearchCV(NeuralClassifier(random_state=0),
                                                  grid, cv=5, batched=True).fit(X, y), 1)
    sk = _median(lambda: GridSearchCV(MLPClassifier(random_state=0), grid,
                                      cv=5).fit(X, y), 1)
    return [dict(case="e GridSearchCV 12 x 5 folds, digits", skneural_fit_s=ours,
                 sklearn_fit_s=sk, ratio_steady=sk / ours),
            dict(case="e BatchedGridSearchCV 12 x 5 folds, digits",
                 skneural_fit_s=batched, sklearn_fit_s=sk, ratio_steady=sk / batched)]


def case_f(repeats, quick, peak):
    X, y, _, _ = _data_b(20_000)
    common = dict(hidden_layer_sizes=(256, 128), max_iter=1, random_state=0)
    ours = NeuralClassifier(**common).fit(X, y)
    theirs = MLPClassifier(**common).fit(X, y)
    big = np.random.default_rng(0).standard_normal((10**5 if quick else 10**6, 100))
    ours.predict(big[:1000])
    t_ours = _median(lambda: ours.predict(big), repeats)
    t_sk = _median(lambda: theirs.predict(big), repeats)
    return [dict(case=f"f predict {len(big)} rows", skneural_rows_per_s=len(big) / t_ours,
                 sklearn_rows_per_s=len(big) / t_sk, ratio_steady=t_sk / t_ours)]


def _mnist():
    if not MNIST.is_dir():
        return None

    def read(name, offset):
        with gzip.open(MNIST / name) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    X = read("train-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
    return X, read("train-labels-idx1-ubyte.gz", 8)


def case_g(repeats, quick, peak, batches=(256,)):
    data = _mnist()
    if data is None:
        return [dict(case="g MNIST", skipped=f"{MNIST} not found")]
    X, y = data
    rows = []
    for batch in batches:
        row, _ = _epoch_case(f"g MNIST 60k x 784, batch {batch}", X, y,
                             NeuralClassifier, MLPClassifier, (256, 128),
                             2 if quick else 10, repeats, peak, batch)
        rows.append(row)
    return rows


def case_h(repeats, quick, peak):
    batches = (32,) if quick else (10, 32, 64)
    return case_b(repeats, quick, peak, batches) + case_g(repeats, quick, peak, batches)


CASES = dict(a=case_a, b=case_b, c=case_c, d=case_d, e=case_e, f=case_f, g=case_g,
             h=case_h)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    peak = matmul_peak()
    print(f"numpy float32 matmul peak here: {peak:.0f} GFLOP/s; repeats={repeats}; "
          f"cores={os.cpu_count()}")
    rows = []
    for key in args.cases:
        for row in CASES[key](repeats, args.quick, peak):
            rows.append(row)
            print(" | ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(peak_gflops=peak, rows=rows),
                                              indent=2))


if __name__ == "__main__":
    main()
