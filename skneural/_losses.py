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

Each entry also gives the loss's *residual form*, used by the least-squares
solvers (Levenberg-Marquardt, :func:`scipy.optimize.least_squares`): a
function ``(y, z, scale) -> r`` of shape ``(n_rows, k)`` such that, with
``scale_i = w_i / sum(w)``, ``0.5 * sum(r**2)`` is the weighted mean loss
``sum_i scale_i loss_i`` (see :func:`difference_residuals` and
:func:`root_residuals`), and the estimator the loss belongs to (``task``).
Adding a loss is one entry of :data:`LOSSES`.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from sklearn.utils._param_validation import StrOptions
from jax.scipy.special import xlogy


class Loss(NamedTuple):
    """A loss: per-sample values from targets and pre-activations.

    Attributes
    ----------
    fn : callable
        ``fn(y, z) -> (n_samples,)``: the loss of each sample.
    out_activation : str
        The output activation that turns ``z`` into predictions.
    residuals : callable
        ``residuals(y, z, scale) -> (n_samples, k)``: the residual form,
        whose half squared norm is ``sum_i scale_i fn(y, z)_i``.
    task : {'regression', 'classification'}
        The estimator the loss belongs to (:class:`~skneural.NeuralRegressor`
        or :class:`~skneural.NeuralClassifier`).
    """

    fn: Callable  # (y, z) -> (n_samples,)
    out_activation: str
    residuals: Callable  # (y, z, scale) -> (n_samples, k)
    task: str


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


def difference_residuals(y, z, scale):
    """Residual form of squared error: ``sqrt(s_i / n_outputs) * (y_ik - z_ik)``.

    One residual per sample and output, the target minus the output
    (``e = d - o``), so that Gauss-Newton on them is the classical
    Levenberg-Marquardt method; ``0.5 * sum(r**2)`` is
    ``sum_i s_i * 0.5 * mean_k (y_ik - z_ik)^2``.

    Parameters
    ----------
    y, z : arrays of shape (n_rows, n_outputs)
        Targets and pre-activations.
    scale : array of shape (n_rows,)
        ``s_i = w_i / sum(w)``.

    Returns
    -------
    r : array of shape (n_rows, n_outputs)
    """
    return jnp.sqrt(scale / y.shape[1])[:, None] * (y - z)


def root_residuals(fn):
    """Residual form ``r_i = sqrt(2 s_i loss_i)`` of the loss ``fn``.

    One residual per sample. ``0.5 ||r||^2`` is then exactly the weighted
    mean loss, so every solver minimises and reports the same quantity, and
    ``J^T r`` is its exact gradient; the Gauss-Newton matrix ``J^T J =
    sum_i s_i grad(loss_i) grad(loss_i)^T / (2 loss_i)`` is positive
    semi-definite. (Squared error on probabilities, the other common choice
    for classifiers, would minimise a different objective than the one the
    estimator reports.) Where ``loss_i`` reaches 0 the root's derivative
    ``grad(loss_i) / sqrt(2 loss_i)`` is a ``0/0`` (its limit is finite for
    these losses); the argument of the root is floored at the smallest normal
    number, which makes the residual's gradient 0 there instead of NaN.

    Parameters
    ----------
    fn : callable
        ``fn(y, z) -> (n_rows,)``, a non-negative per-sample loss.

    Returns
    -------
    residuals : callable
        ``residuals(y, z, scale) -> (n_rows, 1)``.
    """

    def residuals(y, z, scale):
        value = 2 * scale * fn(y, z)
        return jnp.sqrt(jnp.maximum(value, jnp.finfo(z.dtype).tiny))[:, None]

    return residuals


#: name -> :class:`Loss`
LOSSES = {
    "squared_error": Loss(
        _squared_error, "identity", difference_residuals, "regression"
    ),
    "absolute_error": Loss(
        _absolute_error, "identity", root_residuals(_absolute_error), "regression"
    ),
    "huber": Loss(_huber, "identity", root_residuals(_huber), "regression"),
    "poisson": Loss(_poisson, "exp", root_residuals(_poisson), "regression"),
    "log_loss": Loss(
        _log_loss, "softmax", root_residuals(_log_loss), "classification"
    ),
    "binary_log_loss": Loss(
        _binary_log_loss, "logistic", root_residuals(_binary_log_loss),
        "classification",
    ),
}

#: The tasks of :attr:`Loss.task`.
TASKS = ("regression", "classification")


def losses_for(task):
    """Names of the losses of ``task`` ('regression' or 'classification'), sorted."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
    return sorted(name for name, loss in LOSSES.items() if loss.task == task)


class LossNames(StrOptions):
    """The constraint on an estimator's ``loss``: the names of the losses of
    ``task`` in :data:`LOSSES`, read when a parameter is validated, so that an
    entry added to the registry is accepted without further edits."""

    def __init__(self, task):
        self.task = task
        super().__init__(set())

    @property
    def options(self):
        return set(losses_for(self.task))

    @options.setter
    def options(self, value):
        # Options.__init__ assigns the set; the registry is the options.
        pass
