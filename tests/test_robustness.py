"""Robustness: bad input, divergence, reproducibility and chunked prediction.

A user mistake must end in a scikit-learn-style error (ValueError or
TypeError) that names the problem, raised by validation code, never an error
from inside JAX. Input that scikit-learn's MLPs accept must fit and predict
finite values of the right shape and dtype, with every solver.

The property-based tests (hypothesis) draw the inputs and run on a
representative subset of the solvers (:data:`SUBSET`); a cheap table-driven
test covers every solver of :data:`skneural.solvers.SOLVERS`. Every new data
shape compiles new programs, so the data come in a few shapes only
(:data:`N_SAMPLES` x :data:`N_FEATURES`), the networks are tiny and the fits
short: the file runs in about a minute on two cores. For a thorough search,
raise the number of examples per property test, e.g.
``SKNEURAL_MAX_EXAMPLES=300 pytest tests/test_robustness.py`` (a few minutes).
"""

import inspect
import os
import re
import traceback
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning

import skneural._predict as estimators
from skneural import NeuralClassifier, NeuralRegressor
from skneural.solvers import SGD, SOLVERS, StepwiseSolver, WholeBatchSolver

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::skneural.GradientWarning"),
]

#: The solvers the property-based tests draw from: two stepwise (one
#: adaptive), a quasi-Newton and a least-squares method.
SUBSET = ("adam", "sgd", "lbfgs", "lm")
STEPWISE = sorted(n for n, c in SOLVERS.items() if issubclass(c, StepwiseSolver))
WHOLE_BATCH = sorted(n for n, c in SOLVERS.items() if issubclass(c, WholeBatchSolver))
N_SAMPLES = (8, 13)
N_FEATURES = (1, 3)
KINDS = ("classifier", "regressor")

