"""Shared fixtures."""

import os
import tempfile

import pytest
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

# The test session writes skneural's persistent program cache to a directory
# of its own (each run starts cold), not to the user's ~/.cache/skneural.
os.environ.setdefault(
    "SKNEURAL_CACHE_DIR", tempfile.mkdtemp(prefix="skneural-test-programs-")
)


@pytest.fixture(scope="module")
def iris():
    """Standardised iris: a small, fast multiclass problem."""
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y
