"""
Comparing the training algorithms
=================================

One network, one data set, every solver: the error history (training loss
after each epoch, or each iteration for L-BFGS) and the final test error of
:class:`skneural.NeuralClassifier` trained by

- plain minibatch gradient descent (``"sgd"`` with ``momentum=0``),
- SGD with Nesterov momentum (``"sgd"``, scikit-learn's default momentum),
- the adaptive methods RMSProp, AdaGrad, AdaDelta and Adam (the default),
- RProp and QuickProp, full-batch rules (``batch_size`` = all samples),
- the whole-batch methods L-BFGS, conjugate gradient (Fletcher-Reeves with
  restarts) and Levenberg-Marquardt,
- and an optax transformation passed as it is (``optax.lion``).

Every update rule is in :ref:`solvers`.

The data are the handwritten digits, scaled; the network has one hidden
layer of 64 ReLU units. Every solver runs for 100 epochs (iterations).
"""

# %%
# Training
# --------
# Each model is fitted twice and the second fit is timed, so that the times
# do not include JAX's compilation of the training program (see the user
# guide's section on compilation).
import time
import warnings

import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier
from skneural.solvers import ConjugateGradient

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

common = {
    "hidden_layer_sizes": (64,),
    "max_iter": 100,
    "n_iter_no_change": 100,  # run every epoch: full error histories
    "random_state": 0,
}
n_train = len(X_train)
solvers = {
    "gradient descent": {"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.05},
    "SGD + Nesterov": {"solver": "sgd", "learning_rate_init": 0.01},
    "RMSProp": {"solver": "rmsprop"},
    "AdaGrad": {"solver": "adagrad"},
    "AdaDelta": {"solver": "adadelta"},
    "Adam": {"solver": "adam", "learning_rate_init": 1e-3},
    "RProp": {"solver": "rprop", "batch_size": n_train},
    "QuickProp": {"solver": "quickprop", "batch_size": n_train},
    "L-BFGS": {"solver": "lbfgs"},
    "CG (Fletcher-Reeves)": {
        "solver": ConjugateGradient(beta="fletcher-reeves", restart=20)
    },
    "Levenberg-Marquardt": {"solver": "lm"},
    "Lion (optax)": {"solver": optax.lion(1e-4)},
}

results = {}
for name, params in solvers.items():
    model = NeuralClassifier(**common, **params)
    model.fit(X_train, y_train)  # compiles
    start = time.perf_counter()
    model.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    results[name] = (model, 1 - model.score(X_test, y_test), elapsed)
    print(
        f"{name:>20}: test error {results[name][1]:.3f}, "
        f"final loss {model.loss_curve_[-1]:.4f}, {elapsed:.2f} s"
    )

# %%
# Error histories
# ---------------
# :class:`~skneural.plotting.LossCurveDisplay` draws each ``loss_curve_``.
# Note the units on the x axis: an epoch of a minibatch solver is
# ``ceil(1257 / 200) = 7`` updates, one of RProp or QuickProp (full batch) is
# one update, and an iteration of a whole-batch solver is one update after a
# line search (or, for Levenberg-Marquardt, a damped Gauss-Newton solve) over
# the whole training set.
import matplotlib.pyplot as plt

from skneural.plotting import LossCurveDisplay

fig, ax = plt.subplots(figsize=(7, 4.5))
for name, (model, _, _) in results.items():
    style = {"linestyle": "--"} if "optax" in name else {}
    LossCurveDisplay.from_estimator(model, ax=ax, name=name, line_kw=style)
ax.set_yscale("log")
ax.set_xlabel("epoch (iteration for the whole-batch solvers)")
ax.set_title("Training loss, load_digits, hidden_layer_sizes=(64,)")
ax.legend(fontsize="small", ncol=2)
fig.tight_layout()
plt.show()

# %%
# Test error and time
# -------------------
# On a data set this small the whole-batch methods (L-BFGS, conjugate
# gradient, Levenberg-Marquardt) drive the training loss down fastest, in a
# few dozen iterations, each of which sees all the data; Levenberg-Marquardt
# needs the fewest iterations, each the most expensive (a Jacobian and a
# linear solve). Among the minibatch
# methods, those that scale each weight's step by its gradient history
# (RMSProp, AdaDelta) reach far lower training losses in 100 epochs than plain
# gradient descent, which is the slowest. The test errors, however, differ
# by a few test images only: once the training loss is low, generalisation
# depends more on the network and its regularisation than on the solver.
names = list(results)
errors = [results[n][1] for n in names]
times = [results[n][2] for n in names]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
ax1.barh(names, errors, color="tab:red")
ax1.set_xlabel("test error")
ax1.invert_yaxis()
ax2.barh(names, times, color="tab:blue")
ax2.set_xlabel("fit time (s, compiled)")
for ax, values, fmt in [(ax1, errors, "{:.3f}"), (ax2, times, "{:.2f}")]:
    for i, v in enumerate(values):
        ax.text(v, i, " " + fmt.format(v), va="center", fontsize="small")
    ax.set_xlim(0, max(values) * 1.25)
fig.tight_layout()
plt.show()

# %%
# The number of weight updates behind each curve: a minibatch epoch is
# ``ceil(n / batch_size)`` updates, a whole-batch iteration one. The
# ``solver`` parameter holds a name of :data:`skneural.solvers.SOLVERS`, a
# solver object or an optax transformation (always stepwise).
from skneural.solvers import SOLVERS, WholeBatchSolver


def is_whole_batch(solver):
    if isinstance(solver, str):
        return issubclass(SOLVERS[solver], WholeBatchSolver)
    return isinstance(solver, WholeBatchSolver)


for name, (model, _, _) in results.items():
    whole = is_whole_batch(model.solver)
    batch = min(200, n_train) if model.batch_size == "auto" else model.batch_size
    per_epoch = 1 if whole else int(np.ceil(n_train / batch))
    print(f"{name:>20}: {model.n_iter_} epochs/iterations, "
          f"{model.n_iter_ * per_epoch} updates")
