"""Activation functions and layer types, by name.

Three registries hold everything the estimators and the documentation know
about the hidden units:

* :data:`ACTIVATIONS` -- elementwise functions: name -> :class:`Elementwise`
  (a jax-traceable function whose keyword arguments, a slope or a threshold,
  have their usual defaults, with its formula and reference). Its gradient
  comes from ``jax.grad``.
* :data:`LAYER_ACTIVATIONS` -- activations that are layers: name ->
  :class:`LayerType` (extra trainable parameters, width factor, apply function,
  randomness).
* :data:`STEP_FUNCTIONS` -- step functions, for the perceptron only.

Adding an activation or a layer type is one entry in one of them: the
network (:mod:`skneural._network`), the parameter validation and the lists in
the documentation read the registries.

The estimators' ``activation`` parameter accepts a name, an
:class:`Activation` (a name with non-default keyword arguments, e.g.
``Activation("leaky_relu", negative_slope=0.2)``), a jax-traceable callable, or
a list with one of those per hidden layer.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.utils._param_validation import StrOptions

from ._messages import did_you_mean, one_of


@dataclass(frozen=True, eq=False)
class Elementwise:
    """An elementwise activation: the function and its documentation.

    Calling the entry calls the function, so ``ACTIVATIONS[name](x)`` is the
    activation of ``x``.

    Parameters
    ----------
    fn : callable
        ``fn(x, **kwargs)``, jax-traceable and elementwise; its keyword
        arguments have defaults.
    formula : str
        :math:`g(x)` in one line of reStructuredText (for the documentation).
    reference : str, default=''
        Where the function was introduced or studied, as "Author (year)".
    symbols : dict, default={}
        Mathematical symbol of each keyword argument used in ``formula``.
    """

    fn: Callable
    formula: str
    reference: str = ""
    symbols: dict = field(default_factory=dict)

    def __call__(self, x, **kwargs):
        return self.fn(x, **kwargs)

    @property
    def defaults(self):
        """Keyword arguments of ``fn`` and their defaults."""
        try:
            signature = inspect.signature(self.fn)
        except (TypeError, ValueError):
            return {}
        return {
            name: p.default
            for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty
        }


@dataclass(frozen=True, eq=False)
class LayerType:
    """An activation that is a layer rather than an elementwise function.

    Parameters
    ----------
    apply : callable
        ``apply(h, params, key, train, **kwargs) -> array``: the layer's output
        from its pre-activation ``h`` (of width ``units * width(**kwargs)``),
        its parameter dict ``params`` (``"W"``, ``"b"`` and the extra
        parameters), a jax random key (None unless ``stochastic`` and
        training), the training flag and the keyword arguments (the defaults
        filled in). Jax-traceable.
    defaults : dict, default={}
        The keyword arguments that an :class:`Activation` of this type takes,
        and their defaults.
    params : callable or None, default=None
        ``params(units, dtype, **kwargs) -> dict`` of the extra trainable
        parameters of a layer of ``units`` units and their initial values
        (numpy arrays); None for none.
    width : callable or None, default=None
        ``width(**kwargs) -> int``: linear units per unit of the layer (the
        weight matrix has ``units * width`` columns); None for 1.
    stochastic : bool, default=False
        Whether ``apply`` draws random numbers in training (the objective is
        then random, so whole-batch solvers refuse it).
    summary : str, default=''
        A few words for the estimators' docstrings.
    description : str, default=''
        A paragraph of reStructuredText for the user guide.
    reference : str, default=''
        Where the layer was introduced, as "Author (year)".
    """

    apply: Callable
    defaults: dict = field(default_factory=dict)
    params: Callable | None = None
    width: Callable | None = None
    stochastic: bool = False
    summary: str = ""
    description: str = ""
    reference: str = ""

    def extra_params(self, units, dtype, **kwargs):
        """The extra trainable parameters of a layer of ``units`` units."""
        return {} if self.params is None else self.params(units, dtype, **kwargs)

    def width_factor(self, **kwargs):
        """Linear units per unit (1 unless ``width`` says otherwise)."""
        return 1 if self.width is None else self.width(**kwargs)


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


#: Hidden-layer activations: name -> :class:`Elementwise` (keyword arguments
#: with defaults). Aliases share the entry.
ACTIVATIONS = {
    "identity": (_IDENTITY := Elementwise(_identity, r":math:`x`")),
    "linear": _IDENTITY,
    "logistic": (
        _LOGISTIC := Elementwise(
            jax.nn.sigmoid,
            r":math:`\sigma(x) = 1 / (1 + e^{-x})`; "
            r":math:`g' = \sigma (1 - \sigma) \le 1/4`",
        )
    ),
    "sigmoid": _LOGISTIC,
    "tanh": Elementwise(jnp.tanh, r":math:`\tanh x`; :math:`g' = 1 - \tanh^2 x \le 1`"),
    "relu": Elementwise(
        jax.nn.relu, r":math:`\max(0, x)`", "Nair and Hinton (2010)"
    ),
    "leaky_relu": Elementwise(
        _leaky_relu,
        r":math:`x` for :math:`x \ge 0`, else :math:`a x`",
        "Maas, Hannun and Ng (2013)",
        {"negative_slope": "a"},
    ),
    "elu": Elementwise(
        _elu,
        r":math:`x` for :math:`x \ge 0`, else :math:`\alpha (e^x - 1)`",
        "Clevert, Unterthiner and Hochreiter (2016)",
        {"alpha": r"\alpha"},
    ),
    "selu": Elementwise(
        jax.nn.selu,
        r":math:`\lambda x` for :math:`x > 0`, else :math:`\lambda \alpha (e^x - 1)`, "
        r"with :math:`\lambda \approx 1.0507`, :math:`\alpha \approx 1.6733`",
        "Klambauer et al. (2017)",
    ),
    "gelu": Elementwise(
        _gelu,
        r":math:`\frac{x}{2}(1 + \tanh u)` with "
        r":math:`u = \sqrt{2/\pi}\,(x + 0.044715 x^3)` (the tanh approximation)",
        "Hendrycks and Gimpel (2016)",
    ),
    "swish": (
        _SWISH := Elementwise(
            jax.nn.silu,
            r":math:`x\, \sigma(x)`",
            "Elfwing, Uchibe and Doya (2018); Ramachandran, Zoph and Le (2017)",
        )
    ),
    "silu": _SWISH,
    "softplus": Elementwise(
        _softplus,
        r":math:`\frac{1}{\beta} \ln(1 + e^{\beta x})`",
        "Dugas et al. (2001)",
        {"beta": r"\beta"},
    ),
    "mish": Elementwise(_mish, r":math:`x \tanh(\ln(1 + e^x))`", "Misra (2019)"),
    "softsign": Elementwise(
        _softsign, r":math:`x / (1 + |x|)`", "Glorot and Bengio (2010)"
    ),
    "hard_tanh": Elementwise(_hard_tanh, r":math:`\max(-1, \min(1, x))`"),
    "hard_sigmoid": Elementwise(
        _hard_sigmoid,
        r"0 for :math:`x \le -3`, 1 for :math:`x \ge 3`, :math:`x/6 + 1/2` between",
        "Howard et al. (2019)",
    ),
    "hard_swish": Elementwise(
        _hard_swish,
        r"0 for :math:`x \le -3`, :math:`x` for :math:`x \ge 3`, "
        r":math:`x (x + 3) / 6` between",
        "Howard et al. (2019)",
    ),
    "tanh_shrink": Elementwise(_tanh_shrink, r":math:`x - \tanh x`"),
    "soft_shrink": Elementwise(
        _soft_shrink,
        r":math:`x - \lambda` for :math:`x > \lambda`, :math:`x + \lambda` for "
        r":math:`x < -\lambda`, else 0",
        "Donoho (1995)",
        {"lambd": r"\lambda"},
    ),
    "hard_shrink": Elementwise(
        _hard_shrink,
        r":math:`x` for :math:`|x| > \lambda`, else 0",
        "",
        {"lambd": r"\lambda"},
    ),
    "piecewise_linear": Elementwise(
        _piecewise_linear,
        r"1 for :math:`x \ge 1/2`, :math:`x + 1/2` between, 0 for :math:`x \le -1/2`",
    ),
}


def _prelu(h, params, key, train, init):
    return jnp.where(h >= 0, h, params["a"] * h)


def _prelu_params(units, dtype, init):
    return {"a": np.full(units, init, dtype=dtype)}


def _rrelu(h, params, key, train, lower, upper):
    if train:
        slope = jax.random.uniform(key, h.shape, h.dtype, lower, upper)
    else:
        slope = (lower + upper) / 2
    return jnp.where(h >= 0, h, slope * h)


def _maxout(h, params, key, train, pieces):
    return h.reshape(h.shape[:-1] + (h.shape[-1] // pieces, pieces)).max(axis=-1)


#: Activations that are layers rather than elementwise functions: name ->
#: :class:`LayerType` (its keyword arguments' defaults, extra parameters,
#: width factor, apply function and randomness).
LAYER_ACTIVATIONS = {
    "prelu": LayerType(
        _prelu,
        defaults={"init": 0.25},
        params=_prelu_params,
        summary="learned slopes",
        description=(
            r"Parametric ReLU: :math:`x` for :math:`x \ge 0`, else :math:`a_j x`, "
            r"with one slope :math:`a_j` per unit *learned* with the weights "
            "(starting at ``init``, 0.25). The fitted slopes are in "
            '``layer_params_[l]["a"]``.'
        ),
        reference="He et al. (2015)",
    ),
    "rrelu": LayerType(
        _rrelu,
        defaults={"lower": 1 / 8, "upper": 1 / 3},
        stochastic=True,
        summary="random slopes in training",
        description=(
            "Randomised leaky ReLU: in training the negative slope of every unit "
            "and sample is drawn uniformly in ``[lower, upper]`` (1/8, 1/3); at "
            "inference it is their mean. Its objective is random, so it needs a "
            "stepwise solver."
        ),
        reference="Xu et al. (2015)",
    ),
    "maxout": LayerType(
        _maxout,
        defaults={"pieces": 2},
        width=lambda pieces: pieces,
        summary="max of 2 linear pieces",
        description=(
            r":math:`\max(w_1 \cdot x + b_1, \ldots, w_k \cdot x + b_k)`: each unit "
            "is the maximum of ``pieces`` (2) linear units, so ``coefs_[l]`` has "
            "``pieces`` times as many columns as the layer has units (column "
            "``j * pieces + i`` is piece ``i`` of unit ``j``)."
        ),
        reference="Goodfellow et al. (2013)",
    ),
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
        A key of :data:`ACTIVATIONS` or :data:`LAYER_ACTIVATIONS`.
    **params
        Keyword arguments of that function or layer, e.g. ``negative_slope`` for
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
                f"Unknown activation {name!r}; expected one of {one_of(known)}."
                + did_you_mean(name, known)
            )
        layer = LAYER_ACTIVATIONS.get(name)
        unknown = set(params) - set(params if layer is None else layer.defaults)
        if unknown:
            raise ValueError(f"Activation {name!r} takes no argument {sorted(unknown)}.")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", tuple(sorted(params.items())))

    @property
    def kwargs(self):
        """Keyword arguments, the defaults of layer activations filled in."""
        layer = LAYER_ACTIVATIONS.get(self.name)
        return {**({} if layer is None else layer.defaults), **dict(self.params)}

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
                known = set(ACTIVATIONS) | set(LAYER_ACTIVATIONS)
                raise ValueError(
                    f"Unknown activation {a!r}; expected one of {one_of(known)}, "
                    "an Activation or a callable." + did_you_mean(a, known)
                )
        elif not callable(a):
            raise ValueError(
                f"activation entries must be names or callables, got {a!r}."
            )
    return layers


#: Elementwise activations that a small model may choose at run time (see
#: :func:`runtime_choice`).
RUNTIME_CHOICES = ("identity", "logistic", "tanh", "relu")
#: The hidden-layer entry of a network whose activation is chosen at run time.
RUNTIME = "runtime"


def runtime_choice(activations):
    """One-hot rows choosing each layer's activation among
    :data:`RUNTIME_CHOICES`, or None when one of them is not there.

    A network whose hidden layers all use these activations can compute
    every layer as ``sum_j c_j g_j(x)`` with the one-hot ``c`` of its own
    activation: that is exactly ``g(x)`` and its derivative (the other terms
    add zeros), and one compiled program then serves all four activations.
    """
    entries = [ACTIVATIONS[n] for n in RUNTIME_CHOICES]
    rows = []
    for a in activations:
        entry = ACTIVATIONS.get(a) if isinstance(a, str) else None
        if entry is None or not any(entry is e for e in entries):
            return None
        rows.append([1.0 if entry is e else 0.0 for e in entries])
    return rows


def runtime_activation(x, choice):
    """``sum_j choice[j] * g_j(x)`` over :data:`RUNTIME_CHOICES`."""
    return sum(c * ACTIVATIONS[n](x) for c, n in zip(choice, RUNTIME_CHOICES))


def function(activation):
    """The elementwise function for one entry returned by :func:`resolve`."""
    return ACTIVATIONS[activation] if isinstance(activation, str) else activation


def layer_type(activation):
    """The :class:`LayerType` of an entry returned by :func:`resolve`, or None
    for an elementwise activation."""
    if isinstance(activation, Activation):
        return LAYER_ACTIVATIONS.get(activation.name)
    return None


def layer_kind(activation):
    """The name of a layer activation (a key of :data:`LAYER_ACTIVATIONS`),
    else None."""
    if isinstance(activation, Activation) and activation.name in LAYER_ACTIVATIONS:
        return activation.name
    return None


class ActivationNames(StrOptions):
    """The estimators' constraint on an ``activation`` name: the keys of
    :data:`ACTIVATIONS`, :data:`LAYER_ACTIVATIONS` and :data:`STEP_FUNCTIONS`,
    read when a parameter is validated, so that an entry added to a registry
    is accepted without further edits."""

    def __init__(self):
        super().__init__(set())

    @property
    def options(self):
        return set(ACTIVATIONS) | set(LAYER_ACTIVATIONS) | set(STEP_FUNCTIONS)

    @options.setter
    def options(self, value):
        # Options.__init__ assigns the set; the registries are the options.
        pass
