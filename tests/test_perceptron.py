"""Perceptron: scikit-learn checks, the logic gates, and the perceptron rule."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural import NeuralClassifier
from skneural import Perceptron

MODES = ["batch", "online"]
ACTIVATIONS = ["heaviside", "sign"]

X_GATE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATES = {
    "AND": (X_GATE, np.array([0, 0, 0, 1])),
    "OR": (X_GATE, np.array([0, 1, 1, 1])),
    "NOT": (np.array([[0.0], [1.0]]), np.array([1, 0])),
}
Y_XOR = np.array([0, 1, 1, 0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([Perceptron()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ logic gates
def _fit_quietly(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


@pytest.mark.parametrize("gate", list(GATES))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_learns_gate_exactly(gate, mode, activation):
    X, y = GATES[gate]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = Perceptron(mode=mode, activation=activation, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), y)
    assert clf.mistakes_curve_[-1] == 0
    # The learned weights are a McCulloch-Pitts unit computing the gate.
    w, b = clf.coef_[0], clf.intercept_[0]
    np.testing.assert_array_equal((X @ w + b > 0).astype(int), y)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("seed", range(5))
def test_fails_on_xor(mode, activation, seed):
    clf = Perceptron(mode=mode, activation=activation, random_state=seed, max_iter=50)
    with pytest.warns(ConvergenceWarning, match="linearly separable"):
        clf.fit(X_GATE, Y_XOR)
    assert clf.n_iter_ == 50
    assert min(clf.mistakes_curve_) > 0
    assert clf.score(X_GATE, Y_XOR) <= 0.75


def test_neural_classifier_solves_xor():
    clf = NeuralClassifier(
        hidden_layer_sizes=(4,), activation="tanh", solver="lbfgs", random_state=0
    )
    assert clf.fit(X_GATE, Y_XOR).score(X_GATE, Y_XOR) == 1.0


# ----------------------------------------------------------- the perceptron rule
def test_online_rule_known_answer_by_hand():
    # AND, samples in order, eta=1, zero start. Worked by hand:
    # epoch 1: only (1,1) errs (s=0 -> 0): w=(1,1), b=1
    # epoch 2: (0,0) -> w=(1,1),b=0; (0,1) -> w=(1,0),b=-1; (1,1) -> w=(2,1),b=0
    # epoch 3: (0,1) -> w=(2,0),b=-1; (1,0) -> w=(1,0),b=-2; (1,1) -> w=(2,1),b=-1
    # epoch 4: (1,0) -> w=(1,1),b=-2; (1,1) -> w=(2,2),b=-1
    # epoch 5: (0,1) -> w=(2,1),b=-2; epoch 6: no mistakes.
    X, y = GATES["AND"]
    expected = {1: ([1, 1], 1), 2: ([2, 1], 0), 3: ([2, 1], -1), 4: ([2, 2], -1)}
    for n_epochs, (w, b) in expected.items():
        clf = Perceptron(mode="online", shuffle=False, max_iter=n_epochs)
        _fit_quietly(clf, X, y)
        np.testing.assert_array_equal(clf.coef_, [w])
        np.testing.assert_array_equal(clf.intercept_, [b])
    clf = Perceptron(mode="online", shuffle=False).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, [[2, 1]])
    np.testing.assert_array_equal(clf.intercept_, [-2])
    assert clf.mistakes_curve_ == [1, 3, 3, 2, 1, 0]
    assert clf.n_iter_ == 6


def test_batch_rule_known_answer_by_hand():
    # AND, eta=1, zero start; all four samples judged by the epoch's start weights.
    # epoch 1: s=(0,0,0,0), only (1,1) errs: w=(1,1), b=1
    # epoch 2: s=(1,2,2,3), three false positives: w=(0,0), b=-2
    # epoch 3: s=(-2,-2,-2,-2), (1,1) errs: w=(1,1), b=-1
    # epoch 4: s=(-1,0,0,1) -> (0,0,0,1): no mistakes.
    X, y = GATES["AND"]
    expected = {1: ([1, 1], 1), 2: ([0, 0], -2), 3: ([1, 1], -1)}
    for n_epochs, (w, b) in expected.items():
        clf = _fit_quietly(Perceptron(max_iter=n_epochs), X, y)
        np.testing.assert_array_equal(clf.coef_, [w])
        np.testing.assert_array_equal(clf.intercept_, [b])
    clf = Perceptron().fit(X, y)
    assert clf.mistakes_curve_ == [1, 3, 1, 0]
    np.testing.assert_array_equal(clf.coef_, [[1, 1]])
    np.testing.assert_array_equal(clf.intercept_, [-1])
    # (0, 1) and (1, 0) lie on the boundary, s == 0: the low output, class 0.
    np.testing.assert_array_equal(clf.decision_function(X), [-1, 0, 0, 1])
    np.testing.assert_array_equal(clf.predict(X), [0, 0, 0, 1])


def _reference(X, T, sw, eta, n_epochs, mode, low, high, fit_intercept=True):
    """The rule ``w_ij += eta * sw * (t_j - yhat_j) * x_i``, written out plainly."""
    n, d = X.shape
    k = T.shape[1]
    W = np.zeros((k, d))
    b = np.zeros(k)
    for _ in range(n_epochs):
        if mode == "online":
            for i in range(n):
                for j in range(k):
                    s = sum(W[j, m] * X[i, m] for m in range(d)) + b[j]
                    yhat = high if s > 0 else low
                    for m in range(d):
                        W[j, m] += eta * sw[i] * (T[i, j] - yhat) * X[i, m]
                    if fit_intercept:
                        b[j] += eta * sw[i] * (T[i, j] - yhat)
        else:
            dW, db = np.zeros_like(W), np.zeros_like(b)
            for i in range(n):
                for j in range(k):
                    s = sum(W[j, m] * X[i, m] for m in range(d)) + b[j]
                    yhat = high if s > 0 else low
                    dW[j] += eta * sw[i] * (T[i, j] - yhat) * X[i]
                    db[j] += eta * sw[i] * (T[i, j] - yhat)
            W += dW
            if fit_intercept:
                b += db
    return W, b


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_rule_matches_reference(mode, activation, n_classes, fit_intercept):
    # The multiclass units learn independently; the online units see the same
    # order (shuffle=False) and each applies the rule only where it errs.
    rng = np.random.RandomState(0)
    X = rng.randn(12, 3)
    y = rng.randint(n_classes, size=12)
    sw = rng.uniform(0.5, 2.0, size=12)
    low, high = (0.0, 1.0) if activation == "heaviside" else (-1.0, 1.0)
    onehot = np.eye(n_classes)[y] if n_classes > 2 else y[:, None]
    T = np.where(onehot == 1, high, low)
    for n_epochs in (1, 2, 3):
        clf = Perceptron(
            mode=mode,
            activation=activation,
            eta0=0.3,
            shuffle=False,
            max_iter=n_epochs,
            fit_intercept=fit_intercept,
        )
        _fit_quietly(clf, X, y, sample_weight=sw)
        W, b = _reference(X, T, sw, 0.3, n_epochs, mode, low, high, fit_intercept)
        np.testing.assert_allclose(clf.coef_, W, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(clf.intercept_, b, rtol=1e-12, atol=1e-12)
        if not fit_intercept:
            assert np.all(clf.intercept_ == 0)


def test_online_shuffle_is_reproducible_and_matters():
    X, y = make_blobs(n_samples=40, centers=2, cluster_std=3.0, random_state=0)
    fits = [
        _fit_quietly(Perceptron(mode="online", random_state=s, max_iter=3), X, y)
        for s in (0, 0, 1)
    ]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert not np.array_equal(fits[0].coef_, fits[2].coef_)
    # The batch rule does not depend on the order of the samples.
    perm = np.random.RandomState(0).permutation(40)
    a = _fit_quietly(Perceptron(max_iter=3), X, y)
    b = _fit_quietly(Perceptron(max_iter=3, random_state=5), X[perm], y[perm])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)


# ------------------------------------------------------------ encodings, stopping
@pytest.mark.parametrize("mode", MODES)
def test_sign_is_heaviside_with_doubled_weights(mode):
    # t - yhat is in {-2, 0, 2} for sign and {-1, 0, 1} for heaviside, and both
    # decide s > 0: from zero weights, sign learns exactly twice the weights.
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    params = {"mode": mode, "random_state": 0, "max_iter": 20}
    h = _fit_quietly(Perceptron(activation="heaviside", **params), X, y)
    s = _fit_quietly(Perceptron(activation="sign", **params), X, y)
    np.testing.assert_allclose(s.coef_, 2 * h.coef_)
    np.testing.assert_allclose(s.intercept_, 2 * h.intercept_)
    np.testing.assert_array_equal(s.predict(X), h.predict(X))


@pytest.mark.parametrize("mode", MODES)
def test_eta0_only_scales_the_weights(mode):
    X, y = make_blobs(n_samples=60, centers=2, random_state=1)
    a = _fit_quietly(Perceptron(mode=mode, random_state=0, eta0=1.0), X, y)
    b = _fit_quietly(Perceptron(mode=mode, random_state=0, eta0=0.25), X, y)
    np.testing.assert_allclose(b.coef_, 0.25 * a.coef_)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("mode", MODES)
def test_stops_at_first_epoch_without_mistakes(mode):
    X, y = make_blobs(n_samples=80, centers=2, cluster_std=0.5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = Perceptron(mode=mode, random_state=0, max_iter=1000).fit(X, y)
    assert 1 < clf.n_iter_ < 1000
    assert len(clf.mistakes_curve_) == clf.n_iter_
    assert clf.mistakes_curve_[-1] == 0
    assert all(m > 0 for m in clf.mistakes_curve_[:-1])
    assert clf.score(X, y) == 1.0


def test_verbose_prints_epochs(capsys):
    Perceptron(verbose=1).fit(*GATES["AND"])
    out = capsys.readouterr().out
    assert "Epoch 1, mistakes = 1" in out
    assert "Converged: epoch 4 made no mistakes." in out


# ----------------------------------------------------------------- output shapes
def test_binary_shapes_and_decision():
    X, y = make_blobs(n_samples=30, centers=2, random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = _fit_quietly(Perceptron(), X, labels)
    assert clf.coef_.shape == (1, 2) and clf.intercept_.shape == (1,)
    s = clf.decision_function(X)
    assert s.shape == (30,)
    np.testing.assert_array_equal(clf.predict(X), np.where(s > 0, "yes", "no"))
    assert isinstance(clf.n_iter_, int)
    assert all(isinstance(m, float) for m in clf.mistakes_curve_)


def test_multiclass_one_unit_per_class_argmax():
    X, y = make_blobs(n_samples=60, centers=4, random_state=0)
    clf = _fit_quietly(Perceptron(max_iter=50), X, y + 10)
    assert clf.coef_.shape == (4, 2) and clf.intercept_.shape == (4,)
    np.testing.assert_array_equal(clf.classes_, [10, 11, 12, 13])
    s = clf.decision_function(X)
    assert s.shape == (60, 4)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[s.argmax(axis=1)])


def test_multilabel_one_unit_per_label():
    X, Y = make_multilabel_classification(n_samples=50, n_classes=3, random_state=0)
    clf = _fit_quietly(Perceptron(max_iter=50), X, Y)
    assert clf.coef_.shape == (3, X.shape[1])
    s = clf.decision_function(X)
    assert s.shape == (50, 3)
    pred = clf.predict(X)
    assert pred.shape == (50, 3)
    np.testing.assert_array_equal(pred, (s > 0).astype(int))
    # Each label's unit is trained on its own: the same as fitting it alone.
    for j in range(3):
        alone = _fit_quietly(Perceptron(max_iter=50), X, Y[:, j])
        np.testing.assert_allclose(alone.coef_[0], clf.coef_[j])


@pytest.mark.parametrize("mode", MODES)
def test_sparse_input_matches_dense(mode):
    X, y = make_blobs(n_samples=40, centers=3, random_state=0)
    X[X < 0] = 0
    params = {"mode": mode, "random_state": 0, "max_iter": 5}
    dense = _fit_quietly(Perceptron(**params), X, y)
    for container in (sp.csr_matrix, sp.csc_array):
        sparse = _fit_quietly(Perceptron(**params), container(X), y)
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-12)
        np.testing.assert_allclose(
            sparse.decision_function(container(X)), dense.decision_function(X)
        )


# ---------------------------------------------------------------- sample weights
def test_batch_integer_weights_equal_repeated_samples():
    X, y = make_blobs(n_samples=30, centers=3, cluster_std=2.0, random_state=0)
    sw = np.random.RandomState(0).randint(0, 4, size=30)
    weighted = _fit_quietly(Perceptron(max_iter=30), X, y, sample_weight=sw)
    repeated = _fit_quietly(Perceptron(max_iter=30), X.repeat(sw, 0), y.repeat(sw))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-12)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-12)
    assert weighted.mistakes_curve_ == repeated.mistakes_curve_


@pytest.mark.parametrize("mode", MODES)
def test_zero_weight_equals_removal(mode):
    X, y = make_blobs(n_samples=30, centers=2, cluster_std=2.0, random_state=0)
    sw = np.ones(30)
    sw[::3] = 0
    params = {"mode": mode, "shuffle": False, "max_iter": 20}
    weighted = _fit_quietly(Perceptron(**params), X, y, sample_weight=sw)
    removed = _fit_quietly(Perceptron(**params), X[sw > 0], y[sw > 0])
    np.testing.assert_allclose(weighted.coef_, removed.coef_)
    assert weighted.n_iter_ == removed.n_iter_


@pytest.mark.parametrize("mode", MODES)
def test_class_weight_multiplies_sample_weight(mode):
    X, y = make_blobs(n_samples=40, centers=3, cluster_std=2.0, random_state=0)
    class_weight = {0: 2.0, 1: 0.5, 2: 1.0}
    params = {"mode": mode, "random_state": 0, "max_iter": 10}
    a = _fit_quietly(Perceptron(class_weight=class_weight, **params), X, y)
    sw = np.array([class_weight[c] for c in y])
    b = _fit_quietly(Perceptron(**params), X, y, sample_weight=sw)
    np.testing.assert_allclose(a.coef_, b.coef_)
    balanced = _fit_quietly(Perceptron(class_weight="balanced", **params), X[5:], y[5:])
    assert balanced.coef_.shape == (3, 2)


# -------------------------------------------------------------------- warm start
def test_warm_start_continues_the_epochs():
    X, y = make_blobs(n_samples=40, centers=3, cluster_std=2.0, random_state=0)
    once = _fit_quietly(Perceptron(max_iter=4), X, y)
    twice = Perceptron(max_iter=2, warm_start=True)
    _fit_quietly(twice, X, y)
    _fit_quietly(twice, X, y)
    np.testing.assert_allclose(twice.coef_, once.coef_)
    np.testing.assert_allclose(twice.intercept_, once.intercept_)
    assert twice.n_iter_ == 2
    cold = _fit_quietly(Perceptron(max_iter=2), X, y)
    _fit_quietly(cold, X, y)
    assert not np.allclose(cold.coef_, once.coef_)


def test_warm_start_needs_same_classes_and_features():
    X, y = make_blobs(n_samples=40, centers=3, random_state=0)
    clf = _fit_quietly(Perceptron(warm_start=True, max_iter=2), X, y)
    with pytest.raises(ValueError, match="classes"):
        clf.fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="features"):
        clf.fit(np.hstack([X, X]), y)


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "params",
    [
        {"activation": "relu"},
        {"mode": "minibatch"},
        {"eta0": 0.0},
        {"eta0": -1.0},
        {"max_iter": 0},
        {"class_weight": "auto"},
        {"shuffle": "yes"},
    ],
)
def test_invalid_parameters(params):
    with pytest.raises(InvalidParameterError):
        Perceptron(**params).fit(*GATES["AND"])


def test_bad_inputs():
    X, y = GATES["AND"]
    with pytest.raises(ValueError, match="only one class"):
        Perceptron().fit(X, np.ones(4))
    with pytest.raises(ValueError, match="Unknown label type"):
        Perceptron().fit(X, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="NaN"):
        Perceptron().fit(np.where(X == 1, np.nan, X), y)
    with pytest.raises(ValueError, match="(?i)negative"):
        Perceptron().fit(X, y, sample_weight=[1, -1, 1, 1])
    with pytest.raises(ValueError, match=re.escape("sample_weight.shape")):
        Perceptron().fit(X, y, sample_weight=[1, 1])
    Y = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="multilabel"):
        Perceptron(class_weight="balanced").fit(X, Y)
    with pytest.raises(NotFittedError):
        Perceptron().predict(X)
    clf = Perceptron().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :1])
