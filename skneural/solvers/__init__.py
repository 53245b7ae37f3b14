"""Solvers: the training algorithms that ``solver=`` accepts.

``solver`` takes a name from :data:`SOLVERS`, a solver object from this module,
or any ``optax.GradientTransformation``. Names map to solver classes; the
estimators build a named solver with :func:`named_solver`: 'sgd' and 'adam'
take the estimator's MLP-style parameters (``learning_rate_init``,
``momentum``, ``beta_1``, ...) as their class declares, and every other name
is the class with its default hyperparameters.

Stepwise (minibatch) solvers: :class:`SGD`, :class:`Momentum`,
:class:`Nesterov`, :class:`AdaGrad`, :class:`AdaDelta`, :class:`RMSProp`,
:class:`Adam`, :class:`AdamW`, :class:`NAdam`, :class:`RProp`,
:class:`QuickProp` and :class:`OptaxSolver` (any optax transformation).
Whole-batch solvers: :class:`LBFGS`, :class:`BFGS`, :class:`ConjugateGradient`,
:class:`NewtonCG`, :class:`TrustNCG`, :class:`TrustKrylov`,
:class:`LevenbergMarquardt` and :class:`LeastSquares`.
"""

from ._base import Optax, OptaxSolver, Solver, StepwiseSolver
from ._whole_batch import (
    FTOL,
    Progress,
    WholeBatchResult,
    WholeBatchSolver,
    loss_converged,
    warn_not_converged,
)
from ._cg import ConjugateGradient
from ._lm import LeastSquares, LevenbergMarquardt
from ._quickprop import QuickProp, quickprop
from ._rprop import RProp, rprop
from ._scipy import BFGS, LBFGS, NewtonCG, TrustKrylov, TrustNCG
from ._adam import Adam, AdamW, NAdam, adam_efficient
from ._stepwise import (
    SGD,
    AdaDelta,
    AdaGrad,
    Momentum,
    Nesterov,
    RMSProp,
    scale_by_adadelta,
    sgd_velocity,
)

#: Solver names -> classes.
SOLVERS = {
    # stepwise (minibatch) solvers
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "adadelta": AdaDelta,
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": NAdam,
    "rprop": RProp,
    "quickprop": QuickProp,
    # whole-batch solvers
    "lbfgs": LBFGS,
    "bfgs": BFGS,
    "cg": ConjugateGradient,
    "newton-cg": NewtonCG,
    "trust-ncg": TrustNCG,
    "trust-krylov": TrustKrylov,
    "lm": LevenbergMarquardt,
    "least-squares": LeastSquares,
}



def named_solver(name, params):
    """The solver named ``name`` in :data:`SOLVERS`, built from an estimator's
    parameters.

    A solver class lists in ``_estimator_params`` which of its constructor
    arguments take which estimator parameter: :class:`SGD` takes
    ``learning_rate <- learning_rate_init``, ``momentum <- momentum`` and
    ``nesterov <- nesterovs_momentum``; :class:`Adam` takes
    ``learning_rate <- learning_rate_init``, ``beta_1``, ``beta_2`` and
    ``epsilon`` (scikit-learn's MLP parameters of its 'sgd' and 'adam'
    solvers). The other arguments, and every argument of the other classes,
    keep the class's defaults.

    Parameters
    ----------
    name : str
        A key of :data:`SOLVERS`.
    params : dict
        The estimator's parameters (``get_params(deep=False)``); only those
        the class takes are read.

    Returns
    -------
    solver : Solver
    """
    cls = SOLVERS[name]
    mapping = getattr(cls, "_estimator_params", {})
    return cls(**{own: params[theirs] for own, theirs in mapping.items()})


__all__ = [
    "FTOL",
    "SOLVERS",
    "AdaDelta",
    "AdaGrad",
    "Adam",
    "AdamW",
    "BFGS",
    "ConjugateGradient",
    "LBFGS",
    "LeastSquares",
    "LevenbergMarquardt",
    "Momentum",
    "NAdam",
    "Nesterov",
    "NewtonCG",
    "Optax",
    "OptaxSolver",
    "Progress",
    "QuickProp",
    "RMSProp",
    "RProp",
    "SGD",
    "Solver",
    "StepwiseSolver",
    "TrustKrylov",
    "TrustNCG",
    "WholeBatchResult",
    "WholeBatchSolver",
    "adam_efficient",
    "loss_converged",
    "named_solver",
    "quickprop",
    "rprop",
    "scale_by_adadelta",
    "sgd_velocity",
    "warn_not_converged",
]
