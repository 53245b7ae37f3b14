"""
First-layer weights on the digits, shown as images
==================================================

Each hidden unit of the first layer computes a weighted sum of the 64 pixels
of a digit. Its 64 weights can therefore be drawn as an 8 x 8 image: the
pattern of ink the unit responds to (red: ink there raises the unit's input,
blue: lowers it). :class:`skneural.plotting.WeightsDisplay` draws them, and
shows how the L2 penalty ``alpha`` shapes them.
"""

# %%
# Fit two networks
# ----------------
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skneural import NeuralClassifier
from skneural.plotting import WeightsDisplay

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

models = {}
for alpha in [1e-4, 1.0]:
    model = make_pipeline(
        MinMaxScaler(),  # pixels to [0, 1]: the weights stay comparable to images
        NeuralClassifier(
            hidden_layer_sizes=(16,),
            solver="lbfgs",
            alpha=alpha,
            max_iter=500,
            random_state=0,
        ),
    ).fit(X_train, y_train)
    models[alpha] = model
    print(f"alpha={alpha:g}: test accuracy {model.score(X_test, y_test):.3f}")

# %%
# The 16 hidden units as images
# -----------------------------
# ``WeightsDisplay.from_estimator`` accepts the pipeline and draws the
# first layer, ``coefs_[0]``, one image per unit, on a colour scale
# symmetric around zero. Passing an axes divides it into the grid.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
for ax, (alpha, model) in zip([left, right], models.items()):
    WeightsDisplay.from_estimator(model, image_shape=(8, 8), ax=ax, colorbar=False)
    score = model.score(X_test, y_test)
    ax.set_title(f"alpha={alpha:g}, test accuracy {score:.3f}", pad=22)
plt.show()

# %%
# Three things are visible. The pixels at the left and right edges are blank
# in almost every digit, so the data give their weights no gradient: with a
# weak penalty they keep their random initial values (the speckles), with a
# stronger one they decay to zero. The penalty also switches off units the
# network does not need -- a ReLU unit that never activates gets no gradient
# from the data and its weights decay to zero (the blank squares). The
# remaining units form smoother templates, parts of strokes, and the network
# generalises better.
#
# The second layer as a matrix
# ----------------------------
# Without ``image_shape`` the display draws the whole weight matrix. The
# second layer maps the 16 hidden units to the 10 output units (one per
# digit): each row shows which hidden units vote for that digit.
disp = WeightsDisplay.from_estimator(models[1.0], layer=1)
disp.axes_[0].set_xlabel("hidden unit")
disp.axes_[0].set_ylabel("output unit (digit)")
disp.figure_.set_size_inches(6, 4)
plt.show()
