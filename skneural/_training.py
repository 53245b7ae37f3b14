"""The epoch loop of stepwise (minibatch) fits, for one model or many at once.

A :class:`StepwiseRun` is the host side of one estimator's fit: its data
padded to whole minibatches, its random number generator (which draws the
minibatch order and the early-stopping split exactly as scikit-learn's MLP
does), and the per-epoch bookkeeping scikit-learn's MLP does (loss curve,
``tol`` / ``n_iter_no_change`` stopping, learning-rate schedules, early
stopping on a validation set, divergence). The device side is one compiled
call per epoch:

- :func:`fit_one` drives one run with
  :func:`~skneural.solvers._stepwise.run_epoch`;
- :func:`fit_together` drives several runs that share an architecture, a
  solver and a batch shape with :func:`~skneural.solvers._stepwise.run_epochs`,
  which trains all of them in one program (``jax.vmap``). Every run keeps its
  own random draws and stopping decisions, so each model ends as it would
  have in a fit of its own, up to floating-point rounding.
"""

import time
import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from . import _devices, _sparse
from ._program_cache import program
from ._objective import inference_objective, precision, predict_output
from .solvers._stepwise import (
    init_state,
    run_epoch,
    run_epochs,
    select,
    set_hyperparams,
)


_to_device = _devices.to_device


