"""Small demo: ``python -m skneural``.

Fits skneural's estimators and their scikit-learn counterparts with the same
parameters on two small toy datasets and prints test score, fit time and
number of epochs side by side. Every model is fitted twice: skneural's first
fit includes JAX's compilation, its second reuses the compiled program.
"""

import time
import warnings

from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler


def _split_scaled(X, y, stratify):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if stratify else None
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _fit_and_score(model, X_train, X_test, y_train, y_test):
    """Test score, first and second fit time, epochs."""
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        for _ in range(2):
            start = time.perf_counter()
            model.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
    return model.score(X_test, y_test), times, model.n_iter_


def main():
    import jax
    import sklearn

    from skneural import NeuralClassifier, NeuralRegressor, __version__

    print(
        f"skneural {__version__} (jax {jax.__version__}, backend "
        f"{jax.default_backend()}; scikit-learn {sklearn.__version__})"
    )

    common = dict(hidden_layer_sizes=(100,), random_state=0)
    cases = [
        (
            "load_digits",
            "accuracy",
            _split_scaled(*load_digits(return_X_y=True), stratify=True),
            [NeuralClassifier(**common), MLPClassifier(**common)],
        ),
        (
            "load_diabetes",
            "R^2",
            _split_scaled(*load_diabetes(return_X_y=True), stratify=False),
            [
                NeuralRegressor(max_iter=1000, **common),
                MLPRegressor(max_iter=1000, **common),
            ],
        ),
    ]

    header = f"{'dataset':<14} {'model':<17} {'metric':<9} {'score':>7} "
    header += f"{'1st fit (s)':>12} {'2nd fit (s)':>12} {'epochs':>7}"
    print()
    print(header)
    print("-" * len(header))
    for dataset, metric, data, models in cases:
        for model in models:
            score, (first, second), n_iter = _fit_and_score(model, *data)
            print(
                f"{dataset:<14} {type(model).__name__:<17} {metric:<9} "
                f"{score:>7.4f} {first:>12.2f} {second:>12.2f} {n_iter:>7d}"
            )
    print()
    print(
        "skneural's first fit includes JAX's compilation (once per architecture "
        "and process; see\nthe persistent compilation cache in the docs), the "
        "second reuses the compiled program."
    )


if __name__ == "__main__":
    main()
