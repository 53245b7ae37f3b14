"""Sparse input: never densified whole, same results as dense input.

The first layer's product is computed from the stored entries
(:mod:`skneural._sparse`); these tests check it against the dense product and
gradient, every solver family against a dense fit, and that no
``n_samples x n_features`` dense array is built in a fit or a prediction.
"""

import tracemalloc
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skneural import NeuralClassifier, NeuralRegressor, _network, _predict, _sparse
from skneural._devices import to_device
from skneural._objective import objective, precision, predict_output, shapes_of
from skneural._problem import Problem

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CONTAINERS = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix}


def _sparse_problem(n=120, d=40, density=0.1, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=rng, dtype=dtype)
    total = np.asarray(X.sum(axis=1)).ravel()
    y = (total > np.median(total)).astype(int)
    return X, y


# ------------------------------------------------------------ the product
def test_product_and_gradient_equal_dense():
    X, _ = _sparse_problem(n=30, d=17, density=0.2)
    dense = np.zeros((32, 17))
    dense[:30] = X.toarray()
    W = np.random.RandomState(1).randn(17, 5)
    with jax.enable_x64(True):
        rows = _sparse.chunk(X, 32, np.float64).to_device(np.float64)  # 2 empty rows
        np.testing.assert_allclose(rows @ jnp.asarray(W), dense @ W, rtol=1e-12)

        def f(W, X):
            return jnp.sum(jnp.tanh(X @ W) ** 2)

        g_sparse = jax.grad(f)(jnp.asarray(W), rows)
        g_dense = jax.grad(f)(jnp.asarray(W), jnp.asarray(dense))
    np.testing.assert_allclose(g_sparse, g_dense, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(rows.toarray(), dense)


def test_epoch_batches_hold_the_minibatches_in_order():
    X, _ = _sparse_problem(n=50, d=13, density=0.3)
    Xp = _sparse.training_matrix(X, 56, np.float32)  # 6 padding rows
    order = np.random.RandomState(0).permutation(56).reshape(7, 8)
    nnz = _sparse.batch_nnz_bound(Xp, 8)
    batches = _sparse.epoch_batches(Xp, order, nnz)
    assert batches.rows.shape == (7, nnz)
    for b in range(7):
        one = _sparse.SparseRows(batches.rows[b], batches.cols[b], batches.values[b],
                                 batches.shape)  # fmt: skip
        np.testing.assert_array_equal(one.toarray(), Xp[order[b]].toarray())


def test_problem_objective_gradient_hvp_equal_dense():
    """The whole-batch objective on SparseRows: value, gradient and
    Hessian-vector product equal the dense ones (float64)."""
    X, y = _sparse_problem()
    model = NeuralClassifier(hidden_layer_sizes=(6,), max_iter=1, solver="lbfgs",
                             random_state=0).fit(X.toarray(), y)  # fmt: skip
    params = model._params()
    Y = model._encode_targets(model._label_binarizer.transform(y), np.float64)
    w = np.ones(len(y))
    kwargs = dict(shapes=shapes_of(params), activation=model._layer_activations,
                  loss=model._loss_name, dtype=np.float64, l1=0.01)  # fmt: skip
    dense = Problem(X.toarray(), Y, w, 1e-3, **kwargs)
    sparse = Problem(_sparse.chunk(X, X.shape[0], np.float64, nnz=X.nnz), Y, w, 1e-3,
                     **kwargs)  # fmt: skip
    x = np.random.RandomState(0).randn(dense.n_params) * 0.3
    v = np.random.RandomState(1).randn(dense.n_params)
    (f1, g1), (f2, g2) = dense(x), sparse(x)
    np.testing.assert_allclose(f2, f1, rtol=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(sparse.hvp(x, v), dense.hvp(x, v), rtol=1e-9, atol=1e-12)
    assert sparse.dense_X_nbytes == X.shape[0] * X.shape[1] * 8
    assert dense.dense_X_nbytes == 0


def test_objective_ignores_zero_weight_rows():
    X, y = _sparse_problem(n=20, d=9, density=0.4)
    model = NeuralClassifier(hidden_layer_sizes=(4,), max_iter=1, solver="lbfgs",
                             random_state=0).fit(X, y)  # fmt: skip
    Y = model._label_binarizer.transform(y).astype(np.float64)
    w = np.r_[np.ones(15), np.zeros(5)]
    with jax.enable_x64(True):
        args = dict(activation=model._layer_activations, loss=model._loss_name)
        full = objective(model._params(), _sparse.chunk(X, 20, np.float64), Y, w,
                         0.0, **args)  # fmt: skip
        part = objective(model._params(), X[:15].toarray(), Y[:15], w[:15], 0.0, **args)
    np.testing.assert_allclose(full, part, rtol=1e-12)


# ------------------------------------------------------------- estimators
@pytest.mark.parametrize("solver", ["adam", "sgd", "rprop"])
@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_stepwise_fit_matches_dense(solver, container):
    X, y = _sparse_problem(dtype=np.float32)
    kw = dict(hidden_layer_sizes=(7,), max_iter=15, random_state=0, solver=solver,
              batch_size=32)  # fmt: skip
    dense = NeuralClassifier(**kw).fit(X.toarray(), y)
    sparse = NeuralClassifier(**kw).fit(CONTAINERS[container](X), y)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-5)
    for a, b in zip(sparse.coefs_, dense.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        sparse.predict_proba(CONTAINERS[container](X)),
        dense.predict_proba(X.toarray()), rtol=1e-4, atol=1e-6,
    )  # fmt: skip
    assert sparse.score(X, y) == dense.score(X.toarray(), y)


@pytest.mark.parametrize(
    "solver", ["lbfgs", "bfgs", "cg", "newton-cg", "trust-ncg", "trust-krylov"]
)
def test_whole_batch_fit_matches_dense(solver):
    X, y = _sparse_problem(n=80, d=20, density=0.2)
    kw = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0, solver=solver)
    dense = NeuralClassifier(**kw).fit(X.toarray(), y)
    sparse = NeuralClassifier(**kw).fit(X, y)
    # Same objective up to summation order; the iterations amplify rounding
    # (the objective itself agrees to 1e-12, see the Problem test above).
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(sparse.predict_proba(X),
                               dense.predict_proba(X.toarray()), rtol=1e-5,
                               atol=1e-7)  # fmt: skip


