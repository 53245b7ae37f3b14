"""
Backpropagation is ``jax.grad``
===============================

Backpropagation computes the gradient of the training objective with a
forward pass that stores every layer's values and a backward pass that
propagates the output error layer by layer with the chain rule. skneural
never writes this backward pass: it writes the objective as a JAX function
and asks ``jax.grad`` for the gradient.

This example writes the objective of a fitted
:class:`skneural.NeuralClassifier` in a few lines of JAX, checks that it
reproduces the estimator's ``loss_``, and compares ``jax.grad`` with the
textbook delta rule written out by hand. It then uses ``jax.grad`` to look at
the size of the gradient layer by layer in a deep network, where saturating
activations make it vanish.
"""

# %%
# A fitted network
# ----------------
# A small binary classifier on the two-moons data, trained by L-BFGS in
# float64 so that the comparisons below are exact to many digits.
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_moons(n_samples=200, noise=0.2, random_state=0)
X = StandardScaler().fit_transform(X)
alpha = 1e-3
clf = NeuralClassifier(
    hidden_layer_sizes=(8, 4),
    activation="tanh",
    solver="lbfgs",
    alpha=alpha,
    max_iter=200,
    random_state=0,
).fit(X, y)
params = [{"W": W, "b": b} for W, b in zip(clf.coefs_, clf.intercepts_)]
print("layer shapes:", [p["W"].shape for p in params], "loss_:", clf.loss_)

# %%
# The objective in JAX
# --------------------
# The forward pass, the binary cross-entropy of one sigmoid output unit written
# on the logit ``z`` (``log(1 + e^z) - y z``), and the L2 penalty divided by the
# number of samples, as in scikit-learn. ``jax.value_and_grad`` returns the
# objective and its gradient, a pytree shaped like ``params``.


def forward(params, X, g=jnp.tanh):
    h = X
    for layer in params[:-1]:
        h = g(h @ layer["W"] + layer["b"])
    return h @ params[-1]["W"] + params[-1]["b"]


def objective(params, X, y, alpha, g=jnp.tanh):
    z = forward(params, X, g)[:, 0]
    loss = jnp.mean(jax.nn.softplus(z) - y * z)
    l2 = sum(jnp.sum(layer["W"] ** 2) for layer in params)
    return loss + 0.5 * alpha * l2 / X.shape[0]


with jax.enable_x64(True):
    value, grads = jax.value_and_grad(objective)(params, X, y.astype(float), alpha)
    value, grads = float(value), jax.tree_util.tree_map(np.asarray, grads)
print(f"objective in JAX: {value:.12f}")
print(f"estimator loss_:  {clf.loss_:.12f}")

# %%
# The delta rule by hand
# ----------------------
# The forward pass stores the pre-activations ``S_l`` and outputs ``H_l``.
# The output error of a sigmoid unit with cross-entropy is
# ``delta_L = (sigmoid(z) - y) / n``; each layer's weight gradient is
# ``H_{l-1}^T delta_l`` (plus the penalty's ``alpha W_l / n``), the bias
# gradient the sum of ``delta_l`` over the samples, and the error moves one
# layer back with ``delta_{l-1} = (delta_l W_l^T) * g'(S_{l-1})``, where
# ``tanh' = 1 - tanh^2``.


def backprop(params, X, y, alpha):
    n = X.shape[0]
    H = [X]
    for layer in params[:-1]:
        H.append(np.tanh(H[-1] @ layer["W"] + layer["b"]))
    z = H[-1] @ params[-1]["W"] + params[-1]["b"]
    delta = (1 / (1 + np.exp(-z)) - y[:, None]) / n
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        W = params[l]["W"]
        grads[l] = {"W": H[l].T @ delta + alpha * W / n, "b": delta.sum(axis=0)}
        if l > 0:
            delta = (delta @ W.T) * (1 - H[l] ** 2)
    return grads


by_hand = backprop(params, X, y, alpha)
for l, (auto, hand) in enumerate(zip(grads, by_hand)):
    err = max(np.max(np.abs(auto[k] - hand[k])) for k in ("W", "b"))
    print(f"layer {l}: max |jax.grad - delta rule| = {err:.1e}")

# %%
# The two agree to rounding error. At the solution L-BFGS found, the gradient
# is small; away from it (here, with the weights perturbed) they still agree.
rng = np.random.RandomState(0)
perturbed = [
    {k: v + rng.normal(scale=0.5, size=v.shape) for k, v in p.items()} for p in params
]
with jax.enable_x64(True):
    auto = jax.grad(objective)(perturbed, X, y.astype(float), alpha)
hand = backprop(perturbed, X, y, alpha)
print(
    "largest gradient entry:",
    max(float(np.max(np.abs(a["W"]))) for a in auto),
    " max difference:",
    max(float(np.max(np.abs(np.asarray(a["W"]) - h["W"]))) for a, h in zip(auto, hand)),
)

# %%
# Vanishing gradients
# -------------------
# Every layer multiplies the backward error by ``g'(S)``. The logistic
# function's derivative is at most 1/4, tanh's at most 1, and both are near
# zero where the unit saturates; ReLU's is 1 wherever the unit is active.
# With ``jax.grad`` the gradient of each layer's weights in a deep network is
# one line away. Here a network of eight hidden layers of 32 units, with the
# initial weights drawn by Glorot's rule (as skneural and scikit-learn draw
# them), on the same data.
import itertools

import matplotlib.pyplot as plt


def glorot_init(layer_units, activation, seed=0):
    rng = np.random.RandomState(seed)
    factor = 2.0 if activation == "logistic" else 6.0
    params = []
    for fan_in, fan_out in itertools.pairwise(layer_units):
        bound = np.sqrt(factor / (fan_in + fan_out))
        params.append(
            {
                "W": rng.uniform(-bound, bound, (fan_in, fan_out)),
                "b": rng.uniform(-bound, bound, fan_out),
            }
        )
    return params


layer_units = [2] + [32] * 8 + [1]
functions = {"logistic": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu}

fig, ax = plt.subplots(figsize=(6, 4))
for name, g in functions.items():
    init = glorot_init(layer_units, name)
    with jax.enable_x64(True):
        grads = jax.grad(objective)(init, X, y.astype(float), 0.0, g)
        norms = [float(jnp.linalg.norm(layer["W"])) for layer in grads]
    ax.semilogy(range(1, len(norms) + 1), norms, "o-", label=name)
ax.set_xlabel("weight matrix (1: inputs to first hidden layer, 9: to output)")
ax.set_ylabel("norm of the weight gradient")
ax.set_title("Gradient size by layer at initialisation, 8 hidden layers")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# With the logistic activation the gradient of the first layers is orders of
# magnitude smaller than that of the last: those layers barely learn. This is
# the vanishing-gradient problem. With Glorot's initialisation, tanh and ReLU
# keep the gradient at a similar size through all the layers, which is one
# reason ReLU-like activations are the default in deep networks.
