"""
Logic gates: what one perceptron can learn, and XOR, which it cannot
====================================================================

A threshold unit ``y = [w1 x1 + w2 x2 + b > 0]`` is a McCulloch–Pitts neuron.
:class:`skneural.Perceptron` learns its weights with Rosenblatt's rule
``w_i <- w_i + eta (y - y_hat) x_i``. It learns AND, OR and NOT exactly, each
in a few epochs; on XOR, whose two classes no straight line separates, it
never stops making mistakes. A network with one hidden layer,
:class:`skneural.NeuralClassifier`, solves XOR.
"""

# %%
# The truth tables
# ----------------
import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
gates = {
    "AND": (X, np.array([0, 0, 0, 1])),
    "OR": (X, np.array([0, 1, 1, 1])),
    "NOT": (np.array([[0], [1]]), np.array([1, 0])),
}
y_xor = np.array([0, 1, 1, 0])

# %%
# AND, OR and NOT: learned exactly
# --------------------------------
# From zero weights, each epoch applies the rule (by default as the *batch*
# perceptron: the sum of the updates of all the samples, judged by the
# weights at the start of the epoch). Fitting stops at the first epoch without
# a mistake; ``mistakes_curve_`` records the mistakes of every epoch. A net
# input of exactly 0 gives output 0.
from skneural import Perceptron

perceptrons = {}
for name, (X_gate, y_gate) in gates.items():
    clf = Perceptron().fit(X_gate, y_gate)
    perceptrons[name] = clf
    print(
        f"{name:3s}: w = {clf.coef_[0]}, b = {clf.intercept_[0]:+g}, "
        f"predictions {clf.predict(X_gate)} (truth {y_gate}), "
        f"mistakes per epoch {clf.mistakes_curve_}"
    )

# %%
# The learned decision lines
# --------------------------
# For AND and OR the line ``w1 x1 + w2 x2 + b = 0`` separates the inputs of
# output 1 (filled) from those of output 0 (open). The rule stops at the first
# weights without a mistake, which may leave inputs exactly on the line (net
# input 0, output 0); the dashed lines are the McCulloch–Pitts units
# ``[x1 + x2 - 3/2 > 0]``, ``[x1 + x2 - 1/2 > 0]`` and ``[-x + 1/2 > 0]``, with
# a margin. NOT has one input: its unit fires left of the threshold ``-b / w``.
import matplotlib.pyplot as plt


def plot_points(ax, X_gate, y_gate):
    for label, face in ((0, "white"), (1, "black")):
        pts = X_gate[y_gate == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=120, c=face, edgecolors="black", zorder=3)


mcculloch_pitts = {"AND": 1.5, "OR": 0.5}  # x1 + x2 = threshold
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
x1 = np.linspace(-0.5, 1.5, 2)
for ax, name in zip(axes[:2], ["AND", "OR"]):
    (w1, w2), b = perceptrons[name].coef_[0], perceptrons[name].intercept_[0]
    plot_points(ax, *gates[name])
    ax.plot(x1, -(w1 * x1 + b) / w2, color="tab:blue")
    ax.plot(x1, mcculloch_pitts[name] - x1, "k--", lw=1)
    ax.fill_between(x1, -(w1 * x1 + b) / w2, 2, color="tab:blue", alpha=0.15)
    ax.set(title=f"{name}: {w1:g} x1 + {w2:g} x2 {b:+g} > 0", xlabel="x1", ylabel="x2")
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal")

ax = axes[2]
w, b = perceptrons["NOT"].coef_[0, 0], perceptrons["NOT"].intercept_[0]
X_not, y_not = gates["NOT"]
ax.scatter(X_not[:, 0], [0, 0], s=120, c=["black", "white"], edgecolors="black")
ax.axvline(-b / w, color="tab:blue")
ax.axvline(0.5, color="black", linestyle="--", lw=1)
ax.axvspan(-0.5, -b / w, color="tab:blue", alpha=0.15)
ax.set(title=f"NOT: {w:g} x {b:+g} > 0", xlabel="x", xlim=(-0.5, 1.5), yticks=[])
fig.tight_layout()

# %%
# XOR: no line separates the classes
# -----------------------------------
# The perceptron keeps making mistakes until ``max_iter`` epochs and warns.
# Whichever form of the rule, and whatever the order in which the online rule
# sees the samples (``random_state``), a line gets at most 3 of the 4 inputs
# right. (The batch rule does not depend on the order: one run suffices.)
import warnings

from sklearn.exceptions import ConvergenceWarning

for mode, seeds in (("batch", [0]), ("online", [0, 1, 2])):
    for seed in seeds:
        clf = Perceptron(mode=mode, random_state=seed, max_iter=100)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(X, y_xor)
        print(
            f"XOR, {mode:6s} rule, seed {seed}: accuracy {clf.score(X, y_xor):.2f}, "
            f"fewest mistakes in an epoch {min(clf.mistakes_curve_):g}, "
            f"ConvergenceWarning: {bool(caught)}"
        )

online = Perceptron(mode="online", random_state=0, max_iter=30)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    online.fit(X, y_xor)
    and_online = Perceptron(mode="online", random_state=0).fit(*gates["AND"])

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(range(1, 31), online.mistakes_curve_, "o-", label="XOR")
ax.plot(range(1, and_online.n_iter_ + 1), and_online.mistakes_curve_, "s-", label="AND")
ax.set(xlabel="epoch", ylabel="mistakes", title="Online perceptron rule")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# A hidden layer solves XOR
# -------------------------
# Two layers of units can carve the plane with two lines. A
# :class:`~skneural.NeuralClassifier` with four tanh hidden units, trained by
# L-BFGS, classifies all four inputs correctly.
from sklearn.inspection import DecisionBoundaryDisplay

from skneural import NeuralClassifier

net = NeuralClassifier(
    hidden_layer_sizes=(4,), activation="tanh", solver="lbfgs", random_state=0
)
net.fit(X, y_xor)
print(f"NeuralClassifier on XOR: accuracy {net.score(X, y_xor):.2f}")

grid = np.array([[-0.5, -0.5], [1.5, 1.5]])
fig, ax = plt.subplots(figsize=(4.2, 4))
DecisionBoundaryDisplay.from_estimator(
    net,
    grid,
    response_method="predict_proba",
    grid_resolution=200,
    eps=0.0,
    cmap="RdBu_r",
    alpha=0.5,
    ax=ax,
    xlabel="x1",
    ylabel="x2",
)
plot_points(ax, X, y_xor)
ax.set(title="XOR by NeuralClassifier(4 tanh units)", aspect="equal")
fig.tight_layout()
plt.show()
