"""
Deploying a model: scikit-learn's MLP and ONNX
==============================================

A network trained with skneural needs JAX to predict. This example moves one
to places without JAX: a plain scikit-learn
:class:`~sklearn.neural_network.MLPClassifier` (``to_sklearn``) and an ONNX
graph run by onnxruntime (:mod:`skneural.onnx`). It also goes the other way:
a scikit-learn MLP polished by skneural's Levenberg–Marquardt solver
(``from_sklearn``). See :ref:`deploy`.
"""

# %%
# A model to deploy
# -----------------
# Digits, standardised, and a classifier with one tanh hidden layer trained
# by L-BFGS.
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
pipe = make_pipeline(
    StandardScaler(),
    NeuralClassifier((32,), "tanh", solver="lbfgs", max_iter=100, random_state=0),
).fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# A scikit-learn MLP with the same weights
# ----------------------------------------
# ``to_sklearn`` returns a fitted ``MLPClassifier``: predicting needs only
# scikit-learn. Its probabilities equal skneural's up to rounding.
from sklearn.pipeline import Pipeline

clf = pipe[-1]
mlp = clf.to_sklearn()
sk_pipe = Pipeline([("scale", pipe[0]), ("mlp", mlp)])
diff = np.abs(sk_pipe.predict_proba(X_test) - pipe.predict_proba(X_test)).max()
print(type(mlp).__name__, "largest probability difference:", diff)

# %%
# ``to_sklearn`` refuses what the MLP cannot represent, and says so:
try:
    NeuralClassifier((8,), "gelu", max_iter=5).fit(X_train, y_train).to_sklearn()
except ValueError as exc:
    print(exc)

# %%
# ONNX
# ----
# ``import skneural.onnx`` registers the converters with skl2onnx, whose
# ``to_onnx`` then converts the whole pipeline (the scaler too) to one graph.
# ``zipmap=False`` returns the probabilities as a matrix.
import onnxruntime as ort
from skl2onnx import to_onnx

import skneural.onnx  # noqa: F401

X_test32 = X_test.astype(np.float32)
onx = to_onnx(pipe, X_test32[:1], options={id(clf): {"zipmap": False}})
sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
label, proba = sess.run(None, {sess.get_inputs()[0].name: X_test32})
print("labels equal:", bool((label == pipe.predict(X_test32)).all()))
print(
    "largest probability difference:",
    np.abs(proba - pipe.predict_proba(X_test32)).max(),
)

# %%
# From scikit-learn to skneural
# -----------------------------
# A scikit-learn MLP trained briefly by Adam, then polished by
# Levenberg–Marquardt from the same weights (``from_sklearn``, then a
# ``warm_start`` fit). The training log-loss drops further.
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier

Xs = pipe[0].transform(X_train)
adam = MLPClassifier((10,), max_iter=30, random_state=0).fit(Xs, y_train)
polished = NeuralClassifier.from_sklearn(adam)
polished.set_params(solver="lm", warm_start=True, max_iter=10).fit(Xs, y_train)
print(f"log-loss after Adam: {log_loss(y_train, adam.predict_proba(Xs)):.3g}")
print(f"after LM polishing:  {log_loss(y_train, polished.predict_proba(Xs)):.3g}")

# %%
# Size of each form
# -----------------
# The pickled estimator carries the training history and parameters; the
# ONNX file only the graph and its weights.
import pickle

import matplotlib.pyplot as plt

sizes = {
    "skneural\n(pickle)": len(pickle.dumps(clf)),
    "to_sklearn()\n(pickle)": len(pickle.dumps(mlp)),
    "ONNX": len(onx.SerializeToString()),
}
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(sizes), [s / 1024 for s in sizes.values()])
ax.set_ylabel("KiB")
ax.set_title("The same network, three files")
fig.tight_layout()
