"""
Dropout, batch normalisation and the gradients per layer
=========================================================

Three tools for regularising a network and keeping its training stable
(Srivastava et al., 2014; Ioffe & Szegedy, 2015), on the handwritten
digits:

- ``dropout`` zeroes hidden units at random while training, so the network
  cannot rely on any one of them;
- ``batch_norm=True`` normalises every hidden layer's input to the
  activation with the batch's statistics (running estimates at inference);
- ``grad_norm_curve_`` shows the gradient norm of every layer, epoch by
  epoch: the place to see vanishing gradients.
"""

# %%
# Dropout against overfitting
# ---------------------------
# A wide network on a small training set (300 digits) overfits: training
# accuracy reaches 1 while the test accuracy lags. Dropout narrows the gap.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skneural import GradientWarning, NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=300, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

rates = [0.0, 0.2, 0.4, 0.6]
train_acc, test_acc = [], []
for rate in rates:
    clf = NeuralClassifier(hidden_layer_sizes=(256,), dropout=rate, max_iter=150,
                           learning_rate_init=3e-3, random_state=0)
    clf.fit(X_train, y_train)
    train_acc.append(clf.score(X_train, y_train))
    test_acc.append(clf.score(X_test, y_test))
    print(f"dropout={rate:.1f}: train {train_acc[-1]:.3f}, test {test_acc[-1]:.3f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(rates, train_acc, "o-", label="train")
ax.plot(rates, test_acc, "s-", label="test")
ax.set_xlabel("dropout rate")
ax.set_ylabel("accuracy")
ax.set_title("Dropout on 300 training digits")
ax.legend()
fig.tight_layout()

# %%
# Batch normalisation and vanishing gradients
# -------------------------------------------
# Eight logistic hidden layers: the sigmoid's derivative is at most 1/4, so
# the gradient shrinks layer by layer on its way back to the input, and the
# first layers barely learn (skneural warns with a ``GradientWarning``).
# Batch normalisation keeps every layer's input to the sigmoid centred, where
# its slope is largest.
deep = dict(hidden_layer_sizes=(32,) * 8, activation="logistic", max_iter=60,
            learning_rate_init=3e-3, random_state=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", GradientWarning)
    plain = NeuralClassifier(**deep).fit(X_train, y_train)
for w in caught:
    if issubclass(w.category, GradientWarning):
        print("plain:", str(w.message)[:90], "...")
normed = NeuralClassifier(batch_norm=True, **deep).fit(X_train, y_train)
print(f"plain test accuracy {plain.score(X_test, y_test):.3f}, "
      f"with batch norm {normed.score(X_test, y_test):.3f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, clf, title in [(axes[0], plain, "plain"), (axes[1], normed, "batch_norm=True")]:
    norms = np.array(clf.grad_norm_curve_)
    for layer in range(norms.shape[1]):
        ax.semilogy(norms[:, layer], color=plt.cm.viridis(layer / norms.shape[1]),
                    label=f"layer {layer + 1}" if layer in (0, norms.shape[1] - 1) else None)
    ax.set_title(title)
    ax.set_xlabel("epoch")
axes[0].set_ylabel("gradient norm")
axes[0].legend()
fig.tight_layout()

# %%
# The loss curves
# ---------------
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(plain.loss_curve_, label="plain")
ax.plot(normed.loss_curve_, label="batch_norm=True")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()
