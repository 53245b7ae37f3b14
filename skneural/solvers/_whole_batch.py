"""The protocol of whole-batch solvers: what they receive, report and return.

A :class:`WholeBatchSolver` minimises the whole-data objective, a
:class:`skneural._problem.Problem`, from a flat float64 vector and returns a
:class:`WholeBatchResult`; it reports each iteration through
:class:`Progress` (to the ``callback`` its ``minimize`` is given) and warns
with :func:`warn_not_converged` when it stops for another reason than its
tolerance.
"""

import inspect
import time
import warnings
from abc import abstractmethod
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._base import Solver


@dataclass
class WholeBatchResult:
    """What a :class:`WholeBatchSolver` returns.

    Attributes
    ----------
    x : ndarray of shape (n_params,)
        Final flat parameter vector (float64).
    fun : float
        Objective at ``x``.
    n_iter : int
        Iterations performed.
    loss_curve : list of float
        Objective after each iteration.
    """

    x: object
    fun: float
    n_iter: int
    loss_curve: list = field(default_factory=list)


class WholeBatchSolver(Solver):
    """Base class of solvers that minimise the whole-data objective.

    Subclasses implement :meth:`minimize`. The estimator calls it with a
    :class:`skneural._problem.Problem`: the objective (the weighted mean loss
    over all samples plus the L2 penalty) on a flat float64 vector, with
    ``problem(x) -> (value, gradient)`` and ``problem.hvp(x, v)``, and for
    least-squares methods ``problem.residuals(x)`` and ``problem.jacobian(x)``
    (``0.5 * ||r||^2`` is the objective). To behave like the built-in solvers,
    record the objective after every iteration with :class:`Progress`, given
    the ``callback`` the estimator passes (it reports each iteration to the
    estimator's verbose display and to scikit-learn's callbacks), and call
    :func:`warn_not_converged` when stopping for another reason than ``tol``
    (the largest absolute gradient entry at most ``tol``).

    ``callback`` is optional: a subclass whose :meth:`minimize` does not take
    it is called without it (its iterations then do not reach the estimator's
    display or callbacks).

    The objective must be a fixed function of the parameters: line searches,
    trust regions and accept/reject tests compare its values.
    """

    whole_batch = True

    @abstractmethod
    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose,
                 callback=None):  # fmt: skip
        """Minimise ``problem`` from ``x0``.

        Parameters
        ----------
        problem : skneural._problem.Problem
            Callable: ``problem(x) -> (value, gradient)`` with ``x`` and
            ``gradient`` 1-d float64 numpy arrays and ``value`` a float; it
            returns ``inf`` (and a zero gradient) where the objective is not
            finite. ``problem.hvp(x, v)`` is the exact Hessian-vector product.
        x0 : ndarray of shape (n_params,)
            Starting point (float64).
        max_iter : int
            The estimator's ``max_iter``.
        max_fun : int
            The estimator's ``max_fun``: most objective evaluations.
        tol : float
            The estimator's ``tol``.
        verbose : bool or int
            The estimator's ``verbose``.
        callback : callable or None, default=None
            ``callback(n_iter, loss, x) -> stop``, to be called after every
            iteration; pass it to :class:`Progress`, which calls it. When it
            returns True the solver should stop (without a convergence
            warning).

        Returns
        -------
        result : WholeBatchResult
        """


def takes_callback(solver):
    """Whether ``solver.minimize`` takes the ``callback`` argument.

    True when its signature names ``callback`` or takes ``**kwargs``; a
    :class:`WholeBatchSolver` written before ``callback`` existed is called
    without it.
    """
    try:
        parameters = inspect.signature(solver.minimize).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.name == "callback" or p.kind is inspect.Parameter.VAR_KEYWORD
        for p in parameters
    )


class Progress:
    """Loss curve and verbose output of a whole-batch solver.

    Call it with the objective after every iteration: it appends the value to
    :attr:`curve` (which becomes the estimator's ``loss_curve_``) and calls
    ``callback(n_iter, loss, x)``. In a fit, the estimator's callback prints
    the verbose display of the stepwise solvers' epochs and calls
    scikit-learn's callbacks, so that every solver reports progress the same
    way. Without a callback (outside an estimator's fit) it prints the line
    ``Iteration %d, loss = %.8f (%.3f s)`` when ``verbose``.

    Parameters
    ----------
    verbose : bool or int
        Print a line per iteration (only used without a ``callback``; in a
        fit the estimator's ``verbose`` applies).
    callback : callable or None, default=None
        ``callback(n_iter, loss, x) -> stop``: the iteration number (from 1),
        the objective and the parameters after the iteration (or None); a
        true return value asks the solver to stop.

    Attributes
    ----------
    curve : list of float
        Objective after each iteration so far.
    """

    def __init__(self, verbose, callback=None):
        self.verbose = verbose
        self.callback = callback
        self.curve = []
        self._tic = time.perf_counter()

    def __call__(self, loss, x=None):
        """Record the objective ``loss`` after an iteration.

        Parameters
        ----------
        loss : float
            Objective after the iteration.
        x : ndarray of shape (n_params,), default=None
            The parameters after the iteration. Optional: scikit-learn
            callbacks that evaluate the model during training (such as
            :class:`sklearn.callback.ScoringMonitor`) need it.

        Returns
        -------
        stop : bool
            True when the callback asked to stop; a solver may end its
            iterations there (without a convergence warning).
        """
        self.curve.append(float(loss))
        if self.callback is not None:
            return bool(self.callback(len(self.curve), self.curve[-1], x))
        if self.verbose:
            now = time.perf_counter()
            print(
                "Iteration %d, loss = %.8f (%.3f s)"
                % (len(self.curve), self.curve[-1], now - self._tic)
            )
            self._tic = now
        return False


#: Relative decrease of the objective at or below which a whole-batch solver
#: that can no longer lower it has converged: scipy's L-BFGS-B test
#: ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= factr * eps`` with its
#: default ``factr = 1e7`` (about 2.2e-9).
FTOL = 1e7 * float(np.finfo(np.float64).eps)


def loss_converged(curve, ftol=FTOL):
    """Whether the objective has stopped changing.

    True when the last iteration lowered it by at most ``ftol`` relative to
    ``max(|f_k|, |f_{k+1}|, 1)`` (scipy's L-BFGS-B test). A solver that stops
    because no step lowers the objective any more (a failed line search,
    Levenberg-Marquardt's damping past its limit, scipy's "precision loss")
    reports convergence, without a warning, when this holds.

    Parameters
    ----------
    curve : sequence of float
        Objective after each iteration.
    ftol : float, default=FTOL
        Relative tolerance.

    Returns
    -------
    bool
    """
    if len(curve) < 2 or not np.isfinite(curve[-1]):
        return False
    prev, last = float(curve[-2]), float(curve[-1])
    return prev - last <= ftol * max(abs(prev), abs(last), 1.0)


def warn_not_converged(name, n_iter, reason, max_iter=None):
    """Emit the :class:`~sklearn.exceptions.ConvergenceWarning` of a solver.

    Parameters
    ----------
    name : str
        Solver name, for the message.
    n_iter : int
        Iterations performed.
    reason : str
        Why the solver stopped (iteration or evaluation limit, failed line
        search, ...).
    max_iter : int, default=None
        The iteration limit; the message suggests raising it when it was hit.
    """
    msg = f"{name} stopped after {n_iter} iteration(s) without converging: {reason}."
    if max_iter is not None and n_iter >= max_iter:
        msg += f" Increase the number of iterations (max_iter={max_iter})."
    msg += " Scaling the inputs (e.g. StandardScaler) often helps."
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
