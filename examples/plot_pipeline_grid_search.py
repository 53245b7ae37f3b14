"""
Pipelines and grid search
=========================

:class:`skneural.NeuralClassifier` is a scikit-learn estimator, so it goes
into a :class:`~sklearn.pipeline.Pipeline` and is tuned with
:class:`~sklearn.model_selection.GridSearchCV` like any other. Here the
pipeline scales the digits images and fits a network; the search tunes the
L2 penalty ``alpha`` and the learning rate of an
:class:`~skneural.solvers.Adam` solver object, whose parameters are nested
estimator parameters (``solver__learning_rate``).
"""

# %%
# The pipeline
# ------------
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier
from skneural.solvers import Adam

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipe = make_pipeline(
    StandardScaler(),
    NeuralClassifier(
        hidden_layer_sizes=(64,), solver=Adam(), max_iter=60, random_state=0
    ),
)
print(pipe)

# %%
# The solver object's parameters appear among the pipeline's parameters,
# prefixed by the step name and ``solver__``:
print(sorted(k for k in pipe.get_params() if "solver__" in k))

# %%
# Grid search
# -----------
# The learning rate and ``alpha`` are inputs of the compiled training program,
# not part of its structure: the whole grid reuses the program compiled for
# the first candidate, and only the first fit pays for compilation.
import numpy as np
from sklearn.model_selection import GridSearchCV

param_grid = {
    "neuralclassifier__solver__learning_rate": [3e-4, 1e-3, 3e-3, 1e-2],
    "neuralclassifier__alpha": [1e-4, 1e-2, 1.0, 10.0],
}
search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)
search.fit(X_train, y_train)

print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(
    f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}"
)

fit_times = search.cv_results_["mean_fit_time"]
print(
    f"mean fit time: first candidate {fit_times[0]:.2f} s (its first fold compiles), "
    f"others {np.mean(fit_times[1:]):.2f} s"
)

# %%
# The mean cross-validated accuracy over the grid:
import matplotlib.pyplot as plt

lrs = param_grid["neuralclassifier__solver__learning_rate"]
alphas = param_grid["neuralclassifier__alpha"]
scores = search.cv_results_["mean_test_score"].reshape(len(alphas), len(lrs))

fig, ax = plt.subplots(figsize=(5.5, 4))
image = ax.imshow(scores, cmap="viridis", origin="lower")
ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
ax.set_yticks(range(len(alphas)), [f"{v:g}" for v in alphas])
ax.set_xlabel("solver__learning_rate")
ax.set_ylabel("alpha")
for i in range(len(alphas)):
    for j in range(len(lrs)):
        ax.text(j, i, f"{scores[i, j]:.3f}", ha="center", va="center", color="w")
fig.colorbar(image, ax=ax, label="mean CV accuracy")
ax.set_title("GridSearchCV over a skneural pipeline")
fig.tight_layout()
plt.show()

# %%
# Other model-selection tools work the same way, for example
# :func:`~sklearn.model_selection.cross_val_score` on the best pipeline:
from sklearn.model_selection import cross_val_score

scores = cross_val_score(search.best_estimator_, X, y, cv=5)
print("5-fold accuracy:", np.round(scores, 3))
