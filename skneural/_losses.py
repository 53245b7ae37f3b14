"""Loss functions, by name.

Each loss is written in terms of the last layer's *pre-activation* ``z`` (logits
for classification), which is numerically stable, and returns one value per
sample. The estimators average these with the sample weights. Each entry also
names the output activation that turns ``z`` into predictions.

The values match scikit-learn's ``sklearn.neural_network._base`` losses:

* ``squared_error``: ``0.5 * mean_k (y_k - z_k)^2`` (identity output);
* ``absolute_error``: ``mean_k |y_k - z_k|`` (identity output);
* ``huber``: ``mean_k H_1(y_k - z_k)`` with ``H_d(r) = r^2/2`` for ``|r| <= d``
  and ``d (|r| - d/2)`` beyond (identity output, ``d = 1``);
* ``poisson``: half Poisson deviance ``sum_k y log(y / mu) - y + mu`` with
  ``mu = exp(z)`` (exp output);
* ``log_loss``: categorical cross-entropy ``-sum_c y_c log softmax(z)_c``;
* ``binary_log_loss``: ``sum_k`` of binary cross-entropies of ``sigmoid(z_k)``
  (one sigmoid unit for binary targets, one per label for multilabel targets).
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy


class Loss(NamedTuple):
    """A loss: per-sample values from targets and pre-activations."""

    fn: Callable  # (y, z) -> (n_samples,)
    out_activation: str


def _squared_error(y, z):
    return 0.5 * jnp.mean((y - z) ** 2, axis=-1)


def _absolute_error(y, z):
    return jnp.mean(jnp.abs(y - z), axis=-1)


def _huber(y, z, delta=1.0):
    r = jnp.abs(y - z)
    return jnp.mean(
        jnp.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)), axis=-1
    )


def _poisson(y, z):
    return jnp.sum(xlogy(y, y) - y * z - y + jnp.exp(z), axis=-1)


def _log_loss(y, z):
    return jax.nn.logsumexp(z, axis=-1) - jnp.sum(y * z, axis=-1)


def _binary_log_loss(y, z):
    return jnp.sum(jax.nn.softplus(z) - y * z, axis=-1)


#: name -> :class:`Loss`
LOSSES = {
    "squared_error": Loss(_squared_error, "identity"),
    "absolute_error": Loss(_absolute_error, "identity"),
    "huber": Loss(_huber, "identity"),
    "poisson": Loss(_poisson, "exp"),
    "log_loss": Loss(_log_loss, "softmax"),
    "binary_log_loss": Loss(_binary_log_loss, "logistic"),
}
