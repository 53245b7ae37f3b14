"""Effect of dropout, batch normalisation and activations on test scores.

Digits (accuracy) and make_friedman1 (R^2), 25% test split, inputs (and the
regression target) standardised on the training part, hidden (128, 64),
Adam, 200 epochs, mean over random_state 0, 1, 2. Each row changes one
setting from the baseline (ReLU, no dropout, no batch norm).

Usage: ``python benchmarks/architecture.py`` (about a minute on 2 cores).
"""

import statistics
import time
import warnings

from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier, NeuralRegressor

warnings.simplefilter("ignore", ConvergenceWarning)

VARIANTS = {
    "baseline (relu)": {},
    "dropout=0.2": {"dropout": 0.2},
    "batch_norm=True": {"batch_norm": True},
    "activation='tanh'": {"activation": "tanh"},
    "activation='gelu'": {"activation": "gelu"},
    "activation='prelu'": {"activation": "prelu"},
}


def _data(task):
    if task == "digits":
        X, y = load_digits(return_X_y=True)
        split = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    else:
        X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
        split = train_test_split(X, y, test_size=0.25, random_state=0)
    X_train, X_test, y_train, y_test = split
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if task != "digits":
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return X_train, X_test, y_train, y_test


def main():
    print("| variant | digits accuracy | digits fit (s) | friedman1 R² | friedman1 fit (s) |")
    print("|---|---|---|---|---|")
    data = {task: _data(task) for task in ("digits", "friedman1")}
    for name, params in VARIANTS.items():
        cells = []
        for task, Est in (("digits", NeuralClassifier), ("friedman1", NeuralRegressor)):
            X_train, X_test, y_train, y_test = data[task]
            scores, times = [], []
            for seed in (0, 1, 2):
                est = Est(hidden_layer_sizes=(128, 64), max_iter=200, random_state=seed,
                          **params)
                tic = time.perf_counter()
                est.fit(X_train, y_train)
                times.append(time.perf_counter() - tic)
                scores.append(est.score(X_test, y_test))
            cells += [f"{statistics.mean(scores):.4f}", f"{statistics.median(times):.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
