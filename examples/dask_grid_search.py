"""
Grid search on a Dask cluster
=============================

Runs one :class:`~sklearn.model_selection.GridSearchCV` over a
:class:`skneural.NeuralClassifier` twice: in this process (``n_jobs=1``) and
on a local Dask cluster through joblib's ``"dask"`` backend. Every candidate
and fold is then fitted in a Dask worker process; with a fixed
``random_state`` both searches find the same scores.

The local cluster stands in for a real one: to use several machines, start
``dask scheduler`` on one and ``dask worker tcp://<scheduler>:8786`` on the
others (each with skneural installed), and pass the scheduler's address to
``Client`` instead of a ``LocalCluster``.

Needs the ``dask`` extra (``pip install "skneural[dask]"``). Run it with
``python examples/dask_grid_search.py``; ``--small`` runs a tiny grid.
"""

import sys
import time
import warnings

import joblib
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skneural import NeuralClassifier


def search(small=False):
    """The grid search, not yet fitted, and its data."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if small:
        X, y = X[:450], y[:450]
        estimator = NeuralClassifier(hidden_layer_sizes=(16,), max_iter=20,
                                     learning_rate_init=1e-2, random_state=0)
        grid = {"alpha": [1e-4, 1e-1]}
    else:
        estimator = NeuralClassifier(max_iter=100, random_state=0)
        grid = {
            "hidden_layer_sizes": [(32,), (64,)],
            "alpha": [1e-4, 1e-2, 1e-1],
            "learning_rate_init": [1e-3, 1e-2],
        }
    # Every fit runs single-process; n_jobs is left to the joblib backend.
    return GridSearchCV(estimator, grid, cv=3, n_jobs=-1), X, y


def main(n_workers=2, small=False):
    """Run the search locally, then on a local Dask cluster; return both."""
    # Short runs stop at max_iter with a ConvergenceWarning: silence it here
    # and, with client.run, in every Dask worker.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    local, X, y = search(small)
    local.set_params(n_jobs=1)
    start = time.perf_counter()
    local.fit(X, y)
    local_time = time.perf_counter() - start

    start = time.perf_counter()
    # processes=True: one Python process (one JAX runtime) per worker, each
    # running one fit at a time (threads_per_worker=1).
    with LocalCluster(n_workers=n_workers, threads_per_worker=1,
                      processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        startup_time = time.perf_counter() - start
        client.run(warnings.filterwarnings, "ignore", category=ConvergenceWarning)
        on_dask, X, y = search(small)
        start = time.perf_counter()
        with joblib.parallel_config(backend="dask"):
            on_dask.fit(X, y)
        dask_time = time.perf_counter() - start

    n_fits = len(on_dask.cv_results_["params"]) * on_dask.n_splits_
    print(f"{n_fits} fits ({len(on_dask.cv_results_['params'])} candidates,"
          f" {on_dask.n_splits_} folds)")
    for name, fitted, seconds in [
        ("local, n_jobs=1", local, local_time),
        (f"dask, {n_workers} workers", on_dask, dask_time),
    ]:
        print(f"{name:<18} {seconds:6.1f} s  best {fitted.best_params_}"
              f"  score {fitted.best_score_:.4f}")
    print(f"{'cluster start-up':<18} {startup_time:6.1f} s")
    return local, on_dask


if __name__ == "__main__":
    main(small="--small" in sys.argv[1:])