def _to_numpy(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


#: Smallest padded size of a single minibatch (see :func:`padded_shape`).
MIN_PADDED_BATCH = 16


def padded_shape(n_batches, batch_size, stochastic):
    """``(n_batches, batch_size)`` of an epoch's padded minibatch order.

    Every row count would otherwise compile its own training program, which
    costs time and memory (the programs stay in memory). Padding rows have
    zero weight and enter the objective as zeros, so the minibatches and
    their updates are those of the unpadded data:

    - one minibatch (the data smaller than ``batch_size``, as in repeated
      ``partial_fit`` calls) is padded to a power of two rows, at least
      :data:`MIN_PADDED_BATCH`; not for random networks (dropout, noise,
      'rrelu'), whose random draws depend on the batch's shape;
    - several minibatches keep ``batch_size`` rows and are followed by batches
      made only of padding, which are not run, up to the next of 1-4, then 4
      sizes per doubling (5, 6, 7, 8, 10, 12, 14, 16, 20, ...): at most a
      quarter more rows of data on the device.
    """
    if n_batches == 1:
        if stochastic:
            return 1, batch_size
        return 1, max(MIN_PADDED_BATCH, 1 << (batch_size - 1).bit_length())
    if n_batches <= 4:
        return n_batches, batch_size
    step = 1 << (n_batches.bit_length() - 3)
    return -(-n_batches // step) * step, batch_size


def _pad_rows(a, n_rows, dtype):
    """``a`` (dense or sparse) as a dense ``dtype`` array of ``n_rows`` rows."""
    out = np.zeros((n_rows,) + a.shape[1:], dtype=dtype)
    out[: a.shape[0]] = a.toarray() if sp.issparse(a) else a
    return out


#: Most compiled programs kept per compiled function of training and
#: prediction (one per combination of shapes and static settings). Past it,
#: that function's programs are dropped after the fit (and compiled again
#: when needed), so that a long session of fits with ever new shapes or
#: settings does not keep every program in memory.
MAX_PROGRAMS = 32


def bound_program_caches():
    """Drop the programs of any compiled function holding over MAX_PROGRAMS."""
    from . import _objective
    from .solvers import _stepwise

    functions = [
        _stepwise.run_epoch, _stepwise.run_epochs, _stepwise.init_state,
        _objective.predict_output, _objective.inference_objective,
        _objective.flat_value_and_grad, _objective.flat_hvp,
        _objective.flat_residuals, _objective.flat_residuals_and_jacobian,
        _validation_batched,
    ]  # fmt: skip
    for fn in functions:
        if fn._cache_size() > MAX_PROGRAMS:
            fn.clear_cache()


#: A finite loss above this many times the fit's first epoch loss counts as
#: divergence (training stops, the lowest-loss parameters are kept).
DIVERGENCE_FACTOR = 1e4


class _Quiet:
    """Reporter of fits trained in a batch: no display, no callbacks."""

    def epoch(self, *args, **kwargs):
        return False

    def message(self, text):
        pass

    def end(self, *args, **kwargs):
        pass


class StepwiseRun:
    """Host side of one estimator's stepwise fit.

    Built by the estimator after validation and initialisation (``est`` holds
    ``coefs_`` and the rest); it prepares the padded data and, epoch by
    epoch, draws the minibatch order (:meth:`next_epoch`) and does the
    bookkeeping on the epoch's results (:meth:`record`). :meth:`finish`
    stores the final parameters on the estimator.
    """

    def __init__(self, est, X, y, sample_weight, solver, rng, dtype, incremental,
                 reporter=None):  # fmt: skip
        if est.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        self.est, self.rng, self.dtype, self.incremental = est, rng, dtype, incremental
        self.reporter = _Quiet() if reporter is None else reporter
        if not hasattr(est, "loss_curve_"):  # previous fit by a whole-batch solver
            est.loss_curve_ = []
        if est.best_loss_ is None and not est.early_stopping:
            est.best_loss_ = np.inf
        est._no_improvement_count = getattr(est, "_no_improvement_count", 0)

        self.validation = None
        if est.early_stopping:
            is_classifier = est._is_classifier
            stratify = y if is_classifier and y.shape[1] == 1 else None
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            split = train_test_split(
                *arrays,
                random_state=rng,
                test_size=est.validation_fraction,
                stratify=stratify,
            )
            X, X_val, y, y_val = split[:4]
            sw_val = None
            if sample_weight is not None:
                sample_weight, sw_val = split[4:]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            Y_val = est._encode_targets(y_val, dtype)
            if is_classifier:
                y_val = est._label_binarizer.inverse_transform(y_val)
            # Padded to a power of two rows of zero weight (as prediction
            # pads), so that validation sets of different sizes share programs.
            n_val = len(Y_val)
            val_rows = max(MIN_PADDED_BATCH, 1 << (n_val - 1).bit_length())
            w_val = np.zeros(val_rows, dtype)
            w_val[:n_val] = 1 if sw_val is None else sw_val
            self.validation = dict(
                X=(_sparse.chunk(X_val, val_rows, dtype) if sp.issparse(X_val)
                   else _pad_rows(X_val, val_rows, dtype)),  # fmt: skip
                Y=_pad_rows(Y_val, val_rows, dtype),
                w=w_val,
                y=y_val,
                sample_weight=sw_val,
            )
            if est.validation_scores_ is None:
                est.validation_scores_ = []
                est.best_validation_score_ = -np.inf

        n_samples = X.shape[0]
        if est.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if est.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(est.batch_size, 1, n_samples))
        self.n_samples, self.batch_size = n_samples, batch_size
        self.devices = _devices.resolve(est.device)
        self.sharding = _devices.batch_sharding(self.devices)
        # Padded to a few shapes, so that fits of different sizes share their
        # compiled programs (see padded_shape); the minibatches are the same.
        self.n_batches = -(-n_samples // batch_size)
        self.padded_batches, self.padded_batch = padded_shape(
            self.n_batches, batch_size, est._layer_activations.stochastic
        )
        self.n_rows = n_rows = self.padded_batches * self.padded_batch

        self.solver = solver
        # The estimator's clip_norm is a link of the transformation.
        tx, hyper = solver.optax_transformation(clip_norm=est.clip_norm)
        self.lr_schedule = (
            est.learning_rate
            if solver.uses_lr_schedule and "learning_rate" in hyper
            else "constant"
        )
        self.net = est._layer_activations
        self.static = dict(tx=tx, net=self.net, loss=est._loss_name)
        mask = np.zeros(n_rows, dtype=dtype)
        mask[:n_samples] = 1
        w = mask.copy()
        if sample_weight is not None:
            w[:n_samples] = sample_weight
        self.data = dict(
            Y=_pad_rows(est._encode_targets(y, dtype), n_rows, dtype),
            w=w,
            mask=mask,
        )
        # Sparse X stays a CSR matrix on the host; each epoch's minibatches
        # go to the device as padded coordinates (see _sparse.epoch_batches).
        self.sparse_X = self.batch_nnz = None
        if sp.issparse(X):
            self.sparse_X = _sparse.training_matrix(X, n_rows, dtype)
            self.batch_nnz = _sparse.batch_nnz_bound(self.sparse_X, batch_size)
        else:
            self.data = dict(X=_pad_rows(X, n_rows, dtype), **self.data)
        self.n_features = X.shape[1]
        with precision(dtype):
            self.reg = _to_numpy(est._regularization(dtype))
            # In the computation's dtype (the fitted arrays follow the input's).
            self.params, self.net_state = jax.tree_util.tree_map(
                lambda a: np.asarray(a, dtype=dtype), (est._params(), est.layer_state_)
            )
            fresh = _to_numpy(set_hyperparams(
                init_state(_to_device(self.params, dtype), tx=tx), hyper, dtype
            ))  # fmt: skip
            saved = getattr(est, "_optimizer_state", None) if incremental else None
            self.opt_state = _restore_state(fresh, saved)
            if est.clip_norm is not None:  # as set now, not the saved value
                self.opt_state = self.opt_state._replace(hyperparams={
                    **self.opt_state.hyperparams,
                    "clip_norm": fresh.hyperparams["clip_norm"]})  # fmt: skip
        self.lr = (
            float(self.opt_state.hyperparams["learning_rate"])
            if self.lr_schedule != "constant"
            else None
        )
        # Row order: shuffled cumulatively by ``rng`` as scikit-learn does;
        # padding rows (index >= n_samples) end the last batch.
        self.sample_idx = np.arange(n_samples, dtype=np.int32)
        self.padding = np.arange(n_samples, n_rows, dtype=np.int32)
        self.warned = False
        self.active = True
        self.best = False
        self.diverged = False
        self.improved = False
        self.lowest_loss, self.lowest_epoch = np.inf, None
        est.n_iter_ = 0

    # ------------------------------------------------------------------
    @property
    def key(self):
        """What runs trained together must share (static arguments, shapes)."""
        shapes = [(p["W"].shape, tuple(sorted(p))) for p in self.params]
        return (
            self.static["tx"], self.net, self.static["loss"], np.dtype(self.dtype).str,
            self.batch_size, self.padded_batch, repr(shapes), self.n_features,
            self.batch_nnz,
            self.data["Y"].shape[1:],
            repr(jax.tree_util.tree_structure(self.opt_state)),
            repr(jax.tree_util.tree_structure(self.net_state)),
            self.validation is not None,
            None if self.devices is None else tuple(map(str, self.devices)),
        )  # fmt: skip

    def next_epoch(self):
        """The epoch's minibatch order (n_batches, batch_size) and seed."""
        if self.est.shuffle:
            self.sample_idx = self.sample_idx[self.rng.permutation(self.n_samples)]
        order = np.concatenate([self.sample_idx, self.padding])
        if self.padded_batch != self.batch_size:  # one batch, padded
            order = order.reshape(1, -1)
        else:  # batch_size rows per batch, then whole batches of padding
            order = order.reshape(-1, self.batch_size)
        seed = self.rng.randint(np.iinfo(np.int32).max) if self.net.stochastic else 0
        return order, seed

    def check_finite(self, loss, finite, norms=None):
        """False (with a ConvergenceWarning) when the epoch diverged.

        Diverged: the loss or the parameters are not finite, or the loss grew
        past ``DIVERGENCE_FACTOR`` times the first epoch's. The driver then
        restores the parameters of this fit's epoch with the lowest loss
        (:attr:`improved` marks them), or this fit's initial ones.
        """
        curve = self.est.loss_curve_
        first = curve[0] if curve else None
        finite = bool(finite) and bool(np.isfinite(loss))
        if finite and (first is None or loss <= DIVERGENCE_FACTOR * max(first, 1e-3)):
            return True
        if not np.isfinite(loss):
            what = f"the loss became non-finite ({loss})"
        elif not finite:
            what = f"the parameters became non-finite (loss {loss:.4g})"
        else:
            what = (
                f"the loss grew to {loss:.4g}, more than {DIVERGENCE_FACTOR:g} "
                f"times the first epoch's ({first:.4g})"
            )
        kept = (
            "the parameters from the start of this fit were kept"
            if self.lowest_epoch is None
            else f"the parameters of epoch {self.lowest_epoch} (this fit's lowest "
            f"loss, {self.lowest_loss:.4g}) were kept"
        )
        self.reporter.end("diverged")
        norms = None if norms is None else np.asarray(norms, dtype=np.float64)
        if (not self.warned and norms is not None and np.isfinite(norms).all()
                and self.est.grad_norm_curve_ and self.est.n_iter_):  # fmt: skip
            # The diverging epoch's gradients tell why.
            first = self.est.grad_norm_curve_[-self.est.n_iter_]
            self.warned = self.est._check_gradients(norms, first, self.est.n_iter_ + 1)
        warnings.warn(
            f"Training stopped at epoch {self.est.n_iter_ + 1}: {what}; {kept}. "
            "Lower the learning rate or scale the inputs.",
            ConvergenceWarning,
        )
        self.active = False
        self.diverged = True
        return False

    def record(self, loss, norms, val_output=None, val_loss=None, seconds=0.0,
               params=None, state=None):  # fmt: skip
        """Bookkeeping after a finite epoch; returns the new learning rate or None.

        Sets :attr:`best` (these parameters are the best so far on the
        validation set) and :attr:`active` (training goes on), and reports
        the epoch (``params`` and ``state``, the epoch's parameters, go to the
        callbacks).
        """
        est = self.est
        est.n_iter_ += 1
        self.improved = loss < self.lowest_loss
        if self.improved:
            self.lowest_loss, self.lowest_epoch = loss, est.n_iter_
        est.loss_ = loss
        est.t_ += self.n_samples
        est.loss_curve_.append(loss)
        est.grad_norm_curve_.append(np.asarray(norms, dtype=np.float64))
        first_norms = est.grad_norm_curve_[-est.n_iter_]
        self.warned = self.warned or est._check_gradients(norms, first_norms)
        if self.validation is not None:
            est.validation_loss_curve_.append(float(val_loss))
        self.best = est._record_no_improvement(
            None
            if val_output is None
            else est._score_output(
                val_output, self.validation["y"], self.validation["sample_weight"]
            )
        )
        if self.reporter.epoch(  # True when a callback asks to stop
            est.n_iter_,
            loss,
            est.validation_scores_[-1] if self.validation is not None else None,
            seconds,
            params=params,
            state=state,
        ):
            self.active = False
            return None
        new_lr = None
        if self.lr_schedule == "invscaling":
            self.lr = float(est._solver_lr(self.solver)) / (est.t_ + 1) ** est.power_t
            new_lr = self.lr
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if est.early_stopping else "Training loss"
            msg = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if self.lr_schedule == "adaptive" and self.lr > 1e-6:
                self.lr /= 5.0
                new_lr = self.lr
                est._no_improvement_count = 0
                self.reporter.message(msg + " Setting learning rate to %f" % self.lr)
            else:
                self.reporter.end("converged", msg + " Stopping.")
                self.active = False
        if self.incremental:
            self.active = False
        elif self.active and est.n_iter_ >= est.max_iter:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and "
                "the optimization hasn't converged yet." % est.max_iter,
                ConvergenceWarning,
            )
            self.active = False
        return new_lr

    def finish(self, params, net_state, opt_state):
        """Store the final parameters (numpy) on the estimator."""
        if self.diverged and not self._outputs_finite(params, net_state):
            warnings.warn(
                "The parameters kept after the divergence give non-finite outputs "
                "on the training data; the parameters from the start of this fit "
                "were restored.",
                ConvergenceWarning,
            )
            params, net_state = self.params, self.net_state
        if self.diverged and self.lowest_epoch is None:
            # No epoch of this fit completed: loss_ is the objective of the
            # parameters kept (so that it exists after every fit).
            self.est.loss_ = self._objective(params, net_state)
        self.est._set_params_from(params, net_state)
        # Plain arrays (the leaves): a fitted estimator holds no optax types.
        self.est._optimizer_state = [
            np.asarray(a) for a in jax.tree_util.tree_leaves(opt_state)
        ]

    def epoch_X(self, order):
        """Sparse X: the epoch's minibatches (in ``order``) as SparseRows."""
        return _sparse.epoch_batches(self.sparse_X, order, self.batch_nnz)

    def _objective(self, params, net_state):
        """The training objective (loss and penalties) at ``params``."""
        d = self.data
        with precision(self.dtype), _devices.scope(self.devices):
            X = d["X"] if self.sparse_X is None else _sparse.chunk(
                self.sparse_X, self.n_rows, self.dtype
            ).to_device(self.dtype)
            value = inference_objective(
                _to_device(params, self.dtype), _to_device(net_state, self.dtype),
                X, d["Y"], d["w"], self.reg["alpha"], self.reg["l1"],
                self.reg["entropy"], activation=self.net, loss=self.static["loss"],
            )  # fmt: skip
        return float(value)

    def _outputs_finite(self, params, net_state):
        with precision(self.dtype), _devices.scope(self.devices):
            if self.sparse_X is not None:  # prediction in chunks of rows
                out = self.est._output(
                    self.sparse_X[: self.n_samples], dtype=self.dtype,
                    params=_to_device(params, self.dtype),
                    state=_to_device(net_state, self.dtype),
                )  # fmt: skip
                return bool(np.isfinite(out).all())
            out = predict_output(
                _to_device(params, self.dtype), self.data["X"][: self.n_samples],
                activation=self.net, out_activation=self.est.out_activation_,
                state=_to_device(net_state, self.dtype),
            )  # fmt: skip
            return bool(jnp.all(jnp.isfinite(out)))


def _restore_state(fresh, saved):
    """The optimizer state from its saved leaves (``fresh``'s structure);
    ``fresh`` when there are none or they do not fit (another solver)."""
    if saved is None:
        return fresh
    leaves, treedef = jax.tree_util.tree_flatten(fresh)
    if len(saved) != len(leaves) or any(
        np.shape(a) != np.shape(b) or np.asarray(a).dtype != np.asarray(b).dtype
        for a, b in zip(saved, leaves)
    ):
        return fresh
    return jax.tree_util.tree_unflatten(treedef, [np.asarray(a) for a in saved])


@program
def _set_lr(opt_state, lr):
    hyper = dict(opt_state.hyperparams)
    hyper["learning_rate"] = jnp.asarray(lr, hyper["learning_rate"].dtype)
    return opt_state._replace(hyperparams=hyper)


def _validation(params, net_state, run):
    """Validation output (numpy) and objective of one run's parameters."""
    v = run.validation
    out, loss = _validation_one(
        params, net_state, v["X"], v["Y"], v["w"], run.reg, net=run.net,
        loss=run.static["loss"], out_activation=run.est.out_activation_,
    )  # fmt: skip
    return np.asarray(out)[: len(v["y"])], float(loss)


#: Training data above this many bytes stays on the host and is streamed to
#: the device in chunks of minibatches. None: decided from the device's free
#: memory where the device reports it (accelerators): stream when the data
#: would take more than half of it. CPU devices share the host's memory and
#: never stream automatically.
STREAM_ABOVE_BYTES = None

#: Bytes of training data per streamed chunk (at least one minibatch).
STREAM_CHUNK_BYTES = 2**28


def _stream_chunk_batches(run):
    """Minibatches per streamed chunk, or None to keep the data on the device."""
    nbytes = sum(a.nbytes for a in run.data.values())
    limit = STREAM_ABOVE_BYTES
    if limit is None:
        device = run.devices[0] if run.devices else jax.devices()[0]
        stats = device.memory_stats() if hasattr(device, "memory_stats") else None
        if not stats or "bytes_limit" not in stats:
            return None
        limit = (stats["bytes_limit"] - stats.get("bytes_in_use", 0)) // 2
    if nbytes <= limit:
        return None
    per_batch = nbytes // run.padded_batches
    return max(1, STREAM_CHUNK_BYTES // max(per_batch, 1))


def fit_one(run):
    """Train one :class:`StepwiseRun` until it stops; store the result."""
    dtype = run.dtype
    # Sparse X: each epoch's minibatches are sent as they are drawn.
    chunk = None if run.sparse_X is not None else _stream_chunk_batches(run)
    put = (
        (lambda tree: jax.device_put(tree, _devices.replicated(run.sharding)))
        if run.sharding is not None  # data parallel: everything replicated
        else (lambda tree: tree)
    )
    static = dict(run.static, sharding=run.sharding)
    with precision(dtype), _devices.scope(run.devices):
        data = None if chunk else put(_to_device(run.data))
        reg, params, net_state, opt_state = put((
            _to_device(run.reg, dtype), _to_device(run.params, dtype),
            _to_device(run.net_state, dtype), _to_device(run.opt_state),
        ))  # fmt: skip

        def epoch(params, opt_state, net_state, order, seed):
            if run.sparse_X is not None:
                return run_epoch(params, opt_state, net_state, order, seed,
                                 put(run.epoch_X(order)), **data, reg=reg,
                                 **static)  # fmt: skip
            if data is not None:
                return run_epoch(params, opt_state, net_state, order, seed, **data,
                                 reg=reg, n_batches=run.n_batches,
                                 **static)  # fmt: skip
            # Streamed: the same steps, each chunk's rows gathered on the host.
            order = order[: run.n_batches]
            total, norm_sum, finite = 0.0, 0.0, True
            for start in range(0, len(order), chunk):
                idx = order[start : start + chunk]
                rows = {
                    k: put(_to_device(v[idx.ravel()])) for k, v in run.data.items()
                }
                local = np.arange(idx.size, dtype=np.int32).reshape(idx.shape)
                params, opt_state, net_state, loss, norms, ok = run_epoch(
                    params, opt_state, net_state, local, seed, **rows, reg=reg,
                    first_step=start, **static,
                )  # fmt: skip
                total += float(loss) * float(run.data["mask"][idx].sum())
                norm_sum = norm_sum + np.asarray(norms) * len(idx)
                finite = finite and bool(ok)
            loss = total / float(run.data["mask"].sum())
            return params, opt_state, net_state, loss, norm_sum / len(order), finite

        best = (params, net_state)
        lowest = (params, opt_state, net_state)
        try:
            while run.active:
                tic = time.perf_counter()
                order, seed = run.next_epoch()
                new_params, new_opt, new_net, loss, norms, finite = epoch(
                    params, opt_state, net_state, order, seed
                )
                loss = float(loss)
                if not run.check_finite(loss, finite, norms):
                    params, opt_state, net_state = lowest
                    break
                params, opt_state, net_state = new_params, new_opt, new_net
                val_output = val_loss = None
                if run.validation is not None:
                    val_output, val_loss = _validation(params, net_state, run)
                new_lr = run.record(
                    loss, np.asarray(norms), val_output, val_loss,
                    time.perf_counter() - tic, params=params, state=net_state,
                )  # fmt: skip
                if run.best:
                    best = (params, net_state)
                if run.improved:
                    lowest = (params, opt_state, net_state)
                if new_lr is not None:
                    opt_state = set_hyperparams(
                        opt_state, {"learning_rate": new_lr}, dtype
                    )
        except KeyboardInterrupt:
            run.reporter.end("interrupted")
            warnings.warn("Training interrupted by user.")
        if run.validation is not None:
            params, net_state = best
        run.finish(params, net_state, opt_state)


def _stack(trees):
    return jax.tree_util.tree_map(
        lambda *a: np.stack([np.asarray(x) for x in a]), *trees
    )


def _unstack(tree, i):
    return jax.tree_util.tree_map(lambda a: np.asarray(a[i]), tree)


@program
def _take(tree, index):
    return jax.tree_util.tree_map(lambda a: a[index], tree)


def _padded_stack(arrays, n_rows):
    """Arrays of up to ``n_rows`` rows, zero-padded and stacked."""
    out = np.zeros((len(arrays), n_rows) + arrays[0].shape[1:], dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def _worth_shrinking(times, size, new_size, runs):
    """Whether to recompile for ``new_size`` models instead of ``size``.

    Worth it when the epochs saved by stepping fewer models are expected to
    pay for the compilation: the compilation cost is estimated from the
    current program's first call (its excess over a typical epoch), and the
    epochs still to come by the epochs done so far (capped by ``max_iter``).
    """
    if len(times) < 3:
        return False
    typical = float(np.median(times[1:]))
    compile_cost = max(times[0] - typical, 0.0)
    remaining = max(min(r.est.max_iter - r.est.n_iter_, r.est.n_iter_) for r in runs)
    return typical * (1 - new_size / size) * remaining > 2 * compile_cost


def fit_together(runs):
    """Train several :class:`StepwiseRun` with equal :attr:`~StepwiseRun.key`
    in one compiled program per epoch; store each result on its estimator.
    They run on the first device of their ``device``.

    The models step in lockstep; a model that stopped is frozen. When the
    next power of two above the number of models still training is smaller
    than the stack and the saving is worth a compilation, the stack shrinks
    to it (the padding slots hold frozen copies).
    """
    dtype = runs[0].dtype
    n_rows = max(r.n_rows for r in runs)
    n_batches = n_rows // runs[0].padded_batch
    pad_index = n_rows - 1  # a padding row of every run that needs extra batches
    idle_order = np.full((n_batches, runs[0].padded_batch), pad_index, dtype=np.int32)
    static = runs[0].static
    has_validation = runs[0].validation is not None
    slots = list(runs)  # the run in each slot of the stack
    real = np.ones(len(slots), bool)  # False: a padding slot

    with precision(dtype), _devices.scope(runs[0].devices):
        data = {
            k: _to_device(_padded_stack([r.data[k] for r in runs], n_rows))
            for k in ("X", "Y", "w", "mask")
        }
        reg = _to_device(_stack([r.reg for r in runs]), dtype)
        model = _to_device(_stack([(r.params, r.opt_state, r.net_state) for r in runs]))
        if has_validation:
            n_val = max(len(r.validation["Y"]) for r in runs)
            data.update({
                "val_" + k: _to_device(
                    _padded_stack([r.validation[k] for r in runs], n_val)
                )
                for k in ("X", "Y", "w")
            })  # fmt: skip
        best = (model[0], model[2])
        lowest = model
        times = []

        def finish(index):
            params, opt_state, net_state = _to_numpy(_take(model, index))
            if has_validation:
                params, net_state = _to_numpy(_take(best, index))
            for i, slot in enumerate(index):
                slots[slot].finish(_unstack(params, i), _unstack(net_state, i),
                                   _unstack(opt_state, i))  # fmt: skip

        try:
            while any(r.active for r, ok in zip(slots, real) if ok):
                tic = time.perf_counter()
                active = np.array([ok and r.active for r, ok in zip(slots, real)])
                orders, seeds = [], []
                for r, on in zip(slots, active):
                    order, seed = r.next_epoch() if on else (idle_order, 0)
                    extra = n_batches - len(order)
                    if extra:
                        order = np.concatenate([order, idle_order[:extra]])
                    orders.append(order)
                    seeds.append(seed)
                new = run_epochs(
                    _to_device(active), *model, np.stack(orders),
                    np.asarray(seeds, dtype=np.int32), data["X"], data["Y"], data["w"],
                    data["mask"], reg, **static,
                )  # fmt: skip
                losses, norms, finite = (np.asarray(a) for a in new[3:])
                ok = np.array([
                    r.check_finite(float(losses[i]), finite[i], norms[i]) if active[i]
                    else False
                    for i, r in enumerate(slots)
                ])  # fmt: skip
                if np.array_equal(ok, active):
                    model = new[:3]
                else:  # diverged models go back to their lowest-loss epoch
                    model = select(_to_device(ok | ~active), new[:3], lowest)
                if has_validation:
                    outs, val_losses = _validation_batched(
                        model[0], model[2], data["val_X"], data["val_Y"], data["val_w"],
                        reg, net=static["net"], loss=static["loss"],
                        out_activation=runs[0].est.out_activation_,
                    )  # fmt: skip
                    outs, val_losses = np.asarray(outs), np.asarray(val_losses)
                seconds = time.perf_counter() - tic
                lrs, best_now = {}, np.zeros(len(slots), bool)
                for i, r in enumerate(slots):
                    if not ok[i]:
                        continue
                    v_out = v_loss = None
                    if has_validation:
                        v_out = outs[i, : len(r.validation["y"])]
                        v_loss = val_losses[i]
                    new_lr = r.record(
                        float(losses[i]), norms[i], v_out, v_loss, seconds
                    )
                    best_now[i] = r.best
                    if new_lr is not None:
                        lrs[i] = new_lr
                improved = np.array([ok[i] and r.improved for i, r in enumerate(slots)])
                if improved.any():
                    lowest = select(_to_device(improved), model, lowest)
                if has_validation and best_now.any():
                    best = select(_to_device(best_now), (model[0], model[2]), best)
                if lrs:
                    lr = np.array(model[1].hyperparams["learning_rate"])
                    for i, value in lrs.items():
                        lr[i] = value
                    model = (model[0], _set_lr(model[1], lr), model[2])
                times.append(time.perf_counter() - tic)

                going = [i for i, r in enumerate(slots) if real[i] and r.active]
                size = 1 << max(len(going) - 1, 0).bit_length()
                if going and size < len(slots) and _worth_shrinking(
                    times, len(slots), size, [slots[i] for i in going]
                ):
                    finish(np.array([
                        i for i, r in enumerate(slots) if real[i] and not r.active
                    ], dtype=np.int32))  # fmt: skip
                    index = np.array(going + [going[0]] * (size - len(going)), np.int32)
                    model, best, lowest, data, reg = _take(
                        (model, best, lowest, data, reg), index
                    )
                    slots = [slots[i] for i in index]
                    real = np.arange(size) < len(going)
                    times = []
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finish(np.flatnonzero(real).astype(np.int32))


def _validation_one(params, net_state, X, Y, w, reg, *, net, loss, out_activation):
    out = predict_output(params, X, activation=net, out_activation=out_activation,
                         state=net_state)  # fmt: skip
    value = inference_objective(params, net_state, X, Y, w, reg["alpha"], reg["l1"],
                                reg["entropy"], activation=net, loss=loss)  # fmt: skip
    return out, value


@program(static_argnames=("net", "loss", "out_activation"))
def _validation_batched(params, net_state, X, Y, w, reg, *, net, loss, out_activation):
    """Validation outputs and objectives of a stack of models."""
    one = partial(_validation_one, net=net, loss=loss, out_activation=out_activation)
    return jax.vmap(one)(params, net_state, X, Y, w, reg)
