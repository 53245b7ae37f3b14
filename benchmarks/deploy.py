"""Size and prediction latency of one model deployed three ways.

One ``NeuralClassifier`` (hidden layers (256, 128), ReLU, 64 features, 10
classes, trained for a few epochs on synthetic data) is deployed as:

skneural (pickle)
    The estimator itself, pickled; predicting needs skneural, JAX and
    scikit-learn. (skops files are the same arrays: about the same size.)
scikit-learn MLP (``to_sklearn``, pickle)
    ``clf.to_sklearn()``, pickled; predicting needs scikit-learn only.
ONNX (onnxruntime)
    ``skl2onnx.to_onnx(clf, X[:1])`` after ``import skneural.onnx``, saved as
    a ``.onnx`` file; predicting needs onnxruntime only.

For each the table gives the file size, the time to load the file and
predict one row in a fresh Python process (imports included: a cold start),
and the median latency of ``predict_proba`` (``InferenceSession.run``) on
1 row and on 1,000 rows, in the process, after a warm-up call.

``--fidelity`` prints instead, for every configuration exported (each
activation and layer type of the registries, batch normalisation, every
regression loss, classifier targets; ONNX graphs in float64 and float32, and
``to_sklearn``), the largest absolute difference between the exported
model's probabilities (or predictions) and skneural's.

Usage::

    python benchmarks/deploy.py              # ~1 minute
    python benchmarks/deploy.py --quick      # a smaller model, fewer repeats
    python benchmarks/deploy.py --fidelity   # prediction differences, ~5 minutes
"""

import argparse
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skneural import NeuralClassifier

warnings.simplefilter("ignore", ConvergenceWarning)

COLD_START = {
    "skneural": (
        "import pickle, numpy as np\n"
        "m = pickle.load(open({path!r}, 'rb'))\n"
        "m.predict_proba(np.zeros((1, {d}), np.float32))\n"
    ),
    "sklearn": (
        "import pickle, numpy as np\n"
        "m = pickle.load(open({path!r}, 'rb'))\n"
        "m.predict_proba(np.zeros((1, {d}), np.float32))\n"
    ),
    "onnx": (
        "import numpy as np, onnxruntime as ort\n"
        "s = ort.InferenceSession({path!r}, providers=['CPUExecutionProvider'])\n"
        "s.run(None, {{s.get_inputs()[0].name: np.zeros((1, {d}), np.float32)}})\n"
    ),
}


def _median_seconds(fn, repeats):
    fn()  # warm-up (compilation for skneural)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _cold_start(kind, path, n_features):
    code = COLD_START[kind].format(path=path, d=n_features)
    env = dict(os.environ)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def _onnx_output(model, X, classifier):
    import onnxruntime as ort
    from skl2onnx import to_onnx

    options = {id(model): {"zipmap": False}} if classifier else None
    onx = to_onnx(model, X[:1], options=options)
    sess = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return sess.run(None, {sess.get_inputs()[0].name: X})[-1]


