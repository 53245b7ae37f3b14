"""Solvers: the training algorithms that ``solver=`` accepts.

``solver`` takes a name from :data:`SOLVERS`, a solver object from this module,
or any ``optax.GradientTransformation``. Names map to solver classes; the
estimators build 'sgd' and 'adam' from their own MLP-style parameters
(``learning_rate_init``, ``momentum``, ``beta_1``, ...) and every other name
as the class with its default hyperparameters.

Stepwise (minibatch) solvers: :class:`SGD`, :class:`Momentum`,
:class:`Nesterov`, :class:`AdaGrad`, :class:`AdaDelta`, :class:`RMSProp`,
:class:`Adam`, :class:`AdamW`, :class:`NAdam`, :class:`RProp`,
:class:`QuickProp` and :class:`OptaxSolver` (any optax transformation).
Whole-batch solvers: :class:`LBFGS`, :class:`BFGS`, :class:`ConjugateGradient`,
:class:`NewtonCG`, :class:`TrustNCG`, :class:`TrustKrylov`,
:class:`LevenbergMarquardt` and :class:`LeastSquares`.
"""

from ._base import (
    FTOL,
    Optax,
    OptaxSolver,
    Progress,
    Solver,
    StepwiseSolver,
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
from ._stepwise import (
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    AdamW,
    Momentum,
    NAdam,
    Nesterov,
    RMSProp,
    adam_efficient,
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
    "quickprop",
    "rprop",
    "scale_by_adadelta",
    "sgd_velocity",
    "warn_not_converged",
]
