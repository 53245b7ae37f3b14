"""First fits in fresh processes: skneural against scikit-learn's MLP.

Every measurement is a whole new Python process (import, data, fits, exit),
timed from outside; the two libraries are run in turn (A B A B ...) and the
table gives medians and the ratio scikit-learn / skneural (above 1: skneural
is faster). skneural runs "cold" (an empty program-cache directory, so every
program is compiled) and "warm" (a second process on the directory the cold
one filled).

Cases:

- ``notebook``: the loops a new user writes while learning -- four fits each
  over ``hidden_layer_sizes``, ``activation``, ``batch_size`` and
  ``max_iter`` (16 fits) on the standardised wine data;
- ``digits``: one default fit on load_digits;
- ``grid1`` / ``grid2``: ``GridSearchCV`` with ``n_jobs=1`` / ``n_jobs=2``
  over a scaled pipeline on load_digits, 8 candidates x 3 folds, 100 epochs;
- ``import``: ``import skneural`` against ``import sklearn.neural_network``.

Usage::

    python benchmarks/cold_start.py                 # every case, 3 rounds
    python benchmarks/cold_start.py --cases notebook digits --repeats 5

Run it on a quiet machine (nothing else running): the load average is printed
with the table.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r'''
import json, sys, time, warnings
t0 = time.perf_counter()
lib, case = sys.argv[1], sys.argv[2]
if lib == "sklearn":
    from sklearn.neural_network import MLPClassifier as Classifier
else:
    from skneural import NeuralClassifier as Classifier
t_import = time.perf_counter() - t0
from sklearn.exceptions import ConvergenceWarning
warnings.filterwarnings("ignore", category=ConvergenceWarning)
scores = []
t1 = time.perf_counter()
if case == "notebook":
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    t1 = time.perf_counter()
    grids = [("hidden_layer_sizes", [(10,), (100,), (10, 5), (10, 5, 3)]),
             ("activation", ["identity", "logistic", "tanh", "relu"]),
             ("batch_size", [10, 20, 50, 100]),
             ("max_iter", [10, 20, 50, 200])]
    for name, values in grids:
        for value in values:
            model = Classifier(random_state=0, **{name: value}).fit(X, y)
            scores.append(model.score(X, y))
elif case == "digits":
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    t1 = time.perf_counter()
    scores.append(Classifier(random_state=0).fit(X, y).score(X, y))
elif case.startswith("grid"):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = load_digits(return_X_y=True)
    t1 = time.perf_counter()
    pipe = make_pipeline(StandardScaler(),
                         Classifier(max_iter=100, random_state=0))
    grid = {"classifier__hidden_layer_sizes": [(32,), (64,)],
            "classifier__alpha": [1e-4, 1e-2],
            "classifier__learning_rate_init": [1e-3, 3e-3]}
    grid = {k.replace("classifier", pipe.steps[-1][0]): v for k, v in grid.items()}
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=int(case[4:]))
    scores.append(search.fit(X, y).best_score_)
elif case == "import":
    pass
t_fit = time.perf_counter() - t1
print(json.dumps({"import": t_import, "fit": t_fit, "scores": scores}))
'''

CASES = ("notebook", "digits", "grid1", "grid2", "import")


def run(lib, case, env):
    tic = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, lib, case],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - tic
    if done.returncode != 0:
        raise RuntimeError(f"{lib} {case} failed:\n{done.stderr}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the raw figures to this file")
    args = parser.parse_args()

    base = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    results = {}
    for case in args.cases:
        rows = {"sklearn": [], "cold": [], "warm": []}
        for _ in range(args.repeats):
            cache = tempfile.mkdtemp(prefix="skneural-cold-start-")
            env = dict(base, SKNEURAL_CACHE_DIR=cache)
            try:
                rows["sklearn"].append(run("sklearn", case, base))
                rows["cold"].append(run("skneural", case, env))
                rows["sklearn"].append(run("sklearn", case, base))
                rows["warm"].append(run("skneural", case, env))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        results[case] = rows

    load = os.getloadavg()
    print(f"load average before the table: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'case':<10} {'what':<8} {'sklearn':>9} {'cold':>9} {'warm':>9}"
          f" {'sk/cold':>8} {'sk/warm':>8}")  # fmt: skip
    for case, rows in results.items():
        for what in ("wall", "import", "fit"):
            med = {k: statistics.median(r[what] for r in v) for k, v in rows.items()}
            print(
                f"{case:<10} {what:<8} {med['sklearn']:9.2f} {med['cold']:9.2f} "
                f"{med['warm']:9.2f} {med['sklearn'] / med['cold']:8.2f} "
                f"{med['sklearn'] / med['warm']:8.2f}"
            )
        if case != "import":
            sk = rows["sklearn"][0]["scores"]
            ours = rows["cold"][0]["scores"]
            print(f"{'':<10} scores   sklearn {[round(s, 3) for s in sk]}")
            print(f"{'':<10}          skneural {[round(s, 3) for s in ours]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
