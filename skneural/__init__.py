"""skneural: scikit-learn neural-network estimators trained by JAX."""

from ._activations import Activation
from ._base import GradientWarning
from ._estimators import NeuralClassifier, NeuralRegressor
from ._perceptron import Perceptron

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "GradientWarning",
    "NeuralClassifier",
    "NeuralRegressor",
    "Perceptron",
    "__version__",
]
