"""NeuralClassifier and NeuralRegressor: scikit-learn's MLP surface on JAX.

The shared parameters, fitting and prediction are in :mod:`skneural._base`;
this module adds what differs between classification and regression (target
encoding, output activation, scores, ``predict_proba``).
"""

from functools import partial
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._base import BaseNeural, _output_dtype
from ._checks import check_class_weight, warn_single_class
from ._docstrings import _COMMON_ATTRS_DOC, _COMMON_PARAMS_DOC
from ._losses import LossNames
from ._state import unchanged_on_error

__all__ = ["BaseNeural", "NeuralClassifier", "NeuralRegressor"]


def _labels(output, binarizer):
    """Class labels of a classifier's network output."""
    if output.shape[1] == 1:
        output = output.ravel()
    return binarizer.inverse_transform(output)


def _accuracy(output, y, sample_weight, *, binarizer):
    """A classifier's ``score`` (accuracy) on its network output."""
    if not np.isfinite(output).all():
        return np.nan
    return accuracy_score(y, _labels(output, binarizer), sample_weight=sample_weight)


def _r2(output, y, sample_weight):
    """A regressor's ``score`` (R^2) on its network output."""
    if not np.isfinite(output).all():
        return np.nan
    if output.shape[1] == 1:
        output = output.ravel()
    return r2_score(y, output, sample_weight=sample_weight)


