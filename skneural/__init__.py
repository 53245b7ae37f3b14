"""skneural: scikit-learn neural-network estimators trained by JAX."""

from ._estimators import NeuralClassifier, NeuralRegressor

__version__ = "0.1.0"

__all__ = ["NeuralClassifier", "NeuralRegressor", "__version__"]
