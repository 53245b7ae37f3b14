"""Solvers: the training algorithms that ``solver=`` accepts.

``solver`` takes a name from :data:`SOLVERS`, a solver object from this module,
or any ``optax.GradientTransformation``. Names map to solver classes; the
estimators build the named ones from their own MLP-style parameters
(``learning_rate_init``, ``momentum``, ``beta_1``, ...).
"""

from ._base import (
    OptaxSolver,
    Solver,
    StepwiseSolver,
    WholeBatchResult,
    WholeBatchSolver,
)
from ._scipy import LBFGS
from ._stepwise import SGD, Adam

#: Solver names -> classes.
SOLVERS = {"sgd": SGD, "adam": Adam, "lbfgs": LBFGS}

__all__ = [
    "SOLVERS",
    "Adam",
    "LBFGS",
    "OptaxSolver",
    "SGD",
    "Solver",
    "StepwiseSolver",
    "WholeBatchResult",
    "WholeBatchSolver",
]
