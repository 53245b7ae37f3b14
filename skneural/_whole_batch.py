"""The driver of whole-batch fits: one call of the solver's ``minimize``.

:func:`train_whole_batch` hands a whole-batch solver the training objective
(a :class:`skneural._problem.Problem` on a flat float64 vector) and turns
what it returns into a :class:`~skneural._driver.TrainingResult`: the
parameters (batch-normalisation statistics recomputed on the whole data, as
the objective normalised with them), the history (the iterations' losses
appended to the loss curve) and the final gradient's layer norms. An
interrupted fit keeps its last completed iteration; a solver that ends on
non-finite values leaves the initial parameters.
"""

import copy
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _network
from ._devices import to_device
from ._driver import TrainingResult
from ._objective import precision, unravel
from .solvers import WholeBatchResult
from .solvers._whole_batch import takes_callback


def _layer_norms(grad, shapes):
    return np.array([
        np.sqrt(sum(np.sum(g**2) for g in layer.values()))
        for layer in unravel(grad, shapes)
    ])  # fmt: skip


def train_whole_batch(problem, solver, x0, *, X, w, net, net_state, dtype, history,
                      n_samples, max_iter, max_fun, tol, verbose, reporter):  # fmt: skip
    """Minimise ``problem`` from ``x0`` with ``solver``; a TrainingResult.

    ``X`` and ``w`` are the training inputs and weights the objective uses
    (for the batch-normalisation statistics), ``net_state`` the network state
    to start from, ``history`` the estimator's training history; progress goes
    to ``reporter`` (its ``iteration(n_iter, loss, params)``, see
    :class:`skneural._progress.FitReporter`) through the solver's
    ``callback``.
    """
    shapes = problem.shapes
    history = copy.deepcopy(history)
    base_curve = list(history.loss_curve or [])
    # The solver's Progress calls this after every iteration: it reports to
    # ``reporter`` and keeps the last completed iterate.
    last_iterate = [None]  # (n_iter, loss, x), x a float64 copy or None

    def on_iteration(n_iter, loss, x):
        x = None if x is None else np.array(x, dtype=np.float64)
        last_iterate[0] = (int(n_iter), float(loss), x)
        if x is None:
            return reporter.iteration(n_iter, loss)
        return reporter.iteration(n_iter, loss, lambda: unravel(x.astype(dtype), shapes))

    # A user-defined solver whose minimize predates ``callback`` is called
    # without it.
    progress = {"callback": on_iteration} if takes_callback(solver) else {}
    try:
        result = solver.minimize(problem, x0, max_iter=max_iter, max_fun=max_fun,
                                 tol=tol, verbose=verbose, **progress)  # fmt: skip
    except KeyboardInterrupt:
        # Keep the last completed iteration (as the stepwise solvers keep
        # the last completed epoch).
        reporter.end("interrupted")
        warnings.warn("Training interrupted by user.")
        last = last_iterate[0]
        if last is None or last[2] is None:
            last = (0, float(problem(x0)[0]), x0)
        result = WholeBatchResult(
            x=last[2], fun=last[1], n_iter=last[0],
            loss_curve=list(reporter.iteration_losses)[: last[0]],
        )  # fmt: skip
    x = np.asarray(result.x, dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(result.fun)):
        reporter.end("diverged")
        warnings.warn(
            "The solver produced non-finite parameters; the initial parameters "
            "were kept. Scale the inputs or lower the learning rate.",
            ConvergenceWarning,
        )
        # The objective of the parameters kept, so loss_ always exists.
        history.n_iter, history.loss_curve = 0, base_curve
        history.loss = float(problem(x0)[0])
        return TrainingResult(None, None, None, history)
    params = unravel(x.astype(dtype), shapes)
    if net.batch_norm:
        # The objective normalised with the whole data's statistics: keep
        # exactly those for inference.
        with precision(dtype):
            net_state = _network.apply(
                to_device(params, dtype), to_device(net_state, dtype), X, net,
                train=True, weight=to_device(w, dtype), bn_momentum=0.0,
            )[1]  # fmt: skip
    history.grad_norm_curve = list(history.grad_norm_curve or [])
    history.grad_norm_curve.append(_layer_norms(problem(x)[1], shapes))
    history.n_iter = int(result.n_iter)
    history.loss = float(result.fun)
    history.t += n_samples * max(history.n_iter, 1)
    history.loss_curve = base_curve + list(result.loss_curve)
    history.best_loss = min(history.loss_curve, default=history.loss)
    history.validation_scores = None
    history.validation_loss_curve = None
    history.best_validation_score = None
    return TrainingResult(params, net_state, None, history)
