"""ONNX export of the skneural estimators, through skl2onnx.

Importing this module registers converters and shape calculators for
:class:`~skneural.NeuralClassifier` and :class:`~skneural.NeuralRegressor`
with `skl2onnx <https://onnx.ai/sklearn-onnx/>`_, so that skl2onnx's own
functions convert them, alone or as the last step of a scikit-learn
:class:`~sklearn.pipeline.Pipeline`::

    import skneural.onnx  # noqa: F401 (registers the converters)
    from skl2onnx import to_onnx

    onx = to_onnx(model, X[:1])

The exported graph is the network in inference mode (no dropout or input
noise, the mean RReLU slope, batch normalisation with the running
statistics) and runs in any ONNX runtime without JAX. Every activation of
:data:`skneural._activations.ACTIVATIONS` is written with standard ONNX
operators (:data:`ONNX_ACTIVATIONS`), as are PReLU, RReLU, maxout, batch
normalisation and the output activations. The graph computes in float64 when
the input is declared as doubles (``X[:1]`` of dtype float64,
``DoubleTensorType``) and in float32 otherwise.

A classifier has skl2onnx's two outputs, ``label`` and ``probabilities``
(the latter a list of dictionaries by default, as for scikit-learn's
classifiers; the converter option ``zipmap=False`` keeps the matrix, and
``zipmap='columns'`` gives one output per class). A multilabel classifier's
label output is the ``(n_samples, n_labels)`` 0/1 indicator matrix. A
regressor has one output ``variable`` of shape ``(n_samples, n_outputs)``.

Needs the ``onnx`` extra: ``pip install "skneural[onnx]"``.
"""

import numpy as np

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        guess_proto_type,
    )
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "skneural.onnx needs skl2onnx and onnx: pip install 'skneural[onnx]'."
    ) from exc

from ._activations import Activation, layer_kind
from ._estimators import NeuralClassifier, NeuralRegressor
from ._network import BN_EPSILON

__all__ = ["ONNX_ACTIVATIONS"]


class _Graph:
    """Adds nodes and constants of one dtype to skl2onnx's container."""

    def __init__(self, scope, container, proto_dtype):
        self.scope, self.container, self.proto_dtype = scope, container, proto_dtype
        self.dtype = (
            np.float64 if proto_dtype == onnx_proto.TensorProto.DOUBLE else np.float32
        )

    def op(self, op_type, *inputs, output=None, domain="", **attrs):
        """Add a node; returns the name of its (single) output."""
        if output is None:
            output = self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            list(inputs),
            output,
            op_domain=domain,
            name=self.scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return output

    def const(self, value, dtype=None):
        """A constant (initializer) in the graph's float dtype or ``dtype``."""
        value = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.scope.get_unique_variable_name("c")
        proto = {
            np.dtype(np.float32): onnx_proto.TensorProto.FLOAT,
            np.dtype(np.float64): onnx_proto.TensorProto.DOUBLE,
            np.dtype(np.int64): onnx_proto.TensorProto.INT64,
        }.get(value.dtype, onnx_proto.TensorProto.STRING)
        if proto == onnx_proto.TensorProto.STRING:
            content = [str(v).encode("utf-8") for v in value.ravel()]
        else:
            content = value.ravel()
        self.container.add_initializer(name, proto, list(value.shape), content)
        return name

    # Compositions used by several activations.
    def clip(self, x, low, high):
        return self.op("Min", self.op("Max", x, self.const(low)), self.const(high))

    def where_nonneg(self, x, negative):
        """``x`` where ``x >= 0``, else ``negative``."""
        mask = self.op("Not", self.op("Less", x, self.const(0.0)))
        return self.op("Where", mask, x, negative)

    def prelu(self, x, slope):
        """``x`` where ``x >= 0``, else ``slope * x`` (onnxruntime has no
        double PRelu)."""
        return self.where_nonneg(x, self.op("Mul", self.const(slope), x))

    def softplus(self, x):
        # Stable: max(x, 0) + log(1 + exp(-|x|)).
        tail = self.op("Exp", self.op("Neg", self.op("Abs", x)))
        return self.op(
            "Add",
            self.op("Relu", x),
            self.op("Log", self.op("Add", tail, self.const(1.0))),
        )

    def expm1_neg(self, x):
        """``exp(min(x, 0)) - 1``."""
        return self.op(
            "Sub", self.op("Exp", self.op("Min", x, self.const(0.0))), self.const(1.0)
        )


def _identity(g, x):
    return x


def _leaky_relu(g, x, negative_slope=0.1):
    return g.prelu(x, negative_slope)


def _elu(g, x, alpha=1.0):
    return g.where_nonneg(x, g.op("Mul", g.const(alpha), g.expm1_neg(x)))