PROPERTY = settings(
    max_examples=int(os.environ.get("SKNEURAL_MAX_EXAMPLES", 12)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def make(kind, solver="adam", **params):
    """A tiny, short-lived estimator: every test here fits dozens of them."""
    estimator = NeuralClassifier if kind == "classifier" else NeuralRegressor
    params = {"hidden_layer_sizes": (2,), "max_iter": 3, "random_state": 0, **params}
    return estimator(solver=solver, **params)


# ------------------------------------------------------------------- checks
_INTERNAL_FILE = re.compile(r"[/\\](jax|jaxlib|optax)[/\\]")
_INTERNAL_MESSAGE = re.compile(r"docs\.jax\.dev|jaxlib|XlaRuntimeError")


def assert_user_error(exc):
    """``exc`` is the error scikit-learn would raise for a user mistake: a
    ValueError or TypeError raised outside JAX, and no JAX error in the chain
    of exceptions that its traceback shows."""
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    raised_in = traceback.extract_tb(exc.__traceback__)[-1].filename
    assert not _INTERNAL_FILE.search(raised_in), f"{exc!r} raised in {raised_in}"
    while exc is not None:
        assert not type(exc).__module__.startswith(("jax", "optax")), repr(exc)
        assert not _INTERNAL_MESSAGE.search(str(exc)), str(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


@contextmanager
def user_error(match):
    """Expect a user-facing ValueError/TypeError whose message matches."""
    with pytest.raises((ValueError, TypeError), match=match) as info:
        yield info
    assert_user_error(info.value)


def check_fitted(model, X, y, out_dtype=None):
    """Predictions on ``X``: finite, of ``y``'s shape, of the right dtype.

    ``out_dtype`` is the regressor's expected output dtype (the input's float
    dtype, as scikit-learn's MLPRegressor returns).
    """
    pred = model.predict(X)
    y = np.asarray(y)
    assert pred.shape == y.shape
    assert all(np.isfinite(c).all() for c in model.coefs_ + model.intercepts_)
    if isinstance(model, NeuralClassifier) and y.ndim == 2:  # multilabel
        assert pred.dtype.kind in "biu" and set(np.unique(pred)) <= {0, 1}
    elif isinstance(model, NeuralClassifier):
        assert pred.dtype.kind == y.dtype.kind
        assert set(np.unique(pred)) <= set(np.unique(y))
    if isinstance(model, NeuralClassifier):
        proba = model.predict_proba(X)
        n_classes = y.shape[1] if y.ndim == 2 else len(model.classes_)
        assert proba.shape == (len(y), n_classes)
        assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
        if y.ndim == 1:
            np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    else:
        assert np.isfinite(pred).all()
        if out_dtype is not None:
            assert pred.dtype == out_dtype


# --------------------------------------------------------------- strategies
X_DTYPES = (np.float32, np.float64, np.float16, np.int8, np.int64, np.uint8, np.bool_)


def _floats(dtype, bound=1e30, **kwargs):
    """Floats representable in ``dtype``, of magnitude at most ``bound``."""
    dtype = np.dtype(dtype)
    bound = float(dtype.type(min(bound, float(np.finfo(dtype).max))))
    return st.floats(-bound, bound, width=8 * dtype.itemsize, **kwargs)


@st.composite
def matrices(draw, dtypes=X_DTYPES):
    """A small finite matrix of one of a few shapes and any numeric dtype."""
    shape = (draw(st.sampled_from(N_SAMPLES)), draw(st.sampled_from(N_FEATURES)))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    elements = _floats(dtype) if dtype.kind == "f" else None
    return draw(hnp.arrays(dtype, shape, elements=elements))


def _dataframe(X):
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


#: How X reaches the estimator: everything scikit-learn's MLPs accept.
CONTAINERS = {
    "ndarray": lambda X: X,
    "list": lambda X: X.tolist(),
    "dataframe": _dataframe,
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
}

#: Label sets: integers (negative, large, non-contiguous), strings, booleans.
LABEL_SETS = st.one_of(
    st.lists(st.integers(-(2**40), 2**40), min_size=2, max_size=3, unique=True),
    st.lists(
        st.text("abz_ -é", min_size=1, max_size=3), min_size=2, max_size=3, unique=True
    ),
    st.just([False, True]),
    st.just([0.0, 1.0]),
)


@st.composite
def class_labels(draw, n_samples):
    """Labels drawn from one label set (possibly only one class of it)."""
    classes = np.array(draw(LABEL_SETS))
    index = draw(
        hnp.arrays(np.intp, n_samples, elements=st.integers(0, len(classes) - 1))
    )
    return classes[index]


@st.composite
def multilabel_indicators(draw, n_samples):
    width = draw(st.sampled_from([2, 3]))
    dtype = draw(st.sampled_from([np.int64, np.bool_]))
    return draw(hnp.arrays(dtype, (n_samples, width), elements=st.sampled_from([0, 1])))


@st.composite
def targets(draw, n_samples):
    """Regression targets: one or two outputs, floats or integers."""
    shape = draw(st.sampled_from([(n_samples,), (n_samples, 2)]))
    dtype = np.dtype(draw(st.sampled_from([np.float64, np.float32, np.int64])))
    elements = _floats(dtype, 1e3) if dtype.kind == "f" else st.integers(-1000, 1000)
    return draw(hnp.arrays(dtype, shape, elements=elements))


def _one_class(y):
    return y.ndim == 1 and len(np.unique(y)) < 2


def _check_one_class(model, X, y):
    """A single class: fitted with a warning, predicted for every sample, and
    two probability columns, as scikit-learn's MLPClassifier gives."""
    with pytest.warns(RuntimeWarning, match="single class"):
        model.fit(X, y)
    pred = model.predict(X)
    assert pred.shape == np.shape(y) and (pred == np.asarray(y)[0]).all()
    proba = model.predict_proba(X)
    assert proba.shape == (len(pred), 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


# ---------------------------------------------- bad input, property-based
@PROPERTY
@given(data=st.data())
def test_any_numeric_matrix_in_any_container(data):
    """Floats of every width, integers and booleans, as an array, a list, a
    DataFrame or a CSR/CSC matrix: fit and predict like scikit-learn's MLPs."""
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    solver = data.draw(st.sampled_from(SUBSET), label="solver")
    X = data.draw(matrices(), label="X")
    container = data.draw(st.sampled_from(sorted(CONTAINERS)), label="container")
    if container in ("csr", "csc") and X.dtype == np.float16:
        container = "ndarray"  # scipy.sparse has no float16
    if kind == "classifier":
        y = data.draw(class_labels(len(X)), label="y")
    else:
        y = data.draw(targets(len(X)), label="y")
    Xc = CONTAINERS[container](X)
    model = make(kind, solver)
    if kind == "classifier" and _one_class(y):
        _check_one_class(model, Xc, y)
        return
    model.fit(Xc, y)
    float32_in = X.dtype == np.float32 and container != "list"
    check_fitted(model, Xc, y, np.float32 if float32_in else np.float64)


@PROPERTY
@given(data=st.data())
def test_classifier_labels(data):
    """Integer (negative, non-contiguous), string and boolean labels, and
    multilabel indicator matrices; a single class is fitted as scikit-learn's
    MLPClassifier fits it (with a warning)."""
    solver = data.draw(st.sampled_from(SUBSET), label="solver")
    X = data.draw(matrices(dtypes=(np.float64,)), label="X")
    if data.draw(st.booleans(), label="multilabel"):
        y = data.draw(multilabel_indicators(len(X)), label="y")
    else:
        y = data.draw(class_labels(len(X)), label="y")
    model = make("classifier", solver)
    if _one_class(y):
        _check_one_class(model, X, y)
        return
    model.fit(X, y)
    check_fitted(model, X, y)
    if y.ndim == 1:
        np.testing.assert_array_equal(model.classes_, np.unique(y))


@PROPERTY
@given(data=st.data())
def test_extreme_values_constant_columns_duplicated_rows(data):
    """Magnitudes from 1e-30 to 1e30 (inputs and targets), constant columns
    and repeated rows: training may stop with a ConvergenceWarning, but the
    model predicts finite values."""
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    solver = data.draw(st.sampled_from(SUBSET), label="solver")
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    n, f = data.draw(st.sampled_from(N_SAMPLES)), data.draw(st.sampled_from(N_FEATURES))
    base = data.draw(hnp.arrays(np.float64, (n, f), elements=st.floats(-1, 1)))
    X = base * 10.0 ** data.draw(st.integers(-30, 30), label="X exponent")
    constant = data.draw(hnp.arrays(np.bool_, f), label="constant columns")
    X[:, constant] = X[0, constant]
    rows = data.draw(
        hnp.arrays(np.intp, n, elements=st.integers(0, n - 1)), label="rows"
    )
    X = X[rows].astype(dtype)  # rows drawn with replacement: duplicates
    if kind == "classifier":
        y = np.arange(n) % 2
    else:
        y = (base[rows, 0] + 0.5) * 10.0 ** data.draw(
            st.integers(-30, 30), label="y exp"
        )
    model = make(kind, solver).fit(X, y)
    check_fitted(model, X, y, np.dtype(dtype))


@PROPERTY
@given(data=st.data())
def test_sample_weights(data):
    """Zeros on some rows and non-uniform weights work; a negative weight or
    all-zero weights are errors."""
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    solver = data.draw(st.sampled_from(SUBSET), label="solver")
    X = data.draw(matrices(dtypes=(np.float64, np.float32)), label="X")
    y = np.arange(len(X)) % 2 if kind == "classifier" else X.sum(axis=1)
    w = data.draw(hnp.arrays(np.float64, len(X), elements=st.floats(0, 1e3)), label="w")
    if data.draw(st.booleans(), label="zeros"):
        w[data.draw(hnp.arrays(np.bool_, len(X)), label="zeroed")] = 0
    negative = data.draw(st.booleans(), label="negative")
    if negative:
        w[data.draw(st.integers(0, len(X) - 1))] = -data.draw(st.floats(1e-6, 1e3))
    model = make(kind, solver)
    if negative:
        with user_error("[Nn]egative"):
            model.fit(X, y, sample_weight=w)
    elif not w.any():
        with user_error("non-zero"):
            model.fit(X, y, sample_weight=w)
    else:
        check_fitted(model.fit(X, y, sample_weight=w), X, y, X.dtype)


@PROPERTY
@given(data=st.data())
def test_zero_weight_equals_removing_the_row(data):
    """With a deterministic full-batch fit, a zero-weight row changes nothing."""
    solver = data.draw(st.sampled_from(["lbfgs", "sgd"]), label="solver")
    X = data.draw(matrices(dtypes=(np.float64,)), label="X")
    X = np.clip(X, -1e3, 1e3)
    y = np.sin(X).sum(axis=1)
    w = data.draw(hnp.arrays(np.float64, len(X), elements=st.floats(0.1, 10)))
    # Three rows, so that the reduced data have one of two shapes too.
    dropped = data.draw(
        st.lists(st.integers(0, len(X) - 1), min_size=3, max_size=3, unique=True),
        label="dropped",
    )
    drop = np.isin(np.arange(len(X)), dropped)
    w[drop] = 0
    params = {"batch_size": len(X), "shuffle": False} if solver == "sgd" else {}
    kept = make("regressor", solver, **params).fit(X, y, sample_weight=w)
    params = {"batch_size": int((~drop).sum())} if solver == "sgd" else {}
    removed = make("regressor", solver, shuffle=False, **params)
    removed.fit(X[~drop], y[~drop], sample_weight=w[~drop])
    np.testing.assert_allclose(
        kept.predict(X), removed.predict(X), rtol=1e-5, atol=1e-6
    )


def test_zero_weight_row_with_an_overflowing_loss_changes_nothing():
    """Found by test_zero_weight_equals_removing_the_row: SGD on unscaled
    inputs (float32) grows the zero-weight row's loss to inf, and 0 * inf
    makes the objective NaN, which stopped training at epoch 3; without the
    row the same fit ran its 3 epochs. Rows of zero weight now enter the
    objective as zeros: both fits take the same steps (the loss grows past the
    divergence threshold in both, at the same epoch)."""
    X = np.array([[-977.0]] + [[809.0]] * 7)
    y = np.sin(X).sum(axis=1)
    w = np.r_[0.0, 0.0, 0.0, np.ones(5)]
    params = {"shuffle": False, "solver": "sgd"}
    kept = make("regressor", batch_size=8, **params).fit(X, y, sample_weight=w)
    removed = make("regressor", batch_size=5, **params).fit(X[3:], y[3:])
    assert kept.n_iter_ == removed.n_iter_
    np.testing.assert_allclose(kept.loss_curve_, removed.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(kept.predict(X), removed.predict(X), rtol=1e-5)


@pytest.fixture(scope="module")
def fitted():
    """A classifier and a regressor per number of features (predict tests)."""
    rng = np.random.RandomState(0)
    models = {}
    for f in N_FEATURES:
        X = _dataframe(rng.randn(N_SAMPLES[0], f))
        models["classifier", f] = make("classifier").fit(X, np.arange(len(X)) % 3)
        models["regressor", f] = make("regressor").fit(X, X.sum(axis=1))
    return models


@PROPERTY
@given(data=st.data())
def test_non_finite_values_are_rejected(data, fitted):
    """NaN or +-inf anywhere in X (any container), y or sample_weight is a
    ValueError at fit, and in X at predict, that says so."""
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    X = data.draw(matrices(dtypes=(np.float64, np.float32)), label="X")
    y = np.arange(len(X)) % 2 if kind == "classifier" else X.sum(axis=1)
    w = np.ones(len(X))
    bad = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]), label="value")
    where = data.draw(st.sampled_from(["X", "y", "sample_weight"]), label="where")
    row = data.draw(st.integers(0, len(X) - 1), label="row")
    if where == "X":
        X[row, data.draw(st.integers(0, X.shape[1] - 1))] = bad
    elif where == "y":
        y = y.astype(np.float64)
        y[row] = bad
    else:
        w[row] = bad
    container = data.draw(st.sampled_from(sorted(CONTAINERS)), label="container")
    Xc = CONTAINERS[container](X)
    match = "NaN" if np.isnan(bad) else "infinity"
    with user_error(match):
        make(kind, data.draw(st.sampled_from(SUBSET))).fit(Xc, y, sample_weight=w)
    if where == "X":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # no feature names
            with user_error(match):
                fitted[kind, X.shape[1]].predict(Xc)


# ----------------------------------------------------- every solver, cheaply
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_accepts_awkward_input_and_rejects_mistakes(solver):
    """Sparse integer input with a constant column and duplicated rows,
    string labels and zero sample weights; a float32 DataFrame with two
    tiny-valued targets; and the usual mistakes, for every solver."""
    rng = np.random.RandomState(0)
    X = rng.randint(-3, 4, size=(N_SAMPLES[1], N_FEATURES[1]))
    X[:, 1] = 2
    X[5:8] = X[0]
    y = np.array(["cat", "dog", "émeu"])[np.arange(len(X)) % 3]
    w = rng.uniform(0, 3, len(X))
    w[::4] = 0
    clf = make("classifier", solver).fit(sp.csr_matrix(X), y, sample_weight=w)
    check_fitted(clf, sp.csc_matrix(X), y)

    df = _dataframe(rng.randn(N_SAMPLES[0], N_FEATURES[1]).astype(np.float32))
    Y = np.c_[df.sum(axis=1), df["x0"]] * 1e-6
    reg = make("regressor", solver).fit(df, Y)
    check_fitted(reg, df, Y, np.float32)

    with user_error("[Nn]egative"):
        make("classifier", solver).fit(X, y, sample_weight=-w)
    _check_one_class(make("classifier", solver), X, np.full(len(X), "cat"))
    with user_error("NaN"):
        make("regressor", solver).fit(np.where(X > 2, np.nan, X), y=X.sum(axis=1))
    with user_error("inconsistent numbers of samples"):
        make("regressor", solver).fit(X, X.sum(axis=1)[1:])
    with user_error("features"):
        clf.predict(X[:, :2])


@pytest.mark.parametrize(
    "make_input, match",
    [
        (lambda X, y: (X[:, 0], y), "Expected 2D array"),
        (lambda X, y: (X[:, :, None], y), "dim 3"),
        (lambda X, y: (X[:, :0], y), "0 feature"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
        (lambda X, y: (np.full(X.shape, "a"), y), "convert string to float"),
        (lambda X, y: (X + 1j, y), "[Cc]omplex"),
        (lambda X, y: (X, None), "requires y"),
        (lambda X, y: (X, X[:, 0]), "Unknown label type"),
        (lambda X, y: (X, np.c_[y, np.arange(len(y)) % 3]), "[Mm]ultioutput"),
        (lambda X, y: (_dataframe(X).assign(x0=["a", "b"] * 4), y), "convert"),
        (lambda X, y: (X, pd.Series(pd.array([1, None] * 4, dtype="Int64"))), "NaN"),
    ],
    ids=[
        "1d", "3d", "no-features", "no-samples", "strings", "complex", "no-y",
        "continuous-labels", "multiclass-multioutput", "string-column",
        "missing-label",
    ],
)  # fmt: skip
def test_malformed_input_is_a_clear_error(make_input, match):
    X = np.random.RandomState(0).randn(N_SAMPLES[0], N_FEATURES[1])
    X_bad, y_bad = make_input(X, np.arange(len(X)) % 2)
    with user_error(match):
        make("classifier").fit(X_bad, y_bad)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_predict_rejects_malformed_input(fitted):
    model = fitted["classifier", N_FEATURES[1]]
    X = np.random.RandomState(0).randn(4, N_FEATURES[1])
    with user_error("Expected 2D array"):
        model.predict(X[0])
    with user_error("features"):
        model.predict(X[:, :1])
    with user_error("0 sample"):
        model.predict(X[:0])
    with user_error("feature names"):
        model.predict(pd.DataFrame(X, columns=["a", "b", "c"]))
    with user_error("convert string to float"):
        model.predict(X.astype(str).astype(object) + "x")


@pytest.mark.parametrize("where", ["X", "y", "predict"])
def test_values_beyond_float32_range(where):
    """A float32 model cannot represent |x| > 3.4e38: an error naming the
    dtype (a float64 model takes such data)."""
    X = np.random.RandomState(0).randn(N_SAMPLES[0], N_FEATURES[1])
    y = X.sum(axis=1)
    X_big = X * 1e39 if where != "y" else X
    y_big = y * 1e39 if where == "y" else y
    if where == "predict":
        model = make("regressor", "adam").fit(X, y)
        with user_error("too large for float32"):
            model.predict(X_big)
        with user_error("too large for float32"):
            model.predict(sp.csr_matrix(X_big))
    else:
        with user_error("too large for float32"):
            make("regressor", "adam").fit(X_big, y_big)
    model = make("regressor", "adam", dtype="float64").fit(X_big, y_big)
    check_fitted(model, X_big, y_big, np.float64)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": (2.5,)}, "hidden_layer_sizes must be integers"),
        ({"hidden_layer_sizes": (2, 0)}, "hidden_layer_sizes must be > 0"),
        ({"activation": np.tanh}, "cannot be traced by JAX.*jax.numpy"),
        ({"activation": lambda x: x if x > 0 else 0 * x}, "cannot be traced"),
        ({"activation": lambda x: x[:, :1]}, "must be elementwise"),
        ({"activation": ["relu", "tanh"]}, "one activation per hidden layer"),
        ({"dropout": [0.1, 0.2]}, "one per hidden layer"),
        ({"solver": "lbfgs", "dropout": 0.5}, "random"),
        ({"solver": "lbfgs", "clip_norm": 1.0}, "clip_norm"),
        ({"early_stopping": True, "validation_fraction": 0.01}, "test_size"),
        ({"solver": "newton"}, "solver"),
        ({"dtype": "float16"}, "dtype"),
    ],
    ids=[
        "float-size", "zero-size", "numpy-callable", "python-branch",
        "not-elementwise", "activation-count", "dropout-count",
        "dropout-line-search", "clip-line-search", "tiny-validation",
        "unknown-solver", "float16",
    ],
)  # fmt: skip
def test_bad_parameters_are_clear_errors(params, match):
    X = np.random.RandomState(0).randn(N_SAMPLES[0], N_FEATURES[1])
    with user_error(match):
        make("classifier", **{"solver": "adam", **params}).fit(X, np.arange(8) % 2)


# --------------------------------------------------------------- divergence
def _divergence_data():
    """Unscaled inputs (std 1e3): gradients in the thousands."""
    X, y = make_regression(
        n_samples=N_SAMPLES[1], n_features=N_FEATURES[1], noise=1.0, random_state=0
    )
    return X * 1e3, y


def _fit_recording(model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return [str(w.message) for w in caught if w.category is ConvergenceWarning]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", STEPWISE)
def test_exploding_learning_rate_stops_with_a_warning(name, kind):
    """A learning rate of 1e8 on unscaled data: training stops early with a
    ConvergenceWarning naming the epoch and the loss, and the model keeps
    finite parameters and predicts finite values."""
    solver = SOLVERS[name](learning_rate=1e8)
    X, y = _divergence_data()
    if kind == "classifier":
        y = (y > np.median(y)).astype(int)
    model = make(kind, solver, hidden_layer_sizes=(5,), max_iter=10)
    messages = _fit_recording(model, X, y)
    named = [m for m in messages if re.search(r"epoch \d+", m) and "loss" in m]
    assert named, f"no ConvergenceWarning naming epoch and loss: {messages}"
    epoch = int(re.search(r"epoch (\d+)", named[0]).group(1))
    assert model.n_iter_ < model.max_iter
    assert epoch in (model.n_iter_, model.n_iter_ + 1)
    assert len(model.loss_curve_) == model.n_iter_
    assert np.isfinite(model.loss_curve_).all()
    check_fitted(model, X, y)


def test_divergence_keeps_parameters_that_predict_finite_values():
    """Found by test_classifier_labels: SGD on inputs of 1e12 to 1e16 stops at
    epoch 2 (non-finite loss) and keeps the parameters after epoch 1. Those
    are finite, but were never evaluated: on these inputs they give infinite
    logits, and predict_proba NaN."""
    X = np.full((N_SAMPLES[0], 1), -2.20529466e12)
    X[2] = 5.71783778e16
    y = np.array([0, -1, 1, 1, 1, 1, 1, 1])
    model = make("classifier", "sgd")
    messages = _fit_recording(model, X, y)
    assert any("epoch" in m for m in messages), messages
    check_fitted(model, X, y)


def test_exploding_learning_rate_init_of_named_solvers():
    """The MLP-style ``learning_rate_init`` of 'sgd' and 'adam' too."""
    X, y = _divergence_data()
    for solver in ("sgd", "adam"):
        model = make("regressor", solver, learning_rate_init=1e6, max_iter=10)
        messages = _fit_recording(model, X, y)
        assert any(re.search(r"epoch \d+.*loss", m) for m in messages), messages
        check_fitted(model, X, y)


def _provoking(name):
    """Whole-batch solver ``name`` with its most reckless settings: tiny
    damping, huge trust regions (each still has an accept/reject test or a
    line search, so it cannot truly diverge)."""
    reckless = {
        "mu": 1e-12,
        "initial_trust_radius": 1e12,
        "max_trust_radius": 1e15,
        "c1": 1e-12,
    }
    accepted = inspect.signature(SOLVERS[name]).parameters
    return SOLVERS[name](**{k: v for k, v in reckless.items() if k in accepted})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", WHOLE_BATCH)
def test_whole_batch_solvers_end_finite_on_hostile_data(name, kind):
    """Inputs of 1e6 and targets of 1e30, reckless settings: the solver stops
    (a ConvergenceWarning is fine) with finite parameters and predictions."""
    X, y = _divergence_data()
    X = X * 1e3
    y = (y > np.median(y)).astype(int) if kind == "classifier" else y * 1e30
    model = make(kind, _provoking(name), max_iter=5)
    _fit_recording(model, X, y)
    assert np.isfinite(model.loss_)
    check_fitted(model, X, y)


# ---------------------------------------------------------- reproducibility
def _same_parameters(a, b):
    return all(
        np.array_equal(p, q)
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )


@pytest.mark.parametrize(
    "params",
    [
        {"solver": SGD(learning_rate=0.05), "shuffle": True, "dropout": 0.3,
         "batch_size": 4},
        {"solver": "adam", "shuffle": True, "dropout": 0.2, "input_noise": 0.1,
         "early_stopping": True, "validation_fraction": 0.3, "batch_norm": True},
        {"solver": "lbfgs"},
    ],
    ids=["sgd-shuffle-dropout", "adam-noise-early-stopping", "lbfgs"],
)  # fmt: skip
def test_same_random_state_same_parameters(params):
    """Same random_state: bit-identical parameters across two fits and across
    sklearn.base.clone; another random_state gives others."""
    rng = np.random.RandomState(0)
    X = rng.randn(20, N_FEATURES[1])
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = make("classifier", max_iter=8, **{"random_state": 3, **params})
    first = clone(model).fit(X, y)
    again = clone(model).fit(X, y)
    cloned = clone(first).fit(X, y)
    assert _same_parameters(first, again)
    assert _same_parameters(first, cloned)
    np.testing.assert_array_equal(first.loss_curve_, cloned.loss_curve_)
    other = clone(model).set_params(random_state=4).fit(X, y)
    assert not _same_parameters(first, other)


# ------------------------------------------------------------------- memory
def test_chunked_prediction_bounds_the_compiled_batch(monkeypatch):
    """Prediction runs in chunks of at most PREDICT_CHUNK rows (padded to a
    power of two): the device never holds more than one chunk of X, and the
    result equals the unchunked one."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, N_FEATURES[1]).astype(np.float32)
    reg = make("regressor", "adam").fit(X[:13], X[:13].sum(axis=1))
    clf = make("classifier", "adam").fit(X[:13], np.arange(13) % 3)
    whole_reg, whole_clf = reg.predict(X), clf.predict_proba(X)
    rows = []
    real = estimators.predict_output

    def recording(params, X, **kwargs):
        rows.append(X.shape[0])
        return real(params, X, **kwargs)

    monkeypatch.setattr(estimators, "predict_output", recording)
    monkeypatch.setattr(estimators, "PREDICT_CHUNK", 64)
    np.testing.assert_allclose(reg.predict(X), whole_reg, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), whole_clf, rtol=1e-6)
    assert max(rows) == 64 and len(rows) == 2 * 5  # 4 full chunks + 44 rows
    assert reg.predict(X).dtype == np.float32
