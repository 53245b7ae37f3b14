"""Shared fixtures."""

import pytest
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="module")
def iris():
    """Standardised iris: a small, fast multiclass problem."""
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y
