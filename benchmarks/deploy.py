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

Usage::

    python benchmarks/deploy.py            # ~1 minute
    python benchmarks/deploy.py --quick    # a smaller model, fewer repeats
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small model, few repeats")
    args = parser.parse_args(argv)

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
