"""
Decision boundaries: activations and depth
==========================================

The hidden activation and the depth of a network decide which shapes its
decision boundary can take. This example fits :class:`skneural.NeuralClassifier`
on three two-dimensional problems -- two interleaved moons, two concentric
circles and XOR (four blobs, opposite corners in the same class) -- first
with each activation at a fixed architecture, then with ``relu`` at
increasing depth. The colour is the predicted probability of the red class;
the number in the corner is the test accuracy.
"""

# %%
# The data
# --------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from sklearn.datasets import make_circles, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def make_xor(n_samples, noise, random_state):
    rng = np.random.RandomState(random_state)
    centers = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
    labels = np.array([0, 1, 1, 0])
    idx = rng.randint(4, size=n_samples)
    return centers[idx] + rng.normal(scale=noise, size=(n_samples, 2)), labels[idx]


datasets = {
    "moons": make_moons(n_samples=200, noise=0.25, random_state=0),
    "circles": make_circles(n_samples=200, noise=0.1, factor=0.5, random_state=0),
    "XOR": make_xor(n_samples=200, noise=0.4, random_state=0),
}
splits = {
    name: train_test_split(X, y, test_size=0.4, random_state=0)
    for name, (X, y) in datasets.items()
}


POINTS = ListedColormap(["#1f4fff", "#ff2a2a"])  # class 0 blue, class 1 red


def draw(ax, model, X_train, X_test, y_train, y_test):
    """The predicted probability over the plane, the data and the score."""
    X = np.vstack([X_train, X_test])
    x_min, y_min = X.min(axis=0) - 0.5
    x_max, y_max = X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, 100), np.linspace(y_min, y_max, 100))
    proba = model.predict_proba(np.c_[xx.ravel(), yy.ravel()])[:, 1]
    ax.contourf(xx, yy, proba.reshape(xx.shape), levels=10, cmap="RdBu_r", alpha=0.8)
    ax.scatter(*X_train.T, c=y_train, cmap=POINTS, edgecolors="k", s=18)
    ax.scatter(*X_test.T, c=y_test, cmap=POINTS, edgecolors="k", s=18, alpha=0.5)
    ax.text(
        0.97,
        0.03,
        f"{model.score(X_test, y_test):.2f}",
        transform=ax.transAxes,
        ha="right",
        fontsize="large",
        bbox={"facecolor": "w", "alpha": 0.7},
    )
    ax.set_xticks([])
    ax.set_yticks([])


def fit(X_train, y_train, **params):
    model = make_pipeline(
        StandardScaler(),
        NeuralClassifier(
            solver="lbfgs", alpha=1e-3, max_iter=400, random_state=0, **params
        ),
    )
    return model.fit(X_train, y_train)


# %%
# Activations
# -----------
# Two hidden layers of 16 units with each activation. With ``identity`` the
# network is linear (a product of matrices is a matrix) and the boundary is a
# straight line: no better than a single neuron. ``logistic`` and ``tanh``
# give smooth curved boundaries; ``relu`` gives piecewise-linear ones.
activations = ["identity", "logistic", "tanh", "relu"]
fig, axes = plt.subplots(3, 4, figsize=(11, 8.5))
for row, (name, (X_train, X_test, y_train, y_test)) in enumerate(splits.items()):
    for col, activation in enumerate(activations):
        model = fit(
            X_train, y_train, hidden_layer_sizes=(16, 16), activation=activation
        )
        draw(axes[row, col], model, X_train, X_test, y_train, y_test)
        if row == 0:
            axes[row, col].set_title(f"activation={activation!r}")
    axes[row, 0].set_ylabel(name, fontsize="large")
fig.tight_layout()
plt.show()

# %%
# Depth
# -----
# ReLU networks of increasing size. Without hidden layers the model is
# logistic regression; a few units already bend the boundary, and more
# layers give it more pieces to fit with -- enough, on the noisy moons, to
# follow single training points: the large networks overfit. The ``alpha``
# penalty controls this; see
# :ref:`sphx_glr_auto_examples_plot_regularization.py`.
architectures = [(), (3,), (16,), (16, 16, 16)]
fig, axes = plt.subplots(3, 4, figsize=(11, 8.5))
for row, (name, (X_train, X_test, y_train, y_test)) in enumerate(splits.items()):
    for col, hidden in enumerate(architectures):
        model = fit(X_train, y_train, hidden_layer_sizes=hidden, activation="relu")
        draw(axes[row, col], model, X_train, X_test, y_train, y_test)
        if row == 0:
            axes[row, col].set_title(f"hidden_layer_sizes={hidden}")
    axes[row, 0].set_ylabel(name, fontsize="large")
fig.tight_layout()
plt.show()

# %%
# Beyond scikit-learn's four
# --------------------------
# skneural accepts many more activations by name, an
# :class:`~skneural.Activation` with non-default arguments, and one
# activation per hidden layer. Their boundaries on the moons, with the same
# two hidden layers of 16 units:
from skneural import Activation

more = {
    "gelu": "gelu",
    "hard_tanh": "hard_tanh",
    "leaky_relu, slope 0.3": Activation("leaky_relu", negative_slope=0.3),
    "[tanh, relu]": ["tanh", "relu"],
}
X_train, X_test, y_train, y_test = splits["moons"]
fig, axes = plt.subplots(1, 4, figsize=(11, 3))
for ax, (title, activation) in zip(axes, more.items()):
    model = fit(X_train, y_train, hidden_layer_sizes=(16, 16), activation=activation)
    draw(ax, model, X_train, X_test, y_train, y_test)
    ax.set_title(title)
fig.tight_layout()
plt.show()
