"""Whole-batch solvers through :func:`scipy.optimize.minimize`."""

import numpy as np
import scipy.optimize
from sklearn.utils.optimize import _check_optimize_result

from ._base import WholeBatchResult, WholeBatchSolver


class LBFGS(WholeBatchSolver):
    """Limited-memory BFGS through scipy's L-BFGS-B, as scikit-learn's 'lbfgs'.

    The estimator's ``max_iter``, ``max_fun`` and ``tol`` become scipy's
    ``maxiter``, ``maxfun`` and ``gtol``. A run that stops on its iteration or
    evaluation limit emits a :class:`~sklearn.exceptions.ConvergenceWarning`.

    Parameters
    ----------
    maxcor : int, default=10
        Number of correction pairs kept (the ``m`` of L-BFGS).
    maxls : int, default=20
        Most line-search steps per iteration.
    """

    def __init__(self, maxcor=10, maxls=20):
        self.maxcor = maxcor
        self.maxls = maxls

    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose):
        curve = []

        def record(intermediate_result):
            curve.append(float(intermediate_result.fun))
            if verbose:
                print("Iteration %d, loss = %.8f" % (len(curve), curve[-1]))

        res = scipy.optimize.minimize(
            problem.value_and_grad,
            x0,
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={
                "maxfun": max_fun,
                "maxiter": max_iter,
                "gtol": tol,
                "maxcor": self.maxcor,
                "maxls": self.maxls,
            },
        )
        n_iter = _check_optimize_result("lbfgs", res, max_iter)
        return WholeBatchResult(
            x=np.asarray(res.x), fun=float(res.fun), n_iter=n_iter, loss_curve=curve
        )
