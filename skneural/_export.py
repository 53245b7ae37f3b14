"""Moving fitted networks between skneural and scikit-learn's MLPs.

:meth:`~skneural.NeuralClassifier.to_sklearn` returns a fitted
:class:`~sklearn.neural_network.MLPClassifier` (or ``MLPRegressor``) with the
same weights, and :meth:`~skneural.NeuralClassifier.from_sklearn` builds a
fitted skneural estimator from a fitted scikit-learn MLP. Both copy the
arrays, so the two models never share memory.

scikit-learn's MLP is one activation ('identity', 'logistic', 'tanh' or
'relu') for every hidden layer, a plain affine map per layer, and the losses
log-loss (classifier), squared error and Poisson deviance (regressor). A
skneural model outside that is refused with an error naming what the MLP
cannot represent; :mod:`skneural.onnx` exports every skneural model.
"""

import copy

import numpy as np
from sklearn.base import ClassifierMixin, is_classifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils.validation import check_is_fitted

from ._activations import Activation, layer_kind
from ._state import start_history
from .solvers import SOLVERS, WholeBatchSolver

#: skneural activation names (aliases included) -> scikit-learn MLP's name.
MLP_ACTIVATIONS = {
    "identity": "identity",
    "linear": "identity",
    "logistic": "logistic",
    "sigmoid": "logistic",
    "tanh": "tanh",
    "relu": "relu",
}

#: Losses scikit-learn's MLPRegressor has (the classifier's is log-loss).
MLP_REGRESSION_LOSSES = ("squared_error", "poisson")

#: Solvers scikit-learn's MLP has.
MLP_SOLVERS = ("lbfgs", "sgd", "adam")

#: Constructor parameters that skneural's estimators and scikit-learn's MLPs
#: share, with the same meaning.
SHARED_PARAMS = (
    "alpha",
    "batch_size",
    "learning_rate",
    "learning_rate_init",
    "power_t",
    "max_iter",
    "shuffle",
    "random_state",
    "tol",
    "warm_start",
    "momentum",
    "nesterovs_momentum",
    "early_stopping",
    "validation_fraction",
    "beta_1",
    "beta_2",
    "epsilon",
    "n_iter_no_change",
    "max_fun",
)

#: Fitted attributes copied both ways (when the source has them).
FITTED_ATTRIBUTES = (
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "n_iter_",
    "t_",
    "loss_",
    "best_loss_",
    "best_validation_score_",
    "n_features_in_",
    "feature_names_in_",
    "classes_",
)

_ONNX_HINT = (
    " Export the model with skneural.onnx (ONNX) instead, which represents "
    "every skneural network."
)


def _mlp_activation(net):
    """scikit-learn's name for the hidden activation of ``net``, or raise."""
    names = []
    for a in net.activations:
        kind = layer_kind(a)
        if kind is not None:
            what = {
                "prelu": "PReLU layers (learned negative slopes)",
                "rrelu": "RReLU layers (randomised negative slopes)",
                "maxout": "maxout layers",
            }[kind]
            raise ValueError(
                f"scikit-learn's MLP cannot represent {what}: its hidden layers "
                "use one of the activations 'identity', 'logistic', 'tanh' or "
                "'relu'." + _ONNX_HINT
            )
        if isinstance(a, Activation):
            if a.params:
                raise ValueError(
                    f"scikit-learn's MLP cannot represent the activation {a!r}: "
                    "its activations take no arguments." + _ONNX_HINT
                )
            a = a.name
        if not isinstance(a, str):
            raise ValueError(
                f"scikit-learn's MLP cannot represent the callable activation "
                f"{a!r}: it has the activations 'identity', 'logistic', 'tanh' "
                "and 'relu' only." + _ONNX_HINT
            )
        if a not in MLP_ACTIVATIONS:
            raise ValueError(
                f"scikit-learn's MLP cannot represent the activation {a!r}: it "
                "has 'identity', 'logistic', 'tanh' and 'relu' only." + _ONNX_HINT
            )
        names.append(MLP_ACTIVATIONS[a])
    if len(set(names)) > 1:
        raise ValueError(
            "scikit-learn's MLP cannot represent per-layer activations "
            f"{tuple(names)}: it uses one activation for every hidden layer."
            + _ONNX_HINT
        )
    # No hidden layer: the activation is never applied.
    return names[0] if names else "relu"


def _mlp_solver(solver, solver_object):
    """The scikit-learn MLP solver closest to skneural's ``solver``."""
    if isinstance(solver, str):
        name = solver
    else:
        name = next((k for k, v in SOLVERS.items() if type(solver) is v), None)
    if name in MLP_SOLVERS:
        return name
    # A refit of the exported model needs a solver scikit-learn has.
    return "lbfgs" if isinstance(solver_object, WholeBatchSolver) else "adam"


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value


