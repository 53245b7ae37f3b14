"""
Logic gates: one neuron, and why XOR needs a hidden layer
=========================================================

A single neuron ``a = g(x . w + b)`` with a step activation is McCulloch and
Pitts' threshold unit. With the right weights it computes AND, OR and NOT;
XOR, which is not linearly separable, needs a hidden layer. This example
first evaluates the threshold units with the textbook weights, then lets
:class:`skneural.NeuralClassifier` learn the gates by gradient descent:
without hidden layers (``hidden_layer_sizes=()``, one sigmoid neuron:
logistic regression) and with one small hidden layer. For Rosenblatt's
perceptron rule on step units, see
:ref:`sphx_glr_auto_examples_plot_perceptron_logic_gates.py`.
"""

# %%
# Threshold units with hand-set weights
# -------------------------------------
# ``x1 AND x2 = [x1 + x2 - 3/2 > 0]``, ``x1 OR x2 = [x1 + x2 - 1/2 > 0]`` and
# ``NOT x1 = [-x1 + 1/2 > 0]``.
import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def threshold_unit(X, w, b):
    return (X @ np.asarray(w, dtype=float) + b > 0).astype(int)


print("x1 x2 | AND OR")
for x, a, o in zip(
    X.astype(int),
    threshold_unit(X, [1, 1], -1.5),
    threshold_unit(X, [1, 1], -0.5),
):
    print(f" {x[0]}  {x[1]} |  {a}   {o}")

x1 = np.array([[0.0], [1.0]])
print("NOT:", dict(zip([0, 1], threshold_unit(x1, [-1], 0.5))))

# %%
# Learning the gates
# ------------------
# The four input pairs are the training set (repeated so that the L-BFGS
# solver sees a few samples per corner). A network without hidden layers
# draws one straight line through the square: enough for AND and OR, not for
# XOR. Two hidden ``tanh`` units are enough for XOR (for a good start: see the
# last section).
import warnings

from sklearn.exceptions import ConvergenceWarning

from skneural import NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

gates = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}
X_train = np.tile(X, (5, 1))

models = {}
for gate, y in gates.items():
    y_train = np.tile(y, 5)
    for hidden in [(), (2,)]:
        clf = NeuralClassifier(
            hidden_layer_sizes=hidden,
            activation="tanh",
            solver="lbfgs",
            alpha=1e-5,
            max_iter=500,
            random_state=1,
        ).fit(X_train, y_train)
        models[gate, hidden] = clf
        print(
            f"{gate:>3}, hidden_layer_sizes={hidden!s:5}: predictions "
            f"{clf.predict(X)}, truth {y}"
        )

# %%
# The learned decision regions
# ----------------------------
# The probability of class 1 over the unit square; the dashed line is the
# 0.5 threshold. The single neuron's boundary is always a straight line.
import matplotlib.pyplot as plt

grid = np.linspace(-0.25, 1.25, 121)
xx, yy = np.meshgrid(grid, grid)
points = np.c_[xx.ravel(), yy.ravel()]

fig, axes = plt.subplots(2, 3, figsize=(9, 6), sharex=True, sharey=True)
for col, (gate, y) in enumerate(gates.items()):
    for row, hidden in enumerate([(), (2,)]):
        ax = axes[row, col]
        proba = models[gate, hidden].predict_proba(points)[:, 1].reshape(xx.shape)
        ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
        ax.contour(xx, yy, proba, levels=[0.5], colors="k", linestyles="--")
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=80)
        score = models[gate, hidden].score(X, y)
        ax.set_title(f"{gate}, hidden={hidden}: acc {score:.2f}", fontsize="medium")
for ax in axes[-1]:
    ax.set_xlabel("x1")
for ax in axes[:, 0]:
    ax.set_ylabel("x2")
fig.tight_layout()
plt.show()

# %%
# The weights of the single neuron trained on AND resemble the hand-set
# threshold unit: two equal positive weights and a negative bias, scaled up
# (a sigmoid with large weights approaches the step function).
and_neuron = models["AND", ()]
print("weights:", and_neuron.coefs_[0].ravel(), "bias:", and_neuron.intercepts_[0])
print("ratio bias / weight:", and_neuron.intercepts_[0][0] / and_neuron.coefs_[0][0, 0])

# %%
# How reliably is XOR learned?
# ----------------------------
# Two hidden units can represent XOR, but gradient training does not always
# find the solution: from some initial weights it settles in a local
# minimum. Counting successes over ten random initialisations shows that a
# little extra width makes training far more reliable.
y_xor = np.tile(gates["XOR"], 5)
for hidden in [(2,), (3,), (4,)]:
    solved = sum(
        NeuralClassifier(
            hidden_layer_sizes=hidden,
            activation="tanh",
            solver="lbfgs",
            alpha=1e-5,
            max_iter=500,
            random_state=seed,
        )
        .fit(X_train, y_xor)
        .score(X, gates["XOR"])
        == 1.0
        for seed in range(10)
    )
    print(f"hidden_layer_sizes={hidden}: XOR solved from {solved} of 10 starts")
