"""ONNX export: the exported graph, run by onnxruntime, predicts as skneural.

Table-driven over the registries (every hidden activation, every layer
activation, every output activation and regression loss), so an entry
without an ONNX conversion fails here. Skipped where the ``onnx`` extra
(skl2onnx, onnx) or onnxruntime is not installed.
"""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skneural import Activation, NeuralClassifier, NeuralRegressor
from skneural._activations import ACTIVATIONS, LAYER_ACTIVATIONS, OUTPUT_ACTIVATIONS
from skneural._losses import LOSSES

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
skneural_onnx = pytest.importorskip("skneural.onnx")
from skl2onnx import to_onnx  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: Regression losses (the classifier's are log_loss and binary_log_loss).
REGRESSION_LOSSES = [k for k in LOSSES if k not in ("log_loss", "binary_log_loss")]

#: Every registry entry, and entries with non-default arguments.
ACTIVATION_CASES = (
    sorted(ACTIVATIONS)
    + sorted(LAYER_ACTIVATIONS)
    + [
        Activation("leaky_relu", negative_slope=0.3),
        Activation("elu", alpha=0.5),
        Activation("softplus", beta=2.0),
        Activation("soft_shrink", lambd=0.3),
        Activation("hard_shrink", lambd=0.3),
        Activation("prelu", init=-0.5),
        Activation("rrelu", lower=0.1, upper=0.5),
        Activation("maxout", pieces=3),
    ]
)


def _session(onx):
    return ort.InferenceSession(onx.SerializeToString(),
                                providers=["CPUExecutionProvider"])  # fmt: skip


def _run(model, X, options=None, **kwargs):
    """Export ``model`` for inputs like ``X`` and run the graph on ``X``."""
    onx = to_onnx(model, X[:1], options=options, **kwargs)
    sess = _session(onx)
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _no_zipmap(model):
    return {id(model): {"zipmap": False}}


def _classification(n_classes=3, scale=2.0):
    # Scaled so that pre-activations reach the kinks of the piecewise
    # activations (hard_tanh, shrinks, hard_sigmoid...).
    X, y = make_classification(
        200, 5, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=0
    )
    return scale * StandardScaler().fit_transform(X), y


def _check_classifier(model, X, dtype, labels=True):
    """Compare the graph's outputs with predict/predict_proba; the largest
    probability difference."""
    X = X.astype(dtype)
    label, proba = _run(model, X, options=_no_zipmap(model))
    expected = model.predict_proba(X)
    assert proba.dtype == dtype and proba.shape == expected.shape
    if dtype == np.float64:
        np.testing.assert_allclose(proba, expected, rtol=1e-6, atol=1e-9)
    else:
        np.testing.assert_allclose(proba, expected, rtol=1e-4, atol=1e-5)
    if labels:
        # Labels must agree except at near-ties of the two largest probabilities.
        top2 = np.sort(expected, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 1e-4
        np.testing.assert_array_equal(label[clear], model.predict(X)[clear])
    return float(np.abs(proba - expected).max())


def test_every_registry_entry_has_a_conversion():
    assert set(ACTIVATIONS) <= set(skneural_onnx.ONNX_ACTIVATIONS)
    assert set(OUTPUT_ACTIVATIONS) == set(skneural_onnx.ONNX_OUTPUT_ACTIVATIONS)
    for loss in LOSSES.values():
        assert loss.out_activation in skneural_onnx.ONNX_OUTPUT_ACTIVATIONS


@pytest.mark.parametrize("activation", ACTIVATION_CASES, ids=repr)
def test_activation(activation):
    """Each activation, in a float64 graph and a float32 graph."""
    X, y = _classification()
    clf = NeuralClassifier((6, 5), activation, max_iter=5, learning_rate_init=0.01,
                           dtype="float64", random_state=0).fit(X, y)  # fmt: skip
    _check_classifier(clf, X, np.float64)
    _check_classifier(clf, X, np.float32)


@pytest.mark.parametrize(
    "activation, solver",
    [("relu", "adam"), ("tanh", "adam"), ("prelu", "adam"), ("maxout", "adam"),
     ("gelu", "lbfgs")],
)  # fmt: skip
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm(activation, solver, dtype):
    """Batch normalisation with the running (or whole-data) statistics."""
    X, y = _classification()
    clf = NeuralClassifier(
        (6, 5), activation, solver=solver, batch_norm=True, max_iter=5, dtype=dtype,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    # Running statistics away from their initial values.
    assert not np.allclose(clf.layer_state_[0]["var"], 1.0)
    _check_classifier(clf, X, np.dtype(dtype).type)


def test_per_layer_activations_and_dropout():
    X, y = _classification()
    clf = NeuralClassifier(
        (6, 5, 4), ["tanh", "prelu", Activation("elu", alpha=0.5)], dropout=0.2,
        input_noise=0.1, max_iter=5, dtype="float64", random_state=0,
    ).fit(X, y)  # fmt: skip
    _check_classifier(clf, X, np.float64)


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regressor(loss, n_outputs, dtype):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4))
    y = np.exp(0.5 * X[:, :n_outputs]) + 0.1 * rng.uniform(size=(150, n_outputs))
    y = y.ravel() if n_outputs == 1 else y
    reg = NeuralRegressor(loss, (6,), "tanh", max_iter=5, dtype=dtype,
                          random_state=0).fit(X, y)  # fmt: skip
    X = X.astype(dtype)
    (out,) = _run(reg, X)
    expected = reg.predict(X).reshape(len(X), n_outputs)
    assert out.dtype == dtype and out.shape == expected.shape
    rtol = 1e-6 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol * 1e-3)


