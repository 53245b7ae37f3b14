"""skneural.plotting: Display helpers, drawn on matplotlib's Agg backend."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier, NeuralRegressor
from skneural.solvers import SOLVERS, WholeBatchSolver

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from skneural.plotting import LossCurveDisplay, WeightsDisplay

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:400]), y[:400]


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return NeuralClassifier(hidden_layer_sizes=(6,), max_iter=8, random_state=0).fit(
        X, y
    )


def test_import_does_not_need_matplotlib():
    code = (
        "import sys, skneural, skneural.plotting\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_loss_curve_from_estimator(fitted):
    disp = LossCurveDisplay.from_estimator(fitted, name="net")
    x, y = disp.line_.get_data()
    np.testing.assert_allclose(y, fitted.loss_curve_)
    np.testing.assert_array_equal(x, np.arange(1, len(fitted.loss_curve_) + 1))
    assert disp.validation_line_ is None and disp.validation_ax_ is None
    assert disp.ax_.get_xlabel() == "Epoch"
    assert disp.figure_ is disp.ax_.figure
    assert [t.get_text() for t in disp.ax_.get_legend().get_texts()] == ["net"]


def test_loss_curve_with_validation_scores_and_shared_axes(digits):
    X, y = digits
    params = {
        "hidden_layer_sizes": (6,),
        "max_iter": 6,
        "early_stopping": True,
        "random_state": 0,
    }
    ours = make_pipeline(StandardScaler(), NeuralClassifier(**params)).fit(X, y)
    theirs = MLPClassifier(**params).fit(X, y)

    _, ax = plt.subplots()
    first = LossCurveDisplay.from_estimator(ours, ax=ax, name="skneural")
    second = LossCurveDisplay.from_estimator(theirs, ax=ax, name="sklearn")
    np.testing.assert_allclose(
        first.validation_line_.get_ydata(), ours[-1].validation_scores_
    )
    assert first.validation_ax_ is second.validation_ax_  # one twin axis, reused
    assert first.ax_ is second.ax_ is ax
    assert len(ax.get_legend().get_texts()) == 4

    hidden = LossCurveDisplay.from_estimator(ours, show_validation=False)
    assert hidden.validation_line_ is None


def test_loss_curve_options(fitted):
    disp = LossCurveDisplay.from_estimator(
        fitted, log_scale=True, line_kw={"color": "red", "label": "custom"}
    )
    assert disp.ax_.get_yscale() == "log"
    assert disp.line_.get_label() == "custom"
    assert disp.line_.get_color() == "red"


def test_loss_curve_whole_batch_axis_label():
    X = np.random.RandomState(0).normal(size=(40, 3))
    reg = NeuralRegressor(
        hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5, random_state=0
    ).fit(X, X.sum(axis=1))
    disp = LossCurveDisplay.from_estimator(reg)
    assert disp.ax_.get_xlabel() == "Iteration"


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_loss_curve_axis_label_follows_the_solver_kind(name):
    """Every whole-batch solver counts iterations, every stepwise one epochs,
    whether named or given as an object; scikit-learn's names too."""
    from skneural.plotting import _is_whole_batch

    whole = issubclass(SOLVERS[name], WholeBatchSolver)
    assert _is_whole_batch(NeuralRegressor(solver=name)) is whole
    assert _is_whole_batch(NeuralRegressor(solver=SOLVERS[name]())) is whole
    if name in ("adam", "sgd", "lbfgs"):
        assert _is_whole_batch(MLPRegressor(solver=name)) is whole


def test_loss_curve_lm_is_labelled_by_iteration():
    X = np.random.RandomState(0).normal(size=(40, 3))
    reg = NeuralRegressor(
        hidden_layer_sizes=(4,), solver="lm", max_iter=5, random_state=0
    ).fit(X, X.sum(axis=1))
    assert LossCurveDisplay.from_estimator(reg).ax_.get_xlabel() == "Iteration"


