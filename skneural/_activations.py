"""Activation functions, by name.

Every entry is a jax-traceable elementwise function. Adding an activation is one
entry in :data:`ACTIVATIONS`; the gradient comes from ``jax.grad``.
"""

import jax
import jax.numpy as jnp


def _identity(x):
    return x


#: Hidden-layer activations: name -> elementwise function.
ACTIVATIONS = {
    "identity": _identity,
    "logistic": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
}

#: Output activations: name -> function of the last layer's pre-activation.
OUTPUT_ACTIVATIONS = {
    "identity": _identity,
    "logistic": jax.nn.sigmoid,
    "softmax": lambda z: jax.nn.softmax(z, axis=-1),
    "exp": jnp.exp,
}