@pytest.mark.parametrize("solver", ["lm", "least-squares"])
def test_least_squares_fit_matches_dense(solver):
    X, _ = _sparse_problem(n=40, d=8, density=0.3)
    y = np.asarray(X.sum(axis=1)).ravel()
    kw = dict(hidden_layer_sizes=(3,), max_iter=5, random_state=0, solver=solver)
    dense = NeuralRegressor(**kw).fit(X.toarray(), y)
    sparse = NeuralRegressor(**kw).fit(X, y)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()),
                               rtol=1e-5, atol=1e-7)  # fmt: skip


def test_least_squares_memory_guard_counts_the_dense_copy():
    """The memory check of LM counts the dense copy of a sparse X and says
    what the alternative is."""
    from skneural.solvers import LevenbergMarquardt

    X, _ = _sparse_problem(n=40, d=8, density=0.3)
    y = np.asarray(X.sum(axis=1)).ravel()
    probe = NeuralRegressor(hidden_layer_sizes=(3,), solver="lm", max_iter=1).fit(X, y)
    n_params = sum(c.size for c in probe.coefs_ + probe.intercepts_)
    m = 40
    s = min(m, n_params)
    jacobian_only = 8 * (2 * m * n_params + 2 * s * s)
    limit = jacobian_only + 8 * 40 * 8 - 1  # one byte short with the copy
    model = NeuralRegressor(hidden_layer_sizes=(3,), random_state=0,
                            solver=LevenbergMarquardt(memory_limit=limit))  # fmt: skip
    model.fit(X.toarray(), y)  # dense: within the limit
    with pytest.raises(ValueError, match=r"dense 40 x 8 copy of the sparse X.*lbfgs"):
        NeuralRegressor(hidden_layer_sizes=(3,), random_state=0,
                        solver=LevenbergMarquardt(memory_limit=limit)).fit(X, y)


