"""Speed of skneural against scikit-learn's MLP, measured in the same run.

Every case times skneural and scikit-learn on the same data with the same
parameters, several repeats, and reports medians and the ratio
``scikit-learn time / skneural time`` (above 1: skneural is faster). skneural's
first fit in the process (compilation included) and its steady-state fit (the
compiled program reused) are reported separately.

Cases:

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

    python benchmarks/speed.py                 # all cases, ~25 minutes on 2 cores
    python benchmarks/speed.py --cases a b e   # a subset
    python benchmarks/speed.py --quick         # 1 repeat, fewer epochs
    python benchmarks/speed.py --json out.json
    python benchmarks/speed.py --device gpu    # skneural on the first GPU

On a machine with a GPU, one command times cases (b), (g), (h) and (e) with
skneural on the GPU against scikit-learn on the same machine's CPU, in under
10 minutes, and writes the rows to a JSON file as they come::

    python benchmarks/speed.py --gpu --json speed-gpu.json

``--tiny`` runs any selection on small slices of the data (a check that the
script works, e.g. ``--gpu --device cpu --tiny`` on a machine without a GPU;
its timings mean nothing). ``--max-minutes`` skips what would start after
that many minutes (``--gpu``: 9); skipped rows say so.

Achieved GFLOP/s counts ``6 * n_rows * sum(fan_in * fan_out)`` per epoch
(forward 2, backward 4 multiply-adds per weight and row) against the float32
matmul throughput of the device skneural runs on (measured at start: numpy's
on a CPU, JAX's on an accelerator, at JAX's default float32 precision).
"""

import argparse
import gzip
import json
import os
import platform
import statistics
import time
import warnings
from functools import partial
from pathlib import Path

import jax
import numpy as np
import sklearn
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import skneural
from skneural import NeuralClassifier, NeuralRegressor
from skneural._devices import describe, resolve
from skneural.model_selection import BatchedGridSearchCV

warnings.simplefilter("ignore", ConvergenceWarning)
MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "mnist"


#: The skneural estimators' ``device`` (``--device``; None: JAX's default).
DEVICE = None
#: Small slices of every data set (``--tiny``).
TINY = False
#: perf_counter() after which no new timing starts (``--max-minutes``).
DEADLINE = float("inf")


def _skn(cls, **params):
    """A skneural estimator on the benchmark's device."""
    return cls(device=DEVICE, **params)


def _late(name):
    """A 'skipped' row when the time budget is spent, else None."""
    if time.perf_counter() > DEADLINE:
        return dict(case=name, skipped="time budget (--max-minutes) spent")
    return None


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


def device_matmul_peak(devices):
    """float32 GFLOP/s of a JAX matmul on the first of ``devices`` (median of 5)."""
    device = devices[0] if devices else jax.devices()[0]
    n = 8192
    a = jax.device_put(
        np.random.default_rng(0).random((n, n), dtype=np.float32), device
    )
    product = jax.jit(lambda a: a @ a)
    product(a).block_until_ready()
    t = _median(lambda: product(a).block_until_ready(), 5)
    return 2 * n**3 / t / 1e9


def _flops_per_epoch(n_rows, units):
    return 6 * n_rows * sum(i * o for i, o in zip(units[:-1], units[1:]))


def _epoch_case(name, X, y, ours, theirs, hidden, epochs, repeats, peak, batch):
    """Per-epoch times: skneural first fit, steady state; scikit-learn f64, f32."""
    late = _late(name)
    if late:
        return late, None
    common = dict(hidden_layer_sizes=hidden, batch_size=batch, max_iter=epochs,
                  tol=0, random_state=0, n_iter_no_change=10**9)
    first, model = _timed(lambda: _skn(ours, **common).fit(X, y))
    steady = _median(lambda: _skn(ours, **common).fit(X, y), repeats) / epochs
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
    first, _ = _timed(lambda: _skn(NeuralClassifier, random_state=0).fit(X, y))
    steady = _median(lambda: _skn(NeuralClassifier, random_state=0).fit(X, y),
                     repeats)  # fmt: skip
    sk = _median(lambda: MLPClassifier(random_state=0).fit(X, y), repeats)
    return [dict(case="a digits defaults (whole fit)", skneural_first_fit_s=first,
                 skneural_fit_s=steady, sklearn_fit_s=sk, ratio_first=sk / first,
                 ratio_steady=sk / steady)]


def _data_b(n=100_000):
    n = min(n, 4000) if TINY else n
    X, y = make_classification(n, 100, n_informative=50, n_classes=10,
                               random_state=0)
    cut = int(0.75 * n)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def case_b(repeats, quick, peak, batches=(256,)):
    X, y, Xt, yt = _data_b()
    for batch in batches:
        row, model = _epoch_case(f"b classification {_rows(X)} x 100, batch {batch}",
                                 X, y, NeuralClassifier, MLPClassifier, (256, 128),
                                 3 if quick else 10, repeats, peak, batch)
        if model is not None:
            row["test_accuracy"] = model.score(Xt, yt)
        yield row


