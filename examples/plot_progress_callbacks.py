"""
Training progress and scikit-learn callbacks
============================================

Follow a fit while it runs: ``verbose`` prints the loss after every epoch,
and scikit-learn's callbacks (:mod:`sklearn.callback`, scikit-learn 1.9 or
later) observe the training from outside. Here a
:class:`~sklearn.callback.ScoringMonitor` records the training and test
accuracy of :class:`skneural.NeuralClassifier` after every epoch on the
digits, and the recorded scores are plotted.
"""

# %%
# Data
# ----
# The 8x8 digits images, pixel values scaled to [0, 1], and a stratified
# 75% / 25% train/test split.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# Verbose output
# --------------
# ``verbose=1`` prints one line per epoch when the output is not a terminal
# (a log file, a CI job, or this page, whose output was captured): the same
# ``Iteration i, loss = ...`` lines as scikit-learn's ``MLPClassifier``, with
# the epoch's duration. In a terminal the same setting draws a single line
# that updates in place -- epoch, a bar, the loss and the elapsed time --
# and ``verbose=2`` prints the lines there too. With ``early_stopping=True``
# each epoch also shows its validation score.
import warnings

from sklearn.exceptions import ConvergenceWarning

from skneural import NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

clf = NeuralClassifier(
    hidden_layer_sizes=(64,),
    max_iter=8,
    early_stopping=True,
    verbose=1,
    random_state=0,
)
clf.fit(X_train, y_train)

# %%
# Recording scores with a ScoringMonitor
# --------------------------------------
# ``set_callbacks`` attaches callbacks to the estimator. A ``ScoringMonitor``
# is called after every epoch with a copy of the network holding that
# epoch's weights and the data given to ``fit``; its scorers may also look at
# other data, such as the test set here. The monitor keeps one log per fit.
from sklearn.callback import ScoringMonitor
from sklearn.metrics import get_scorer

accuracy = get_scorer("accuracy")


def test_accuracy(estimator, X, y):
    """Accuracy on the held-out test set, whatever the training data."""
    return accuracy(estimator, X_test, y_test)


monitor = ScoringMonitor(scoring={"train": accuracy, "test": test_accuracy})
clf = NeuralClassifier(
    hidden_layer_sizes=(64,), learning_rate_init=0.01, max_iter=40, random_state=0
)
clf.set_callbacks(monitor).fit(X_train, y_train)

log = monitor.get_logs()
# One row per epoch (task "epoch", numbered from 0) and one for the whole fit
# (task "fit", scoring the fitted estimator).
epochs = [row for row in log.data if row["task_name"] == "epoch"]
print(f"{len(epochs)} epochs recorded")
for row in epochs[:3] + epochs[-1:]:
    print({key: row[key] for key in ("task_name", "task_id", "train", "test")})

# %%
# The training accuracy keeps climbing while the test accuracy levels off:
# the gap between the two curves is the generalisation gap. The loss curve
# that ``verbose`` prints is in ``loss_curve_``.
import matplotlib.pyplot as plt

epoch = [row["task_id"] + 1 for row in epochs]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
ax_loss.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_)
ax_loss.set(xlabel="Epoch", ylabel="Training loss", yscale="log",
            title="loss_curve_")  # fmt: skip
ax_acc.plot(epoch, [row["train"] for row in epochs], label="train")
ax_acc.plot(epoch, [row["test"] for row in epochs], label="test")
ax_acc.set(xlabel="Epoch", ylabel="Accuracy", title="ScoringMonitor")
ax_acc.legend()
plt.show()
