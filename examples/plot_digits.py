"""
Handwritten digits: exploring the hyperparameters
=================================================

A classic handwritten-digits exercise with scikit-learn's 8 x 8 digits
(:func:`~sklearn.datasets.load_digits`, available offline). The features
are scaled on a train/test split and
:class:`skneural.NeuralClassifier` is scored with the macro-averaged F1
while one hyperparameter at a time varies:

- ``hidden_layer_sizes`` in ``(10,), (100,), (10, 5), (10, 5, 3)``,
- ``activation`` in ``identity, logistic, tanh, relu``,
- ``batch_size`` in ``10, 20, 50, 100``,
- ``max_iter`` in ``10, 20, 50, 200``.
"""

# %%
# The data
# --------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X_train, X_test, y_train, y_test, img_train, img_test = train_test_split(
    digits.data,
    digits.target,
    digits.images,
    test_size=0.3,
    stratify=digits.target,
    random_state=0,
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, image, label in zip(axes.flat, img_train, y_train):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(str(label))
    ax.set_axis_off()
fig.suptitle("Training images (8 x 8 pixels, 16 grey levels)")
fig.tight_layout()
plt.show()

# %%
# One hyperparameter at a time
# ----------------------------
# The other hyperparameters keep scikit-learn's defaults (one hidden layer of
# 100 ReLU units, Adam, batches of 200, up to 200 epochs).
defaults = {"hidden_layer_sizes": (100,), "random_state": 0}
grids = {
    "hidden_layer_sizes": [(10,), (100,), (10, 5), (10, 5, 3)],
    "activation": ["identity", "logistic", "tanh", "relu"],
    "batch_size": [10, 20, 50, 100],
    "max_iter": [10, 20, 50, 200],
}

scores = {}
for param, values in grids.items():
    scores[param] = []
    for value in values:
        clf = NeuralClassifier(**{**defaults, param: value}).fit(X_train, y_train)
        f1 = f1_score(y_test, clf.predict(X_test), average="macro")
        scores[param].append(f1)
        print(f"{param}={value!s:<10} macro F1 {f1:.3f}  ({clf.n_iter_} epochs)")

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2), sharey=True)
for ax, (param, values) in zip(axes, grids.items()):
    labels = [str(v) for v in values]
    ax.bar(labels, scores[param], color="tab:blue")
    for i, f1 in enumerate(scores[param]):
        ax.text(i, f1, f"{f1:.3f}", ha="center", va="bottom", fontsize="small")
    ax.set_title(param)
    ax.tick_params(axis="x", labelrotation=20)
axes[0].set_ylabel("macro F1 on the test set")
axes[0].set_ylim(0.8, 1.0)
fig.tight_layout()
plt.show()

# %%
# What the loops show: a narrow funnel such as ``(10, 5, 3)`` loses
# information in its three-unit layer; even the linear (``identity``)
# network does well, because the digits are nearly linearly separable after
# scaling; smaller batches mean more updates per epoch and converge in fewer
# epochs; and 10 epochs of Adam are not enough.
#
# The errors of the default network
# ---------------------------------
from sklearn.metrics import ConfusionMatrixDisplay

clf = NeuralClassifier(**defaults).fit(X_train, y_train)
y_pred = clf.predict(X_test)
print(f"test accuracy {clf.score(X_test, y_test):.3f}")

fig, ax = plt.subplots(figsize=(5, 4.5))
ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax, colorbar=False)
ax.set_title("Confusion matrix, test set")
plt.show()

# %%
# The misclassified test images, with the predicted and the true digit:
wrong = np.flatnonzero(y_pred != y_test)
fig, axes = plt.subplots(1, max(len(wrong[:8]), 1), figsize=(8, 1.6), squeeze=False)
for ax, i in zip(axes.flat, wrong[:8]):
    ax.imshow(img_test[i], cmap="gray_r")
    ax.set_title(f"{y_pred[i]} (true {y_test[i]})", fontsize="small")
for ax in axes.flat:
    ax.set_axis_off()
fig.tight_layout()
plt.show()
