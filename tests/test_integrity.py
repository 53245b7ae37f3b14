"""State integrity: a failed call leaves the model as it was, an interrupt keeps
the progress, repeated calls on new sizes reuse their compiled programs.

Every test here reproduces a case that went wrong before (a failed refit that
overwrote ``classes_``, a ``set_params`` after a fit that crashed
``predict``, an interrupted L-BFGS fit that kept its random initial weights,
a program compiled for every new row count, ...).
"""

import warnings

import numpy as np
import optax
import pytest
from sklearn.exceptions import ConvergenceWarning

from skneural import NeuralClassifier, NeuralRegressor, Perceptron, _progress
from skneural.model_selection import fit_batched
from skneural._epochs import run_epoch

WHOLE_BATCH = ["lbfgs", "lm", "cg", "bfgs", "newton-cg", "trust-ncg", "trust-krylov",
               "least-squares"]  # fmt: skip

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4)
    return X, rng.randint(0, 3, 60), rng.randint(0, 2, 60), X @ [1.0, -2.0, 0.5, 0.0]


def _state(est):
    """The fitted state: every attribute but the constructor parameters."""
    params = set(est.get_params(deep=False))
    return {k: v for k, v in vars(est).items() if k not in params}


def _assert_same(a, b, path="state"):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), path
    else:
        assert a is b or a == b, path


def _copy(state):
    """Deep copy of containers and arrays (to detect in-place changes)."""
    if isinstance(state, np.ndarray):
        return state.copy()
    if isinstance(state, dict):
        return {k: _copy(v) for k, v in state.items()}
    if isinstance(state, list):
        return [_copy(v) for v in state]
    return state


# ------------------------------------------------------ failed calls
X, Y3, YC, YR = _data()

# (name, make the fitted model, failing call) -- the error paths of the
# robustness suite, applied to a fitted model.
FAILURES = [
    ("refit-7-features-nan", "clf", lambda m: m.fit(np.full((60, 7), np.nan), YC)),
    ("refit-7-features-negative-weight", "clf",
     lambda m: m.fit(np.ones((60, 7)), YC, sample_weight=-np.ones(60))),
    ("refit-nan", "clf", lambda m: m.fit(np.where(X > 1, np.nan, X), YC)),
    ("refit-inconsistent-samples", "clf", lambda m: m.fit(X, YC[1:])),
    ("refit-1d", "clf", lambda m: m.fit(X[:, 0], YC)),
    ("refit-strings", "clf", lambda m: m.fit(np.full(X.shape, "a"), YC)),
    ("refit-continuous-labels", "clf", lambda m: m.fit(X, X[:, 0])),
    ("refit-multioutput-multiclass", "clf",
     lambda m: m.fit(X, np.c_[Y3, np.arange(60) % 3])),
    ("refit-too-large", "reg", lambda m: m.fit(X * 1e39, YR)),
    ("refit-negative-class-weight", "clf",
     lambda m: m.set_params(class_weight={0: -1.0, 1: 1.0, 2: 1.0}).fit(X, Y3)),
    ("set-params-float16", "clf", lambda m: m.set_params(dtype="float16").fit(X, Y3)),
    ("set-params-bad-dropout", "clf",
     lambda m: m.set_params(dropout=[0.1, 0.2]).fit(X, Y3)),
    ("set-params-untraceable", "clf",
     lambda m: m.set_params(activation=np.tanh).fit(X, Y3)),
    ("set-params-lbfgs-dropout", "clf",
     lambda m: m.set_params(solver="lbfgs", dropout=0.5).fit(X, Y3)),
    ("warm-start-new-sizes", "clf",
     lambda m: m.set_params(warm_start=True, hidden_layer_sizes=(7,)).fit(X, Y3)),
    ("warm-start-new-classes", "clf",
     lambda m: m.set_params(warm_start=True).fit(X, YC)),
    ("partial-fit-features", "clf", lambda m: m.partial_fit(X[:, :3], Y3)),
    ("partial-fit-new-class", "clf", lambda m: m.partial_fit(X, Y3 + 5)),
    ("partial-fit-prelu", "clf",
     lambda m: m.set_params(activation="prelu").partial_fit(X, Y3)),
    ("partial-fit-negative-weight", "reg",
     lambda m: m.partial_fit(X, YR, sample_weight=-np.ones(60))),
    ("regressor-refit-nan-y", "reg", lambda m: m.fit(X, np.where(YR > 0, np.nan, YR))),
    ("regressor-beta-2", "reg",
     lambda m: m.set_params(beta_2=1 - 1e-12).fit(X, YR)),
    ("lbfgs-refit-bad-weight", "lbfgs",
     lambda m: m.fit(np.ones((60, 7)), YR, sample_weight=np.full(60, np.nan))),
]  # fmt: skip