def test_partial_fit_and_early_stopping_match_dense():
    X, y = _sparse_problem(dtype=np.float32)
    kw = dict(hidden_layer_sizes=(5,), random_state=0, batch_size=40)
    dense = NeuralClassifier(**kw)
    sparse = NeuralClassifier(**kw)
    for _ in range(3):
        dense.partial_fit(X.toarray(), y, classes=[0, 1])
        sparse.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-5, atol=1e-7)
    kw.update(early_stopping=True, max_iter=8, validation_fraction=0.2)
    dense = NeuralClassifier(**kw).fit(X.toarray(), y)
    sparse = NeuralClassifier(**kw).fit(X, y)
    assert sparse.validation_scores_ == dense.validation_scores_
    np.testing.assert_allclose(sparse.validation_loss_curve_,
                               dense.validation_loss_curve_, rtol=1e-5)  # fmt: skip


def test_float64_model_and_sample_weight():
    X, y = _sparse_problem()
    sw = np.random.RandomState(0).uniform(0, 2, len(y))
    kw = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0, dtype="float64")
    dense = NeuralClassifier(**kw).fit(X.toarray(), y, sample_weight=sw)
    sparse = NeuralClassifier(**kw).fit(X, y, sample_weight=sw)
    assert sparse.coefs_[0].dtype == np.float64
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-10)


def test_prediction_in_chunks(monkeypatch):
    X, y = _sparse_problem(n=300)
    model = NeuralClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    model.fit(X, y)
    whole = model.predict_proba(X.toarray())
    monkeypatch.setattr(_predict, "PREDICT_CHUNK", 64)
    np.testing.assert_allclose(model.predict_proba(X), whole, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_proba(sp.csc_matrix(X)), whole,
                               rtol=1e-6, atol=1e-7)  # fmt: skip


# ------------------------------------- prediction: first layer on the host
def test_first_layer_on_the_host_equals_dense():
    X, _ = _sparse_problem(n=30, d=17, density=0.2, dtype=np.float32)
    rng = np.random.RandomState(0)
    W, b = rng.randn(17, 5), rng.randn(5)
    for container in CONTAINERS.values():
        H = _sparse.first_layer(container(X), W, b, 32, np.float64)  # 2 empty rows
        assert H.dtype == np.float64 and H.shape == (32, 5)
        np.testing.assert_allclose(H[:30], X.toarray().astype(np.float64) @ W + b,
                                   rtol=1e-12)  # fmt: skip
        np.testing.assert_array_equal(H[30:], np.tile(b, (2, 1)))
    H = _sparse.first_layer(X.astype(np.float64), W, b, 30, np.float32)
    assert H.dtype == np.float32
    np.testing.assert_allclose(H, X.toarray() @ W.astype(np.float32) + b, rtol=1e-5)


