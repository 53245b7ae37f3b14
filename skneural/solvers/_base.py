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

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import optax
from sklearn.base import BaseEstimator

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
        key = (type(self), tuple(sorted(static.items())), tuple(sorted(hyper)))
        tx = _TRANSFORMATIONS.get(key)
        if tx is None:
            tx = optax.inject_hyperparams(type(self)._factory, static_args=tuple(static))(
                **static, **hyper
            )
            _TRANSFORMATIONS[key] = tx
        return tx, hyper


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
    ``problem(x) -> (value, gradient)`` and ``problem.hvp(x, v)``.
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
