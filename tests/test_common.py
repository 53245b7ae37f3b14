"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural import NeuralClassifier, NeuralRegressor

# Per-check settings, the mechanism scikit-learn uses for its own MLP
# (PER_ESTIMATOR_CHECK_PARAMS in sklearn/utils/_test_common). The weight/repeat
# equivalence check compares predictions at rtol=1e-7, finer than float32 can
# resolve; in float64 the default Adam fit passes it. The float32 default is
# checked for the same equivalence at float32 tolerance in test_estimators.py.
# Dropout and input noise draw random numbers per row, so weighting a row
# and repeating it are equivalent only in expectation: that check runs with
# them off (the other checks exercise them).
_DETERMINISTIC = {"dtype": "float64", "dropout": 0.0, "input_noise": 0.0}
CHECK_PARAMS = {
    "check_sample_weight_equivalence_on_dense_data": _DETERMINISTIC,
    "check_sample_weight_equivalence_on_sparse_data": _DETERMINISTIC,
}

ESTIMATORS = [
    NeuralClassifier(max_iter=100),
    NeuralRegressor(max_iter=100),
    # The architecture and regularisation parameters, switched on together.
    NeuralClassifier(
        hidden_layer_sizes=(16, 8), activation=["prelu", "gelu"], dropout=0.1,
        batch_norm=True, l1=1e-4, entropy_reg=0.01, init="he_normal",
        max_iter=100,
    ),
    NeuralRegressor(
        hidden_layer_sizes=(12,), activation="maxout", input_noise=0.01,
        clip_norm=10.0, loss="huber", solver="rmsprop", max_iter=100,
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in CHECK_PARAMS:
        estimator = clone(estimator).set_params(**CHECK_PARAMS[name])
    check(estimator)
