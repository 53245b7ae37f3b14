"""Whole-batch solvers through :func:`scipy.optimize.minimize`.

The objective, its gradient and exact Hessian-vector products come from the
:class:`~skneural._problem.Problem` (compiled by JAX, float64 at the scipy
boundary). Every solver here stops when the largest absolute gradient entry is
at most the estimator's ``tol`` (scipy's ``gtol``), after ``max_iter``
iterations or, checked after each iteration, ``max_fun`` evaluations; it
records the objective after every iteration and emits a
:class:`~sklearn.exceptions.ConvergenceWarning` when it stops for any reason
other than the gradient tolerance or a flat loss (scipy's own tests, or a
stop without progress after an iteration that changed the objective by at most
:data:`~skneural.solvers.FTOL` relative to it: :func:`loss_converged`).
"""

import numpy as np
import scipy.optimize

from ._whole_batch import (
    Progress,
    WholeBatchResult,
    WholeBatchSolver,
    loss_converged,
    warn_not_converged,
)

#: Default memory budget (bytes) of the solvers that build dense matrices.
MEMORY_LIMIT = 2**30


def _format_bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def check_memory(name, needed, limit, what):
    """Raise before allocating ``needed`` bytes over the solver's ``limit``.

    Parameters
    ----------
    name : str
        Solver, for the message.
    needed : int
        Estimated bytes.
    limit : int or None
        The solver's ``memory_limit``; None disables the check.
    what : str
        What would be allocated, for the message.
    """
    if limit is not None and needed > limit:
        raise ValueError(
            f"{name} would need about {_format_bytes(needed)} for {what}, over its "
            f"memory_limit of {_format_bytes(limit)}. Use solver='lbfgs', whose "
            "memory grows only linearly with the number of parameters, use a "
            "smaller network or fewer samples, or raise memory_limit."
        )


class EvaluationCache:
    """``problem`` with an evaluation counter and a memory of recent points.

    Calling it evaluates ``problem(x) -> (value, gradient)`` and counts the
    call; :meth:`grad_at` returns the gradient at a recently evaluated point
    without evaluating again.

    Parameters
    ----------
    problem : callable
        ``problem(x) -> (value, gradient)``.
    """

    def __init__(self, problem):
        self.problem = problem
        self.nfev = 0
        self._recent = []

    def __call__(self, x):
        self.nfev += 1
        value, grad = self.problem(x)
        self._recent = [(np.array(x, copy=True), value, grad)] + self._recent[:2]
        return value, grad

    def value(self, x):
        """Objective at ``x`` (cached)."""
        return self._lookup(x)[0]

    def grad_at(self, x):
        """Gradient at ``x`` (cached)."""
        return self._lookup(x)[1]

    def _lookup(self, x):
        for x_seen, value, grad in self._recent:
            if np.array_equal(x_seen, x):
                return value, grad
        return self(x)


class ScipyMinimizer(WholeBatchSolver):
    """Base of the solvers that call :func:`scipy.optimize.minimize`.

    Subclasses set ``method`` (scipy's name), ``name`` (the skneural name),
    whether the method uses Hessian-vector products (``uses_hessp``) and
    whether scipy checks the gradient tolerance itself in the infinity norm
    (``native_gtol``) and the evaluation limit (``native_max_fun``), and
    extend :meth:`_options`.
    """

    method = None
    name = None
    uses_hessp = False
    native_gtol = True
    native_max_fun = False

    def _options(self, max_iter, max_fun, tol):
        return {"maxiter": max_iter}

    def _check_memory(self, problem):
        """Raise before a run whose dense matrices would not fit."""

    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose,
                 callback=None):  # fmt: skip
        self._check_memory(problem)
        fun = EvaluationCache(problem)
        progress = Progress(verbose, callback)
        stop = []

        def on_iteration(intermediate_result):
            x = intermediate_result.x
            if progress(intermediate_result.fun, x):  # a callback asked to stop
                stop.append(None)
                raise StopIteration
            if not self.native_gtol and np.max(np.abs(fun.grad_at(x))) <= tol:
                stop.append(None)
                raise StopIteration
            if (
                not self.native_max_fun
                and fun.nfev >= max_fun
                and len(progress.curve) < max_iter
            ):
                stop.append(f"reached max_fun={max_fun} objective evaluations")
                raise StopIteration

        res = scipy.optimize.minimize(
            fun,
            x0,
            method=self.method,
            jac=True,
            hessp=problem.hvp if self.uses_hessp else None,
            callback=on_iteration,
            options=self._options(max_iter, max_fun, tol),
        )
        n_iter = min(int(res.nit), max_iter)
        if stop:
            reason = stop[0]
        elif res.status == 1 or (  # 1: scipy's iteration/evaluation limit
            res.status != 0
            and not (np.isfinite(res.fun) and loss_converged(progress.curve))
        ):
            reason = str(res.message)
        else:  # converged, or stalled on a flat loss (e.g. "precision loss")
            reason = None
        if reason is not None:
            warn_not_converged(self.name, n_iter, reason, max_iter)
        return WholeBatchResult(
            x=np.asarray(res.x),
            fun=float(res.fun),
            n_iter=n_iter,
            loss_curve=progress.curve,
        )