def _selu(g, x):
    # jax.nn.selu's constants.
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    inner = g.op("Mul", g.const(alpha), g.expm1_neg(x))
    positive = g.op("Greater", x, g.const(0.0))
    return g.op("Mul", g.const(scale), g.op("Where", positive, x, inner))


def _gelu(g, x):
    # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), as skneural's.
    cube = g.op("Mul", g.op("Mul", x, x), x)
    inner = g.op("Add", x, g.op("Mul", g.const(0.044715), cube))
    t = g.op("Tanh", g.op("Mul", g.const(np.sqrt(2 / np.pi)), inner))
    return g.op("Mul", g.op("Mul", g.const(0.5), x), g.op("Add", g.const(1.0), t))


def _swish(g, x):
    return g.op("Mul", x, g.op("Sigmoid", x))


def _softplus(g, x, beta=1.0):
    if beta == 1.0:
        return g.softplus(x)
    return g.op("Div", g.softplus(g.op("Mul", g.const(beta), x)), g.const(beta))


def _mish(g, x):
    return g.op("Mul", x, g.op("Tanh", g.softplus(x)))


def _softsign(g, x):
    return g.op("Div", x, g.op("Add", g.const(1.0), g.op("Abs", x)))


def _hard_tanh(g, x):
    return g.clip(x, -1.0, 1.0)


def _hard_sigmoid(g, x):
    return g.clip(g.op("Add", g.op("Div", x, g.const(6.0)), g.const(0.5)), 0.0, 1.0)


def _hard_swish(g, x):
    return g.op("Mul", x, _hard_sigmoid(g, x))


def _tanh_shrink(g, x):
    return g.op("Sub", x, g.op("Tanh", x))


def _soft_shrink(g, x, lambd=0.5):
    # x - lambd above lambd, x + lambd below -lambd, 0 between.
    return g.op("Sub", x, g.clip(x, -lambd, lambd))


def _hard_shrink(g, x, lambd=0.5):
    keep = g.op("Greater", g.op("Abs", x), g.const(lambd))
    return g.op("Where", keep, x, g.const(0.0))


def _piecewise_linear(g, x):
    return g.clip(g.op("Add", x, g.const(0.5)), 0.0, 1.0)


def _unary(op_type):
    def build(g, x):
        return g.op(op_type, x)

    build.__name__ = op_type
    return build


#: Hidden-layer activations (the keys of skneural's activation registry):
#: name -> function ``(graph, x, **kwargs)`` adding the ONNX nodes that compute
#: it and returning the output's name.
ONNX_ACTIVATIONS = {
    "identity": _identity,
    "linear": _identity,
    "logistic": _unary("Sigmoid"),
    "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "relu": _unary("Relu"),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "swish": _swish,
    "silu": _swish,
    "softplus": _softplus,
    "mish": _mish,
    "softsign": _softsign,
    "hard_tanh": _hard_tanh,
    "hard_sigmoid": _hard_sigmoid,
    "hard_swish": _hard_swish,
    "tanh_shrink": _tanh_shrink,
    "soft_shrink": _soft_shrink,
    "hard_shrink": _hard_shrink,
    "piecewise_linear": _piecewise_linear,
}

#: Output activations: name -> ONNX operator (None: no node).
ONNX_OUTPUT_ACTIVATIONS = {
    "identity": None,
    "logistic": "Sigmoid",
    "softmax": "Softmax",
    "exp": "Exp",
}


