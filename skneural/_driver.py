"""The training driver: the host-side loop of stepwise fits.

:func:`train` trains one model or a stack of models from their
:class:`~skneural._config.StepwiseConfig` and returns one
:class:`TrainingResult` each. The loop is the same for any number of models;
an epoch runs on the device as one compiled call
(:mod:`skneural._epochs`):

- one model: :func:`~skneural._epochs.run_epoch` on its data, which stay on
  the device (or, too large for it, are streamed in chunks of minibatches;
  sparse X is sent as each epoch's minibatches), on one device or data
  parallel across several;
- several models that share a :attr:`~skneural._config.StepwiseConfig.group_key`
  (a batched search): :func:`~skneural._epochs.run_epochs`, all of them in one
  program (``jax.vmap``) on the first device of their ``device``.

Each model keeps its own random draws and its own
:class:`~skneural._stopping.Stopping`, so a model trained in a stack ends as
it would have alone, up to floating-point rounding. Progress goes to an
explicit reporter per model (``epoch``, ``message`` and ``end``, see
:class:`skneural._progress.FitReporter`).
"""

import copy
import time
import warnings
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _devices, _epochs, _objective, _sparse
from ._chunked import chunked_loop, compiler_options, epochs_per_call
from ._config import pad_rows, shared_layout, to_numpy, without_runtime_activations
from ._epochs import (
    run_epoch, run_epoch_chunk, run_epochs, select, set_learning_rate, take,
)  # fmt: skip
from ._objective import inference_objective, precision
from ._predict import network_output
from ._stopping import History, LearningRate, Stopping

_to_device = _devices.to_device

#: Training data above this many bytes stays on the host and is streamed to
#: the device in chunks of minibatches. None: decided from the device's free
#: memory where the device reports it (accelerators): stream when the data
#: would take more than half of it. CPU devices share the host's memory and
#: never stream automatically.
STREAM_ABOVE_BYTES = None

#: Bytes of training data per streamed chunk (at least one minibatch).
STREAM_CHUNK_BYTES = 2**28

#: Most compiled programs kept per compiled function of training and
#: prediction (one per combination of shapes and static settings). Past it,
#: that function's programs are dropped after the fit (and compiled again
#: when needed), so that a long session of fits with ever new shapes or
#: settings does not keep every program in memory.
MAX_PROGRAMS = 32


def bound_program_caches():
    """Drop the programs of any compiled function holding over MAX_PROGRAMS."""
    for fn in _epochs.PROGRAMS + _objective.PROGRAMS:
        if fn._cache_size() > MAX_PROGRAMS:
            fn.clear_cache()


@dataclass
class TrainingResult:
    """What a fit returns: numpy parameters, network state, the optimizer
    state's leaves (kept for a following ``partial_fit``) and the history.
    None for the parameters and state: keep the estimator's (a whole-batch
    fit that ended on non-finite values); for the optimizer state: a
    whole-batch fit, which has none."""

    params: Any
    net_state: Any
    opt_state: list
    history: History


class _Quiet:
    """Reporter of fits trained in a stack: no display, no callbacks."""

    def epoch(self, *args, **kwargs):
        return False

    def message(self, text):
        pass

    def end(self, *args, **kwargs):
        pass