def to_sklearn(est):
    """A fitted scikit-learn MLP equal to the fitted skneural ``est``.

    See :meth:`skneural.NeuralClassifier.to_sklearn`.
    """
    check_is_fitted(est)
    net = est._layer_activations
    if net.batch_norm:
        raise ValueError(
            "scikit-learn's MLP cannot represent batch normalisation (batch_norm="
            "True): its layers are plain affine maps." + _ONNX_HINT
        )
    activation = _mlp_activation(net)
    classifier = is_classifier(est)
    if not classifier and est.loss not in MLP_REGRESSION_LOSSES:
        raise ValueError(
            f"scikit-learn's MLPRegressor cannot represent loss={est.loss!r}: its "
            f"losses are {MLP_REGRESSION_LOSSES}." + _ONNX_HINT
        )
    params = {name: getattr(est, name) for name in SHARED_PARAMS}
    params.update(
        hidden_layer_sizes=tuple(int(c.shape[1]) for c in est.coefs_[:-1]),
        activation=activation,
        solver=_mlp_solver(est.solver, est._solver_object()),
        verbose=bool(est.verbose),
    )
    if classifier:
        mlp = MLPClassifier(**params)
    else:
        mlp = MLPRegressor(loss=est.loss, **params)
    mlp.coefs_ = [np.array(c) for c in est.coefs_]
    mlp.intercepts_ = [np.array(b) for b in est.intercepts_]
    for name in FITTED_ATTRIBUTES:
        if hasattr(est, name):
            setattr(mlp, name, _copy(getattr(est, name)))
    mlp.loss_curve_ = list(getattr(est, "loss_curve_", None) or [])
    mlp.validation_scores_ = _copy(getattr(est, "validation_scores_", None))
    if classifier:
        mlp._label_binarizer = copy.deepcopy(est._label_binarizer)
    # What scikit-learn's own fit leaves for a later warm start (the best
    # weights are read only with early stopping: no second copy otherwise).
    mlp._no_improvement_count = int(getattr(est, "_no_improvement_count", 0))
    if mlp.early_stopping:
        mlp._best_coefs = [c.copy() for c in mlp.coefs_]
        mlp._best_intercepts = [b.copy() for b in mlp.intercepts_]
    return mlp


def _set_fitted_mlp_state(est, coefs, intercepts, **attributes):
    """Give ``est`` the fitted state of a plain MLP with these weights.

    The attributes that skneural's ``fit`` writes and that ``predict``,
    ``score``, ``partial_fit`` and a ``warm_start`` fit read: the weights,
    empty per-layer extra parameters and state (no PReLU slopes, no batch
    normalisation), the training history and stopping bookkeeping. A
    ``partial_fit`` or ``warm_start`` fit then starts a fresh optimiser state
    from these weights, with any solver.

    Parameters
    ----------
    est : NeuralClassifier or NeuralRegressor
        Unfitted estimator whose parameters describe the network (plain
        activations, no batch normalisation).
    coefs, intercepts : list of ndarray
        Weights and biases of each layer.
    **attributes
        Fitted attributes to set as they are: ``n_outputs_``,
        ``out_activation_``, ``n_features_in_``, ``classes_``,
        ``_label_binarizer``, ``loss_curve_``, ...
    """
    n_hidden = len(coefs) - 1
    est.coefs_ = [np.array(c) for c in coefs]
    est.intercepts_ = [np.array(b) for b in intercepts]
    est.layer_params_ = [{} for _ in range(n_hidden)]
    est.layer_state_ = [{} for _ in range(n_hidden)]
    est.n_layers_ = len(coefs) + 1
    est.n_iter_ = 0
    est.t_ = 0
    start_history(est)
    for name, value in attributes.items():
        setattr(est, name, value)
    return est


def from_sklearn(cls, mlp):
    """A fitted ``cls`` (skneural estimator) equal to the fitted MLP ``mlp``.

    See :meth:`skneural.NeuralClassifier.from_sklearn`.
    """
    classifier = issubclass(cls, ClassifierMixin)
    expected = MLPClassifier if classifier else MLPRegressor
    if not isinstance(mlp, expected):
        raise TypeError(
            f"{cls.__name__}.from_sklearn expects a fitted "
            f"sklearn.neural_network.{expected.__name__}, got "
            f"{type(mlp).__name__}."
        )
    check_is_fitted(mlp)
    params = {name: getattr(mlp, name) for name in SHARED_PARAMS}
    params.update(
        hidden_layer_sizes=tuple(int(c.shape[1]) for c in mlp.coefs_[:-1]),
        activation=mlp.activation,
        solver=mlp.solver,
        verbose=mlp.verbose,
        dtype=np.dtype(mlp.coefs_[0].dtype).name,
    )
    if not classifier:
        params["loss"] = mlp.loss
    est = cls(**params)
    attributes = {
        name: _copy(getattr(mlp, name))
        for name in FITTED_ATTRIBUTES
        if hasattr(mlp, name)
    }
    for name in ("loss_curve_", "validation_scores_"):
        if getattr(mlp, name, None) is not None:
            attributes[name] = list(getattr(mlp, name))
    attributes["_no_improvement_count"] = int(getattr(mlp, "_no_improvement_count", 0))
    if classifier:
        attributes["_label_binarizer"] = copy.deepcopy(mlp._label_binarizer)
    return _set_fitted_mlp_state(est, mlp.coefs_, mlp.intercepts_, **attributes)


