"""Rosenblatt's perceptron: linear threshold units trained by the perceptron rule.

Data flow of ``fit``: parameter validation -> ``validate_data`` and label
encoding (one threshold unit per class, or one unit for binary targets, or one
per label) -> targets encoded to the step's output levels -> epochs of the
perceptron rule (:func:`_batch_epoch` or :func:`_online_epoch`) until an epoch
makes no mistakes -> numpy fitted attributes.

The model is a single layer of a few units, so it is trained in numpy: a JAX
program would spend longer compiling than the whole fit takes.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._checks import check_class_weight
from ._state import unchanged_on_error

# Step functions by name, as their two output levels (low, high): a unit with
# net input s outputs ``high`` if s > 0 and ``low`` otherwise (s == 0 included),
# so both steps make the same decision and differ only in how they encode it.
STEPS = {
    "heaviside": (0.0, 1.0),
    "sign": (-1.0, 1.0),
}


def _step(S, activation):
    """The units' outputs for net inputs ``S``: ``high if s > 0 else low``."""
    low, high = STEPS[activation]
    return np.where(S > 0, high, low)


def _batch_epoch(X, T, sample_weight, coef, intercept, eta0, fit_intercept, activation):
    """One epoch of the batch perceptron rule, updating ``coef``/``intercept``.

    Every sample is classified by the weights at the start of the epoch; the
    update is the sum over the samples of Rosenblatt's rule
    ``w_ij += eta0 * sample_weight * (t_j - yhat_j) * x_i``. Returns the total
    weight of the misclassified samples (a sample is misclassified when any
    unit's output differs from its target).
    """
    S = safe_sparse_dot(X, coef.T, dense_output=True) + intercept
    E = T - _step(S, activation)
    wrong = np.any(E != 0, axis=1)
    mistakes = float(sample_weight[wrong].sum())
    if mistakes > 0:
        G = E * (eta0 * sample_weight)[:, None]
        coef += safe_sparse_dot(X.T, G, dense_output=True).T
        if fit_intercept:
            intercept += G.sum(axis=0)
    return mistakes


def _online_epoch(
    X, T, sample_weight, coef, intercept, eta0, fit_intercept, activation, order
):
    """One epoch of Rosenblatt's online rule over the rows in ``order``.

    Each sample is classified by the current weights and, when any unit errs,
    ``w_ij += eta0 * sample_weight * (t_j - yhat_j) * x_i`` is applied at once.
    ``X`` is dense or CSR with sorted, unique indices. Returns the total weight
    of the samples that caused an update.
    """
    mistakes = 0.0
    sparse = sp.issparse(X)
    for i in order:
        w = sample_weight[i]
        if w == 0:
            continue
        if sparse:
            cols = X.indices[X.indptr[i] : X.indptr[i + 1]]
            x = X.data[X.indptr[i] : X.indptr[i + 1]]
            s = coef[:, cols] @ x + intercept
        else:
            x = X[i]
            s = coef @ x + intercept
        e = T[i] - _step(s, activation)
        if not e.any():
            continue
        mistakes += w
        step = (eta0 * w) * e
        if sparse:
            coef[:, cols] += np.outer(step, x)
        else:
            coef += np.outer(step, x)
        if fit_intercept:
            intercept += step
    return float(mistakes)