@pytest.mark.parametrize("labels", ["int", "str", "binary", "binary-str"])
def test_classifier_labels(labels):
    X, y = _classification(n_classes=2 if labels.startswith("binary") else 3)
    if labels.endswith("str"):
        y = np.array(["ant", "bee", "cat"])[y]
    clf = NeuralClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    X = X.astype(np.float32)
    label, proba = _run(clf, X, options=_no_zipmap(clf))
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-4, atol=1e-6)
    # skl2onnx's default: the probabilities as a list of {class: probability}.
    label, dicts = _run(clf, X)
    np.testing.assert_array_equal(label, clf.predict(X))
    assert list(dicts[0]) == list(clf.classes_)
    zipped = np.array([[d[c] for c in clf.classes_] for d in dicts])
    np.testing.assert_allclose(zipped, clf.predict_proba(X), rtol=1e-4, atol=1e-6)
    # One output per class, and class indices instead of labels.
    outputs = _run(clf, X, options={id(clf): {"zipmap": "columns"}})
    assert len(outputs) == 1 + len(clf.classes_)
    np.testing.assert_allclose(np.column_stack(outputs[1:]), proba, rtol=1e-6)
    label, _ = _run(clf, X, options={id(clf): {"zipmap": False, "nocl": True}})
    np.testing.assert_array_equal(label, np.searchsorted(clf.classes_, clf.predict(X)))
    options = {id(clf): {"zipmap": False, "output_class_labels": True}}
    *_, classes = _run(clf, X, options=options)
    np.testing.assert_array_equal(classes, clf.classes_)


def test_multilabel():
    X, _ = _classification()
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5]).astype(int)
    clf = NeuralClassifier((8,), max_iter=20, dtype="float64", random_state=0).fit(X, Y)
    label, proba = _run(clf, X, options=_no_zipmap(clf))
    assert label.shape == Y.shape
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-9)
    # ONNX's ZipMap takes float32 only (as for skl2onnx's own classifiers).
    X32 = X.astype(np.float32)
    label, dicts = _run(clf, X32)
    np.testing.assert_array_equal(label, clf.predict(X32))
    zipped = np.array([[d[k] for k in range(Y.shape[1])] for d in dicts])
    np.testing.assert_allclose(zipped, proba, rtol=1e-4, atol=1e-6)


def test_pipeline_with_column_transformer():
    pd = pytest.importorskip("pandas")
    X, y = _classification()
    df = pd.DataFrame(X[:, :4], columns=["a", "b", "c", "d"])
    level = (X[:, 4] > 0).astype(int) + (X[:, 4] > 1)
    df["colour"] = np.array(["red", "green", "blue"])[level]
    pre = ColumnTransformer([
        ("num", StandardScaler(), ["a", "b", "c", "d"]),
        ("cat", OneHotEncoder(), ["colour"]),
    ])  # fmt: skip
    pipe = make_pipeline(pre, NeuralClassifier((6,), "gelu", max_iter=10,
                                               random_state=0))  # fmt: skip
    df[["a", "b", "c", "d"]] = df[["a", "b", "c", "d"]].astype(np.float32)
    pipe.fit(df, y)
    onx = to_onnx(pipe, df[:1], options={id(pipe.steps[-1][1]): {"zipmap": False}})
    sess = _session(onx)
    feeds = {
        i.name: df[[i.name]].to_numpy().astype(
            np.float32 if i.name != "colour" else object
        )
        for i in sess.get_inputs()
    }  # fmt: skip
    label, proba = sess.run(None, feeds)
    np.testing.assert_array_equal(label, pipe.predict(df))
    np.testing.assert_allclose(proba, pipe.predict_proba(df), rtol=1e-4, atol=1e-5)


def test_pipeline_regressor():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3)) * [1, 10, 100]
    y = X @ [1.0, 0.1, 0.01]
    pipe = make_pipeline(StandardScaler(), NeuralRegressor(
        hidden_layer_sizes=(5,), activation="selu", solver="lbfgs", max_iter=20,
        random_state=0,
    )).fit(X, y)  # fmt: skip
    (out,) = _run(pipe, X)
    np.testing.assert_allclose(out.ravel(), pipe.predict(X), rtol=1e-6, atol=1e-9)


def test_older_opset_maxout():
    X, y = _classification()
    clf = NeuralClassifier((4,), "maxout", max_iter=3, dtype="float64",
                           random_state=0).fit(X, y)  # fmt: skip
    _, proba = _run(clf, X, options=_no_zipmap(clf), target_opset=13)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_callable_activation_is_refused():
    import jax.numpy as jnp

    X, y = _classification()
    clf = NeuralClassifier((4,), lambda x: jnp.sin(x), max_iter=2,
                           random_state=0).fit(X, y)  # fmt: skip
    with pytest.raises(ValueError, match="callable activation"):
        to_onnx(clf, X[:1].astype(np.float32))
