"""The solver protocol.

A solver is a small scikit-learn-style object (constructor arguments are its
hyperparameters, visible to ``get_params`` so that ``GridSearchCV`` can search
``solver__learning_rate``). There are two kinds, told apart by their base class:

* :class:`StepwiseSolver` -- minibatch methods. They hand the estimator an
  ``optax.GradientTransformation`` and their numeric hyperparameters; the
  estimator runs whole epochs as one compiled ``lax.scan`` over minibatches.
* :class:`WholeBatchSolver` -- methods that see the whole objective at once
  (quasi-Newton, conjugate gradient, ...). They get a
  :class:`skneural._objective.Problem` -- the objective, its gradient and exact
  Hessian-vector products on a flat float64 parameter vector, compiled by
  JAX -- and return a :class:`WholeBatchResult`.
"""

import inspect
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import optax
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from .._program_cache import describe
from .._progress import active_reporter

# Compiled programs are keyed by the transformation object; building it once per
# (class, static options) lets every fit with the same structure reuse them.
_TRANSFORMATIONS = {}


class Solver(BaseEstimator, ABC):
    """Base class of every skneural solver."""


class StepwiseSolver(Solver):
    """Base class of minibatch solvers built on optax.

    Subclasses implement :meth:`_factory` (a function of keyword arguments that
    returns an ``optax.GradientTransformation``), :meth:`_hyperparams` (the
    numeric arguments, which are traced, so changing them does not recompile)
    and optionally :meth:`_static` (structural arguments, compile-time).

    A subclass that takes a ``clip_norm`` constructor argument gets gradient
    clipping for free: when it is not None, the gradient ``g`` of every step is
    replaced by ``g * clip_norm / ||g||`` where its global norm ``||g||``
    exceeds ``clip_norm`` (``optax.clip_by_global_norm``), before the
    algorithm sees it. ``clip_norm`` is traced like the other numeric
    hyperparameters.

    The transformation's ``init`` runs with the hyperparameters of the first
    instance built for a given structure (the transformation is cached), so a
    subclass must not let its *initial state* depend on a numeric
    hyperparameter; make such an argument static instead, or set the state up
    in the first ``update``.
    """

    #: Whether the estimator's ``learning_rate`` schedule ('invscaling',
    #: 'adaptive') applies to this solver (True for plain SGD, as in
    #: scikit-learn's MLP).
    uses_lr_schedule = False

    @staticmethod
    def _factory(**kwargs):
        """Build the optax transformation from static and numeric arguments."""
        raise TypeError("StepwiseSolver subclasses define _factory")

    def _hyperparams(self):
        return {}

    def _static(self):
        return {}

    def optax_transformation(self):
        """The optax transformation and the values of its hyperparameters.

        Returns
        -------
        tx : optax.GradientTransformation
            Built with ``optax.inject_hyperparams``, so its state holds the
            numeric hyperparameters (``state.hyperparams``).
        hyperparams : dict of str -> float
            Values to place in the state after ``tx.init``.
        """
        hyper = {k: float(v) for k, v in self._hyperparams().items()}
        static = self._static()
        factory = type(self)._factory
        clip_norm = getattr(self, "clip_norm", None)
        if clip_norm is not None:
            hyper["clip_norm"] = float(clip_norm)
            factory = _with_clipping(factory)
        key = (type(self), tuple(sorted(static.items())), tuple(sorted(hyper)))
        tx = _TRANSFORMATIONS.get(key)
        if tx is None:
            tx = optax.inject_hyperparams(factory, static_args=tuple(static))(
                **static, **hyper
            )
            _TRANSFORMATIONS[key] = tx
            cls = type(self)
            if cls.__module__.startswith("skneural."):
                # The program depends on the class, its structural options and
                # which hyperparameters are injected (their values are traced).
                describe(tx, f"{cls.__module__}.{cls.__qualname__}{key[1:]!r}")
        return tx, hyper