@pytest.mark.parametrize(
    "name, xlabel",
    [("lbfgs", "Iteration"), ("lm", "Iteration"), ("cg", "Iteration"),
     ("bfgs", "Iteration"), ("newton-cg", "Iteration"), ("adam", "Epoch")],
)
def test_loss_curve_xlabel_asks_the_solver(name, xlabel):
    """The x label comes from the solver's ``whole_batch`` attribute."""
    assert SOLVERS[name].whole_batch is (xlabel == "Iteration")
    X = np.random.RandomState(0).normal(size=(40, 3))
    reg = NeuralRegressor(
        hidden_layer_sizes=(4,), solver=name, max_iter=5, random_state=0
    ).fit(X, X.sum(axis=1))
    assert LossCurveDisplay.from_estimator(reg).ax_.get_xlabel() == xlabel
    if name in ("lbfgs", "adam"):  # scikit-learn's MLP: the answer by name
        from skneural.plotting import _is_whole_batch

        assert _is_whole_batch(MLPRegressor(solver=name)) is (xlabel == "Iteration")


def test_loss_curve_legend_is_off_the_curves(digits):
    """With early stopping the legend does not cover the axes (where both the
    loss and the validation curves are drawn)."""
    X, y = digits
    clf = NeuralClassifier(hidden_layer_sizes=(6,), max_iter=12, early_stopping=True,
                           random_state=0).fit(X, y)  # fmt: skip
    disp = LossCurveDisplay.from_estimator(clf, name="net")
    fig = disp.figure_
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = disp.ax_.get_legend().get_window_extent(renderer)
    axes = disp.ax_.get_window_extent(renderer)
    assert legend.y0 >= axes.y1 - 1  # above the plotting area
    assert [t.get_text() for t in disp.ax_.get_legend().get_texts()] == [
        "net", "net (validation)"
    ]


def test_loss_curve_errors(digits):
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(NeuralClassifier())
    X, y = digits
    lbfgs = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3)
    with pytest.raises(ValueError, match="no loss_curve_"):
        LossCurveDisplay.from_estimator(lbfgs.fit(X, y))


def test_loss_curve_constructor_and_plot():
    disp = LossCurveDisplay(
        loss_curve=[3.0, 2.0, 1.0], validation_scores=[0.1, 0.5, 0.7]
    )
    assert not hasattr(disp, "ax_")
    disp.plot()
    np.testing.assert_allclose(disp.validation_line_.get_ydata(), [0.1, 0.5, 0.7])


def test_weights_images(fitted):
    disp = WeightsDisplay.from_estimator(fitted, image_shape=(8, 8))
    assert len(disp.images_) == 6
    assert disp.axes_.shape == (2, 3)  # about sqrt(6) columns
    np.testing.assert_allclose(
        disp.images_[2].get_array(), fitted.coefs_[0][:, 2].reshape(8, 8)
    )
    vmin, vmax = disp.images_[0].get_clim()
    assert vmin == -vmax == -np.abs(fitted.coefs_[0]).max()
    assert disp.colorbar_ is not None

    disp = WeightsDisplay.from_estimator(fitted, image_shape=(8, 8), units=5)
    assert disp.axes_.shape == (2, 3) and len(disp.images_) == 5
    assert not disp.axes_[1, 2].axison  # the spare axes is switched off


def test_weights_images_on_given_axes(fitted):
    fig, (left, _) = plt.subplots(1, 2)
    disp = WeightsDisplay.from_estimator(
        fitted, image_shape=(8, 8), units=[5, 1], ax=left, n_cols=2, colorbar=False
    )
    assert disp.figure_ is fig and disp.colorbar_ is None
    assert [im.axes.get_title() for im in disp.images_] == ["5", "1"]

    _, axes = plt.subplots(2, 2)
    disp = WeightsDisplay.from_estimator(fitted, image_shape=(8, 8), units=3, ax=axes)
    assert len(disp.images_) == 3
    with pytest.raises(ValueError, match="axes"):
        WeightsDisplay.from_estimator(fitted, image_shape=(8, 8), ax=axes)


def test_weights_matrix(fitted):
    disp = WeightsDisplay.from_estimator(fitted, layer=1, colorbar=False)
    (image,) = disp.images_
    np.testing.assert_allclose(image.get_array(), fitted.coefs_[1].T)
    assert "layer 1" in disp.axes_[0].get_title()


def test_weights_errors(fitted):
    with pytest.raises(ValueError, match="image_shape"):
        WeightsDisplay.from_estimator(fitted, image_shape=(7, 7))
    with pytest.raises(ValueError, match="units"):
        WeightsDisplay.from_estimator(fitted, units=[99])
    with pytest.raises(NotFittedError):
        WeightsDisplay.from_estimator(NeuralClassifier())
