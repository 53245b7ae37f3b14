"""Levenberg-Marquardt on JAX, and scipy's least-squares solvers.

Both minimise the objective written as half a sum of squared residuals,
``0.5 * ||r(x)||^2`` (see :meth:`skneural._problem.Problem.residuals`): for
squared error the residuals are the targets minus the outputs, for the other
losses the roots of twice the per-sample losses, so either way the value is
exactly the estimator's objective.
"""


import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from .._program_cache import program
from .._objective import precision
from ._whole_batch import (
    Progress,
    WholeBatchResult,
    WholeBatchSolver,
    loss_converged,
    warn_not_converged,
)
from ._scipy import MEMORY_LIMIT, check_memory

_DAMPINGS = ("marquardt", "levenberg")


def _densified(problem):
    """What the memory message adds for a sparse ``X`` (densified here)."""
    if not problem.dense_X_nbytes:
        return ""
    rows, cols = problem.X.shape
    return (
        f" and a dense {rows} x {cols} copy of the sparse X (least-squares "
        "solvers form dense per-sample Jacobian rows; solver='lbfgs' and the "
        "stepwise solvers keep X sparse)"
    )


def damped_step(grad, J, JtJ, l2, lam, *, side):
    """The damped Gauss-Newton step ``-(J^T J + diag(l2) + diag(lam))^{-1} grad``.

    ``J`` is the Jacobian of the data residuals, ``diag(l2)`` the Gauss-Newton
    matrix of the L2 residuals, ``lam`` the damping (``mu D``; positive).
    ``side='params'`` solves the ``n_params``-square system by Cholesky
    (``JtJ`` is ``J^T J``); ``side='residuals'`` uses the Woodbury identity
    with ``L = diag(l2 + lam)``::

        (J^T J + L)^{-1} = L^{-1} - L^{-1} J^T (I + J L^{-1} J^T)^{-1} J L^{-1}

    which needs only an ``n_residuals``-square Cholesky solve: the cheaper one
    when there are fewer residuals than parameters (``JtJ`` is unused). The
    two agree to rounding.
    """
    lam = l2 + lam
    if side == "params":
        A = JtJ + jnp.diag(lam)
        return -jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(A), grad)
    inv = 1.0 / lam
    u = inv * grad
    S = jnp.eye(J.shape[0], dtype=J.dtype) + (J * inv) @ J.T
    v = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(S), J @ u)
    return -(u - inv * (J.T @ v))


@program(static_argnames=("side",))
def _step(x, grad, J, JtJ, l2, lam, *, side):
    """``x`` plus the damped step (:func:`damped_step`)."""
    return x + damped_step(grad, J, JtJ, l2, lam, side=side)