class _Model:
    """The host side of one model's fit: its minibatch order and stopping."""

    def __init__(self, config, reporter):
        self.config = c = config
        self.reporter = _Quiet() if reporter is None else reporter
        current = None
        if c.learning_rate != "constant":
            current = float(c.opt_state.hyperparams["learning_rate"])
        self.stopping = Stopping(
            copy.deepcopy(c.history), tol=c.tol, n_iter_no_change=c.n_iter_no_change,
            early_stopping=c.early_stopping, max_iter=c.max_iter,
            incremental=c.incremental, n_samples=c.n_samples,
            learning_rate=LearningRate(c.learning_rate, c.initial_lr, current, c.power_t),
            reporter=self.reporter,
        )  # fmt: skip
        # Row order: shuffled cumulatively by ``rng`` as scikit-learn does;
        # padding rows (index >= n_samples) end the last batch.
        self.sample_idx = np.arange(c.n_samples, dtype=np.int32)
        self.padding = np.arange(c.n_samples, c.n_rows, dtype=np.int32)
        self.order_shape = None  # set by a shared layout (see use_layout)

    def use_layout(self, layout):
        """Draw row orders for a :class:`~skneural._config.SharedLayout`."""
        n = self.config.n_samples
        self.order_shape = layout.order_shape
        size = layout.order_shape[0] * layout.order_shape[1]
        self.padding = np.full(size - n, layout.rows - 1, dtype=np.int32)

    @property
    def active(self):
        return self.stopping.active

    def next_epoch(self):
        """The epoch's minibatch order (n_batches, batch_size) and seed."""
        c = self.config
        if c.shuffle:
            self.sample_idx = self.sample_idx[c.rng.permutation(c.n_samples)]
        order = np.concatenate([self.sample_idx, self.padding])
        if self.order_shape is not None:  # read by the program batch by batch
            order = order.reshape(self.order_shape)
        elif c.padded_batch != c.batch_size:  # one batch, padded
            order = order.reshape(1, -1)
        else:  # batch_size rows per batch, then whole batches of padding
            order = order.reshape(-1, c.batch_size)
        seed = c.rng.randint(np.iinfo(np.int32).max) if c.net.stochastic else 0
        return order, seed

    def validation_score(self, output):
        v = self.config.validation
        return self.config.score(output[: len(v.y)], v.y, v.sample_weight)

    def result(self, params, net_state, opt_state):
        """The :class:`TrainingResult` of the final parameters (numpy)."""
        c, stopping = self.config, self.stopping
        if stopping.diverged and not _outputs_finite(c, params, net_state):
            warnings.warn(
                "The parameters kept after the divergence give non-finite outputs "
                "on the training data; the parameters from the start of this fit "
                "were restored.",
                ConvergenceWarning,
            )
            params, net_state = c.params, c.net_state
        if stopping.diverged and stopping.lowest_epoch is None:
            # No epoch of this fit completed: loss_ is the objective of the
            # parameters kept (so that it exists after every fit).
            stopping.history.loss = _objective_value(c, params, net_state)
        # Plain arrays (the leaves): a fitted estimator holds no optax types.
        leaves = [np.asarray(a) for a in jax.tree_util.tree_leaves(opt_state)]
        net_state = without_runtime_activations(net_state)
        return TrainingResult(to_numpy(params), to_numpy(net_state), leaves,
                              stopping.history)  # fmt: skip


def _training_X(c):
    if c.sparse_X is None:
        return c.data["X"]
    return _sparse.chunk(c.sparse_X, c.n_rows, c.dtype).to_device(c.dtype)


def _objective_value(c, params, net_state):
    """The training objective (loss and penalties) at ``params``."""
    with precision(c.dtype), _devices.scope(c.devices):
        value = inference_objective(
            _to_device(params, c.dtype), _to_device(net_state, c.dtype),
            _training_X(c), c.data["Y"], c.data["w"], c.reg["alpha"], c.reg["l1"],
            c.reg["entropy"], activation=c.net, loss=c.loss,
        )  # fmt: skip
    return float(value)


def _outputs_finite(c, params, net_state):
    X = c.sparse_X if c.sparse_X is not None else c.data["X"]
    out = network_output(
        X[: c.n_samples], _to_device(params, c.dtype), _to_device(net_state, c.dtype),
        net=c.net, out_activation=c.out_activation, dtype=c.dtype, devices=c.devices,
    )  # fmt: skip
    return bool(np.isfinite(out).all())


