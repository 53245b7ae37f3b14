"""Parity benchmark: skneural vs scikit-learn's MLP estimators.

For every dataset, solver and seed, both sides are fitted with exactly the
same parameters (scikit-learn defaults, ``random_state=seed``; regression
additionally uses ``max_iter=2000`` on both sides) on the same
StandardScaler-scaled 75% / 25% train/test split (stratified for
classification, split with ``random_state=seed``). The script prints a
markdown table with the mean (and standard deviation) test score over seeds,
the median fit time of each side and the ratio of the median fit times.

Usage::

    python benchmarks/parity.py            # seeds 0, 1, 2
    python benchmarks/parity.py --quick    # seed 0 only
    python benchmarks/parity.py --warmup   # one untimed fit per row first

skneural's fit times include JAX's just-in-time compilation whenever a fit
needs a program that has not been compiled yet in the process; ``--warmup``
runs one untimed fit of each model per row before timing.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    make_friedman1,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

CLASSIFICATION = {
    "digits": lambda: load_digits(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "iris": lambda: load_iris(return_X_y=True),
}
REGRESSION = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "friedman1": lambda: make_friedman1(n_samples=1000, random_state=0),
}
SOLVERS = ["adam", "lbfgs"]
HIDDEN_LAYER_SIZES = (100,)
REGRESSION_MAX_ITER = 2000


def _split(X, y, seed, stratify):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y if stratify else None
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _timed_fit(model, X_train, y_train):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        return time.perf_counter() - start


def _run_row(make_models, X, y, seeds, stratify, warmup):
    """Fit both sides for every seed; return scores, times and epochs."""
    results = {"skneural": [], "sklearn": []}
    for i, seed in enumerate(seeds):
        X_train, X_test, y_train, y_test = _split(X, y, seed, stratify)
        if warmup and i == 0:
            for model in make_models(seed).values():
                _timed_fit(model, X_train, y_train)
        for side, model in make_models(seed).items():
            elapsed = _timed_fit(model, X_train, y_train)
            results[side].append((model.score(X_test, y_test), elapsed, model.n_iter_))
    return results


def _summary(runs):
    scores = [r[0] for r in runs]
    times = [r[1] for r in runs]
    epochs = [r[2] for r in runs]
    return {
        "score": float(np.mean(scores)),
        "score_std": float(np.std(scores)),
        "time": statistics.median(times),
        "epochs": float(np.mean(epochs)),
    }


def _fmt_score(s, n_seeds):
    if n_seeds > 1:
        return f"{s['score']:.4f} ± {s['score_std']:.4f}"
    return f"{s['score']:.4f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="use a single seed (0) instead of 0, 1, 2"
    )
    parser.add_argument(
        "--warmup",
        action="store_true",
        help="do one untimed fit of each model per row before timing",
    )
    args = parser.parse_args(argv)
    seeds = [0] if args.quick else [0, 1, 2]

    import jax
    import sklearn

    from skneural import NeuralClassifier, NeuralRegressor, __version__

    print(
        f"skneural {__version__}, scikit-learn {sklearn.__version__}, "
        f"jax {jax.__version__} (backend: {jax.default_backend()}, "
        f"devices: {', '.join(str(d) for d in jax.devices())}), "
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"seeds: {seeds}; hidden_layer_sizes={HIDDEN_LAYER_SIZES}; regression "
        f"max_iter={REGRESSION_MAX_ITER} on both sides; "
        f"warmup: {'yes' if args.warmup else 'no (first fits include JIT)'}"
    )
    print()

    tasks = []
    for name, load in CLASSIFICATION.items():
        for solver in SOLVERS:

            def make(seed, solver=solver):
                params = dict(
                    hidden_layer_sizes=HIDDEN_LAYER_SIZES,
                    solver=solver,
                    random_state=seed,
                )
                return {
                    "skneural": NeuralClassifier(**params),
                    "sklearn": MLPClassifier(**params),
                }

            tasks.append(("classification", name, solver, "accuracy", load, make, True))
    for name, load in REGRESSION.items():
        for solver in SOLVERS:

            def make(seed, solver=solver):
                params = dict(
                    hidden_layer_sizes=HIDDEN_LAYER_SIZES,
                    solver=solver,
                    max_iter=REGRESSION_MAX_ITER,
                    random_state=seed,
                )
                return {
                    "skneural": NeuralRegressor(**params),
                    "sklearn": MLPRegressor(**params),
                }

            tasks.append(("regression", name, solver, "R²", load, make, False))

    header = [
        "task",
        "dataset",
        "solver",
        "metric",
        "skneural score",
        "sklearn score",
        "skneural epochs",
        "sklearn epochs",
        "skneural fit (s)",
        "sklearn fit (s)",
        "time ratio",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 4 + ["---:"] * (len(header) - 4)) + "|")
    sys.stdout.flush()

    for task, name, solver, metric, load, make, stratify in tasks:
        X, y = load()
        results = _run_row(make, X, y, seeds, stratify, args.warmup)
        ours, theirs = _summary(results["skneural"]), _summary(results["sklearn"])
        ratio = ours["time"] / theirs["time"] if theirs["time"] > 0 else float("nan")
        cells = [
            task,
            name,
            solver,
            metric,
            _fmt_score(ours, len(seeds)),
            _fmt_score(theirs, len(seeds)),
            f"{ours['epochs']:.0f}",
            f"{theirs['epochs']:.0f}",
            f"{ours['time']:.3f}",
            f"{theirs['time']:.3f}",
            f"{ratio:.2f}",
        ]
        print("| " + " | ".join(cells) + " |")
        sys.stdout.flush()

    print()
    print(
        "Scores: mean ± std over seeds on the 25% test split. Fit times: median "
        "over seeds. time ratio = skneural median / scikit-learn median "
        "(< 1: skneural faster). Epochs: mean n_iter_."
    )


if __name__ == "__main__":
    main()