def _rows(X):
    return f"{len(X) // 1000}k" if len(X) >= 10_000 else str(len(X))


def case_c(repeats, quick, peak):
    X, y = make_regression(2000 if TINY else 50_000, 50, noise=1.0, random_state=0)
    y = (y - y.mean()) / y.std()
    row, _ = _epoch_case(f"c regression {_rows(X)} x 50, batch 256", X, y,
                         NeuralRegressor, MLPRegressor, (128, 64),
                         3 if quick else 10, repeats, peak, 256)
    return [row]


def case_d(repeats, quick, peak):
    X, y, _, _ = _data_b()
    X, y = X[:20_000], y[:20_000]
    common = dict(hidden_layer_sizes=(256, 128), solver="lbfgs", random_state=0,
                  max_iter=50 if quick else 200, tol=0)
    first, _ = _timed(lambda: _skn(NeuralClassifier, **common).fit(X, y))
    steady = _median(lambda: _skn(NeuralClassifier, **common).fit(X, y), repeats)
    sk = _median(lambda: MLPClassifier(**common).fit(X, y), repeats)
    return [dict(case=f"d lbfgs {_rows(X)} x 100, {common['max_iter']} iterations",
                 skneural_first_fit_s=first, skneural_fit_s=steady, sklearn_fit_s=sk,
                 ratio_steady=sk / steady)]


