"""
Regularisation: the L2 penalty and early stopping
=================================================

A network large enough to fit the signal also fits the noise. Two ways to
restrain :class:`skneural.NeuralClassifier`, both as in scikit-learn:

- ``alpha``, the L2 penalty (weight decay) added to the loss;
- ``early_stopping=True``, which holds out part of the training data and
  stops when the score on it stops improving.
"""

# %%
# The L2 penalty ``alpha``
# ------------------------
# Two hidden layers of 32 ReLU units on noisy moons, trained by L-BFGS to
# convergence, with increasing ``alpha``. The penalty shrinks the weights,
# and smaller weights make a smoother function: the boundary stops chasing
# individual training points.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_moons(n_samples=300, noise=0.35, random_state=0)
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)


def net(alpha):
    return NeuralClassifier(
        hidden_layer_sizes=(32, 32),
        solver="lbfgs",
        alpha=alpha,
        max_iter=500,
        random_state=0,
    )


xx, yy = np.meshgrid(np.linspace(-3, 3, 120), np.linspace(-3, 3, 120))
grid = np.c_[xx.ravel(), yy.ravel()]
points = ListedColormap(["#1f4fff", "#ff2a2a"])

alphas_shown = [1e-5, 1e-1, 1.0, 10.0]
fig, axes = plt.subplots(1, 4, figsize=(12, 3.3))
for ax, alpha in zip(axes, alphas_shown):
    clf = net(alpha).fit(X_train, y_train)
    proba = clf.predict_proba(grid)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, proba, levels=10, cmap="RdBu_r", alpha=0.8)
    ax.scatter(*X_train.T, c=y_train, cmap=points, edgecolors="k", s=15)
    weight_norm = np.sqrt(sum(np.sum(W**2) for W in clf.coefs_))
    ax.set_title(
        f"alpha={alpha:g}\ntest acc {clf.score(X_test, y_test):.2f}, "
        f"|W| = {weight_norm:.1f}",
        fontsize="medium",
    )
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %%
# Training and test accuracy across ``alpha``: a small penalty fits the
# training set almost perfectly and generalises worse; a large one
# underfits both. ``alpha`` is an input of the compiled program, so this
# sweep compiles once.
alphas = np.logspace(-5, 2, 8)
train_acc, test_acc = [], []
for alpha in alphas:
    clf = net(alpha).fit(X_train, y_train)
    train_acc.append(clf.score(X_train, y_train))
    test_acc.append(clf.score(X_test, y_test))

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.semilogx(alphas, train_acc, "o-", label="training accuracy")
ax.semilogx(alphas, test_acc, "s-", label="test accuracy")
ax.axvline(alphas[int(np.argmax(test_acc))], color="0.6", linestyle=":")
ax.set_xlabel("alpha")
ax.set_ylabel("accuracy")
ax.set_title("The L2 penalty trades fit for smoothness")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Early stopping
# --------------
# With ``early_stopping=True`` the estimator sets aside
# ``validation_fraction`` of the training data, records the validation score
# after every epoch in ``validation_scores_``, stops when it has not improved
# by ``tol`` for ``n_iter_no_change`` epochs and keeps the weights of the best
# epoch. :class:`~skneural.plotting.LossCurveDisplay` draws the validation
# scores on a second axis next to the training loss.
from sklearn.datasets import load_digits

from skneural.plotting import LossCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

params = {"hidden_layer_sizes": (64,), "max_iter": 300, "random_state": 0}
stopped = NeuralClassifier(early_stopping=True, **params).fit(X_train, y_train)
full = NeuralClassifier(**params).fit(X_train, y_train)

for name, clf in [("early stopping", stopped), ("without", full)]:
    print(
        f"{name:>14}: {clf.n_iter_:3d} epochs, "
        f"test accuracy {clf.score(X_test, y_test):.3f}"
    )
print(f"best validation score: {stopped.best_validation_score_:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 4))
LossCurveDisplay.from_estimator(stopped, ax=ax, name="early_stopping=True")
LossCurveDisplay.from_estimator(
    full, ax=ax, name="early_stopping=False", line_kw={"alpha": 0.6}
)
ax.set_yscale("log")
ax.set_title("Training loss and validation accuracy, digits")
fig.tight_layout()
plt.show()

# %%
# Early stopping ends training in a fraction of the epochs. It is not free:
# the model trains on 10% less data, and the validation score is noisy, so
# training may stop before the test accuracy has peaked. Raise
# ``n_iter_no_change`` for more patience.