def test_first_layer_rows_bound_the_host_product():
    assert _sparse.first_layer_rows(64, np.float32, 2**16, 32) == 2**16
    rows = _sparse.first_layer_rows(2**14, np.float64, 2**16, 32)
    assert rows & (rows - 1) == 0  # a power of two: programs are shared
    assert rows * 2**14 * 8 <= _sparse.FIRST_LAYER_BYTES
    assert _sparse.first_layer_rows(2**30, np.float64, 2**16, 32) == 32


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "options",
    [{}, {"batch_norm": True}, {"activation": "maxout"}, {"activation": "prelu"},
     {"hidden_layer_sizes": ()}],
    ids=["plain", "batch_norm", "maxout", "prelu", "no_hidden"],
)
@pytest.mark.parametrize("Estimator", [NeuralClassifier, NeuralRegressor])
def test_prediction_first_layer_on_the_host(Estimator, options, dtype):
    """Prediction on sparse input computes the first layer with scipy on the
    host and the rest on the device: the same output as dense input and as
    the sparse product on the device, for every container and float dtype."""
    X, y = _sparse_problem(n=70, d=12, density=0.25)
    if Estimator is NeuralRegressor:
        y = np.c_[np.asarray(X.sum(axis=1)).ravel(), y]
    kw = {"hidden_layer_sizes": (6, 4), "max_iter": 4, "random_state": 0,
          "dtype": dtype, **options}  # fmt: skip
    model = Estimator(**kw).fit(X, y)
    if options.get("batch_norm"):  # running statistics away from (0, 1)
        assert not np.allclose(model.layer_state_[0]["mean"], 0)
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-12, 1e-14)
    dense = model._output(X.toarray())
    with precision(dtype):  # the sparse product on the device
        device = predict_output(
            to_device(model._params(), dtype),
            _sparse.chunk(X, 128, dtype).to_device(dtype),
            activation=model._fitted_spec(), out_activation=model._out_activation(),
            state=to_device(model._net_state(), dtype),
        )[:70]  # fmt: skip
    np.testing.assert_allclose(np.asarray(device), dense, rtol=rtol, atol=atol)
    for container in CONTAINERS.values():
        for X_dtype in (np.float32, np.float64):
            Xs = container(X.astype(X_dtype))
            out = model._output(Xs)
            assert out.dtype == X_dtype
            np.testing.assert_allclose(out, model._output(Xs.toarray()), rtol=rtol,
                                       atol=atol)  # fmt: skip
    predict = model.predict_proba if Estimator is NeuralClassifier else model.predict
    np.testing.assert_allclose(predict(X), predict(X.toarray()), rtol=rtol, atol=atol)


def test_prediction_uses_the_host_product_in_bounded_chunks(monkeypatch):
    """Prediction on sparse input goes through the host product (not the
    padded coordinates), in chunks of rows whose product stays below
    FIRST_LAYER_BYTES, with the same result."""
    X, y = _sparse_problem(n=300)
    model = NeuralClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    model.fit(X, y)
    whole = model.predict_proba(X.toarray())
    calls = []
    original = _sparse.first_layer

    def spy(X, W, b, n_rows, dtype):
        calls.append(n_rows * W.shape[1] * np.dtype(dtype).itemsize)
        return original(X, W, b, n_rows, dtype)

    def refuse(*args, **kwargs):
        raise AssertionError("prediction built padded coordinates")

    monkeypatch.setattr(_sparse, "first_layer", spy)
    monkeypatch.setattr(_sparse, "chunk", refuse)
    np.testing.assert_allclose(model.predict_proba(X), whole, rtol=1e-6, atol=1e-7)
    assert len(calls) == 1
    bound = 64 * 8 * np.dtype(model._predict_dtype()).itemsize  # 64 rows
    monkeypatch.setattr(_sparse, "FIRST_LAYER_BYTES", bound)
    calls.clear()
    np.testing.assert_allclose(model.predict_proba(sp.coo_matrix(X)), whole,
                               rtol=1e-6, atol=1e-7)  # fmt: skip
    assert len(calls) == 5 and max(calls) <= bound


def test_apply_after_the_first_layer_refuses_input_noise_in_training():
    params, state = _network.init(np.random.RandomState(0), [3, 4, 2], "relu",
                                  np.float32)  # fmt: skip
    net = _network.Net(("relu",), (0.0,), input_dropout=0.5)
    h = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="first layer"):
        _network.apply(params, state, h, net, train=True, key=jax.random.key(0),
                       first_layer_done=True)  # fmt: skip
    z = _network.apply(params, state, h, net, first_layer_done=True)[0]  # inference
    assert z.shape == (2, 2)