def case_e(repeats, quick, peak):
    """The searches on skneural's device: a first run (compilation included)
    and a second one (the compiled programs reused); scikit-learn's once."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    grid = {"hidden_layer_sizes": [(50,), (100,)], "alpha": [1e-4, 1e-3, 1e-2],
            "learning_rate_init": [1e-3, 1e-2]}
    cv = 5
    if TINY:
        X, y, cv = X[:300], y[:300], 2
        grid = {"alpha": [1e-4, 1e-2], "max_iter": [20]}
    what = f"{len(ParameterGrid(grid))} x {cv} folds, digits"
    est = _skn(NeuralClassifier, random_state=0)
    late = _late(f"e GridSearchCV {what}")
    if late:
        yield late
        return
    sk = _median(lambda: GridSearchCV(MLPClassifier(random_state=0), grid,
                                      cv=cv).fit(X, y), 1)
    plain = None
    for batched in (None, True, "auto"):
        if batched is None:
            name, make = f"e GridSearchCV {what}", GridSearchCV
        else:
            name = f"e BatchedGridSearchCV(batched={batched!r}) {what}"
            make = partial(BatchedGridSearchCV, batched=batched)
        late = _late(name)
        if late:
            yield late
            continue
        row = dict(case=name)
        if batched != "auto":  # 'auto' reuses the programs of one of the others
            row["skneural_first_fit_s"], _ = _timed(
                lambda: make(est, grid, cv=cv).fit(X, y)
            )
        search = make(est, grid, cv=cv)
        row["skneural_fit_s"] = t = _timed(lambda: search.fit(X, y))[0]
        row.update(sklearn_fit_s=sk, ratio_steady=sk / t)
        if batched is None:
            plain = t
        else:
            row.update(ratio_vs_plain_search=plain / t,
                       batched_fits=search.n_batched_fits_)
        yield row


def case_f(repeats, quick, peak):
    X, y, _, _ = _data_b(20_000)
    common = dict(hidden_layer_sizes=(256, 128), max_iter=1, random_state=0)
    ours = _skn(NeuralClassifier, **common).fit(X, y)
    theirs = MLPClassifier(**common).fit(X, y)
    n = 10**4 if TINY else 10**5 if quick else 10**6
    big = np.random.default_rng(0).standard_normal((n, 100))
    ours.predict(big[:1000])
    t_ours = _median(lambda: ours.predict(big), repeats)
    t_sk = _median(lambda: theirs.predict(big), repeats)
    return [dict(case=f"f predict {len(big)} rows", skneural_rows_per_s=len(big) / t_ours,
                 sklearn_rows_per_s=len(big) / t_sk, ratio_steady=t_sk / t_ours)]


def _mnist():
    if not (MNIST / "train-labels-idx1-ubyte.gz").is_file():
        return None

    def read(name, offset):
        with gzip.open(MNIST / name) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    X = read("train-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
    return X, read("train-labels-idx1-ubyte.gz", 8)


def case_g(repeats, quick, peak, batches=(256,)):
    data = _mnist()
    if data is None:
        yield dict(case="g MNIST", skipped=f"{MNIST} not found")
        return
    X, y = data
    if TINY:
        X, y = X[:3000], y[:3000]
    for batch in batches:
        row, _ = _epoch_case(f"g MNIST {_rows(X)} x 784, batch {batch}", X, y,
                             NeuralClassifier, MLPClassifier, (256, 128),
                             2 if quick else 10, repeats, peak, batch)
        yield row


def case_h(repeats, quick, peak):
    batches = (32,) if quick else (10, 32, 64)
    yield from case_b(repeats, quick, peak, batches)
    yield from case_g(repeats, quick, peak, batches)


CASES = dict(a=case_a, b=case_b, c=case_c, d=case_d, e=case_e, f=case_f, g=case_g,
             h=case_h)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _cell(row, *keys, unit=""):
    values = [row[k] for k in keys if k in row]
    return " / ".join(_fmt(v) + unit for v in values)


def table(rows):
    """The rows as a markdown table (seconds; ratios: scikit-learn / skneural)."""
    lines = [
        "| case | skneural first fit | skneural | scikit-learn f64 | scikit-learn f32 "
        "| ratio f64 | ratio f32 | vs plain search | GFLOP/s (of peak) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "skipped" in row:
            cells = [row["case"], f"skipped: {row['skipped']}"] + [""] * 7
            lines.append("| " + " | ".join(cells) + " |")
            continue
        gflops = ""
        if "gflops" in row:
            gflops = f"{row['gflops']:.0f} ({row['peak_fraction']:.0%})"
        ours = _cell(row, "skneural_epoch_s", "skneural_fit_s", unit=" s")
        if "skneural_rows_per_s" in row:
            ours = f"{row['skneural_rows_per_s']:.3g} rows/s"
        sk64 = _cell(row, "sklearn_f64_epoch_s", "sklearn_fit_s", unit=" s")
        if "sklearn_rows_per_s" in row:
            sk64 = f"{row['sklearn_rows_per_s']:.3g} rows/s"
        cells = [
            row["case"],
            _cell(row, "skneural_first_fit_s", unit=" s"),
            ours,
            sk64,
            _cell(row, "sklearn_f32_epoch_s", unit=" s"),
            _cell(row, "ratio_f64", "ratio_steady"),
            _cell(row, "ratio_f32"),
            _cell(row, "ratio_vs_plain_search"),
            gflops,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(devices):
    """Where the run happens: versions, the skneural device, the CPU."""
    return dict(
        skneural=skneural.__version__,
        jax=jax.__version__,
        sklearn=sklearn.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        skneural_device=describe(devices),
        jax_devices=[str(d) for d in jax.devices()],
        cpu=_cpu_name(),
        cpu_count=os.cpu_count(),
    )


def main():
    global DEVICE, TINY, DEADLINE, MNIST
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="*", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tiny", action="store_true",
                        help="small slices of the data: checks that it runs")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--device", default=None,
                        help="skneural's device ('gpu', 'gpu:1', 'cpu'); "
                             "default: JAX's default device")
    parser.add_argument("--gpu", action="store_true",
                        help="cases b g e h on the GPU, 2 repeats, at most 9 "
                             "minutes (options given override these)")
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--mnist", default=None,
                        help=f"folder of MNIST's gzip files (default {MNIST})")
    args = parser.parse_args()
    if args.gpu:
        args.cases = args.cases or ["b", "g", "e", "h"]
        args.device = args.device or "gpu"
        args.repeats = args.repeats or 2
        args.max_minutes = args.max_minutes or 9
    cases = args.cases or list(CASES)
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {list(CASES)}")
    try:
        devices = resolve(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    DEVICE, TINY = args.device, args.tiny
    if args.mnist:
        MNIST = Path(args.mnist)
    if args.max_minutes is not None:
        DEADLINE = time.perf_counter() + 60 * args.max_minutes
    repeats = args.repeats or (1 if args.quick or args.tiny else 3)
    env = environment(devices)
    on_accelerator = (devices[0] if devices else jax.devices()[0]).platform != "cpu"
    cpu_peak = matmul_peak()
    peak = device_matmul_peak(devices) if on_accelerator else cpu_peak
    env.update(cpu_numpy_peak_gflops=cpu_peak, device_peak_gflops=peak,
               repeats=repeats, tiny=TINY, quick=args.quick)
    print(f"skneural on {env['skneural_device']}; scikit-learn on the CPU "
          f"({env['cpu']}, {env['cpu_count']} cores); jax {env['jax']}, "
          f"scikit-learn {env['sklearn']}")
    print(f"float32 matmul peak: {peak:.0f} GFLOP/s on skneural's device, "
          f"{cpu_peak:.0f} GFLOP/s numpy on the CPU; repeats={repeats}"
          + ("; --tiny: timings mean nothing" if TINY else ""))
    rows = []
    for key in cases:
        tic = time.perf_counter()
        for row in CASES[key](repeats, args.quick, peak):
            rows.append(row)
            print(" | ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)
            if args.json:  # as it comes: a run cut short keeps its rows
                Path(args.json).write_text(json.dumps(
                    dict(environment=env, peak_gflops=peak, rows=rows), indent=2))
        print(f"(case {key}: {time.perf_counter() - tic:.0f} s)", flush=True)
    print()
    print(f"skneural on {env['skneural_device']}, scikit-learn on "
          f"{env['cpu_count']} CPU cores. Seconds per epoch for b, c, g, h; "
          "per fit or search for a, d, e. Ratios: scikit-learn's time over "
          "skneural's (steady state); 'vs plain search': GridSearchCV's time "
          "over the batched search's, both with skneural")
    print(table(rows))


if __name__ == "__main__":
    main()