def _fitted(kind):
    if kind == "clf":
        return NeuralClassifier((3,), max_iter=5, random_state=0).fit(X, Y3)
    solver = "lbfgs" if kind == "lbfgs" else "adam"
    return NeuralRegressor(hidden_layer_sizes=(3,), solver=solver, max_iter=5,
                           random_state=0).fit(X, YR)  # fmt: skip


@pytest.mark.parametrize("kind, call", [f[1:] for f in FAILURES],
                         ids=[f[0] for f in FAILURES])  # fmt: skip
def test_a_failed_call_leaves_the_model_as_it_was(kind, call):
    model = _fitted(kind)
    before, prediction = _copy(_state(model)), model.predict(X)
    with pytest.raises((ValueError, TypeError)):
        call(model)
    _assert_same(_state(model), before)
    np.testing.assert_array_equal(model.predict(X), prediction)
    if kind == "clf":
        model.predict_proba(np.ones((3, 4)))  # still the 4-feature model


def test_a_failed_refit_keeps_the_classes():
    # The reproducer: a failed refit overwrote classes_ and n_features_in_.
    model = NeuralClassifier(max_iter=5, random_state=0).fit(X, Y3)
    with pytest.raises(ValueError):
        model.fit(np.ones((60, 7)), YC, sample_weight=np.full(60, -1.0))
    assert model.n_features_in_ == 4
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.predict(X).shape == (60,)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.fit(np.ones((60, 7)), YC, sample_weight=-np.ones(60)),
        lambda m: m.set_params(warm_start=True).fit(np.ones((60, 7)), YC),
        lambda m: m.set_params(class_weight={0: np.nan}).fit(np.ones((60, 7)), YC),
        lambda m: m.set_params(eta0=1e10).fit(X * 1e300, YC),
    ],
    ids=["negative-weight", "warm-features", "nan-class-weight", "overflow"],
)
def test_a_failed_perceptron_fit_leaves_it_as_it_was(call):
    model = Perceptron(max_iter=5).fit(X, YC)
    before, prediction = _copy(_state(model)), model.predict(X)
    with pytest.raises(ValueError):
        call(model)
    _assert_same(_state(model), before)
    np.testing.assert_array_equal(model.predict(X), prediction)


# ------------------------------------------------ fitted architecture
@pytest.mark.parametrize(
    "change", [{"activation": "prelu"}, {"batch_norm": True},
               {"activation": "maxout"}, {"activation": "tanh"},
               {"hidden_layer_sizes": (9, 9)}],
    ids=["prelu", "batch_norm", "maxout", "tanh", "sizes"],
)  # fmt: skip
def test_set_params_after_fit_does_not_change_prediction(change):
    model = NeuralClassifier((3,), max_iter=5, random_state=0).fit(X, Y3)
    proba = model.predict_proba(X)
    model.set_params(**change)
    np.testing.assert_array_equal(model.predict_proba(X), proba)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(1)])


@pytest.mark.parametrize("change, name", [({"activation": "prelu"}, "activation"),
                                          ({"batch_norm": True}, "batch_norm")])