def _with_clipping(factory):
    """``factory``'s transformation preceded by global-norm gradient clipping.

    The wrapper has ``factory``'s parameters plus ``clip_norm`` in its
    signature, which :func:`optax.inject_hyperparams` reads.
    """

    def clipped(clip_norm, **kwargs):
        return optax.chain(optax.clip_by_global_norm(clip_norm), factory(**kwargs))

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("clip_norm", keyword)] + [
        p.replace(kind=keyword) for p in inspect.signature(factory).parameters.values()
    ]
    clipped.__signature__ = inspect.Signature(params)
    return clipped


class OptaxSolver(StepwiseSolver):
    """Any ``optax.GradientTransformation`` used as a minibatch solver.

    Parameters
    ----------
    transformation : optax.GradientTransformation
        Used as it is: the update it returns is added to the parameters. Its
        hyperparameters are whatever it was built with (build it with
        ``optax.inject_hyperparams`` to be able to change them without
        recompiling). Reusing the same object across fits reuses the compiled
        training program.

    Notes
    -----
    An estimator holding a user's transformation pickles only if the
    transformation does (optax transformations are closures, which the standard
    :mod:`pickle` cannot serialise). Fitted estimators with a named solver or a
    skneural solver object always pickle.

    Examples
    --------
    >>> import optax
    >>> from skneural import NeuralClassifier
    >>> from skneural.solvers import OptaxSolver
    >>> clf = NeuralClassifier(solver=OptaxSolver(optax.lion(1e-4)))
    """

    def __init__(self, transformation):
        self.transformation = transformation

    def optax_transformation(self):
        return self.transformation, {}


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
    :class:`skneural._objective.Problem`: the objective (the weighted mean loss
    over all samples plus the L2 penalty) on a flat float64 vector, with
    ``problem(x) -> (value, gradient)`` and ``problem.hvp(x, v)``, and for
    least-squares methods ``problem.residuals(x)`` and ``problem.jacobian(x)``
    (``0.5 * ||r||^2`` is the objective). To behave like the built-in solvers,
    record the objective after every iteration with :class:`Progress` (it
    also prints the verbose lines) and call :func:`warn_not_converged` when
    stopping for another reason than ``tol`` (the largest absolute gradient
    entry at most ``tol``).

    The objective must be a fixed function of the parameters: line searches,
    trust regions and accept/reject tests compare its values.
    """

    @abstractmethod
    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose):
        """Minimise ``problem`` from ``x0``.

        Parameters
        ----------
        problem : skneural._objective.Problem
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

        Returns
        -------
        result : WholeBatchResult
        """


class Progress:
    """Loss curve and verbose output of a whole-batch solver.

    Call it with the objective after every iteration: it appends the value to
    :attr:`curve` (which becomes the estimator's ``loss_curve_``) and reports
    the iteration to the estimator's progress reporter, which prints the
    verbose display of the stepwise solvers' epochs and calls scikit-learn's
    callbacks, so that every solver reports progress the same way. Outside an
    estimator's fit it prints the line ``Iteration %d, loss = %.8f (%.3f s)``
    when ``verbose``.

    Parameters
    ----------
    verbose : bool or int
        Print a line per iteration (only used outside an estimator's fit; in a
        fit the estimator's ``verbose`` applies).

    Attributes
    ----------
    curve : list of float
        Objective after each iteration so far.
    """

    def __init__(self, verbose):
        self.verbose = verbose
        self.curve = []
        self._tic = time.perf_counter()
        self._reporter = active_reporter()

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
            True when a callback asked to stop; a solver may end its
            iterations there (without a convergence warning).
        """
        self.curve.append(float(loss))
        if self._reporter is not None:
            return self._reporter.iteration(len(self.curve), self.curve[-1], x)
        if self.verbose:
            now = time.perf_counter()
            print(
                "Iteration %d, loss = %.8f (%.3f s)"
                % (len(self.curve), self.curve[-1], now - self._tic)
            )
            self._tic = now
        return False


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