# ------------------------------------------------- input dropout and noise
def test_dropout_of_the_stored_entries():
    values = jnp.arange(1.0, 2001.0)
    rows = _sparse.SparseRows(jnp.zeros(2000, jnp.int32), jnp.arange(2000), values,
                              (1, 2000))  # fmt: skip
    out = np.asarray(rows.dropout(0.25, jax.random.key(0)).values)
    kept = out != 0
    np.testing.assert_allclose(out[kept], np.asarray(values)[kept] / 0.75, rtol=1e-6)
    assert 0.2 < 1 - kept.mean() < 0.3


def test_input_dropout_with_sparse_input():
    X, y = _sparse_problem(dtype=np.float32)
    kw = dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0, input_dropout=0.3)
    a = NeuralClassifier(**kw).fit(X, y)
    b = NeuralClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])  # same random_state
    c = NeuralClassifier(**{**kw, "input_dropout": 0.0}).fit(X, y)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])  # dropout did something


def test_input_noise_with_sparse_input_is_refused():
    X, y = _sparse_problem()
    model = NeuralClassifier(input_noise=0.1, max_iter=2)
    with pytest.raises(ValueError, match="input_noise.*sparse"):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")
    NeuralClassifier(input_noise=0.1, max_iter=2).fit(X.toarray(), y)  # dense: fine
    # The estimator tag says so (scikit-learn's checks hold it to it).
    assert not model.__sklearn_tags__().input_tags.sparse
    assert NeuralClassifier(input_dropout=0.1).__sklearn_tags__().input_tags.sparse


# ------------------------------------------------------------ allocation
@pytest.fixture
def no_densify(monkeypatch):
    """Fail if a sparse matrix with more than 64 rows is densified."""
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        for name in ("toarray", "todense"):
            original = getattr(cls, name)

            def guarded(self, *args, _original=original, **kwargs):
                assert self.shape[0] <= 64, f"densified a {self.shape} sparse matrix"
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(cls, name, guarded)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_fit_and_predict_allocate_far_below_the_dense_size(solver, no_densify):
    """A sparse fit's largest host allocation (tracemalloc peak) stays far
    below the dense X: 20000 x 10000 (0.1% stored), dense float32 800 MB.
    (What does grow with the features is the solver's own memory, e.g.
    L-BFGS's history of 2 x 10 parameter vectors.)"""
    n, d = 20000, 10000
    X = sp.random(n, d, density=0.001, format="csr", random_state=0,
                  dtype=np.float32)  # fmt: skip
    y = np.arange(n) % 2
    dense_bytes = n * d * 4
    model = NeuralClassifier(hidden_layer_sizes=(4,), max_iter=2, solver=solver,
                             random_state=0,
                             early_stopping=solver == "adam")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:100], y[:100])  # compile outside the measurement
        tracemalloc.start()
        try:
            model.fit(X, y)
            model.predict_proba(X)
            model.score(X, y)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < dense_bytes / 10, f"peak {peak / 1e6:.1f} MB"


def test_divergence_with_sparse_input_matches_dense():
    """SGD on huge inputs diverges: the sparse fit stops, checks the kept
    parameters on the training rows (in chunks) and keeps the same ones as
    the dense fit."""
    X = np.full((8, 1), -2.20529466e12)
    X[2] = 5.71783778e16
    y = np.array([0, -1, 1, 1, 1, 1, 1, 1])
    kw = {"hidden_layer_sizes": (2,), "max_iter": 3, "random_state": 0,
          "solver": "sgd"}  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sparse = NeuralClassifier(**kw).fit(sp.csr_matrix(X), y)
    messages = [str(w.message) for w in caught]
    assert any("Training stopped" in m for m in messages), messages
    dense = NeuralClassifier(**kw).fit(X, y)
    for a, b in zip(sparse.coefs_, dense.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    assert np.isfinite(sparse.predict_proba(sp.csr_matrix(X))).all()