class SklearnConversionMixin:
    """``to_sklearn`` and ``from_sklearn`` for the skneural estimators."""

    def to_sklearn(self):
        """A fitted scikit-learn MLP with this model's weights.

        Returns an :class:`~sklearn.neural_network.MLPClassifier` (from a
        classifier) or :class:`~sklearn.neural_network.MLPRegressor` with
        copies of ``coefs_``, ``intercepts_``, the classes and label
        binarizer, the output activation and the other fitted attributes
        (``n_iter_``, ``loss_``, ``loss_curve_``, ``n_features_in_``,
        ``feature_names_in_``, ...), whose ``predict`` and ``predict_proba``
        equal this model's up to floating-point rounding. It needs only
        scikit-learn (and numpy) to predict.

        The shared constructor parameters are copied (``alpha``,
        ``batch_size``, ``learning_rate_init``, ``max_iter``, ...);
        ``hidden_layer_sizes`` is the fitted architecture; ``activation``
        becomes scikit-learn's name for it ('linear' is 'identity',
        'sigmoid' is 'logistic'); ``solver`` is the same name where
        scikit-learn has it ('adam', 'sgd', 'lbfgs') and otherwise 'adam' for
        stepwise solvers and 'lbfgs' for whole-batch ones, which only matters
        if the returned model is trained again. Options that only act during
        training (``dropout``, ``input_dropout``, ``input_noise``, ``l1``,
        ``clip_norm``, ``class_weight``, ``entropy_reg``, ``init``, ``dtype``,
        ``device``) do not change the fitted function and are not carried
        over.

        Returns
        -------
        mlp : MLPClassifier or MLPRegressor
            The fitted scikit-learn model.

        Raises
        ------
        ValueError
            When scikit-learn's MLP cannot represent the network: an
            activation other than 'identity', 'logistic', 'tanh' and 'relu'
            (or their aliases), different activations per layer, PReLU, RReLU
            or maxout layers, batch normalisation, or a regression loss other
            than 'squared_error' and 'poisson'. :mod:`skneural.onnx` exports
            those models.

        See Also
        --------
        from_sklearn : The other direction.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skneural import NeuralClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = NeuralClassifier((10,), solver="lbfgs", random_state=0).fit(X, y)
        >>> mlp = clf.to_sklearn()
        >>> type(mlp).__name__
        'MLPClassifier'
        >>> bool((mlp.predict(X) == clf.predict(X)).all())
        True
        """
        return to_sklearn(self)

    @classmethod
    def from_sklearn(cls, mlp):
        """A fitted skneural estimator with a scikit-learn MLP's weights.

        The constructor parameters shared with scikit-learn's MLP are copied
        (``hidden_layer_sizes``, ``activation``, ``solver``, ``alpha``,
        ``learning_rate_init``, ...; ``loss`` for the regressor), ``dtype``
        is the dtype of ``mlp.coefs_``, and the fitted attributes are copies
        of ``mlp``'s, so ``predict`` and ``predict_proba`` equal ``mlp``'s up
        to floating-point rounding. The result is ready for ``partial_fit``
        and for a ``warm_start=True`` fit with any skneural solver, starting
        from ``mlp``'s weights (with a fresh optimiser state), e.g.
        ``.set_params(solver="lm", warm_start=True).fit(X, y)`` to polish an
        Adam-trained MLP with Levenberg–Marquardt.

        Parameters
        ----------
        mlp : MLPClassifier or MLPRegressor
            A fitted scikit-learn MLP: an ``MLPClassifier`` for
            ``NeuralClassifier.from_sklearn``, an ``MLPRegressor`` for
            ``NeuralRegressor.from_sklearn``.

        Returns
        -------
        estimator : NeuralClassifier or NeuralRegressor
            The fitted skneural estimator.

        Raises
        ------
        TypeError
            When ``mlp`` is not of the matching scikit-learn class.
        sklearn.exceptions.NotFittedError
            When ``mlp`` is not fitted.

        See Also
        --------
        to_sklearn : The other direction.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.neural_network import MLPClassifier
        >>> from skneural import NeuralClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> mlp = MLPClassifier((10,), solver="lbfgs", max_iter=1000,
        ...                     random_state=0).fit(X, y)
        >>> clf = NeuralClassifier.from_sklearn(mlp)
        >>> bool((clf.predict(X) == mlp.predict(X)).all())
        True
        >>> clf = clf.set_params(solver="bfgs", warm_start=True).fit(X, y)
        """
        return from_sklearn(cls, mlp)
