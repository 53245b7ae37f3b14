"""
Quickstart: NeuralClassifier on the digits dataset
==================================================

Fit :class:`skneural.NeuralClassifier` in a pipeline with a
:class:`~sklearn.preprocessing.StandardScaler`, compare it with
:class:`sklearn.neural_network.MLPClassifier` trained with the same
parameters, and plot both training loss curves.
"""

# %%
# Data
# ----
# The 8x8 digits images, split into a stratified 75% / 25% train/test split.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# Fit skneural's classifier
# -------------------------
# ``NeuralClassifier`` takes the same arguments as ``MLPClassifier``; here the
# defaults (one hidden layer of 100 ReLU units, Adam, 200 epochs at most).
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier

params = {"hidden_layer_sizes": (100,), "random_state": 0}

neural = make_pipeline(StandardScaler(), NeuralClassifier(**params))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=ConvergenceWarning)
    start = time.perf_counter()
    neural.fit(X_train, y_train)
    neural_time = time.perf_counter() - start

print(f"NeuralClassifier test accuracy: {neural.score(X_test, y_test):.4f}")
print(f"fit time (includes JIT compilation): {neural_time:.2f} s")
print(f"epochs: {neural[-1].n_iter_}")

# %%
# Compare with scikit-learn's MLPClassifier
# -----------------------------------------
from sklearn.neural_network import MLPClassifier

mlp = make_pipeline(StandardScaler(), MLPClassifier(**params))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=ConvergenceWarning)
    start = time.perf_counter()
    mlp.fit(X_train, y_train)
    mlp_time = time.perf_counter() - start

print(f"MLPClassifier test accuracy: {mlp.score(X_test, y_test):.4f}")
print(f"fit time: {mlp_time:.2f} s")
print(f"epochs: {mlp[-1].n_iter_}")

# %%
# Loss curves
# -----------
# Both estimators record the training loss of every epoch in ``loss_curve_``.
# :class:`~skneural.plotting.LossCurveDisplay` draws it; a second display on
# the same axes adds the other estimator. They start from the same initial
# weights (skneural draws them as scikit-learn does), so the curves are close.
import matplotlib.pyplot as plt

from skneural.plotting import LossCurveDisplay

fig, ax = plt.subplots(figsize=(6, 4))
LossCurveDisplay.from_estimator(neural, ax=ax, name="skneural NeuralClassifier")
LossCurveDisplay.from_estimator(
    mlp,
    ax=ax,
    name="scikit-learn MLPClassifier",
    log_scale=True,
    line_kw={"linestyle": "--"},
)
ax.set_title("load_digits, hidden_layer_sizes=(100,)")
fig.tight_layout()
plt.show()
