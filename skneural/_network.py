"""The multilayer perceptron as pure functions over a pytree of parameters.

The parameters are a list with one ``{"W": (fan_in, fan_out), "b": (fan_out,)}``
dict per layer. :func:`init` draws them on the host with numpy, so the first fit
compiles nothing for initialisation; :func:`forward` is jax-traceable.
"""

import numpy as np

from functools import partial

import jax
import jax.numpy as jnp

from ._activations import function

#: Initialisers of the ``init`` parameter other than scikit-learn's default:
#: name -> jax.nn.initializers factory (weights; biases start at zero).
INITIALIZERS = {
    "glorot_normal": jax.nn.initializers.glorot_normal,
    "he_uniform": jax.nn.initializers.he_uniform,
    "he_normal": jax.nn.initializers.he_normal,
    "lecun_normal": jax.nn.initializers.lecun_normal,
    "orthogonal": jax.nn.initializers.orthogonal,
}


def init(rng, layer_units, activation, dtype, method="glorot_uniform"):
    """Draw initial parameters.

    The default, ``'glorot_uniform'``, is scikit-learn's scheme: weights and
    biases of layer ``i`` uniform in ``[-r, r]`` with
    ``r = sqrt(f / (fan_in + fan_out))``, ``f = 2`` for the logistic activation
    and ``6`` otherwise, drawn from ``rng`` in the same order as
    :class:`~sklearn.neural_network.MLPClassifier` draws them, so the same
    ``random_state`` gives the same initial weights. The other methods
    (:data:`INITIALIZERS`) are ``jax.nn.initializers`` with a key drawn from
    ``rng``; their biases start at zero.

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

    Returns
    -------
    params : list of dict
        One ``{"W", "b"}`` dict of numpy arrays per layer.
    """
    shapes = tuple(zip(layer_units[:-1], layer_units[1:]))
    if method != "glorot_uniform":
        seed = rng.randint(np.iinfo(np.int32).max)
        with jax.default_device(jax.devices("cpu")[0]):
            weights = _jax_init(seed, shapes=shapes, method=method)
        return [
            {"W": np.asarray(W, dtype=dtype), "b": np.zeros(fan_out, dtype=dtype)}
            for W, (_, fan_out) in zip(weights, shapes)
        ]
    factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
    params = []
    for fan_in, fan_out in shapes:
        bound = np.sqrt(factor / (fan_in + fan_out))
        W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
        b = rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
        params.append({"W": W, "b": b})
    return params


@partial(jax.jit, static_argnames=("shapes", "method"))
def _jax_init(seed, *, shapes, method):
    keys = jax.random.split(jax.random.key(seed), len(shapes))
    initializer = INITIALIZERS[method]()
    return [initializer(k, shape, jnp.float32) for k, shape in zip(keys, shapes)]


def forward(params, X, activation):
    """Pre-activation of the output layer (logits for a classifier).

    Parameters
    ----------
    params : list of dict
        Network parameters, as returned by :func:`init`.
    X : array of shape (n_samples, n_features)
        Input rows.
    activation : str, callable or tuple
        One entry per hidden layer (see :func:`skneural._activations.resolve`),
        or a single name or callable used by every hidden layer.

    Returns
    -------
    z : array of shape (n_samples, n_outputs)
    """
    if isinstance(activation, str) or callable(activation):
        activation = (activation,) * (len(params) - 1)
    h = X
    for layer, g in zip(params[:-1], activation, strict=True):
        h = function(g)(h @ layer["W"] + layer["b"])
    return h @ params[-1]["W"] + params[-1]["b"]