def test_warm_start_across_a_structural_change_is_a_clear_error(change, name):
    model = NeuralClassifier((3,), max_iter=5, random_state=0).fit(X, Y3)
    model.set_params(**change)
    with pytest.raises(ValueError, match=f"{name} changed since the fit"):
        model.partial_fit(X, Y3)
    with pytest.raises(ValueError, match=f"{name} changed since the fit"):
        model.set_params(warm_start=True).fit(X, Y3)
    # A fresh fit takes the new architecture.
    model.set_params(warm_start=False).fit(X, Y3)
    assert model.predict(X).shape == (60,)


def test_warm_start_with_an_elementwise_activation_change_continues():
    # As MLP: the weights are kept, training goes on with the new activation,
    # which prediction then uses.
    model = NeuralRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    model.fit(X, YR)
    model.set_params(activation="tanh", warm_start=True).fit(X, YR)
    ref = np.tanh(X @ model.coefs_[0] + model.intercepts_[0]) @ model.coefs_[1]
    np.testing.assert_allclose(model.predict(X), ref.ravel() + model.intercepts_[1],
                               rtol=1e-4, atol=1e-5)  # fmt: skip


def test_hand_set_coefficients_still_predict():
    model = NeuralRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    model.fit(X, YR)
    model.coefs_ = [np.ones((4, 2), np.float32), np.ones((2, 1), np.float32)]
    model.intercepts_ = [np.zeros(2, np.float32), np.zeros(1, np.float32)]
    model.layer_params_, model.layer_state_ = [{}], [{}]
    expected = np.maximum(X.sum(axis=1), 0) * 2
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-5)


# -------------------------------------------------------- interrupts
def _interrupt_at(monkeypatch, n, seen=None):
    original = _progress.FitReporter.iteration

    def iteration(self, n_iter, loss, x=None):
        stop = original(self, n_iter, loss, x)
        if seen is not None:  # what the estimator shows during the iteration
            seen.append((self.estimator.n_iter_, list(self.estimator.loss_curve_)))
        if n_iter == n:
            raise KeyboardInterrupt
        return stop

    monkeypatch.setattr(_progress.FitReporter, "iteration", iteration)


@pytest.mark.parametrize("solver", WHOLE_BATCH)
def test_interrupted_whole_batch_fit_keeps_the_last_iteration(solver, monkeypatch):
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=30, random_state=0)
    # The initial weights (a step of learning rate 1e-30 leaves them).
    initial = NeuralRegressor(**{**params, "solver": "sgd", "max_iter": 1},
                              dtype="float64", learning_rate_init=1e-30).fit(X, YR)
    _interrupt_at(monkeypatch, 3)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        model = NeuralRegressor(**params).fit(X, YR)
    assert model.n_iter_ == 3
    assert len(model.loss_curve_) == 3
    assert model.loss_ == model.loss_curve_[-1]
    # The parameters are the third iterate (whose objective is loss_), not
    # the initial ones.
    assert np.abs(model.coefs_[0] - initial.coefs_[0]).max() > 1e-6
    half_mse = 0.5 * np.mean((model.predict(X) - YR) ** 2)
    penalty = 0.5 * model.alpha * sum((W**2).sum() for W in model.coefs_) / len(X)
    assert half_mse + penalty == pytest.approx(model.loss_, rel=1e-6)


@pytest.mark.parametrize("solver", ["lbfgs", "lm", "trust-ncg"])
def test_callbacks_see_the_current_iteration(solver, monkeypatch):
    seen = []
    _interrupt_at(monkeypatch, 10**9, seen)
    NeuralRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=5,
                    random_state=0).fit(X, YR)  # fmt: skip
    assert seen
    for i, (n_iter, curve) in enumerate(seen, start=1):
        assert n_iter == i and len(curve) == i