def _stream_chunk_batches(c):
    """Minibatches per streamed chunk, or None to keep the data on the device."""
    nbytes = sum(a.nbytes for a in c.data.values())
    limit = STREAM_ABOVE_BYTES
    if limit is None:
        device = c.devices[0] if c.devices else jax.devices()[0]
        stats = device.memory_stats() if hasattr(device, "memory_stats") else None
        if not stats or "bytes_limit" not in stats:
            return None
        limit = (stats["bytes_limit"] - stats.get("bytes_in_use", 0)) // 2
    if nbytes <= limit:
        return None
    per_batch = nbytes // c.padded_batches
    return max(1, STREAM_CHUNK_BYTES // max(per_batch, 1))


class _One:
    """Epochs of a single model: its state unstacked, on one device or data
    parallel, its data on the device, streamed or as sparse minibatches."""

    def __init__(self, models):
        (self.model,) = self.slots = models
        c = self.config = self.model.config
        self.sharding = c.sharding
        self.chunk = None if c.sparse_X is not None else _stream_chunk_batches(c)
        self.static = dict(tx=c.tx, net=c.net, loss=c.loss, sharding=self.sharding)
        self.layout = None if self.chunk else shared_layout(c)
        self.batch_size = None
        if self.layout is not None:
            # Minibatches of several sizes computed as one padded size.
            self.model.use_layout(self.layout)
            self.batch_size = np.int32(c.batch_size)
            data = {k: pad_rows(v[: c.n_samples], self.layout.rows, v.dtype)
                    for k, v in c.data.items()}  # fmt: skip
        self.data = None if self.chunk else self.put(_to_device(
            data if self.layout is not None else c.data))  # fmt: skip
        self.reg = self.put(_to_device(c.reg, c.dtype))
        self.state = self.put((
            _to_device(c.params, c.dtype), _to_device(c.opt_state),
            _to_device(c.net_state, c.dtype),
        ))  # fmt: skip
        self.per_call = epochs_per_call(c, self.model.reporter, self.chunk)
        self.options = compiler_options(c)
        self.static["compiler_options"] = self.options
        if c.validation is not None:
            v = c.validation
            X_val = v.X.to_device(c.dtype) if isinstance(v.X, _sparse.SparseRows) \
                else _to_device(v.X)  # fmt: skip
            self.validation = (X_val, *_to_device((v.Y, v.w)))

    def put(self, tree):
        if self.sharding is None:
            return tree
        # Data parallel: everything replicated, each minibatch split.
        return jax.device_put(tree, _devices.replicated(self.sharding))

    def active(self):
        return np.array([self.model.active])

    def epoch(self, state, active):
        order, seed = self.model.next_epoch()
        c = self.config
        if c.sparse_X is not None:
            X = self.put(_sparse.epoch_batches(c.sparse_X, order, c.batch_nnz))
            out = run_epoch(*state, order, seed, X, **self.data, reg=self.reg,
                            **self.static)  # fmt: skip
        elif self.data is not None:
            out = run_epoch(*state, order, seed, **self.data, reg=self.reg,
                            n_batches=c.n_batches, batch_size=self.batch_size,
                            **self.static)  # fmt: skip
        else:
            out = self._streamed(state, order, seed)
        return out[:3], *(np.asarray(a)[None] for a in out[3:])

    def draw(self, n):
        """The minibatch orders and seeds of the next ``n`` epochs, padded to
        ``per_call`` epochs, and the host's shuffling state after each epoch
        (to go back to when the fit ends, or a setting changes, inside)."""
        m, c = self.model, self.config
        orders, seeds, after = [], [], []
        for _ in range(n):
            order, seed = m.next_epoch()
            orders.append(order)
            seeds.append(seed)
            after.append((c.rng.get_state(), m.sample_idx))
        orders += [np.zeros_like(orders[0])] * (self.per_call - n)
        seeds += [0] * (self.per_call - n)
        return np.stack(orders), np.asarray(seeds, np.int32), after

    def run_chunk(self, state, orders, seeds, n, lowest, lowest_loss):
        """``n`` epochs in one call: the state after them, the epochs' losses,
        gradient norms and finiteness, and the lowest-loss state and loss."""
        c = self.config
        out = run_epoch_chunk(*state, orders, seeds, np.int32(n), c.n_batches,
                              **self.data, reg=self.reg, lowest=lowest,
                              lowest_loss=lowest_loss, batch_size=self.batch_size,
                              tx=c.tx, net=c.net, loss=c.loss,
                              compiler_options=self.options)  # fmt: skip
        return out[:3], *(np.asarray(a) for a in out[3:6]), out[6]

    def _streamed(self, state, order, seed):
        """The epoch's steps, each chunk of minibatches gathered on the host."""
        c = self.config
        order = order[: c.n_batches]
        total, norm_sum, finite = 0.0, 0.0, True
        for start in range(0, len(order), self.chunk):
            idx = order[start : start + self.chunk]
            rows = {k: self.put(_to_device(v[idx.ravel()])) for k, v in c.data.items()}
            local = np.arange(idx.size, dtype=np.int32).reshape(idx.shape)
            *state, loss, norms, ok = run_epoch(*state, local, seed, **rows,
                                                reg=self.reg, first_step=start,
                                                **self.static)  # fmt: skip
            total += float(loss) * float(c.data["mask"][idx].sum())
            norm_sum = norm_sum + np.asarray(norms) * len(idx)
            finite = finite and bool(ok)
        loss = total / float(c.data["mask"].sum())
        return (*state, loss, norm_sum / len(order), finite)

    def validate(self, state):
        c = self.config
        out, loss = _epochs.validation_one(
            state[0], state[2], *self.validation, self.reg, net=c.net, loss=c.loss,
            out_activation=c.out_activation,
        )  # fmt: skip
        return np.asarray(out)[None], np.asarray(loss)[None]

    @staticmethod
    def select(which, new, old):
        return new if which[0] else old

    def set_learning_rates(self, state, lrs):
        opt = set_learning_rate(state[1], lrs[0], self.config.dtype)
        return state[0], opt, state[2]

    @staticmethod
    def reported(state, i):
        return dict(params=state[0], state=without_runtime_activations(state[2]))

    def shrink(self, state, best, lowest, times):
        return state, best, lowest


class _Stack:
    """Epochs of several models with one group key, stacked on a leading axis.

    The models step in lockstep; a model that stopped is frozen. When the
    next power of two above the number of models still training is smaller
    than the stack and the saving is worth a compilation, the stack shrinks
    to it (the padding slots hold frozen copies).
    """

    def __init__(self, models):
        self.slots = list(models)  # the model in each slot of the stack
        self.real = np.ones(len(models), bool)  # False: a padding slot
        self.results = {}
        configs = [m.config for m in models]
        c = self.config = configs[0]
        n_rows = max(m.n_rows for m in configs)
        self.n_batches = n_rows // c.padded_batch
        # a padding row of every model that needs extra batches
        self.idle_order = np.full((self.n_batches, c.padded_batch), n_rows - 1,
                                  dtype=np.int32)  # fmt: skip
        self.static = dict(tx=c.tx, net=c.net, loss=c.loss)
        self.data = {k: _to_device(_padded_stack([m.data[k] for m in configs], n_rows))
                     for k in ("X", "Y", "w", "mask")}  # fmt: skip
        self.reg = _to_device(_stack([m.reg for m in configs]), c.dtype)
        self.state = _to_device(
            _stack([(m.params, m.opt_state, m.net_state) for m in configs])
        )
        if c.validation is not None:
            n_val = max(len(m.validation.Y) for m in configs)
            self.data.update({
                "val_" + k: _to_device(_padded_stack(
                    [getattr(m.validation, k) for m in configs], n_val))
                for k in ("X", "Y", "w")
            })  # fmt: skip

    def active(self):
        return np.array([ok and m.active for m, ok in zip(self.slots, self.real)])

    def epoch(self, state, active):
        orders, seeds = [], []
        for m, on in zip(self.slots, active):
            order, seed = m.next_epoch() if on else (self.idle_order, 0)
            extra = self.n_batches - len(order)
            if extra:
                order = np.concatenate([order, self.idle_order[:extra]])
            orders.append(order)
            seeds.append(seed)
        d = self.data
        new = run_epochs(
            _to_device(active), *state, np.stack(orders),
            np.asarray(seeds, dtype=np.int32), d["X"], d["Y"], d["w"], d["mask"],
            self.reg, **self.static,
        )  # fmt: skip
        return new[:3], *(np.asarray(a) for a in new[3:])

    def validate(self, state):
        d, c = self.data, self.config
        outs, losses = _epochs.validation_batched(
            state[0], state[2], d["val_X"], d["val_Y"], d["val_w"], self.reg,
            net=c.net, loss=c.loss, out_activation=c.out_activation,
        )  # fmt: skip
        return np.asarray(outs), np.asarray(losses)

    @staticmethod
    def select(which, new, old):
        return select(_to_device(which), new, old)

    def set_learning_rates(self, state, lrs):
        lr = np.array(state[1].hyperparams["learning_rate"])
        for i, value in lrs.items():
            lr[i] = value
        return state[0], set_learning_rate(state[1], lr, self.config.dtype), state[2]

    @staticmethod
    def reported(state, i):
        return {}

    def unstack(self, tree, index):
        tree = to_numpy(take(tree, index))
        return [jax.tree_util.tree_map(lambda a: a[i], tree) for i in range(len(index))]

    def finish(self, state, best, index):
        """Store the results of the models in slots ``index``."""
        states = self.unstack(state, index)
        bests = self.unstack(best, index)
        for slot, (params, opt, net), (bparams, bnet) in zip(index, states, bests):
            m = self.slots[slot]
            if m.config.validation is not None:
                params, net = bparams, bnet
            self.results[id(m)] = m.result(params, net, opt)

    def shrink(self, state, best, lowest, times):
        going = [i for i, m in enumerate(self.slots) if self.real[i] and m.active]
        size = 1 << max(len(going) - 1, 0).bit_length()
        if not (going and size < len(self.slots) and _worth_shrinking(
                times, len(self.slots), size, [self.slots[i] for i in going])):
            return state, best, lowest  # fmt: skip
        self.finish(state, best, np.array(
            [i for i, m in enumerate(self.slots) if self.real[i] and not m.active],
            dtype=np.int32))  # fmt: skip
        index = np.array(going + [going[0]] * (size - len(going)), np.int32)
        state, best, lowest, self.data, self.reg = take(
            (state, best, lowest, self.data, self.reg), index
        )
        self.slots = [self.slots[i] for i in index]
        self.real = np.arange(size) < len(going)
        times.clear()
        return state, best, lowest


def _stack(trees):
    return jax.tree_util.tree_map(
        lambda *a: np.stack([np.asarray(x) for x in a]), *trees
    )


def _padded_stack(arrays, n_rows):
    """Arrays of up to ``n_rows`` rows, zero-padded and stacked."""
    out = np.zeros((len(arrays), n_rows) + arrays[0].shape[1:], dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def _worth_shrinking(times, size, new_size, models):
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
    remaining = max(
        min(m.config.max_iter - m.stopping.history.n_iter, m.stopping.history.n_iter)
        for m in models
    )
    return typical * (1 - new_size / size) * remaining > 2 * compile_cost


def train(configs, reporters=None):
    """Train models from their configurations; one :class:`TrainingResult` each.

    Parameters
    ----------
    configs : list of StepwiseConfig
        One model, or several sharing a ``group_key`` (trained together).
    reporters : list or None
        Per model, the progress reporter (``epoch(n_iter, loss,
        validation_score, seconds, params=, state=)`` returning True to stop,
        ``message(text)``, ``end(reason, message=None)``); None: silent.
    """
    reporters = [None] * len(configs) if reporters is None else reporters
    models = [_Model(c, r) for c, r in zip(configs, reporters)]
    c = configs[0]
    devices = c.devices if len(models) == 1 else (c.devices or [None])[:1]
    with precision(c.dtype), _devices.scope(devices):
        engine = (_One if len(models) == 1 else _Stack)(models)
        if isinstance(engine, _One) and engine.per_call > 1:
            return [chunked_loop(engine, models[0])]
        return _loop(engine, models)


def _loop(engine, models):
    """The epoch loop, the same for one model and for a stack."""
    state = engine.state
    has_validation = engine.config.validation is not None
    best = (state[0], state[2])  # with early stopping: the best validation score
    lowest = state  # this fit's lowest loss: restored after a divergence
    times = []
    try:
        while engine.active().any():
            tic = time.perf_counter()
            active = engine.active()
            new, losses, norms, finite = engine.epoch(state, active)
            slots = engine.slots
            ok = np.array([
                m.stopping.check_finite(float(losses[i]), finite[i], norms[i])
                if active[i] else False
                for i, m in enumerate(slots)
            ])  # fmt: skip
            if np.array_equal(ok, active):
                state = new
            else:  # diverged models go back to their lowest-loss epoch
                state = engine.select(ok | ~active, new, lowest)
            if has_validation and ok.any():
                outs, val_losses = engine.validate(state)
            seconds = time.perf_counter() - tic
            lrs = {}
            best_now, improved = np.zeros(len(slots), bool), np.zeros(len(slots), bool)
            for i, m in enumerate(slots):
                if not ok[i]:
                    continue
                score = v_loss = None
                if has_validation:
                    score, v_loss = m.validation_score(outs[i]), val_losses[i]
                new_lr = m.stopping.after_epoch(
                    float(losses[i]), norms[i], score, v_loss, seconds,
                    **engine.reported(state, i),
                )  # fmt: skip
                best_now[i], improved[i] = m.stopping.best, m.stopping.improved
                if new_lr is not None:
                    lrs[i] = new_lr
            if improved.any():
                lowest = engine.select(improved, state, lowest)
            if has_validation and best_now.any():
                best = engine.select(best_now, (state[0], state[2]), best)
            if lrs:
                state = engine.set_learning_rates(state, lrs)
            times.append(time.perf_counter() - tic)
            state, best, lowest = engine.shrink(state, best, lowest, times)
    except KeyboardInterrupt:
        for m in models:
            m.reporter.end("interrupted")
        warnings.warn("Training interrupted by user.")
    if isinstance(engine, _One):
        params, net_state = best if has_validation else (state[0], state[2])
        return [models[0].result(params, net_state, state[1])]
    engine.finish(state, best, np.flatnonzero(engine.real).astype(np.int32))
    return [engine.results[id(m)] for m in models]