class LevenbergMarquardt(WholeBatchSolver):
    """Levenberg-Marquardt: damped Gauss-Newton on the residuals, in JAX.

    Levenberg's (1944) and Marquardt's (1963) rule: with residuals ``e`` over
    all samples and outputs (targets minus outputs for squared error; see
    below for other losses) and
    their Jacobian ``J = de/dW``, each iteration tries
    ``W <- W - (J^T J + mu D)^{-1} J^T e`` with ``D`` the diagonal of
    ``J^T J`` (Marquardt) or the identity (Levenberg). A step that lowers the
    objective is accepted and ``mu`` multiplied by ``mu_decrease``;
    otherwise ``mu`` is multiplied by ``mu_increase`` and the step retried
    (the objective is evaluated, the Jacobian is not). Small ``mu`` gives
    Gauss-Newton steps, large ``mu`` short gradient steps. The L2 term
    (``alpha``) enters as the residuals ``sqrt(alpha / sum(w)) * W``, whose
    part of ``J^T J`` is diagonal and is added exactly.

    The linear system is solved on the smaller side: the ``n_params``-square
    ``J^T J + ...`` when there are at least as many residuals as parameters,
    otherwise an ``n_residuals``-square system through the Woodbury identity
    (:func:`damped_step`), so networks with more weights than residuals --
    which ``scipy.optimize.least_squares(method='lm')`` refuses -- train too.
    The Jacobian is built with ``jax.vmap`` over per-sample reverse-mode
    derivatives (:meth:`skneural._problem.Problem.gauss_newton`); with a
    list of devices (``device=["all"]``) its rows, and the objective's, are
    split across them, as for 'lbfgs'.

    Residuals: for squared error (the regressor's default), one per sample and
    output, ``sqrt(w_i / (sum(w) n_outputs)) * (y - y_hat)``. For any other
    loss (classifiers' log-loss, ...), one per sample,
    ``sqrt(2 w_i loss_i / sum(w))``: their half squared norm is exactly the
    estimator's objective (so ``loss_curve_`` is comparable across solvers and
    ``J^T e`` is its exact gradient), and ``J^T J`` is a positive semi-definite
    Gauss-Newton matrix. See :func:`skneural._objective.data_residuals`.

    Cost per iteration: forming ``J`` (``n_residuals x n_params``), one
    ``min(n_residuals, n_params)``-square Cholesky factorisation per trial,
    and ``O(n_residuals n_params min(...))`` products: a small-network,
    small-data method (typically up to a few thousand parameters and
    residuals) that needs far fewer iterations than first-order methods.
    Memory is estimated before anything is formed; over ``memory_limit`` the
    fit raises a ValueError that names the size and suggests 'lbfgs'.

    It is slow on classification sets of a thousand samples or more: with
    fewer residuals (one per sample) than parameters, every iteration forms
    and factorises an ``n_samples``-square matrix, about
    ``n_samples**2 * n_params`` operations. On ``load_digits`` (1,347
    training samples, 10 classes) with ``hidden_layer_sizes=(100,)`` a fit
    takes about 10 s on a 2-core CPU, against about 1 s with the default
    'adam'.

    Stops when ``max |g| <= tol`` (converged), when ``mu`` exceeds ``mu_max``
    (no step lowers the objective) after an iteration that lowered the
    objective by at most :data:`~skneural.solvers.FTOL` relative to it
    (converged: the loss is flat), or -- with a
    :class:`~sklearn.exceptions.ConvergenceWarning` -- after ``max_iter``
    accepted steps, ``max_fun`` objective evaluations, or when ``mu`` exceeds
    ``mu_max`` while the loss was still decreasing.

    Parameters
    ----------
    damping : {'marquardt', 'levenberg'}, default='marquardt'
        ``D = diag(J^T J)`` (Marquardt's rule: invariant to the scale of
        each parameter) or the identity (Levenberg's rule, that of MATLAB's
        ``trainlm``). Marquardt's scaling lets weights with small Jacobian
        columns take long steps, which can drive hidden units into
        saturation and stall on a plateau; in our measurements on small
        regressions (see the solvers user guide) 'levenberg' reached lower
        losses more often. Try it when 'marquardt' stalls.
    mu : float, default=1e-3
        Initial damping.
    mu_decrease : float, default=0.1
        Factor applied to ``mu`` after an accepted step.
    mu_increase : float, default=10.0
        Factor applied to ``mu`` after a rejected step.
    mu_max : float, default=1e10
        Stop when ``mu`` exceeds it.
    memory_limit : int or None, default=2**30
        Bytes the Jacobian (twice, for a scaled copy) and the linear system
        (twice, with its factor) may take. None disables the check.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from skneural import NeuralRegressor
    >>> from skneural.solvers import LevenbergMarquardt
    >>> X, y = make_friedman1(n_samples=200, random_state=0)
    >>> reg = NeuralRegressor(hidden_layer_sizes=(10,), activation="tanh",
    ...                       solver=LevenbergMarquardt(damping="levenberg"),
    ...                       max_iter=50, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    def __init__(
        self, damping="marquardt", mu=1e-3, mu_decrease=0.1, mu_increase=10.0,
        mu_max=1e10, memory_limit=MEMORY_LIMIT,
    ):  # fmt: skip
        self.damping = damping
        self.mu = mu
        self.mu_decrease = mu_decrease
        self.mu_increase = mu_increase
        self.mu_max = mu_max
        self.memory_limit = memory_limit

    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose,
                 callback=None):  # fmt: skip
        if self.damping not in _DAMPINGS:
            raise ValueError(
                f"damping must be one of {_DAMPINGS}, got {self.damping!r}."
            )
        problem.require_least_squares("LevenbergMarquardt")
        m, n = problem.n_data_residuals, problem.n_params
        side = "params" if n <= m else "residuals"
        s = min(m, n)
        check_memory(
            "LevenbergMarquardt",
            problem.dtype.itemsize * (2 * m * n + 2 * s * s) + problem.dense_X_nbytes,
            self.memory_limit,
            f"its {m} x {n} Jacobian and {s} x {s} linear system"
            + _densified(problem),
        )
        gram = side == "params"
        with precision(problem.dtype):
            l2 = jax.device_put(np.asarray(problem.l2_diagonal, dtype=problem.dtype))
            x = jnp.asarray(x0, dtype=problem.dtype)
            f, g, J, JtJ, diag = problem.gauss_newton(x, gram=gram)
            D = self._scaling(diag)
            f = float(f)
            nfev, n_iter, mu, reason = 1, 0, float(self.mu), None
            progress = Progress(verbose, callback)
            while True:
                if not np.isfinite(f):
                    reason = "the objective is not finite"
                    break
                if float(jnp.max(jnp.abs(g))) <= tol:
                    break
                if n_iter >= max_iter:
                    reason = f"reached max_iter={max_iter} iterations"
                    break
                if nfev >= max_fun:
                    reason = f"reached max_fun={max_fun} objective evaluations"
                    break
                while mu <= self.mu_max and nfev < max_fun:
                    x_new = _step(x, g, J, JtJ, l2, mu * D, side=side)
                    f_new = problem.least_squares_value(x_new)
                    nfev += 1
                    f_new = float(f_new)
                    if f_new < f:
                        mu *= self.mu_decrease
                        break
                    mu *= self.mu_increase
                else:
                    if mu > self.mu_max and loss_converged(progress.curve):
                        reason = None  # no step lowers a loss that is flat
                    elif mu > self.mu_max:
                        reason = (
                            f"mu exceeded mu_max={self.mu_max:g}: no damped step "
                            "lowers the objective"
                        )
                    else:
                        reason = f"reached max_fun={max_fun} objective evaluations"
                    break
                x = x_new
                f, g, J, JtJ, diag = problem.gauss_newton(x, gram=gram)
                D = self._scaling(diag)
                f = float(f)
                n_iter += 1
                if progress(f, x):  # a callback asked to stop
                    break
            x = np.asarray(x, dtype=np.float64)
        if reason is not None:
            warn_not_converged("lm", n_iter, reason, max_iter)
        return WholeBatchResult(x=x, fun=f, n_iter=n_iter, loss_curve=progress.curve)

    def _scaling(self, diag):
        """The damping matrix ``D`` (its diagonal) from ``diag(J^T J)``.

        Marquardt's ``D`` is floored at ``1e-12`` times its largest entry, so
        that it stays positive where a column of ``J`` vanishes (a dead unit).
        """
        if self.damping == "levenberg":
            return jnp.ones_like(diag)
        return jnp.maximum(diag, 1e-12 * jnp.max(diag))


class _Stop(Exception):
    """Raised inside scipy's loop to stop it (``max_iter``, or a callback asked)."""

    def __init__(self, x, reason=None):
        self.x = x
        self.reason = reason


