"""
=====================================================
Training a whole grid search at once, and an ensemble
=====================================================

:class:`~skneural.model_selection.BatchedGridSearchCV` is scikit-learn's
:class:`~sklearn.model_selection.GridSearchCV` whose candidates are trained
together: every (candidate, fold) fit that shares the architecture runs in one
compiled program that steps all the models at once. Each model still draws
its own minibatches and stops on its own, so the search gives the same
results as scikit-learn's. See :ref:`batched_search`.

Batching pays on an accelerator, where one small network leaves the device
mostly idle; on a CPU the models' arithmetic costs the same together or one
by one, so ``batched="auto"`` (the default) batches only on a GPU or TPU.
Here ``batched=True`` forces it, to show that the results are the same; the
timings printed come from the machine that built this page.
"""

# %%
# The same search, twice
# ----------------------
# A grid over the learning rate and the L2 penalty of a small network on the
# handwritten digits: 6 candidates, 3 folds.
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier
from skneural.model_selection import BatchedGridSearchCV, fit_batched

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

estimator = NeuralClassifier(hidden_layer_sizes=(32,), max_iter=60, random_state=0)
grid = {"learning_rate_init": [1e-3, 3e-3, 1e-2], "alpha": [1e-4, 1e-1]}

tic = time.perf_counter()
batched = BatchedGridSearchCV(estimator, grid, cv=3, batched=True).fit(X_train, y_train)
t_batched = time.perf_counter() - tic
tic = time.perf_counter()
plain = GridSearchCV(estimator, grid, cv=3).fit(X_train, y_train)
t_plain = time.perf_counter() - tic

print(f"batched: {batched.n_batched_fits_} fits trained together, {t_batched:.1f} s")
print(f"plain:   {len(plain.cv_results_['params']) * 3} fits one by one, {t_plain:.1f} s")
print("same best parameters:", batched.best_params_ == plain.best_params_)
print("largest score difference:", np.abs(
    batched.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"]
).max())

# %%
# The cross-validated accuracy of every candidate; the two searches agree to
# floating-point rounding (float32 by default).
scores = batched.cv_results_["mean_test_score"].reshape(
    len(grid["alpha"]), len(grid["learning_rate_init"])
)
fig, ax = plt.subplots(figsize=(5, 3))
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(3), [str(v) for v in grid["learning_rate_init"]])
ax.set_yticks(range(2), [str(v) for v in grid["alpha"]])
ax.set_xlabel("learning_rate_init")
ax.set_ylabel("alpha")
for (i, j), value in np.ndenumerate(scores):
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="w")
fig.colorbar(image, label="mean CV accuracy")
ax.set_title("BatchedGridSearchCV on digits")
fig.tight_layout()

# %%
# An ensemble of seeds in one program
# -----------------------------------
# :func:`~skneural.model_selection.fit_batched` fits a list of estimators on
# the same data together. Ten seeds of the best candidate, averaged: the
# ensemble's probabilities are usually a little better than a typical
# member's.
best = clone(estimator).set_params(**batched.best_params_)
members = fit_batched(
    [clone(best).set_params(random_state=s) for s in range(10)], X_train, y_train,
    batched=True,
)
accuracies = [m.score(X_test, y_test) for m in members]
proba = np.mean([m.predict_proba(X_test) for m in members], axis=0)
ensemble = np.mean(members[0].classes_[proba.argmax(axis=1)] == y_test)
print(f"members: {np.mean(accuracies):.4f} mean, {np.min(accuracies):.4f} worst")
print(f"ensemble of 10: {ensemble:.4f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(10), accuracies, "o", label="members")
ax.axhline(ensemble, color="C1", label="ensemble (mean probabilities)")
ax.set_xlabel("random_state")
ax.set_ylabel("test accuracy")
ax.legend()
fig.tight_layout()
plt.show()
