"""Nonlinear conjugate gradient: Fletcher-Reeves and Polak-Ribiere rules, restarts."""

import warnings

import numpy as np
import scipy.optimize

from ._whole_batch import (
    Progress,
    WholeBatchResult,
    WholeBatchSolver,
    loss_converged,
    warn_not_converged,
)
from ._scipy import EvaluationCache, ScipyMinimizer

_BETAS = ("polak-ribiere", "fletcher-reeves")


class _ScipyCG(ScipyMinimizer):
    """scipy's CG (Polak-Ribiere+, strong-Wolfe line search)."""

    method = "CG"
    name = "cg"

    def __init__(self, c1=1e-4, c2=0.1):
        self.c1 = c1
        self.c2 = c2

    def _options(self, max_iter, max_fun, tol):
        return {
            "maxiter": max_iter,
            "gtol": tol,
            "norm": np.inf,
            "c1": self.c1,
            "c2": self.c2,
        }


class ConjugateGradient(WholeBatchSolver):
    """Nonlinear conjugate gradient (Hestenes and Stiefel, 1952).

    With ``g_t`` the gradient at ``W_t``: ``p_0 = g_0``,
    ``p_t = g_t + beta_t p_{t-1}``, ``W_{t+1} = W_t - eta_t p_t`` with the step
    ``eta_t`` from a strong-Wolfe line search on ``E(W_t - eta p_t)``, and

    * Fletcher-Reeves (1964): ``beta_t = g_t.g_t / g_{t-1}.g_{t-1}``;
    * Polak-Ribiere (1969): ``beta_t = g_t.(g_t - g_{t-1}) / g_{t-1}.g_{t-1}``;

    ``beta_t = 0`` (a restart along the gradient) every ``restart``
    iterations, and whenever ``p_t`` is not a descent direction
    (``g_t.p_t <= 0``) or the line search fails along it.

    ``beta='polak-ribiere'`` with ``restart=None`` runs
    :func:`scipy.optimize.minimize` with ``method='CG'``: scipy's rule is
    Polak-Ribiere+, ``beta = max(0, beta_PR)``, where a negative ``beta_PR`` is
    the restart, and it checks a sufficient-descent condition inside its line
    search. Every other combination runs skneural's own loop (scipy has one
    rule only), with :func:`scipy.optimize.line_search` as the line search.

    Memory and time per iteration are linear in the number of parameters, as
    for 'lbfgs'. Stops when ``max |g| <= tol``, or without a warning when
    the line search finds no step after an iteration that lowered the loss by
    at most :data:`~skneural.solvers.FTOL` relative to it (a flat loss).

    Parameters
    ----------
    beta : {'polak-ribiere', 'fletcher-reeves'}, default='polak-ribiere'
        The rule for ``beta``.
    restart : int or None, default=None
        Restart every ``restart`` iterations. None means every ``n_params``
        iterations (the classical choice; in effect never for a network) for
        Fletcher-Reeves, and scipy's Polak-Ribiere+ for Polak-Ribiere.
    c1, c2 : float, default=1e-4, 0.1
        Wolfe conditions of the line search (sufficient decrease, curvature);
        ``c2 < 1/2`` keeps Fletcher-Reeves directions descent directions.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skneural import NeuralClassifier
    >>> from skneural.solvers import ConjugateGradient
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NeuralClassifier(
    ...     (10,), solver=ConjugateGradient(beta="fletcher-reeves", restart=20),
    ...     max_iter=300, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    def __init__(self, beta="polak-ribiere", restart=None, c1=1e-4, c2=0.1):
        self.beta = beta
        self.restart = restart
        self.c1 = c1
        self.c2 = c2

    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose,
                 callback=None):  # fmt: skip
        if self.beta not in _BETAS:
            raise ValueError(f"beta must be one of {_BETAS}, got {self.beta!r}.")
        if self.restart is not None and int(self.restart) < 1:
            raise ValueError(f"restart must be None or >= 1, got {self.restart!r}.")
        args = dict(max_iter=max_iter, max_fun=max_fun, tol=tol, verbose=verbose,
                    callback=callback)  # fmt: skip
        if self.beta == "polak-ribiere" and self.restart is None:
            return _ScipyCG(self.c1, self.c2).minimize(problem, x0, **args)
        return self._minimize(problem, x0, **args)

    def _minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose,
                  callback=None):  # fmt: skip
        fun = EvaluationCache(problem)
        x = np.array(x0, dtype=np.float64)
        restart = x.size if self.restart is None else int(self.restart)
        f, g = fun(x)
        p = g.copy()
        since_restart = 0
        # scipy's first-step guess: a step of about 1 / ||g||.
        f_before = f + np.linalg.norm(g) / 2
        progress = Progress(verbose, callback)
        n_iter, reason = 0, None
        while True:
            if np.max(np.abs(g)) <= tol:
                break
            if n_iter >= max_iter:
                reason = f"reached max_iter={max_iter} iterations"
                break
            if fun.nfev >= max_fun:
                reason = f"reached max_fun={max_fun} objective evaluations"
                break
            if g @ p <= 0:  # not a descent direction along -p: restart
                p, since_restart = g.copy(), 0
            with warnings.catch_warnings():
                # A failed search returns None, handled below.
                warnings.filterwarnings("ignore", "The line search algorithm")
                eta = scipy.optimize.line_search(
                    fun.value,
                    fun.grad_at,
                    x,
                    -p,
                    gfk=g,
                    old_fval=f,
                    old_old_fval=f_before,
                    c1=self.c1,
                    c2=self.c2,
                )[0]
            if eta is None or not np.isfinite(fun.value(x - eta * p)):
                if since_restart == 0:
                    if not loss_converged(progress.curve):
                        reason = "the line search found no acceptable step"
                    break
                p, since_restart = g.copy(), 0
                continue
            x_new = x - eta * p
            f_new, g_new = fun.value(x_new), fun.grad_at(x_new)
            since_restart += 1
            if since_restart >= restart:
                beta, since_restart = 0.0, 0
            elif self.beta == "fletcher-reeves":
                beta = (g_new @ g_new) / (g @ g)
            else:
                beta = (g_new @ (g_new - g)) / (g @ g)
            p = g_new + beta * p
            x, f_before, f, g = x_new, f, f_new, g_new
            n_iter += 1
            if progress(f, x):  # a callback asked to stop
                break
        if reason is not None:
            warn_not_converged("cg", n_iter, reason, max_iter)
        return WholeBatchResult(
            x=x, fun=float(f), n_iter=n_iter, loss_curve=progress.curve
        )