class LBFGS(ScipyMinimizer):
    """Limited-memory BFGS through scipy's L-BFGS-B, as scikit-learn's 'lbfgs'.

    Quasi-Newton: the inverse Hessian is approximated from the last ``maxcor``
    pairs of weight changes ``s`` and gradient changes ``y``; each iteration
    takes the step ``-H g`` scaled by a line search. Memory and time per
    iteration are linear in the number of parameters. The estimator's
    ``max_iter``, ``max_fun`` and ``tol`` become scipy's ``maxiter``, ``maxfun``
    and ``gtol``; scipy also stops when the objective decreases by less than a
    relative ``2.2e-9`` (its ``ftol``). A run that stops on its iteration or
    evaluation limit emits a :class:`~sklearn.exceptions.ConvergenceWarning`.

    Parameters
    ----------
    maxcor : int, default=10
        Number of correction pairs kept (the ``m`` of L-BFGS).
    maxls : int, default=20
        Most line-search steps per iteration.
    """

    method = "L-BFGS-B"
    name = "lbfgs"
    native_max_fun = True

    def __init__(self, maxcor=10, maxls=20):
        self.maxcor = maxcor
        self.maxls = maxls

    def _options(self, max_iter, max_fun, tol):
        return {
            "maxfun": max_fun,
            "maxiter": max_iter,
            "gtol": tol,
            "maxcor": self.maxcor,
            "maxls": self.maxls,
        }


class BFGS(ScipyMinimizer):
    """BFGS through :func:`scipy.optimize.minimize` (``method='BFGS'``).

    Keeps a dense ``n_params x n_params`` approximation ``H`` of the inverse
    Hessian, updated from the weight change ``s`` and gradient change ``y`` of
    every step, ``H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T`` with
    ``rho = 1 / (y^T s)``, and takes the step ``-H g`` with a Wolfe line
    search. Memory is quadratic and time per iteration quadratic in the number
    of parameters, so this is for small networks; the memory is checked
    before the run. Stops when ``max |g| <= tol``.

    Parameters
    ----------
    memory_limit : int or None, default=2**30
        Bytes the dense matrices may take (about five ``n_params^2`` float64
        arrays); over it, fitting raises a ValueError suggesting 'lbfgs'.
        None disables the check.
    """

    method = "BFGS"
    name = "bfgs"

    def __init__(self, memory_limit=MEMORY_LIMIT):
        self.memory_limit = memory_limit

    def _options(self, max_iter, max_fun, tol):
        return {"maxiter": max_iter, "gtol": tol, "norm": np.inf}

    def _check_memory(self, problem):
        n = problem.n_params
        check_memory(
            "BFGS",
            5 * 8 * n * n,
            self.memory_limit,
            f"its dense {n} x {n} inverse-Hessian approximation",
        )


class NewtonCG(ScipyMinimizer):
    """Truncated Newton method through scipy (``method='Newton-CG'``).

    Newton's step ``dW = -H^-1 g`` with ``H`` the exact Hessian, solved
    approximately by conjugate gradients that only need Hessian-vector
    products (forward-over-reverse differentiation by JAX, no Hessian is
    formed); the inner solve stops at negative curvature, and a Wolfe line
    search scales the step. Each iteration costs a few gradient evaluations
    per inner CG step. Stops when ``max |g| <= tol``, or when scipy's test on
    the step (mean absolute step below ``xtol``) is met.

    Parameters
    ----------
    xtol : float, default=1e-5
        scipy's ``xtol``: stop when the L1 norm of the step is below
        ``n_params * xtol``.
    """

    method = "Newton-CG"
    name = "newton-cg"
    uses_hessp = True
    native_gtol = False

    def __init__(self, xtol=1e-5):
        self.xtol = xtol

    def _options(self, max_iter, max_fun, tol):
        return {"maxiter": max_iter, "xtol": self.xtol}


class _TrustRegion(ScipyMinimizer):
    uses_hessp = True
    native_gtol = False

    def __init__(self, initial_trust_radius=1.0, max_trust_radius=1000.0, eta=0.15):
        self.initial_trust_radius = initial_trust_radius
        self.max_trust_radius = max_trust_radius
        self.eta = eta

    def _options(self, max_iter, max_fun, tol):
        return {
            "maxiter": max_iter,
            "gtol": tol,
            "initial_trust_radius": self.initial_trust_radius,
            "max_trust_radius": self.max_trust_radius,
            "eta": self.eta,
        }


class TrustNCG(_TrustRegion):
    """Newton conjugate-gradient trust-region method (scipy's 'trust-ncg').

    Minimises the quadratic model ``g^T p + p^T H p / 2`` (exact Hessian-vector
    products by JAX) within a trust radius by Steihaug's truncated CG; the
    radius grows or shrinks with the ratio of actual to predicted decrease.
    An iteration that rejects its step still counts as an iteration (and
    repeats the previous loss in ``loss_curve_``). Stops when
    ``max |g| <= tol``.

    Parameters
    ----------
    initial_trust_radius : float, default=1.0
        Initial radius.
    max_trust_radius : float, default=1000.0
        Largest radius.
    eta : float, default=0.15
        A step is accepted when the actual decrease is more than ``eta``
        times the predicted one.
    """

    method = "trust-ncg"
    name = "trust-ncg"


class TrustKrylov(_TrustRegion):
    """Nearly exact trust-region method on Krylov subspaces (scipy's
    'trust-krylov', the GLTR method of the ``trlib`` library).

    As :class:`TrustNCG`, but the trust-region subproblem is solved more
    accurately on a Lanczos basis built from exact Hessian-vector products,
    which pays off where the Hessian is indefinite (saddle regions). Stops when
    ``max |g| <= tol``.

    Parameters
    ----------
    initial_trust_radius : float, default=1.0
        Initial radius.
    max_trust_radius : float, default=1000.0
        Largest radius.
    eta : float, default=0.15
        A step is accepted when the actual decrease is more than ``eta``
        times the predicted one.
    """

    method = "trust-krylov"
    name = "trust-krylov"
