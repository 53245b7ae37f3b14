"""Solver comparison: every solver of ``skneural.solvers.SOLVERS`` on three data sets.

For each data set (``load_digits``, ``load_breast_cancer`` and a regression,
``make_friedman1(n_samples=1000, noise=1)``) the data are split 75% / 25%
(stratified for classification, ``random_state=0``) and the features (and the
regression target) standardised on the training part. Every solver then fits
the same network -- one hidden layer of 32 tanh units, ``alpha=1e-4``,
``random_state=0`` -- for at most ``--max-iter`` epochs (stepwise solvers) or
iterations (whole-batch solvers), everything else at its defaults (named
solvers as the estimator builds them), plus two variants: CG with the
Fletcher-Reeves rule and LM with Levenberg's damping. RProp and QuickProp, full-batch
methods, get ``batch_size`` equal to the number of training samples; the
other stepwise solvers use ``batch_size='auto'`` (200).

The table reports, per data set and solver: the training loss at the final
parameters (log-loss, or half the mean squared error of the standardised
target; without the L2 term, computed the same way for every solver), the
test score (accuracy or R^2), the number of epochs/iterations (``n_iter_``)
and the fit time in seconds (including JAX compilation unless ``--warmup``).

Usage::

    python benchmarks/solvers.py                      # table only
    python benchmarks/solvers.py --plot solvers.png   # and the loss histories
    python benchmarks/solvers.py --quick              # max_iter=50, no lm/bfgs

The plot has one panel per data set with ``loss_curve_`` of every solver
against the epoch/iteration (log-log axes): the estimator's objective after
every epoch (mean minibatch loss, stepwise) or iteration (whole batch).
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier, NeuralRegressor
from skneural.solvers import (
    SOLVERS,
    ConjugateGradient,
    LevenbergMarquardt,
    StepwiseSolver,
)

FULL_BATCH = {"rprop", "quickprop"}
SLOW = {"lm", "lm:levenberg", "bfgs", "least-squares"}
#: Variants run next to the registry's names (name:variant -> solver object).
VARIANTS = {
    "cg:fletcher-reeves": ConjugateGradient(beta="fletcher-reeves"),
    "lm:levenberg": LevenbergMarquardt(damping="levenberg"),
}


def _solver(name):
    """The ``solver=`` value of a name or variant, and whether it is stepwise."""
    solver = VARIANTS.get(name, name)
    cls = type(solver) if name in VARIANTS else SOLVERS[name]
    return solver, issubclass(cls, StepwiseSolver)


def _datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", NeuralClassifier, X, y
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast_cancer", NeuralClassifier, X, y
    X, y = make_friedman1(n_samples=1000, noise=1.0, random_state=0)
    yield "friedman1", NeuralRegressor, X, y


def _split(est, X, y):
    classify = est is NeuralClassifier
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if classify else None
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if not classify:
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    return X_tr, X_te, y_tr, y_te


def _train_loss(model, X, y):
    if isinstance(model, NeuralClassifier):
        proba = model.predict_proba(X).astype(np.float64)
        proba /= proba.sum(axis=1, keepdims=True)  # float32 rounding
        return log_loss(y, proba, labels=model.classes_)
    return 0.5 * np.mean((model.predict(X) - y) ** 2)


def _model(est, name, n_train, max_iter):
    params = dict(
        hidden_layer_sizes=(32,),
        activation="tanh",
        solver=_solver(name)[0],
        max_iter=max_iter,
        random_state=0,
    )
    if name in FULL_BATCH:
        params["batch_size"] = n_train
    return est(**params)


def run(names, max_iter, warmup):
    rows, curves = [], {}
    for data_name, est, X, y in _datasets():
        X_tr, X_te, y_tr, y_te = _split(est, X, y)
        for name in names:
            model = _model(est, name, len(X_tr), max_iter)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if warmup:
                    _model(est, name, len(X_tr), 2).fit(X_tr, y_tr)
                tic = time.perf_counter()
                model.fit(X_tr, y_tr)
                seconds = time.perf_counter() - tic
            rows.append(
                (
                    data_name,
                    name,
                    "stepwise" if _solver(name)[1] else "batch",
                    _train_loss(model, X_tr, y_tr),
                    model.score(X_te, y_te),
                    model.n_iter_,
                    seconds,
                )
            )
            curves[data_name, name] = list(model.loss_curve_)
            print(
                "  %-14s %-14s loss %.4g  score %.3f  iter %4d  %.2f s"
                % (rows[-1][:2] + rows[-1][3:]),
                file=sys.stderr,
                flush=True,
            )
    return rows, curves


def _table(rows):
    lines = [
        "| data set | solver | kind | train loss | test score | n_iter_ | seconds |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for data, name, kind, loss, score, n_iter, seconds in rows:
        lines.append(
            f"| {data} | {name} | {kind} | {loss:.4g} | {score:.3f} | {n_iter} "
            f"| {seconds:.2f} |"
        )
    return "\n".join(lines)


def _plot(curves, names, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written.", file=sys.stderr)
        return
    datasets = list(dict.fromkeys(d for d, _ in curves))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 5.8))
    cmap = plt.get_cmap("tab20")
    colors = [cmap(i % 20) for i in range(len(names))]
    for ax, data in zip(np.atleast_1d(axes), datasets):
        for color, name in zip(colors, names):
            curve = curves.get((data, name))
            if not curve:
                continue
            ax.plot(
                np.arange(1, len(curve) + 1),
                curve,
                color=color,
                linestyle="--" if _solver(name)[1] else "-",
                linewidth=1.4,
                label=name,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(data)
        ax.set_xlabel("epoch (dashed: stepwise) / iteration (solid: whole batch)")
        ax.set_ylabel("training objective (loss_curve_)")
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=11, fontsize=8)
    fig.subplots_adjust(bottom=0.2)
    fig.suptitle("skneural solvers: loss history (32 tanh units, random_state=0)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=100)
    print(f"plot written to {path}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--plot", help="write the loss-history plot to this PNG")
    parser.add_argument(
        "--solvers", nargs="*", help="names or variants (default: all of them)"
    )
    parser.add_argument("--quick", action="store_true",
                        help="max_iter=50 and no lm/bfgs/least-squares")  # fmt: skip
    parser.add_argument("--warmup", action="store_true",
                        help="one untimed 2-iteration fit per row first")  # fmt: skip
    args = parser.parse_args(argv)
    names = args.solvers or list(SOLVERS) + list(VARIANTS)
    max_iter = args.max_iter
    if args.quick:
        names = [n for n in names if n not in SLOW]
        max_iter = min(max_iter, 50)
    import jax
    import sklearn

    import skneural

    print(
        f"skneural {skneural.__version__}, jax {jax.__version__} "
        f"({jax.default_backend()}: {jax.devices()[0].device_kind}), "
        f"scikit-learn {sklearn.__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; max_iter={max_iter}, warmup={args.warmup}"
    )
    rows, curves = run(names, max_iter, args.warmup)
    print(_table(rows))
    if args.plot:
        _plot(curves, names, args.plot)


if __name__ == "__main__":
    main()
