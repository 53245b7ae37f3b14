"""Plotting helpers in scikit-learn's ``Display`` style.

:class:`LossCurveDisplay` draws the training loss (and, with early stopping,
the validation score) of a fitted network; :class:`WeightsDisplay` draws the
incoming weights of the units of one layer, as images or as a matrix.

They need matplotlib (``pip install "skneural[plot]"``), which is imported
only when something is drawn: ``import skneural.plotting`` works without it.
Both accept skneural's estimators, scikit-learn's ``MLPClassifier`` /
``MLPRegressor`` (same fitted attributes) and pipelines ending in either.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["LossCurveDisplay", "WeightsDisplay"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skneural.plotting needs matplotlib: pip install 'skneural[plot]'"
        ) from exc
    return plt


def _final_estimator(estimator):
    """The network itself: the last step of a pipeline, else ``estimator``."""
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def _is_whole_batch(estimator):
    """Whether ``loss_curve_`` counts iterations rather than epochs.

    A skneural estimator asks its solver object (the ``whole_batch`` attribute
    of :class:`skneural.solvers.Solver`); for scikit-learn's MLP estimators,
    whose whole-batch solver is 'lbfgs', the name is looked up in
    :data:`skneural.solvers.SOLVERS`.
    """
    from .solvers import SOLVERS

    if hasattr(estimator, "_solver_object"):  # skneural: names -> objects
        solver = estimator._solver_object()
    else:
        solver = getattr(estimator, "solver", None)
        if isinstance(solver, str):
            solver = SOLVERS.get(solver)
    return bool(getattr(solver, "whole_batch", False))


def _twin_of(ax):
    """An existing ``twinx`` of ``ax``, so repeated plots share it."""
    for other in ax.get_shared_x_axes().get_siblings(ax):
        if other is not ax and other.get_position().bounds == ax.get_position().bounds:
            return other
    return None


class LossCurveDisplay:
    """Training loss curve of a fitted network, with validation scores.

    Build it with :meth:`from_estimator`; the constructor takes the values to
    draw. The loss is drawn on ``ax_``; validation scores (recorded by
    ``early_stopping=True``) on a second y axis, ``validation_ax_``, sharing
    the x axis, because a loss and an accuracy or R² have different scales.
    Several displays can be drawn on the same ``ax`` to compare estimators.

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        Training loss after every epoch (or solver iteration).
    validation_scores : array-like of shape (n_iter,), default=None
        Validation score after every epoch, or None.
    estimator_name : str, default=None
        Name used in the legend.
    xlabel : str, default="Epoch"
        Label of the x axis.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The loss curve.
    validation_line_ : matplotlib Line2D or None
        The validation scores, or None when there are none.
    ax_ : matplotlib Axes
        Axes of the loss curve.
    validation_ax_ : matplotlib Axes or None
        Twin axes of the validation scores, or None.
    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    WeightsDisplay : The weights of one layer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skneural import NeuralClassifier
    >>> from skneural.plotting import LossCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NeuralClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> disp = LossCurveDisplay.from_estimator(clf)
    """

    def __init__(
        self, *, loss_curve, validation_scores=None, estimator_name=None, xlabel="Epoch"
    ):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name
        self.xlabel = xlabel

    def plot(
        self,
        ax=None,
        *,
        name=None,
        log_scale=False,
        show_validation=True,
        line_kw=None,
        validation_line_kw=None,
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes when None.
        name : str, default=None
            Name for the legend; ``estimator_name`` when None.
        log_scale : bool, default=False
            Logarithmic loss axis.
        show_validation : bool, default=True
            Draw the validation scores when there are any.
        line_kw : dict, default=None
            Keyword arguments of the loss curve's ``ax.plot``.
        validation_line_kw : dict, default=None
            Keyword arguments of the validation curve's ``plot``.

        Returns
        -------
        display : LossCurveDisplay
            This display, with the attributes set.
        """
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        loss = np.asarray(self.loss_curve, dtype=float)
        epochs = np.arange(1, loss.size + 1)
        line_kw = {"label": "training loss" if name is None else name} | (line_kw or {})
        (self.line_,) = ax.plot(epochs, loss, **line_kw)
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel("Training loss")
        if log_scale:
            ax.set_yscale("log")

        self.validation_line_ = self.validation_ax_ = None
        scores = self.validation_scores
        if show_validation and scores is not None and len(scores):
            scores = np.asarray(scores, dtype=float)
            twin = _twin_of(ax) or ax.twinx()
            label = "validation score" if name is None else f"{name} (validation)"
            kw = {
                "label": label,
                "linestyle": "--",
                "color": self.line_.get_color(),
            } | (validation_line_kw or {})
            (self.validation_line_,) = twin.plot(
                np.arange(1, scores.size + 1), scores, **kw
            )
            twin.set_ylabel("Validation score")
            self.validation_ax_ = twin

        handles = [
            line
            for a in (ax, self.validation_ax_ or _twin_of(ax))
            if a is not None
            for line in a.get_lines()
            if not line.get_label().startswith("_")
        ]
        if handles:
            # Above the axes, off the curves (inside, 'best' would avoid only
            # the loss curves, not the validation curves of the twin axes).
            ax.legend(
                handles, [h.get_label() for h in handles], loc="lower left",
                bbox_to_anchor=(0.0, 1.01), ncol=min(len(handles), 2),
                frameon=False, borderaxespad=0.0,
            )  # fmt: skip
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax=None,
        name=None,
        log_scale=False,
        show_validation=True,
        line_kw=None,
        validation_line_kw=None,
    ):
        """Draw the loss curve of a fitted estimator.

        Parameters
        ----------
        estimator : estimator or Pipeline
            A fitted :class:`~skneural.NeuralClassifier`,
            :class:`~skneural.NeuralRegressor`, scikit-learn MLP, or a
            pipeline ending in one. It needs a ``loss_curve_`` attribute
            (scikit-learn's MLPs fitted with ``solver='lbfgs'`` have none).
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes when None.
        name : str, default=None
            Name for the legend; none when None.
        log_scale : bool, default=False
            Logarithmic loss axis.
        show_validation : bool, default=True
            Draw ``validation_scores_`` when the estimator has them.
        line_kw, validation_line_kw : dict, default=None
            Keyword arguments of the two ``plot`` calls.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        est = _final_estimator(estimator)
        check_is_fitted(est)
        loss_curve = getattr(est, "loss_curve_", None)
        if loss_curve is None:
            raise ValueError(
                f"{type(est).__name__} has no loss_curve_ to plot (scikit-learn's "
                "MLPs record none with solver='lbfgs')."
            )
        display = cls(
            loss_curve=loss_curve,
            validation_scores=getattr(est, "validation_scores_", None),
            estimator_name=name,
            xlabel="Iteration" if _is_whole_batch(est) else "Epoch",
        )
        return display.plot(
            ax=ax,
            log_scale=log_scale,
            show_validation=show_validation,
            line_kw=line_kw,
            validation_line_kw=validation_line_kw,
        )


class WeightsDisplay:
    """Incoming weights of the units of one layer, as images or a matrix.

    With ``image_shape`` (for instance ``(8, 8)`` for scikit-learn's digits),
    every unit's weight vector is drawn as an image of the input, one small
    axes per unit: the pattern the unit responds to. Without it, the whole
    weight matrix is drawn as one heat map (units by inputs). Colours are on a
    symmetric scale around zero shared by all units.

    Parameters
    ----------
    weights : ndarray of shape (n_inputs, n_units)
        The layer's weight matrix (``coefs_[layer]``).
    image_shape : tuple of int, default=None
        Shape to reshape each unit's ``n_inputs`` weights to; None draws the
        matrix.
    units : int or array-like of int, default=None
        The units to draw: the first ``units`` units, or these indices; all
        when None.
    layer : int, default=0
        Index of the layer, for the title.

    Attributes
    ----------
    images_ : list of matplotlib AxesImage
        One image per unit drawn (image mode) or a single image (matrix mode).
    axes_ : ndarray of matplotlib Axes
        The axes drawn on.
    colorbar_ : matplotlib Colorbar or None
        The colour bar.
    figure_ : matplotlib Figure
        The figure.

    See Also
    --------
    LossCurveDisplay : The training loss curve.
    """

    def __init__(self, *, weights, image_shape=None, units=None, layer=0):
        self.weights = weights
        self.image_shape = image_shape
        self.units = units
        self.layer = layer

    def _unit_indices(self, n_units):
        units = self.units
        if units is None:
            return np.arange(n_units)
        if isinstance(units, Integral):
            if units < 1:
                raise ValueError(f"units must be a positive integer, got {units}.")
            return np.arange(min(int(units), n_units))
        units = np.asarray(units, dtype=int).ravel()
        if units.size == 0 or units.min() < -n_units or units.max() >= n_units:
            raise ValueError(f"units must be indices into {n_units} units.")
        return units

    def plot(
        self,
        ax=None,
        *,
        n_cols=None,
        cmap="RdBu_r",
        vmax=None,
        colorbar=True,
        imshow_kw=None,
    ):
        """Draw the weights.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw. None: a new figure. In image mode, a single Axes is
            divided into a grid of small axes, and an array of Axes is used
            as it is (one per unit, in order); in matrix mode a single Axes.
        n_cols : int, default=None
            Columns of the grid in image mode; about ``sqrt(n_units)`` when
            None.
        cmap : str or Colormap, default="RdBu_r"
            Colour map: red for positive, blue for negative weights.
        vmax : float, default=None
            Colour scale ``[-vmax, vmax]``; the largest absolute weight drawn
            when None.
        colorbar : bool, default=True
            Add a colour bar.
        imshow_kw : dict, default=None
            Extra keyword arguments of ``imshow``.

        Returns
        -------
        display : WeightsDisplay
            This display, with the attributes set.
        """
        plt = _pyplot()
        W = np.asarray(self.weights, dtype=float)
        if W.ndim != 2:
            raise ValueError(f"weights must be 2-d, got shape {W.shape}.")
        n_inputs = W.shape[0]
        units = self._unit_indices(W.shape[1])
        W = W[:, units]
        if vmax is None:
            vmax = float(np.max(np.abs(W))) or 1.0
        kw = {"cmap": cmap, "vmin": -vmax, "vmax": vmax} | (imshow_kw or {})

        if self.image_shape is None:
            if ax is None:
                _, ax = plt.subplots()
            elif not hasattr(ax, "imshow"):
                raise ValueError("Without image_shape, ax must be a single Axes.")
            image = ax.imshow(W.T, aspect="auto", interpolation="nearest", **kw)
            ax.set_xlabel("Input")
            ax.set_ylabel("Unit")
            ax.set_title(f"Weights of layer {self.layer}")
            self.images_ = [image]
            self.axes_ = np.array([ax])
            self.figure_ = ax.figure
        else:
            shape = tuple(int(s) for s in self.image_shape)
            if int(np.prod(shape)) != n_inputs:
                raise ValueError(
                    f"image_shape {shape} does not match the {n_inputs} inputs of "
                    f"layer {self.layer}."
                )
            n = units.size
            n_cols = int(n_cols or np.ceil(np.sqrt(n)))
            n_rows = int(np.ceil(n / n_cols))
            if ax is None:
                fig, axes = plt.subplots(
                    n_rows,
                    n_cols,
                    figsize=(1.2 * n_cols + 1, 1.2 * n_rows),
                    squeeze=False,
                )
            elif hasattr(ax, "get_subplotspec"):
                fig = ax.figure
                grid = ax.get_subplotspec().subgridspec(n_rows, n_cols)
                ax.set_axis_off()
                axes = np.array(
                    [
                        [fig.add_subplot(grid[r, c]) for c in range(n_cols)]
                        for r in range(n_rows)
                    ]
                )
            else:
                axes = np.asarray(ax, dtype=object)
                if axes.size < n:
                    raise ValueError(
                        f"ax holds {axes.size} axes; {n} units are to be drawn."
                    )
                fig = axes.flat[0].figure
            flat = axes.ravel()
            self.images_ = []
            for i, a in enumerate(flat):
                a.set_xticks([])
                a.set_yticks([])
                if i >= n:
                    a.set_axis_off()
                    continue
                self.images_.append(
                    a.imshow(W[:, i].reshape(shape), interpolation="nearest", **kw)
                )
                a.set_title(str(units[i]), fontsize="small", pad=2)
            self.axes_ = axes
            self.figure_ = fig
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = self.figure_.colorbar(
                self.images_[0], ax=list(self.axes_.ravel()), shrink=0.8
            )
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        layer=0,
        image_shape=None,
        units=None,
        ax=None,
        n_cols=None,
        cmap="RdBu_r",
        vmax=None,
        colorbar=True,
        imshow_kw=None,
    ):
        """Draw the weights of one layer of a fitted estimator.

        Parameters
        ----------
        estimator : estimator or Pipeline
            A fitted :class:`~skneural.NeuralClassifier`,
            :class:`~skneural.NeuralRegressor`, scikit-learn MLP, or a
            pipeline ending in one.
        layer : int, default=0
            Which of ``coefs_`` to draw; 0 is the first layer, whose weights
            live in input space and can be drawn as images.
        image_shape : tuple of int, default=None
            Reshape each unit's weights to this shape, e.g. ``(8, 8)``; None
            draws the weight matrix.
        units : int or array-like of int, default=None
            The first ``units`` units, or these indices; all when None.
        ax, n_cols, cmap, vmax, colorbar, imshow_kw
            As in :meth:`plot`.

        Returns
        -------
        display : WeightsDisplay
            The display, drawn.
        """
        est = _final_estimator(estimator)
        check_is_fitted(est, "coefs_")
        display = cls(
            weights=est.coefs_[layer],
            image_shape=image_shape,
            units=units,
            layer=layer,
        )
        return display.plot(
            ax=ax,
            n_cols=n_cols,
            cmap=cmap,
            vmax=vmax,
            colorbar=colorbar,
            imshow_kw=imshow_kw,
        )