class NeuralClassifier(ClassifierMixin, BaseNeural):
    __doc__ = (
        """Multilayer perceptron classifier trained by compiled JAX code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    same parameters, methods and fitted attributes. It minimises the log-loss
    (softmax for multiclass, one sigmoid unit for binary targets, one sigmoid
    per label for a multilabel indicator matrix) with gradients from
    ``jax.grad``; a stepwise solver runs each epoch as one compiled program.

    Parameters
    ----------"""
        + _COMMON_PARAMS_DOC
        + """
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplying the sample weights: a dict
        ``{label: weight}`` or 'balanced' (``n_samples / (n_classes *
        count(label))``, computed on the data given to ``fit``; not available
        for ``partial_fit``). Not supported for multilabel targets.

    entropy_reg : float, default=0.0
        Entropy regularisation ``lambda``: the regularised loss
        ``L - lambda * sum_k p_k log p_k`` adds ``lambda`` times the entropy of
        the predicted probabilities to the loss, favouring confident
        predictions (a negative value penalises confidence instead, as the
        "confidence penalty" does).

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels.
"""
        + _COMMON_ATTRS_DOC
        + """
    See Also
    --------
    NeuralRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : The scikit-learn original.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skneural import NeuralClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(),
    ...                     NeuralClassifier(max_iter=500, random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        device=None,
        init="glorot_uniform",
        dropout=0.0,
        input_dropout=0.0,
        input_noise=0.0,
        batch_norm=False,
        l1=0.0,
        clip_norm=None,
        class_weight=None,
        entropy_reg=0.0,
    ):
        self.class_weight = class_weight
        self.entropy_reg = entropy_reg
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            device=device,
            init=init,
            dropout=dropout,
            input_dropout=input_dropout,
            input_noise=input_noise,
            batch_norm=batch_norm,
            l1=l1,
            clip_norm=clip_norm,
        )

    _parameter_constraints: dict = {
        **BaseNeural._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "entropy_reg": [Real],
    }

    @property
    def _entropy_reg(self):
        return self.entropy_reg

    def _class_weighted(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        check_class_weight(self.class_weight)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets.")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: the "
                "class frequencies of the whole data are unknown. Pass a dict of "
                "class weights, e.g. from sklearn.utils.class_weight."
                "compute_class_weight('balanced', classes=..., y=y_all)."
            )
        labels = self._label_binarizer.inverse_transform(
            y.astype(float).ravel() if y.shape[1] == 1 else y.astype(float)
        )
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=labels)
        per_sample = weights[np.searchsorted(self.classes_, labels)]
        if sample_weight is None:
            return per_sample
        return sample_weight * per_sample

    @property
    def _loss_name(self):
        # One sigmoid unit (binary) or one per label (multilabel): binary log-loss.
        if getattr(self, "_label_binarizer", None) is not None:
            if self._label_binarizer.y_type_ != "multiclass":
                return "binary_log_loss"
        return "log_loss"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
            warn_single_class(self._label_binarizer)
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _derive_missing_state(self):
        if getattr(self, "_label_binarizer", None) is None and hasattr(
            self, "classes_"
        ):
            self._label_binarizer = self._binarizer()
        super()._derive_missing_state()

    def _binarizer(self):
        """The label binarizer; for weights and ``classes_`` set by hand, one
        derived from ``classes_`` and the output layer (one logistic unit:
        binary; a softmax: multiclass; several logistic units: multilabel)."""
        binarizer = getattr(self, "_label_binarizer", None)
        if binarizer is not None:
            return binarizer
        n_outputs = np.asarray(self.coefs_[-1]).shape[1]
        if n_outputs > 1 and getattr(self, "out_activation_", None) == "logistic":
            return LabelBinarizer().fit(np.eye(n_outputs, dtype=int))
        return LabelBinarizer().fit(self.classes_)

    def _validation_scorer(self):
        return partial(_accuracy, binarizer=self._binarizer())

    def _decode_targets(self, y):
        return self._label_binarizer.inverse_transform(y)

    def _labels(self, output):
        return _labels(output, self._binarizer())

    def predict(self, X):
        """Predict using the multilayer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        check_is_fitted(self)
        return self._labels(self._output(self._validate_X_predict(X)))

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first
            call, ignored afterwards.

        Returns
        -------
        self : object
            The updated estimator. A call that raises leaves the estimator as
            it was before the call.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            warn_single_class(self._label_binarizer)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        # exp of the float64 log-probabilities, so that predict_log_proba is
        # log(predict_proba) to rounding (and 1 - p keeps its digits near 1).
        return np.exp(self._log_proba(X)).astype(_output_dtype(X), copy=False)

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, computed in float64 from the network's
            output before the output activation (a log-softmax, or a
            log-sigmoid for one unit), so it stays finite where the
            probability rounds to 0.
        """
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        log_prob = self._log_proba(X)
        # log(predict_proba(X)) exactly where the probability is representable
        # (so that both rank the classes alike, ties included); the float64
        # log-probability where it underflows to 0.
        prob = np.exp(log_prob)
        with np.errstate(divide="ignore"):
            log_prob = np.where(prob > 0, np.log(prob), log_prob)
        return log_prob.astype(_output_dtype(X), copy=False)

    def _log_proba(self, X):
        """float64 log-probabilities of validated ``X`` from the network's
        output before the output activation."""
        z = self._output(X, logits=True).astype(np.float64)
        if z.shape[1] > 1 and self._out_activation() == "softmax":
            # Shifted by the row's maximum before the log-sum-exp is taken
            # off, so that large logits keep the small terms: z - lse(z)
            # directly rounds lse to max(z) when |z| is far above 1.
            shifted = z - z.max(axis=1, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        # logistic: log p = -log(1 + exp(-z)), log(1 - p) = -log(1 + exp(z))
        log_prob = -np.logaddexp(0.0, -z)
        if z.shape[1] == 1:
            log_prob = np.hstack([-np.logaddexp(0.0, z), log_prob])
        return log_prob

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NeuralRegressor(RegressorMixin, BaseNeural):
    __doc__ = (
        """Multilayer perceptron regressor trained by compiled JAX code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    same parameters, methods and fitted attributes, identity output (exp for
    the Poisson loss), one or several outputs, gradients from ``jax.grad``.

    Parameters
    ----------
    loss : {'squared_error', 'absolute_error', 'huber', 'poisson'}, \
default='squared_error'
        The loss: half squared error (as scikit-learn), absolute error, Huber
        with threshold 1 (quadratic within 1 of the target, linear beyond), or
        half Poisson deviance with an exp output (targets must be
        non-negative)."""
        + _COMMON_PARAMS_DOC
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRS_DOC
        + """
    See Also
    --------
    NeuralClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : The scikit-learn original.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skneural import NeuralRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = NeuralRegressor(solver="lbfgs", max_iter=500, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseNeural._parameter_constraints,
        "loss": [LossNames("regression")],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        device=None,
        init="glorot_uniform",
        dropout=0.0,
        input_dropout=0.0,
        input_noise=0.0,
        batch_norm=False,
        l1=0.0,
        clip_norm=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            device=device,
            init=init,
            dropout=dropout,
            input_dropout=input_dropout,
            input_noise=input_noise,
            batch_norm=batch_norm,
            l1=l1,
            clip_norm=clip_norm,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "Poisson regression."
            )
        return X, y

    def _validation_scorer(self):
        return _r2

    def predict(self, X):
        """Predict using the multilayer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        check_is_fitted(self)
        y_pred = self._output(self._validate_X_predict(X))
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : object
            The updated estimator. A call that raises leaves the estimator as
            it was before the call.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