def test_loss_exists_after_divergence_in_the_first_epoch():
    with pytest.warns(ConvergenceWarning, match="at epoch 1"):
        model = NeuralRegressor(
            solver="sgd", learning_rate_init=1e3, batch_size=10, activation="tanh",
            max_iter=5, random_state=0,
        ).fit(X * 1e3, YR * 1e3)
    assert model.n_iter_ == 0 and model.loss_curve_ == []
    # The objective of the parameters kept (the initial ones).
    half_mse = 0.5 * np.mean((model.predict(X * 1e3) - YR * 1e3) ** 2)
    penalty = 0.5 * model.alpha * sum((W**2).sum() for W in model.coefs_) / len(X)
    assert model.loss_ == pytest.approx(half_mse + penalty, rel=1e-5)


def test_loss_exists_after_whole_batch_divergence(monkeypatch):
    from skneural.solvers import _scipy

    def nan_minimize(self, problem, x0, **kwargs):
        return _scipy.WholeBatchResult(x=x0 * np.nan, fun=np.nan, n_iter=1)

    monkeypatch.setattr(_scipy.ScipyMinimizer, "minimize", nan_minimize)
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        model = NeuralRegressor(solver="lbfgs", max_iter=5, random_state=0).fit(X, YR)
    assert np.isfinite(model.loss_)


# ------------------------------------------------------- fit_batched
def test_fit_batched_refuses_one_estimator_twice():
    model = NeuralClassifier((3,), max_iter=5, random_state=0)
    for batched in (True, False):
        with pytest.raises(ValueError, match="same estimator object"):
            fit_batched([model, model], X, YC, batched=batched)
    assert not hasattr(model, "coefs_")


def test_fit_batched_stops_at_max_iter():
    models = [NeuralClassifier((3,), max_iter=5, n_iter_no_change=np.inf,
                               random_state=s) for s in range(2)]  # fmt: skip
    fit_batched(models, X, YC, batched=True)
    assert [m.n_iter_ for m in models] == [5, 5]


# ------------------------------------------------ programs and memory
def test_padded_shapes():
    from skneural._config import padded_shape

    assert padded_shape(1, 11, False) == (1, 16)
    assert padded_shape(1, 11, True) == (1, 11)
    assert padded_shape(1, 130, False) == (1, 256)
    assert [padded_shape(k, 20, False)[0] for k in (2, 4, 5, 8, 9, 15, 17, 33)] == [
        2, 4, 5, 8, 10, 16, 20, 40]  # fmt: skip


def test_growing_partial_fit_compiles_few_programs():
    rng = np.random.RandomState(1)
    Xb, yb = rng.randn(160, 4), rng.randint(0, 3, 160)
    model = NeuralClassifier((5,), random_state=0)
    model.partial_fit(Xb[:10], yb[:10], classes=[0, 1, 2])
    before = run_epoch._cache_size()
    for n in range(11, 161, 3):
        model.partial_fit(Xb[:n], yb[:n])
    assert run_epoch._cache_size() - before <= 8


def test_fits_of_many_sizes_share_programs():
    rng = np.random.RandomState(2)
    Xb, yb = rng.randn(700, 4), rng.randint(0, 2, 700)
    before = run_epoch._cache_size()
    for n in range(100, 700, 20):  # 30 sizes, 5 to 35 batches
        NeuralClassifier((5,), batch_size=20, max_iter=1, random_state=0).fit(
            Xb[:n], yb[:n]
        )
    assert run_epoch._cache_size() - before <= 16  # 13 padded sizes


@pytest.mark.parametrize("n, batch_size", [(13, "auto"), (90, 10)],
                         ids=["one-batch-padded", "padding-batches"])  # fmt: skip