def fidelity():
    """Largest prediction difference of every exported configuration."""
    import skneural.onnx  # noqa: F401 (registers the converters)
    from skneural import Activation, NeuralRegressor
    from skneural._activations import ACTIVATIONS, LAYER_ACTIVATIONS
    from skneural._losses import LOSSES

    rng = np.random.RandomState(0)
    X = 2 * rng.normal(size=(300, 5))
    y = (X[:, :3] + rng.normal(size=(300, 3))).argmax(axis=1)
    Y = (X[:, :3] > 0).astype(int)
    cases = [(f"activation {a!r}", dict(activation=a), y) for a in ACTIVATIONS]
    cases += [(f"layer {a!r}", dict(activation=a), y) for a in LAYER_ACTIVATIONS]
    cases += [
        ("maxout, 3 pieces", dict(activation=Activation("maxout", pieces=3)), y),
        ("per-layer tanh/prelu/elu", dict(activation=["tanh", "prelu", "elu"]), y),
        ("batch_norm relu (adam)", dict(batch_norm=True), y),
        ("batch_norm maxout (adam)", dict(batch_norm=True, activation="maxout"), y),
        ("batch_norm prelu (lbfgs)",
         dict(batch_norm=True, activation="prelu", solver="lbfgs"), y),
        ("binary", {}, y == 0),
        ("multilabel", {}, Y),
    ]  # fmt: skip
    rows = []
    for name, params, target in cases:
        hidden = (6, 5, 4) if isinstance(params.get("activation"), list) else (6, 5)
        clf = NeuralClassifier(hidden, max_iter=5, dtype="float64", random_state=0,
                               **params).fit(X, target)  # fmt: skip
        p64 = clf.predict_proba(X)
        d64 = np.abs(_onnx_output(clf, X, True) - p64).max()
        X32 = X.astype(np.float32)
        d32 = np.abs(_onnx_output(clf, X32, True) - clf.predict_proba(X32)).max()
        try:
            dsk = f"{np.abs(clf.to_sklearn().predict_proba(X) - p64).max():.1e}"
        except ValueError:
            dsk = "refused"
        rows.append((name, d64, d32, dsk))
    Yr = np.exp(0.3 * X[:, :2]) + 0.1 * rng.uniform(size=(300, 2))
    for loss in [k for k in LOSSES if k not in ("log_loss", "binary_log_loss")]:
        reg = NeuralRegressor(loss, (6,), "tanh", max_iter=5, dtype="float64",
                              random_state=0).fit(X, Yr)  # fmt: skip
        pred = reg.predict(X)
        d64 = np.abs(_onnx_output(reg, X, False) - pred).max()
        X32 = X.astype(np.float32)
        d32 = np.abs(_onnx_output(reg, X32, False) - reg.predict(X32)).max()
        try:
            dsk = f"{np.abs(reg.to_sklearn().predict(X) - pred).max():.1e}"
        except ValueError:
            dsk = "refused"
        rows.append((f"regressor loss {loss!r} (2 outputs)", d64, d32, dsk))
    print("| configuration | ONNX float64 | ONNX float32 | to_sklearn (float64) |")
    print("|---|---|---|---|")
    for name, d64, d32, dsk in rows:
        print(f"| {name} | {d64:.1e} | {d32:.1e} | {dsk} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small model, few repeats")
    parser.add_argument(
        "--fidelity", action="store_true", help="prediction differences instead"
    )
    args = parser.parse_args(argv)
    if args.fidelity:
        fidelity()
        return

    import onnxruntime as ort
    from skl2onnx import to_onnx

    import skneural.onnx  # noqa: F401 (registers the converters)

    hidden, repeats = ((32,), 5) if args.quick else ((256, 128), 50)
    rng = np.random.RandomState(0)
    n_features, n_classes = 64, 10
    X = rng.normal(size=(2000, n_features)).astype(np.float32)
    y = (X[:, :n_classes] + 0.5 * rng.normal(size=(2000, n_classes))).argmax(axis=1)
    clf = NeuralClassifier(hidden, max_iter=3, random_state=0).fit(X, y)
    mlp = clf.to_sklearn()
    onx = to_onnx(clf, X[:1], options={id(clf): {"zipmap": False}})

    one, batch = X[:1], X[:1000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: os.path.join(tmp, k) for k in COLD_START}
        with open(paths["skneural"], "wb") as f:
            pickle.dump(clf, f)
        with open(paths["sklearn"], "wb") as f:
            pickle.dump(mlp, f)
        with open(paths["onnx"], "wb") as f:
            f.write(onx.SerializeToString())
        sess = ort.InferenceSession(paths["onnx"], providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        predictors = {
            "skneural": clf.predict_proba,
            "sklearn": mlp.predict_proba,
            "onnx": lambda A: sess.run(None, {name: A}),
        }
        labels = {
            "skneural": "skneural (pickle; needs JAX)",
            "sklearn": "to_sklearn() MLP (pickle; needs scikit-learn)",
            "onnx": "ONNX (needs onnxruntime)",
        }
        for kind, predict in predictors.items():
            rows.append((
                labels[kind],
                os.path.getsize(paths[kind]) / 1024,
                _cold_start(kind, paths[kind], n_features),
                _median_seconds(partial(predict, one), repeats) * 1e3,
                _median_seconds(partial(predict, batch), repeats) * 1e3,
            ))  # fmt: skip

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"hidden {hidden}, {n_features} features, {n_classes} classes")  # fmt: skip
    print("| deployment | file KiB | cold start s | 1 row ms | 1,000 rows ms |")
    print("|---|---|---|---|---|")
    for label, size, cold, t1, t1000 in rows:
        print(f"| {label} | {size:.0f} | {cold:.2f} | {t1:.3f} | {t1000:.2f} |")


if __name__ == "__main__":
    main()
