"""Activation functions, by name.

Every entry of :data:`ACTIVATIONS` is a jax-traceable elementwise function whose
keyword arguments (a slope, a threshold) have their usual defaults. Adding
an activation is one entry here; its gradient comes from ``jax.grad``.

The estimators' ``activation`` parameter accepts a name, an
:class:`Activation` (a name with non-default keyword arguments, e.g.
``Activation("leaky_relu", negative_slope=0.2)``), a jax-traceable callable, or
a list with one of those per hidden layer.
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp


def _identity(x):
    return x


def _leaky_relu(x, negative_slope=0.1):
    return jnp.where(x >= 0, x, negative_slope * x)


def _elu(x, alpha=1.0):
    return jnp.where(x >= 0, x, alpha * jnp.expm1(jnp.minimum(x, 0)))


def _gelu(x):
    # The tanh approximation of Hendrycks and Gimpel (2016).
    return 0.5 * x * (1 + jnp.tanh(jnp.sqrt(2 / jnp.pi) * (x + 0.044715 * x**3)))


def _softplus(x, beta=1.0):
    return jax.nn.softplus(beta * x) / beta


def _mish(x):
    return x * jnp.tanh(jax.nn.softplus(x))


def _softsign(x):
    return x / (1 + jnp.abs(x))


def _hard_tanh(x):
    return jnp.clip(x, -1.0, 1.0)


def _hard_sigmoid(x):
    # 0 for x <= -3, 1 for x >= 3, x/6 + 1/2 between.
    return jnp.clip(x / 6 + 0.5, 0.0, 1.0)


def _hard_swish(x):
    # 0 for x <= -3, x for x >= 3, x (x + 3) / 6 between.
    return x * _hard_sigmoid(x)


def _tanh_shrink(x):
    return x - jnp.tanh(x)


def _soft_shrink(x, lambd=0.5):
    return jnp.where(x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, 0.0))


def _hard_shrink(x, lambd=0.5):
    return jnp.where(jnp.abs(x) > lambd, x, 0.0)


def _piecewise_linear(x):
    # 1 for x >= 1/2, x + 1/2 between, 0 for x <= -1/2.
    return jnp.clip(x + 0.5, 0.0, 1.0)


#: Hidden-layer activations: name -> elementwise function (keyword arguments
#: with defaults). Aliases share the function.
ACTIVATIONS = {
    "identity": _identity,
    "linear": _identity,
    "logistic": jax.nn.sigmoid,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": jax.nn.selu,
    "gelu": _gelu,
    "swish": jax.nn.silu,
    "silu": jax.nn.silu,
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

#: Activations that are layers rather than elementwise functions, with their
#: keyword arguments' defaults: PReLU (a learned slope per unit, starting at
#: ``init``), RReLU (a slope drawn uniformly in ``[lower, upper]`` per unit and
#: sample while training, the mean slope at inference) and maxout (the maximum
#: of ``pieces`` linear units, so the layer has ``pieces`` times the weights).
LAYER_ACTIVATIONS = {
    "prelu": {"init": 0.25},
    "rrelu": {"lower": 1 / 8, "upper": 1 / 3},
    "maxout": {"pieces": 2},
}

#: Step functions: not differentiable, so gradient training rejects them.
STEP_FUNCTIONS = {
    "heaviside": lambda x: (x > 0).astype(x.dtype),
    "sign": jnp.sign,
}

#: Output activations: name -> function of the last layer's pre-activation.
OUTPUT_ACTIVATIONS = {
    "identity": _identity,
    "logistic": jax.nn.sigmoid,
    "softmax": lambda z: jax.nn.softmax(z, axis=-1),
    "exp": jnp.exp,
}


@dataclass(frozen=True, init=False)
class Activation:
    """A named activation with keyword arguments other than the defaults.

    Hashable and picklable, so it can be an estimator parameter searched by
    ``GridSearchCV``.

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`.
    **params
        Keyword arguments of that function, e.g. ``negative_slope`` for
        'leaky_relu', ``alpha`` for 'elu', ``beta`` for 'softplus', ``lambd``
        for 'soft_shrink' and 'hard_shrink'.

    Examples
    --------
    >>> from skneural import Activation, NeuralClassifier
    >>> clf = NeuralClassifier(activation=Activation("leaky_relu", negative_slope=0.2))
    """

    name: str
    params: tuple

    def __init__(self, name, **params):
        known = set(ACTIVATIONS) | set(LAYER_ACTIVATIONS)
        if name not in known:
            raise ValueError(
                f"Unknown activation {name!r}; expected one of {sorted(known)}."
            )
        unknown = set(params) - set(LAYER_ACTIVATIONS.get(name, params))
        if unknown:
            raise ValueError(f"Activation {name!r} takes no argument {sorted(unknown)}.")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", tuple(sorted(params.items())))

    @property
    def kwargs(self):
        """Keyword arguments, the defaults of layer activations filled in."""
        return {**LAYER_ACTIVATIONS.get(self.name, {}), **dict(self.params)}

    def __call__(self, x):
        if self.name in LAYER_ACTIVATIONS:
            raise TypeError(f"{self.name!r} is a layer, not an elementwise function.")
        return ACTIVATIONS[self.name](x, **dict(self.params))

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.params)
        return f"Activation({self.name!r}{args})"

    def __reduce__(self):
        return (_make_activation, (self.name, dict(self.params)))


def _make_activation(name, params):
    return Activation(name, **params)


def resolve(activation, n_hidden):
    """Per-layer activations as a hashable tuple (a static jit argument).

    Parameters
    ----------
    activation : str, Activation, callable or list of those
        The estimator's ``activation`` parameter.
    n_hidden : int
        Number of hidden layers.

    Returns
    -------
    tuple of (str or callable)
        One entry per hidden layer.
    """
    if isinstance(activation, (list, tuple)):
        if len(activation) != n_hidden:
            raise ValueError(
                f"activation has {len(activation)} entries but there are "
                f"{n_hidden} hidden layers; give one activation per hidden layer."
            )
        layers = tuple(activation)
    else:
        layers = (activation,) * n_hidden
    # Layer activations given by name become Activation objects (defaults).
    layers = tuple(
        Activation(a) if isinstance(a, str) and a in LAYER_ACTIVATIONS else a
        for a in layers
    )
    for a in layers:
        if isinstance(a, str):
            if a in STEP_FUNCTIONS:
                raise ValueError(
                    f"activation={a!r} is a step function: it has no useful "
                    "gradient, so gradient training cannot use it. Use "
                    "skneural.Perceptron for Rosenblatt's rule with a step unit."
                )
            if a not in ACTIVATIONS and a not in LAYER_ACTIVATIONS:
                raise ValueError(
                    f"Unknown activation {a!r}; expected one of "
                    f"{sorted(set(ACTIVATIONS) | set(LAYER_ACTIVATIONS))}, an "
                    "Activation or a callable."
                )
        elif not callable(a):
            raise ValueError(
                f"activation entries must be names or callables, got {a!r}."
            )
    return layers


def function(activation):
    """The elementwise function for one entry returned by :func:`resolve`."""
    return ACTIVATIONS[activation] if isinstance(activation, str) else activation


def layer_kind(activation):
    """'prelu', 'rrelu' or 'maxout' for a layer activation, else None."""
    if isinstance(activation, Activation) and activation.name in LAYER_ACTIVATIONS:
        return activation.name
    return None