def test_padding_leaves_the_trajectory_equal_to_sklearn(n, batch_size):
    """Padded rows (one batch of 13 rows padded to 16; 9 batches followed by
    a batch of padding) change nothing: the float64 SGD iterates are still
    scikit-learn's."""
    from sklearn.neural_network import MLPRegressor

    rng = np.random.RandomState(3)
    Xb, yb = rng.randn(n, 3), rng.randn(n) / 10
    common = dict(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=0.01,
                  max_iter=5, random_state=0, tol=0, batch_size=batch_size)  # fmt: skip
    a = NeuralRegressor(dtype="float64", **common).fit(Xb, yb)
    b = MLPRegressor(**common).fit(Xb, yb)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_transformation_cache_is_bounded(monkeypatch):
    from skneural.solvers import SGD, _base

    monkeypatch.setattr(_base, "MAX_TRANSFORMATIONS", 2)
    monkeypatch.setattr(_base, "_TRANSFORMATIONS", type(_base._TRANSFORMATIONS)())
    for clip in (None, 1.0):
        SGD(clip_norm=clip).optax_transformation()
    from skneural.solvers import Adam

    Adam().optax_transformation()
    assert len(_base._TRANSFORMATIONS) == 2


def test_compiled_programs_are_bounded(monkeypatch):
    from skneural import _driver as _training

    monkeypatch.setattr(_training, "MAX_PROGRAMS", 2)
    rng = np.random.RandomState(4)
    for n in (20, 40, 80, 160):
        NeuralRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0).fit(
            rng.randn(n, 2), rng.randn(n)
        )
        assert run_epoch._cache_size() <= 2


# ------------------------------------------------ weights and constants
def test_tiny_sample_weights_train_as_uniform_weights():
    params = dict(hidden_layer_sizes=(4,), max_iter=20, random_state=0, alpha=0.0)
    tiny = NeuralClassifier(**params).fit(X, YC, sample_weight=np.full(60, 1e-50))
    plain = NeuralClassifier(**params).fit(X, YC)
    assert tiny.loss_ == pytest.approx(plain.loss_, rel=1e-6)
    np.testing.assert_allclose(tiny.coefs_[0], plain.coefs_[0], rtol=1e-5, atol=1e-7)


def test_weight_rescaling_leaves_the_objective_unchanged():
    # Weights c * w with alpha * c: the same objective for any c (the penalty
    # is divided by the total weight), hence the same fit.
    rng = np.random.RandomState(5)
    w = rng.uniform(0.5, 2, 60)
    params = dict(hidden_layer_sizes=(4,), max_iter=10, random_state=0,
                  dtype="float64", solver="lbfgs")  # fmt: skip
    a = NeuralRegressor(alpha=1e-3, **params).fit(X, YR, sample_weight=w)
    b = NeuralRegressor(alpha=1e-33, **params).fit(X, YR, sample_weight=w * 1e-30)
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-10)
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-8)


def test_tiny_weights_with_a_penalty_are_a_clear_error_in_float32():
    with pytest.raises(ValueError, match="alpha / mean.sample_weight.*float64"):
        NeuralClassifier(max_iter=5).fit(X, YC, sample_weight=np.full(60, 1e-50))


@pytest.mark.parametrize(
    "class_weight, match",
    [({0: -1.0, 1: 1.0}, "Negative"), ({0: np.nan, 1: 1.0}, "NaN"),
     ({0: np.inf, 1: 1.0}, "infinity")],
)  # fmt: skip
@pytest.mark.parametrize("estimator", ["lbfgs", "adam", "perceptron"])
def test_class_weight_must_be_finite_and_non_negative(class_weight, match, estimator):
    if estimator == "perceptron":
        model = Perceptron(class_weight=class_weight)
    else:
        model = NeuralClassifier(solver=estimator, class_weight=class_weight,
                                 max_iter=5)  # fmt: skip
    with pytest.raises(ValueError, match=match):
        model.fit(X, YC)


@pytest.mark.parametrize("param, value", [("beta_2", 1 - 1e-12), ("beta_1", 1 - 1e-9),
                                          ("epsilon", 1e-50)])
