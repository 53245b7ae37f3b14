"""The multilayer perceptron as pure functions over pytrees.

Trainable ``params`` are a list with one dict per layer: ``{"W": (fan_in,
fan_out), "b": (fan_out,)}``, plus the extra parameters of a layer type
(``"a"``, the PReLU slopes) and ``"gamma"``, ``"beta"`` (batch normalisation)
on hidden layers that have them. Carried ``state`` (batch-normalisation
running statistics) is a separate list with one dict per hidden layer (empty
when there is nothing to carry). The static description of the architecture
is a :class:`Net`.

Layer activations (PReLU, RReLU, maxout, ...) are entries of
:data:`skneural._activations.LAYER_ACTIVATIONS`: each declares its extra
parameters, its width factor, its apply function and whether it draws random
numbers, and this module reads those declarations without naming any layer
type.

:func:`init` draws the parameters on the host with numpy, so the first fit
compiles nothing for initialisation; :func:`apply` is jax-traceable.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._activations import RUNTIME, function, layer_type, resolve, runtime_activation
from ._program_cache import program
from ._sparse import SparseRows

#: Momentum of the batch-normalisation running statistics.
BN_MOMENTUM = 0.9
#: Added to the variance before dividing by its square root.
BN_EPSILON = 1e-5


class Net(NamedTuple):
    """Static description of a network (a compile-time argument).

    Attributes
    ----------
    activations : tuple
        One entry per hidden layer: a name, an ``Activation`` or a callable.
    dropout : tuple of float
        Dropout rate of each hidden layer's output.
    input_dropout : float
        Dropout rate of the inputs.
    input_noise : float
        Standard deviation of Gaussian noise added to the inputs in training.
    batch_norm : bool
        Batch normalisation of every hidden layer's pre-activation.
    """

    activations: tuple
    dropout: tuple = ()
    input_dropout: float = 0.0
    input_noise: float = 0.0
    batch_norm: bool = False

    @property
    def n_hidden(self):
        return len(self.activations)

    @property
    def stochastic(self):
        """Whether training draws random numbers (the objective is random)."""
        return (
            any(self.dropout)
            or self.input_dropout > 0
            or self.input_noise > 0
            or any(getattr(layer_type(a), "stochastic", False) for a in self.activations)
        )


def as_net(activation, n_hidden):
    """A :class:`Net` from a ``Net`` or a plain activation specification."""
    if isinstance(activation, Net):
        return activation
    return Net(resolve(activation, n_hidden), (0.0,) * n_hidden)

#: Initialisers of the ``init`` parameter other than scikit-learn's default:
#: name -> jax.nn.initializers factory (weights; biases start at zero).
INITIALIZERS = {
    "glorot_normal": jax.nn.initializers.glorot_normal,
    "he_uniform": jax.nn.initializers.he_uniform,
    "he_normal": jax.nn.initializers.he_normal,
    "lecun_normal": jax.nn.initializers.lecun_normal,
    "orthogonal": jax.nn.initializers.orthogonal,
}


def init(rng, layer_units, activation, dtype, method="glorot_uniform", net=None):
    """Draw initial parameters and the initial state.

    The default, ``'glorot_uniform'``, is scikit-learn's scheme: weights and
    biases of layer ``i`` uniform in ``[-r, r]`` with
    ``r = sqrt(f / (fan_in + fan_out))``, ``f = 2`` for the logistic activation
    and ``6`` otherwise, drawn from ``rng`` in the same order as
    :class:`~sklearn.neural_network.MLPClassifier` draws them, so the same
    ``random_state`` gives the same initial weights. The other methods
    (:data:`INITIALIZERS`) are ``jax.nn.initializers`` with a key drawn from
    ``rng``; their biases start at zero. A layer of ``u`` units whose layer
    type has width factor ``k`` has ``u * k`` linear units (maxout: ``k`` is
    its ``pieces``); a layer type's extra parameters start at the values its
    entry gives (PReLU slopes at their ``init`` argument, 0.25); after them,
    batch-normalisation scales start at 1 and shifts at 0, running means at 0
    and running variances at 1.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Source of randomness.
    layer_units : sequence of int
        Units per layer, input and output layers included.
    activation : str, callable or sequence
        The estimator's ``activation`` (it sets the Glorot factor).
    dtype : numpy dtype
        dtype of the returned arrays.
    method : str, default='glorot_uniform'
        'glorot_uniform' or a key of :data:`INITIALIZERS`.
    net : Net or None
        The architecture; None is a plain MLP with ``activation``.

    Returns
    -------
    params : list of dict
        Trainable parameters (numpy arrays), one dict per layer.
    state : list of dict
        Carried state, one dict per hidden layer.
    """
    n_hidden = len(layer_units) - 2
    net = as_net(activation if net is None else net, n_hidden)
    kinds = [layer_type(a) for a in net.activations]
    pieces = [
        1 if kind is None else kind.width_factor(**a.kwargs)
        for kind, a in zip(kinds, net.activations)
    ] + [1]
    shapes = tuple(
        (fan_in, fan_out * k)
        for fan_in, fan_out, k in zip(layer_units[:-1], layer_units[1:], pieces)
    )
    if method != "glorot_uniform":
        seed = rng.randint(np.iinfo(np.int32).max)
        with jax.default_device(jax.devices("cpu")[0]):
            weights = _jax_init(seed, shapes=shapes, method=method)
        params = [
            {"W": np.asarray(W, dtype=dtype), "b": np.zeros(shape[1], dtype=dtype)}
            for W, shape in zip(weights, shapes)
        ]
    else:
        factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
        params = []
        for fan_in, fan_out in shapes:
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
            b = rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
            params.append({"W": W, "b": b})
    state = []
    for layer, units, a, kind in zip(params, layer_units[1:-1], net.activations, kinds):
        layer_state = {}
        if kind is not None:
            layer.update(kind.extra_params(units, dtype, **a.kwargs))
        if net.batch_norm:
            width = layer["W"].shape[1]
            layer["gamma"] = np.ones(width, dtype=dtype)
            layer["beta"] = np.zeros(width, dtype=dtype)
            layer_state = {
                "mean": np.zeros(width, dtype=dtype),
                "var": np.ones(width, dtype=dtype),
            }
        state.append(layer_state)
    return params, state


@program(static_argnames=("shapes", "method"))
def _jax_init(seed, *, shapes, method):
    keys = jax.random.split(jax.random.key(seed), len(shapes))
    initializer = INITIALIZERS[method]()
    return [initializer(k, shape, jnp.float32) for k, shape in zip(keys, shapes)]


def _dropout(h, rate, key):
    """Inverted dropout: zero with probability ``rate``, scale the rest."""
    keep = jax.random.bernoulli(key, 1.0 - rate, h.shape)
    return jnp.where(keep, h / (1.0 - rate), 0.0)


def _activate(h, a, layer, key, train):
    """A hidden layer's activation: its layer type's apply function, or the
    elementwise function."""
    kind = layer_type(a)
    if kind is not None:
        return kind.apply(h, layer, key, train, **a.kwargs)
    return function(a)(h)


def apply(params, state, X, net, *, train=False, key=None, weight=None,
          bn_momentum=BN_MOMENTUM, first_layer_done=False):  # fmt: skip
    """Output pre-activation, and the updated state.

    Parameters
    ----------
    params, state : list of dict
        As returned by :func:`init`.
    X : array of shape (n_samples, n_features) or SparseRows
        Input rows (:class:`~skneural._sparse.SparseRows` for sparse input).
    net : Net
        The architecture (static).
    train : bool, default=False
        Training mode: dropout, input noise and RReLU draw from ``key``, and
        batch normalisation uses the statistics of the batch (weighted by
        ``weight``; padding rows have weight 0) and updates the running
        statistics. Inference mode uses all units, the mean RReLU slope and
        the running statistics.
    key : jax.random key or None
        Needed in training when ``net.stochastic``.
    weight : array of shape (n_samples,) or None
        Row weights for the batch statistics.
    bn_momentum : float
        Weight of the old running statistics in their update (0 returns the
        batch's own statistics).
    first_layer_done : bool, default=False
        ``X`` is the first layer's affine map of the inputs,
        ``inputs @ params[0]["W"] + params[0]["b"]``, computed by the caller
        (prediction on sparse input computes it on the host, see
        :mod:`skneural._sparse`); the network starts after it (batch
        normalisation and activation of the first hidden layer, or the
        output itself when there is no hidden layer), and ``params[0]`` needs
        no ``"W"``. Input noise and input dropout act on the inputs, before
        the product, so training mode with either is refused.

    Returns
    -------
    z : array of shape (n_samples, n_outputs)
    state : list of dict
    """
    keys = (
        jax.random.split(key, 2 * net.n_hidden + 2)
        if train and net.stochastic
        else [None] * (2 * net.n_hidden + 2)
    )
    if first_layer_done and train and (net.input_noise > 0 or net.input_dropout > 0):
        raise ValueError(
            "Input noise and input dropout act on the inputs: they cannot be "
            "applied after the first layer's product (first_layer_done=True)."
        )
    h = X
    if train and net.input_noise > 0:
        h = h + net.input_noise * jax.random.normal(keys[-1], h.shape, h.dtype)
    if train and net.input_dropout > 0:
        if isinstance(h, SparseRows):  # the stored entries (zeros stay zero)
            h = h.dropout(net.input_dropout, keys[-2])
        else:
            h = _dropout(h, net.input_dropout, keys[-2])
    new_state = []
    for i, (layer, layer_state, a) in enumerate(
        zip(params[:-1], state, net.activations, strict=True)
    ):
        if not (first_layer_done and i == 0):
            h = h @ layer["W"] + layer["b"]
        # An activation chosen at run time: its one-hot row, carried in the
        # state (see skneural._activations.runtime_choice).
        runtime = isinstance(a, str) and a == RUNTIME
        choice = layer_state.get("activation") if runtime else None
        if net.batch_norm:
            if train:
                w = jnp.ones(h.shape[0], h.dtype) if weight is None else weight
                wsum = jnp.maximum(jnp.sum(w), 1e-12)
                mean = jnp.sum(w[:, None] * h, axis=0) / wsum
                var = jnp.sum(w[:, None] * (h - mean) ** 2, axis=0) / wsum
                # Running variance with the m / (m - 1) correction.
                unbiased = var * wsum / jnp.maximum(wsum - 1, 1.0)
                m = bn_momentum
                layer_state = {
                    "mean": m * layer_state["mean"] + (1 - m) * mean,
                    "var": m * layer_state["var"] + (1 - m) * unbiased,
                }
            else:
                mean, var = layer_state["mean"], layer_state["var"]
            h = (h - mean) / jnp.sqrt(var + BN_EPSILON) * layer["gamma"] + layer["beta"]
        if choice is not None:
            layer_state = {**layer_state, "activation": choice}
            h = runtime_activation(h, choice)
        else:
            h = _activate(h, a, layer, keys[2 * i], train)
        new_state.append(layer_state)
        rate = net.dropout[i] if net.dropout else 0.0
        if train and rate > 0:
            h = _dropout(h, rate, keys[2 * i + 1])
    if first_layer_done and net.n_hidden == 0:  # the output layer was the first
        return h, new_state
    z = h @ params[-1]["W"] + params[-1]["b"]
    return z, new_state


def forward(params, X, activation, state=None):
    """Output pre-activation in inference mode (logits for a classifier).

    Parameters
    ----------
    params : list of dict
        Network parameters, as returned by :func:`init`.
    X : array of shape (n_samples, n_features)
        Input rows.
    activation : Net, str, callable or tuple
        The architecture, or (for a plain MLP) one activation per hidden layer
        or a single one for all.
    state : list of dict or None
        Carried state (needed with batch normalisation).

    Returns
    -------
    z : array of shape (n_samples, n_outputs)
    """
    net = as_net(activation, len(params) - 1)
    if state is None:
        state = [{} for _ in range(net.n_hidden)]
    return apply(params, state, X, net)[0]
