"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural import NeuralClassifier, NeuralRegressor

# Per-check settings, the mechanism scikit-learn uses for its own MLP
# (PER_ESTIMATOR_CHECK_PARAMS in sklearn/utils/_test_common). The weight/repeat
# equivalence check compares predictions at rtol=1e-7, finer than float32 can
# resolve; in float64 the default Adam fit passes it. The float32 default is
# checked for the same equivalence at float32 tolerance in test_estimators.py.
CHECK_PARAMS = {
    "check_sample_weight_equivalence_on_dense_data": {"dtype": "float64"},
    "check_sample_weight_equivalence_on_sparse_data": {"dtype": "float64"},
}


@parametrize_with_checks(
    [NeuralClassifier(max_iter=100), NeuralRegressor(max_iter=100)]
)
def test_sklearn_compatible_estimator(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in CHECK_PARAMS:
        estimator = clone(estimator).set_params(**CHECK_PARAMS[name])
    check(estimator)