def test_hyperparameters_that_round_badly_in_float32(param, value):
    with pytest.raises(ValueError, match=f"{param}.*dtype='float64'"):
        NeuralRegressor(max_iter=2, **{param: value}).fit(X, YR)
    model = NeuralRegressor(max_iter=2, dtype="float64", **{param: value}).fit(X, YR)
    assert np.isfinite(model.coefs_[0]).all()


@pytest.mark.parametrize("y", [Y3, YC], ids=["multiclass", "binary"])
def test_predict_log_proba_is_finite_where_the_probability_rounds_to_zero(y):
    model = NeuralClassifier((3,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict_log_proba(X),
                               np.log(model.predict_proba(X)), rtol=1e-4)  # fmt: skip
    model.coefs_ = [c * 100 for c in model.coefs_]
    log_proba = model.predict_log_proba(X)
    assert np.isfinite(log_proba).all()
    # A float64 log-softmax of the logits (the network's output before the
    # output activation), computed here by hand.
    h = np.maximum(X @ model.coefs_[0] + model.intercepts_[0], 0)
    z = h @ model.coefs_[1] + model.intercepts_[1]
    if z.shape[1] == 1:
        z = np.c_[np.zeros(len(z)), z]
    expected = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    expected -= z.max(1, keepdims=True)
    np.testing.assert_allclose(log_proba, expected, rtol=1e-4, atol=1e-3)


# ------------------------------------------------------------ Perceptron
def test_perceptron_overflow_is_an_error():
    with pytest.raises(ValueError, match="Floating-point under-/overflow"):
        Perceptron(eta0=1e10).fit(X * 1e300, YC)


def test_perceptron_warm_start_checks_the_target_shape():
    Y2 = np.c_[YC, 1 - YC]
    model = Perceptron(warm_start=True).fit(X, Y2)
    with pytest.raises(ValueError, match="warm_start needs the targets"):
        model.fit(X, YC)
    assert model.coef_.shape == (2, 4)
    model = Perceptron(warm_start=True).fit(X, YC)
    with pytest.raises(ValueError, match="warm_start needs the targets"):
        model.fit(X, Y2)
    assert model.coef_.shape == (1, 4)


# ------------------------------------------------------------ parameters
@pytest.mark.parametrize("device", ["", "cpu:-1", "cpu:+0", ":0"])
def test_malformed_device_strings_are_errors(device):
    with pytest.raises(ValueError, match="not a device name"):
        NeuralRegressor(max_iter=2, device=device).fit(X, YR)


@pytest.mark.parametrize("dtype", [np.float64, np.dtype("float64"), np.float32,
                                   np.dtype("float32")])
def test_numpy_dtypes_are_accepted(dtype):
    model = NeuralRegressor(max_iter=2, dtype=dtype).fit(X, YR)
    # The computation's precision (the fitted arrays follow the input's).
    assert model._fit_dtype == np.dtype(dtype).name


@pytest.mark.parametrize("dtype", [np.int64, np.float16, int])
def test_other_dtypes_are_errors(dtype):
    with pytest.raises(ValueError, match="dtype must be"):
        NeuralRegressor(max_iter=2, dtype=dtype).fit(X, YR)


@pytest.mark.parametrize("tx", [optax.lbfgs(), optax.polyak_sgd()],
                         ids=["lbfgs", "polyak_sgd"])  # fmt: skip
def test_optax_transformations_needing_the_objective_are_refused(tx):
    with pytest.raises(TypeError, match="solver='lbfgs'"):
        NeuralRegressor(solver=tx, max_iter=2).fit(X, YR)


def test_a_broken_transformation_is_a_clear_error():
    with pytest.raises(TypeError, match="init and update are functions"):
        NeuralRegressor(solver=optax.GradientTransformation(None, None),
                        max_iter=2).fit(X, YR)  # fmt: skip


def test_a_plain_optax_transformation_still_trains():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NeuralRegressor(solver=optax.sgd(1e-2), max_iter=3).fit(X, YR)
    assert np.isfinite(model.loss_)
