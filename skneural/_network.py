"""The multilayer perceptron as pure functions over a pytree of parameters.

The parameters are a list with one ``{"W": (fan_in, fan_out), "b": (fan_out,)}``
dict per layer. :func:`init` draws them on the host with numpy, so the first fit
compiles nothing for initialisation; :func:`forward` is jax-traceable.
"""

import numpy as np

from ._activations import ACTIVATIONS


def init(rng, layer_units, activation, dtype):
    """Draw initial parameters with scikit-learn's Glorot-uniform scheme.

    Weights and biases of layer ``i`` are uniform in ``[-r, r]`` with
    ``r = sqrt(f / (fan_in + fan_out))``, ``f = 2`` for the logistic activation
    and ``6`` otherwise. The draws come from ``rng`` in the same order as in
    :class:`~sklearn.neural_network.MLPClassifier`, so the same
    ``random_state`` gives the same initial weights.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Source of randomness.
    layer_units : sequence of int
        Units per layer, input and output layers included.
    activation : str
        Name of the hidden activation (it sets the Glorot factor).
    dtype : numpy dtype
        dtype of the returned arrays.

    Returns
    -------
    params : list of dict
        One ``{"W", "b"}`` dict of numpy arrays per layer.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    params = []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
        b = rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
        params.append({"W": W, "b": b})
    return params


def forward(params, X, activation):
    """Pre-activation of the output layer (logits for a classifier).

    Parameters
    ----------
    params : list of dict
        Network parameters, as returned by :func:`init`.
    X : array of shape (n_samples, n_features)
        Input rows.
    activation : str
        Name of the hidden activation in
        :data:`skneural._activations.ACTIVATIONS`.

    Returns
    -------
    z : array of shape (n_samples, n_outputs)
    """
    g = ACTIVATIONS[activation]
    h = X
    for layer in params[:-1]:
        h = g(h @ layer["W"] + layer["b"])
    return h @ params[-1]["W"] + params[-1]["b"]
