"""Small demo: ``python -m skneural``.

Fits skneural's estimators and their scikit-learn counterparts with the same
parameters on two small toy datasets and prints test score, fit time and
number of epochs side by side. Every model is fitted twice: skneural's first
fit includes JAX's compilation, its second reuses the compiled program. A
verdict per dataset follows the table: whether the two test scores are equal
within a stated tolerance, and which model fitted faster, by how much, for the
first fit and for the second.
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


# Two test scores within this distance are reported as equal: the two
# packages start from the same initial weights and minibatches, but skneural
# computes in float32 by default where scikit-learn computes in float64.
SCORE_TOLERANCE = {"accuracy": 0.01, "R^2": 0.02}

# Fit times within this factor of each other are reported as "about as fast".
SAME_SPEED = 1.1


def _speed_phrase(ours_name, ours, theirs_name, theirs):
    """Which fit was faster, by how much, in words."""
    times = f"({ours_name} {ours:.2f} s, {theirs_name} {theirs:.2f} s)"
    if max(ours, theirs) <= SAME_SPEED * min(ours, theirs):
        percent = round(100 * (SAME_SPEED - 1))
        return f"equally fast within {percent}% {times}"
    if ours < theirs:
        faster, slower, ratio = ours_name, theirs_name, theirs / ours
    else:
        faster, slower, ratio = theirs_name, ours_name, ours / theirs
    return f"{faster} was {ratio:.1f}x faster than {slower} {times}"


def _verdict(dataset, metric, ours, theirs):
    """Plain-language verdict on one dataset.

    Parameters
    ----------
    dataset, metric : str
        The dataset's name and the score's name (a key of ``SCORE_TOLERANCE``).
    ours, theirs : tuple
        ``(model name, test score, (first fit time, second fit time))`` for
        skneural's model and for scikit-learn's.

    Returns
    -------
    lines : list of str
    """
    (ours_name, ours_score, ours_times) = ours
    (theirs_name, theirs_score, theirs_times) = theirs
    tolerance = SCORE_TOLERANCE[metric]
    difference = abs(ours_score - theirs_score)
    scores = (
        f"({metric}: {ours_name} {ours_score:.4f}, {theirs_name} {theirs_score:.4f})"
    )
    if difference <= tolerance:
        score_line = f"the test scores are equal within {tolerance} {scores}"
    else:
        better = ours_name if ours_score > theirs_score else theirs_name
        score_line = (
            f"the test scores differ by {difference:.4f}, more than {tolerance}: "
            f"{better} scored higher {scores}"
        )
    return [
        f"{dataset}: {score_line}.",
        "  first fit, with compilation: "
        + _speed_phrase(ours_name, ours_times[0], theirs_name, theirs_times[0])
        + ".",
        "  second fit, compiled: "
        + _speed_phrase(ours_name, ours_times[1], theirs_name, theirs_times[1])
        + ".",
    ]


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
    verdicts = []
    for dataset, metric, data, models in cases:
        results = []
        for model in models:
            score, (first, second), n_iter = _fit_and_score(model, *data)
            print(
                f"{dataset:<14} {type(model).__name__:<17} {metric:<9} "
                f"{score:>7.4f} {first:>12.2f} {second:>12.2f} {n_iter:>7d}"
            )
            results.append((type(model).__name__, score, (first, second)))
        verdicts.extend(_verdict(dataset, metric, *results))
    print()
    print(
        "skneural's first fit includes JAX's compilation (once per architecture "
        "and process; see\nthe persistent compilation cache in the docs), the "
        "second reuses the compiled program."
    )
    print()
    print("Verdict")
    print("-------")
    for line in verdicts:
        print(line)


if __name__ == "__main__":
    main()