class Perceptron(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron: linear threshold units and the perceptron rule.

    Each output is one threshold unit ``yhat_j = step(s_j)`` of its net input
    ``s_j = sum_i w_ji x_i + b_j`` (the bias ``b_j`` is the weight of a
    constant input 1). Starting from zero weights, the units learn by
    Rosenblatt's rule

    ``w_ji <- w_ji + eta0 * (t_j - yhat_j) * x_i``

    where the target ``t_j`` is encoded in the step's output range: {0, 1} for
    ``'heaviside'``, {-1, +1} for ``'sign'``. On linearly separable data the
    rule reaches weights that classify every training sample correctly in a
    finite number of epochs (the perceptron convergence theorem); fitting stops
    at the first epoch without mistakes. On data that is not linearly
    separable, such as XOR, it never settles: fitting stops after ``max_iter``
    epochs with a :class:`ConvergenceWarning`, keeping the last weights.

    Targets: binary labels use one unit (positive class: ``classes_[1]``);
    ``K > 2`` classes use ``K`` units, unit ``j`` trained to fire for class
    ``j`` only (one-vs-rest), and ``predict`` returns the class of the largest
    net input (the first one on ties), so a sample that several units or no
    unit claims still gets one label; a multilabel indicator matrix uses one
    unit per label, each thresholded on its own.

    The model is a single layer of a few units; it is trained in numpy float64
    (no JAX), because compiling a program would take longer than the fit.

    Parameters
    ----------
    activation : {'heaviside', 'sign'}, default='heaviside'
        The step function of the units. ``'heaviside'`` outputs 1 if ``s > 0``
        and 0 otherwise; ``'sign'`` outputs +1 if ``s > 0`` and -1 otherwise.
        In both, ``s == 0`` gives the low output (class "no"), the convention
        of the McCulloch–Pitts gates ``[x1 + x2 - 3/2 > 0]``. (Unlike
        ``numpy.sign``, the unit never outputs 0: every sample gets a class.)
        The two make the same decisions and differ only in the encoding of the
        targets; as ``t - yhat`` is twice as large in {-1, +1}, ``'sign'``
        from zero weights learns exactly twice the weights of ``'heaviside'``.

    mode : {'batch', 'online'}, default='batch'
        How the rule is applied within an epoch.

        - ``'batch'``: every sample is classified by the weights at the start
          of the epoch and the weights change once, by the sum of the rule's
          updates over the samples (the batch perceptron, which converges on
          separable data as the online one does). An epoch does not depend on
          the order of the samples, so ``shuffle`` and ``random_state`` have
          no effect and an integer ``sample_weight`` is exactly equivalent to
          repeating the sample.
        - ``'online'``: Rosenblatt's original procedure: the samples are
          presented one at a time (in an order shuffled every epoch if
          ``shuffle``) and each mistake updates the weights at once. A
          ``sample_weight`` scales that sample's step; this is not equivalent
          to repeating the sample, whose copies would be presented apart.

    eta0 : float, default=1.0
        The learning rate ``eta``. From the zero initial weights, the decisions
        learned do not depend on it (all the weights scale with ``eta0``);
        it matters only when ``warm_start`` continues from other weights.

    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data).

    shuffle : bool, default=True
        Whether to shuffle the samples every epoch in ``mode='online'``.

    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling in ``mode='online'``. Pass an int for reproducible
        output across multiple function calls. See :term:`Glossary
        <random_state>`.

    fit_intercept : bool, default=True
        Whether to learn the bias, the weight of a constant input 1. If False,
        the units' thresholds stay at 0.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, ``{class_label: weight}``, multiplying the
        sample weights (the size of a sample's update). ``'balanced'`` uses
        ``n_samples / (n_classes * np.bincount(y))``. Not supported for
        multilabel targets.

    warm_start : bool, default=False
        When True, start from the weights of the previous call to fit (the same
        classes, kind of target and number of features are required) instead
        of zeros.

    verbose : int, default=0
        If positive, print the number of mistakes of every epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets, ``arange(n_labels)``).

    coef_ : ndarray of shape (n_units, n_features)
        The weights ``w_ji`` of the units: one unit for binary targets, one per
        class for multiclass targets, one per label for multilabel targets.

    intercept_ : ndarray of shape (n_units,)
        The biases ``b_j`` (the negated thresholds) of the units.

    n_iter_ : int
        The number of epochs run by the last call to fit, the final
        mistake-free epoch included.

    mistakes_curve_ : list of float
        The number of mistakes of every epoch of the last call to fit (the
        total sample weight of the misclassified samples when weighted). It
        ends with 0 when the training data was separated.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    NeuralClassifier : A multilayer network, which solves what one layer of
        threshold units cannot (XOR).
    sklearn.linear_model.Perceptron : scikit-learn's perceptron, an SGD
        classifier with the perceptron loss.

    Notes
    -----
    Rosenblatt, F. (1958). The perceptron: a probabilistic model for
    information storage and organization in the brain. Psychological Review,
    65(6), 386–408.

    Examples
    --------
    >>> import numpy as np
    >>> from skneural import Perceptron
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> y_and = np.array([0, 0, 0, 1])
    >>> clf = Perceptron().fit(X, y_and)
    >>> clf.predict(X)
    array([0, 0, 0, 1])
    >>> clf.mistakes_curve_[-1]
    0.0
    """

    _parameter_constraints: dict = {
        "activation": [StrOptions(set(STEPS))],
        "mode": [StrOptions({"batch", "online"})],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        activation="heaviside",
        mode="batch",
        eta0=1.0,
        max_iter=1000,
        shuffle=True,
        random_state=None,
        fit_intercept=True,
        class_weight=None,
        warm_start=False,
        verbose=0,
    ):
        self.activation = activation
        self.mode = mode
        self.eta0 = eta0
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose

    # --------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Train the units by the perceptron rule.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training inputs.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The class labels, or a multilabel indicator matrix.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: each multiplies the size of its sample's
            update (``eta0 * sample_weight``). With ``mode='batch'`` an integer
            weight is exactly equivalent to repeating the sample.

        Returns
        -------
        self : object
            The fitted estimator. A call that raises (invalid input, or
            ``Floating-point under-/overflow`` when the weights overflow)
            leaves the estimator as it was before the call.
        """
        warm = self.warm_start and hasattr(self, "coef_")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            multi_output=True,
            dtype=np.float64,
            reset=not warm,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        binarizer = LabelBinarizer().fit(y)
        multilabel = binarizer.y_type_ == "multilabel-indicator"
        if not multilabel and len(binarizer.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: "
                f"{binarizer.classes_[0]!r}."
            )
        if warm and not np.array_equal(binarizer.classes_, self.classes_):
            raise ValueError(
                "warm_start needs the classes of the previous call to fit: "
                f"previously {self.classes_}, now {binarizer.classes_}."
            )
        n_units = 1 if binarizer.y_type_ == "binary" else len(binarizer.classes_)
        if warm and np.shape(self.coef_) != (n_units, X.shape[1]):
            raise ValueError(
                "warm_start needs the targets of the previous call to fit: the "
                f"weights have shape {np.shape(self.coef_)}, these targets "
                f"({binarizer.y_type_}) need {(n_units, X.shape[1])}."
            )
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

        low, high = STEPS[self.activation]
        T = np.where(binarizer.transform(y) == 1, high, low)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if self.class_weight is not None:
            check_class_weight(self.class_weight)
            if multilabel:
                raise ValueError("class_weight is not supported for multilabel y.")
            per_class = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y
            )
            sample_weight = sample_weight * per_class[np.searchsorted(self.classes_, y)]

        n_units, n_features = T.shape[1], X.shape[1]
        if warm:
            coef = np.array(self.coef_, dtype=np.float64)
            intercept = np.array(self.intercept_, dtype=np.float64)
        else:
            coef = np.zeros((n_units, n_features))
            intercept = np.zeros(n_units)

        online = self.mode == "online"
        if online and sp.issparse(X):
            X = sp.csr_matrix(X, copy=True)
            X.sum_duplicates()  # unique, sorted column indices per row
        rng = check_random_state(self.random_state)
        order = np.arange(X.shape[0])
        args = (X, T, sample_weight, coef, intercept, self.eta0, self.fit_intercept)

        self.mistakes_curve_ = []
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if online:
                if self.shuffle:
                    order = rng.permutation(X.shape[0])
                mistakes = _online_epoch(*args, self.activation, order)
            else:
                mistakes = _batch_epoch(*args, self.activation)
            self.n_iter_ += 1
            self.mistakes_curve_.append(mistakes)
            if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
                raise ValueError(
                    "Floating-point under-/overflow occurred at epoch "
                    f"#{self.n_iter_}. Scaling input data with StandardScaler "
                    "or MinMaxScaler might help."
                )
            if self.verbose:
                print(f"Epoch {self.n_iter_}, mistakes = {mistakes:g}")
            if mistakes == 0:
                if self.verbose:
                    print(f"Converged: epoch {self.n_iter_} made no mistakes.")
                break
        else:
            warnings.warn(
                f"Maximum number of epochs ({self.max_iter}) reached with "
                f"{self.mistakes_curve_[-1]:g} mistakes in the last epoch; the data "
                "may not be linearly separable.",
                ConvergenceWarning,
            )
        self.coef_ = coef
        self.intercept_ = intercept
        return self

    # ------------------------------------------------------------ prediction
    def decision_function(self, X):
        """Net inputs ``s = X @ coef_.T + intercept_`` of the units.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_units)
            The net inputs; of shape (n_samples,) for binary targets, where
            ``s > 0`` means ``classes_[1]``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        S = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        return S.ravel() if S.shape[1] == 1 else S

    def predict(self, X):
        """Predict the class (or the labels) of the samples in X.

        Binary and multilabel targets: the units' steps (``s > 0``).
        Multiclass targets: the class of the unit with the largest net input.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The predicted classes, or the multilabel indicator matrix.
        """
        S = self.decision_function(X)
        return self._label_binarizer.inverse_transform(S, threshold=0.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