def _activate(g, h, activation, layer, width):
    """Nodes of one hidden layer's activation (``width`` pre-activations)."""
    kind = layer_kind(activation)
    if kind == "prelu":
        return g.prelu(h, layer["a"])
    if kind == "rrelu":
        kwargs = activation.kwargs
        return g.prelu(h, (kwargs["lower"] + kwargs["upper"]) / 2)
    if kind == "maxout":
        k = activation.kwargs["pieces"]
        shape = g.const([-1, width // k, k], dtype=np.int64)
        pieces = g.op("Reshape", h, shape)
        if g.container.target_opset >= 18:
            return g.op("ReduceMax", pieces, g.const([2], dtype=np.int64), keepdims=0)
        return g.op("ReduceMax", pieces, axes=[2], keepdims=0)
    if isinstance(activation, Activation):
        return ONNX_ACTIVATIONS[activation.name](g, h, **dict(activation.params))
    if isinstance(activation, str):
        if activation not in ONNX_ACTIVATIONS:
            raise ValueError(
                f"No ONNX conversion for the activation {activation!r}; add one "
                "to skneural.onnx.ONNX_ACTIVATIONS."
            )
        return ONNX_ACTIVATIONS[activation](g, h)
    raise ValueError(
        f"Cannot export the callable activation {activation!r} to ONNX: only "
        "named activations (skneural's registry, or Activation objects) have "
        "ONNX conversions. Train with a named activation to export the model."
    )


def _network(g, model, x):
    """Nodes of the network in inference mode; returns the output's name."""
    net = model._layer_activations
    params = model._params()
    h = x
    for i, layer in enumerate(params):
        h = g.op("MatMul", h, g.const(layer["W"]))
        h = g.op("Add", h, g.const(layer["b"]))
        if i == len(params) - 1:
            break
        if net.batch_norm:
            state = model.layer_state_[i]
            dtype = np.asarray(state["var"]).dtype
            scale = np.sqrt(np.asarray(state["var"]) + dtype.type(BN_EPSILON))
            h = g.op("Sub", h, g.const(state["mean"]))
            h = g.op("Div", h, g.const(scale))
            h = g.op(
                "Add", g.op("Mul", h, g.const(layer["gamma"])), g.const(layer["beta"])
            )
        h = _activate(g, h, net.activations[i], layer, layer["W"].shape[1])
    out = ONNX_OUTPUT_ACTIVATIONS[model.out_activation_]
    if out == "Softmax":
        return g.op(out, h, axis=1)
    return h if out is None else g.op(out, h)


def _graph(scope, operator, container):
    proto_dtype = guess_proto_type(operator.inputs[0].type)
    if proto_dtype != onnx_proto.TensorProto.DOUBLE:
        proto_dtype = onnx_proto.TensorProto.FLOAT
    g = _Graph(scope, container, proto_dtype)
    x = g.op("Cast", operator.inputs[0].full_name, to=proto_dtype)
    return g, x


def _multilabel(model):
    return model._label_binarizer.y_type_ == "multilabel-indicator"


def _label_constant(g, classes):
    """The class labels as an int64 or string constant (as skl2onnx does)."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return g.const(classes.astype(np.int64), dtype=np.int64)
    if classes.dtype.kind == "f":
        if not np.all(classes == np.round(classes)):
            raise ValueError(
                "ONNX labels are integers or strings; the classes "
                f"{classes.tolist()} are floats that are not integers. Encode "
                "them as integers or strings before training."
            )
        return g.const(classes.astype(np.int64), dtype=np.int64)
    return g.const(classes.astype(str), dtype=object)


def convert_classifier(scope, operator, container):
    """skl2onnx converter of :class:`~skneural.NeuralClassifier`."""
    model = operator.raw_operator
    g, x = _graph(scope, operator, container)
    out = _network(g, model, x)
    label_name, proba_name = (v.full_name for v in operator.outputs[:2])
    if model.n_outputs_ == 1:
        negative = g.op("Sub", g.const([1.0]), out)
        g.op("Concat", negative, out, output=proba_name, axis=1)
    else:
        g.op("Identity", out, output=proba_name)
    if _multilabel(model):
        above = g.op("Greater", out, g.const(0.5))
        g.op("Cast", above, output=label_name, to=onnx_proto.TensorProto.INT64)
        return
    index = g.op("ArgMax", proba_name, axis=1, keepdims=0)
    classes = _label_constant(g, get_label_classes(scope, model))
    g.op("Gather", classes, index, output=label_name, axis=0)


def convert_regressor(scope, operator, container):
    """skl2onnx converter of :class:`~skneural.NeuralRegressor`."""
    model = operator.raw_operator
    g, x = _graph(scope, operator, container)
    g.op("Identity", _network(g, model, x), output=operator.outputs[0].full_name)


def classifier_shape(operator):
    """skl2onnx shape calculator of :class:`~skneural.NeuralClassifier`."""
    calculate_linear_classifier_output_shapes(operator)
    model = operator.raw_operator
    if _multilabel(model):
        n = operator.inputs[0].get_first_dimension()
        operator.outputs[0].set_type(Int64TensorType([n, model.n_outputs_]))
        operator.outputs[1].type.shape = [n, model.n_outputs_]


def regressor_shape(operator):
    """skl2onnx shape calculator of :class:`~skneural.NeuralRegressor`."""
    if len(operator.inputs) != 1 or len(operator.outputs) != 1:
        raise RuntimeError("NeuralRegressor has one input and one output.")
    tensor_type = (
        DoubleTensorType
        if isinstance(operator.inputs[0].type, DoubleTensorType)
        else FloatTensorType
    )
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = tensor_type([n, operator.raw_operator.n_outputs_])


update_registered_converter(
    NeuralClassifier,
    "SkneuralNeuralClassifier",
    classifier_shape,
    convert_classifier,
    options={
        "zipmap": [True, False, "columns"],
        "output_class_labels": [False, True],
        "nocl": [True, False],
    },
)
update_registered_converter(
    NeuralRegressor,
    "SkneuralNeuralRegressor",
    regressor_shape,
    convert_regressor,
)