class LeastSquares(WholeBatchSolver):
    """:func:`scipy.optimize.least_squares` on the residuals.

    The residuals and their Jacobian are those of :class:`LevenbergMarquardt`
    (:meth:`skneural._problem.Problem.residuals`, L2 residuals included), as
    dense float64 arrays. ``method='trf'`` (trust-region reflective) works for
    any number of residuals; ``'lm'`` is MINPACK's Levenberg-Marquardt, which
    needs at least as many residuals as parameters (including one per weight
    when ``alpha > 0``) and raises otherwise -- :class:`LevenbergMarquardt`
    has no such limit and is usually faster.

    An iteration is an accepted step (a Jacobian evaluation). Stops on scipy's
    tests: ``gtol`` (the estimator's ``tol``, on ``max |J^T r|`` for
    'trf'/'dogbox', scaled for 'lm'), ``ftol`` and ``xtol`` (relative
    decrease of the objective and of the step, 1e-8), or after ``max_iter``
    iterations or ``max_fun`` residual evaluations (with a
    :class:`~sklearn.exceptions.ConvergenceWarning`).

    Parameters
    ----------
    method : {'trf', 'dogbox', 'lm'}, default='trf'
        scipy's algorithm.
    tr_solver : {'lsmr', 'exact'}, default='lsmr'
        How 'trf' and 'dogbox' solve their trust-region subproblems: 'lsmr'
        iteratively (products with ``J`` only), 'exact' by an SVD of ``J``
        per iteration, ``O(m n^2)`` -- on ``load_digits`` with 32 hidden
        units about 15 times slower. Ignored by 'lm'.
    memory_limit : int or None, default=2**30
        Bytes the dense Jacobian (about three copies) may take. None disables
        the check.
    """

    def __init__(self, method="trf", tr_solver="lsmr", memory_limit=MEMORY_LIMIT):
        self.method = method
        self.tr_solver = tr_solver
        self.memory_limit = memory_limit

    def minimize(self, problem, x0, *, max_iter, max_fun, tol, verbose,
                 callback=None):  # fmt: skip
        problem.require_least_squares("LeastSquares")
        m, n = problem.residual_size, problem.n_params
        if self.method == "lm" and m < n:
            raise ValueError(
                f"scipy's least_squares(method='lm') needs at least as many "
                f"residuals as parameters; this problem has {m} residuals and {n} "
                "parameters. Use LevenbergMarquardt (solver='lm') or "
                "LeastSquares(method='trf')."
            )
        check_memory(
            "LeastSquares",
            3 * 8 * m * n + problem.dense_X_nbytes,
            self.memory_limit,
            f"its dense {m} x {n} Jacobian" + _densified(problem),
        )
        progress = Progress(verbose, callback)
        costs = {}

        def fun(x):
            r = problem.residuals(x)
            costs.clear()
            costs[x.tobytes()] = 0.5 * float(r @ r)
            return r

        n_jac = [0]

        def jac(x):
            n_jac[0] += 1
            if n_jac[0] > 1:  # at the point the last iteration accepted
                key = x.tobytes()
                cost = costs[key] if key in costs else 0.5 * np.sum(fun(x) ** 2)
                if progress(cost, x):  # a callback asked to stop
                    raise _Stop(np.array(x, copy=True))
                if n_jac[0] - 1 >= max_iter:
                    why = f"reached max_iter={max_iter} iterations"
                    raise _Stop(np.array(x, copy=True), why)
            return problem.jacobian(x)

        reason = None
        try:
            res = scipy.optimize.least_squares(
                fun,
                x0,
                jac=jac,
                method=self.method,
                tr_solver=None if self.method == "lm" else self.tr_solver,
                gtol=max(tol, 10 * np.finfo(np.float64).eps),  # 'lm' needs > eps
                max_nfev=max_fun,
            )
            x, cost = res.x, float(res.cost)
            if not progress.curve or progress.curve[-1] != cost:
                progress(cost, x)
            if res.status == 0:
                reason = f"reached max_fun={max_fun} residual evaluations"
        except _Stop as stop:
            x, cost, reason = stop.x, progress.curve[-1], stop.reason
        n_iter = len(progress.curve)
        if reason is not None:
            warn_not_converged("least-squares", n_iter, reason, max_iter)
        return WholeBatchResult(
            x=np.asarray(x), fun=cost, n_iter=n_iter, loss_curve=progress.curve
        )
