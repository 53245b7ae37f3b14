"""The compiled epochs of stepwise training, for one model or a stack of models.

One epoch is one call of :func:`run_epoch`: a loop over the minibatches of
data that stay on the device for the whole fit (or arrive chunk by chunk when
streamed from the host). The rows are padded once per fit to whole minibatches
with zero-weight rows, so the last batch has the same shape as the others and
fits of different sizes share a program. The minibatch order (a small integer
array) comes from the host each epoch, drawn from the estimator's
``random_state`` exactly as scikit-learn draws it. :func:`run_epochs` trains a
stack of models in one program (``jax.vmap``).

The host-side loop around these functions is :mod:`skneural._driver`.
"""

from functools import partial

import jax
import jax.numpy as jnp
import optax

from ._devices import to_device
from ._objective import inference_objective, objective_and_state, predict_output
from ._program_cache import program
from ._sparse import SparseRows


@program(static_argnames=("tx",))
def init_state(params, *, tx):
    """``tx.init`` compiled once per transformation and parameter shapes."""
    return tx.init(params)


def set_hyperparams(state, values, dtype):
    """Return ``state`` with its injected hyperparameters set to ``values``."""
    if not values:
        return state
    hyper = dict(state.hyperparams)
    hyper.update(to_device(dict(values), dtype))
    return state._replace(hyperparams=hyper)


def _tree_isfinite(tree):
    """Whether every entry of ``tree`` is finite, through the sum of all
    entries (a NaN or an infinity makes it non-finite): one reduction per
    array instead of an ``isfinite`` pass, which compiles faster. A sum that
    overflows from finite entries (beyond ~3e38 in float32) also counts as
    non-finite; training has diverged long before."""
    return jnp.isfinite(sum(jnp.sum(x) for x in jax.tree_util.tree_leaves(tree)))


def _layer_norms(grads):
    """Euclidean norm of each layer's gradient (all its arrays together)."""
    return jnp.stack(
        [
            jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(layer)))
            for layer in grads
        ]
    )


def _step_fn(seed, X, Y, w, mask, reg, first_step, *, tx, net, loss, sharding):
    """One minibatch step: ``(params, opt_state, state), (i, idx)`` -> the new
    triple, the batch's objective times its real rows, its gradient norms and
    its number of real rows."""
    key = jax.random.key(seed)
    grad_fn = jax.value_and_grad(objective_and_state, has_aux=True)

    def rows(a, idx):
        if sharding is None:
            return a[idx]
        # Data parallel: each device computes its slice of the minibatch;
        # XLA sums the gradients across devices.
        return jax.lax.with_sharding_constraint(a[idx], sharding)

    # Sparse X (skneural._sparse.SparseRows): the epoch's minibatches in
    # order, one per step (a leading axis indexed by the step).
    sparse = isinstance(X, SparseRows)

    def step(carry, i, idx):
        params, opt_state, state = carry
        batch = jax.tree_util.tree_map(lambda a: a[i], X) if sparse else rows(X, idx)
        (value, new_state), grads = grad_fn(
            params, state, batch, rows(Y, idx),
            rows(w, idx), reg["alpha"],
            activation=net,
            loss=loss, key=jax.random.fold_in(key, first_step + i) if net.stochastic else None,
            l1=reg["l1"], entropy=reg["entropy"],
        )  # fmt: skip
        norms = _layer_norms(grads)
        updates, new_opt_state = tx.update(grads, opt_state, params)
        new = (optax.apply_updates(params, updates), new_opt_state, new_state)
        return new, value, norms, jnp.sum(mask[idx])

    return step


def _epoch(params, opt_state, state, order, seed, X, Y, w, mask, reg, first_step=0, *,
           tx, net, loss, skip_empty=False, sharding=None):  # fmt: skip
    """:func:`run_epochs`'s computation for one model (not compiled on its own)."""
    one_step = _step_fn(seed, X, Y, w, mask, reg, first_step, tx=tx, net=net,
                        loss=loss, sharding=sharding)  # fmt: skip

    def step(carry, inputs):
        new, value, norms, count = one_step(carry, *inputs)
        if not skip_empty:
            return new, (value * count, norms, jnp.ones((), norms.dtype))
        # A batch made only of padding rows (models of a batched fit have
        # fewer batches than the longest one) leaves everything unchanged.
        valid = count > 0
        new = jax.tree_util.tree_map(partial(jnp.where, valid), new, carry)
        return new, (jnp.where(valid, value * count, 0.0), norms * valid, valid.astype(norms.dtype))

    steps = jnp.arange(order.shape[0])
    (params, opt_state, state), (weighted, norms, valid) = jax.lax.scan(
        step, (params, opt_state, state), (steps, order)
    )
    mean_loss = jnp.sum(weighted) / jnp.sum(mask)
    mean_norms = norms.sum(axis=0) / valid.sum()
    return params, opt_state, state, mean_loss, mean_norms, _tree_isfinite(params)


def _batch_rows(order, i, batch_size, padding_row):
    """Row indices of minibatch ``i``: row ``i`` of ``order``, or, with a
    (traced) ``batch_size``, the ``order.shape[1]`` entries of the flattened
    order from ``i * batch_size`` on, those past ``batch_size`` replaced by
    ``padding_row`` (a row of zero weight)."""
    if batch_size is None:
        return order[i]
    rows = order.shape[1]
    idx = jax.lax.dynamic_slice_in_dim(order.reshape(-1), i * batch_size, rows)
    return jnp.where(jnp.arange(rows) < batch_size, idx, padding_row)


def _epoch_loop(params, opt_state, state, order, n_batches, seed, X, Y, w, mask, reg,
                first_step, batch_size=None, *, tx, net, loss, sharding):  # fmt: skip
    """:func:`run_epoch`'s computation: the first ``n_batches`` (traced) rows of
    ``order`` in a loop; the rows after them (padding, so that data of
    different sizes share one program) are not run. With ``batch_size``,
    the minibatches are read from the flattened order instead (see
    :func:`_batch_rows`)."""
    one_step = _step_fn(seed, X, Y, w, mask, reg, first_step, tx=tx, net=net,
                        loss=loss, sharding=sharding)  # fmt: skip
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    padding_row = Y.shape[0] - 1

    def body(i, carry):
        model, total, norm_sum = carry
        idx = _batch_rows(order, i, batch_size, padding_row)
        model, value, norms, count = one_step(model, i, idx)
        total = total + (value * count).astype(total.dtype)
        return model, total, norm_sum + norms.astype(norm_sum.dtype)

    init = ((params, opt_state, state), jnp.zeros((), dtype),
            jnp.zeros(len(params), dtype))  # fmt: skip
    (params, opt_state, state), total, norm_sum = jax.lax.fori_loop(
        0, n_batches, body, init
    )
    mean_loss = total / jnp.sum(mask)
    mean_norms = norm_sum / jnp.maximum(n_batches, 1)
    return params, opt_state, state, mean_loss, mean_norms, _tree_isfinite(params)


@program(static_argnames=("tx", "net", "loss", "sharding"))
def run_epoch(params, opt_state, state, order, seed, X, Y, w, mask, reg, first_step=0,
              n_batches=None, batch_size=None, *, tx, net, loss,
              sharding=None):  # fmt: skip
    """One pass over the (padded) training data.

    Parameters
    ----------
    params, opt_state, state : pytrees
        Network parameters, optimizer state and network state (batch-norm
        running statistics).
    order : int array of shape (n_batches, batch_size)
        Row indices of each minibatch, in training order. Padding rows (zero
        weight) fill the end of the last batch.
    seed : int scalar
        Seeds the epoch's random draws (dropout, noise), one key per step.
    X, Y, w, mask : arrays with ``n_batches * batch_size`` rows
        Inputs, encoded targets, sample weights (zero on padding rows) and 1
        for real rows, 0 for padding rows. A sparse ``X`` is instead a
        :class:`~skneural._sparse.SparseRows` holding the epoch's minibatches
        in training order (arrays of shape (n_batches, nnz), from
        :func:`skneural._sparse.epoch_batches`).
    reg : dict of scalars
        ``alpha``, ``l1`` and ``entropy``, traced. Gradient clipping is a
        link of ``tx`` (see
        :meth:`~skneural.solvers.StepwiseSolver.optax_transformation`).
    first_step : int scalar
        Index of the first minibatch in the epoch (when an epoch is run in
        chunks of minibatches, each chunk's data streamed from the host): the
        random draws of step ``i`` depend only on ``seed`` and
        ``first_step + i``.
    n_batches : int scalar or None
        Number of minibatches to run, the first rows of ``order`` (traced: the
        rows after them are padding, so that data of different sizes share
        one compiled program); None runs all of them.
    batch_size : int scalar or None
        Traced: the minibatches are read from the flattened ``order``, step
        ``i`` its ``order.shape[1]`` entries from ``i * batch_size`` on, with
        those past ``batch_size`` replaced by the last row of the data (a
        padding row), so that the batch sizes up to ``order.shape[1]`` share
        one program (see :func:`skneural._config.shared_layout`). None: row
        ``i`` of ``order`` is minibatch ``i``.
    sharding : jax.sharding.NamedSharding or None
        Data parallel: how each minibatch is split across devices (first
        axis); the parameters are replicated.

    Returns
    -------
    params, opt_state, state : pytrees
        After the epoch.
    mean_loss : scalar
        Mean over the real rows of the minibatch objectives, each weighted by
        its number of real rows (scikit-learn's ``loss_``).
    grad_norms : array of shape (n_layers,)
        Mean over the minibatches of each layer's gradient norm (before
        clipping).
    finite : bool scalar
        Whether every parameter is finite after the epoch.
    """
    if n_batches is None:
        n_batches = order.shape[0]
    return _epoch_loop(params, opt_state, state, order, n_batches, seed, X, Y, w, mask,
                       reg, first_step, batch_size, tx=tx, net=net, loss=loss,
                       sharding=sharding)  # fmt: skip


@program(static_argnames=("tx", "net", "loss"))
def run_epoch_chunk(params, opt_state, state, orders, seeds, n_epochs, n_batches, X, Y,
                    w, mask, reg, lowest, lowest_loss, batch_size=None, *, tx, net,
                    loss):  # fmt: skip
    """Up to ``orders.shape[0]`` epochs of :func:`run_epoch` in one call.

    For small models, where one epoch costs less on the device than a call
    from the host: the first ``n_epochs`` (traced) epochs run, epoch ``e``
    with minibatch order ``orders[e]`` and seed ``seeds[e]``, each exactly
    the computation of :func:`run_epoch`. The host then goes through the
    epochs' losses in order; when one of them ends the fit or changes a
    setting, it calls this function again from the same start with fewer
    epochs, which repeats the same computation.

    ``lowest`` (the triple of parameters, optimizer and network states) and
    its loss ``lowest_loss`` are carried along: each epoch whose loss is
    below ``lowest_loss`` replaces them (what is restored after a
    divergence). ``batch_size`` is :func:`run_epoch`'s.

    Returns
    -------
    params, opt_state, state : pytrees
        After the ``n_epochs`` epochs.
    losses, grad_norms, finite : arrays with ``orders.shape[0]`` rows
        Per epoch, as :func:`run_epoch` returns them (rows past
        ``n_epochs`` are zeros).
    lowest, lowest_loss
        Updated.
    """
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    size = orders.shape[0]

    def body(e, carry):
        model, low, low_loss, losses, norms, finite = carry
        *model, value, layer_norms, ok = _epoch_loop(
            *model, orders[e], n_batches, seeds[e], X, Y, w, mask, reg, 0, batch_size,
            tx=tx, net=net, loss=loss, sharding=None,
        )  # fmt: skip
        improved = value < low_loss
        low = jax.tree_util.tree_map(partial(jnp.where, improved), tuple(model), low)
        return (
            tuple(model), low, jnp.where(improved, value, low_loss),
            losses.at[e].set(value), norms.at[e].set(layer_norms), finite.at[e].set(ok),
        )  # fmt: skip

    init = (
        (params, opt_state, state), tuple(lowest), jnp.asarray(lowest_loss, dtype),
        jnp.zeros(size, dtype), jnp.zeros((size, len(params)), dtype),
        jnp.zeros(size, bool),
    )  # fmt: skip
    model, low, low_loss, losses, norms, finite = jax.lax.fori_loop(
        0, n_epochs, body, init
    )
    return (*model, losses, norms, finite, low, low_loss)


@program(static_argnames=("tx", "net", "loss"))
def run_epochs(active, params, opt_state, state, order, seed, X, Y, w, mask, reg, *,
               tx, net, loss):  # fmt: skip
    """:func:`run_epoch` for a stack of models trained together (``jax.vmap``).

    Every argument of :func:`run_epoch` gains a leading axis of length
    ``n_models``: each model has its own parameters, optimizer state (with
    its own injected hyperparameters), minibatch order, seed, data, weights
    and penalties. ``order`` may hold batches made only of padding rows (for
    models with fewer batches than others): they leave the model unchanged.
    Models whose ``active`` entry is False (they stopped) keep their
    parameters and states.
    """
    out = jax.vmap(partial(_epoch, tx=tx, net=net, loss=loss, skip_empty=True))(
        params, opt_state, state, order, seed, X, Y, w, mask, reg
    )
    kept = select(active, out[:3], (params, opt_state, state))
    return (*kept, *out[3:])


@program
def select(which, new, old):
    """Per model (leading axis), ``new`` where ``which`` else ``old``."""

    def pick(a, b):
        return jnp.where(which.reshape(which.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, new, old)


def validation_one(params, net_state, X, Y, w, reg, *, net, loss, out_activation):
    """Validation output and objective of one model's parameters."""
    out = predict_output(params, X, activation=net, out_activation=out_activation,
                         state=net_state)  # fmt: skip
    value = inference_objective(params, net_state, X, Y, w, reg["alpha"], reg["l1"],
                                reg["entropy"], activation=net, loss=loss)  # fmt: skip
    return out, value


@program(static_argnames=("net", "loss", "out_activation"))
def validation_batched(params, net_state, X, Y, w, reg, *, net, loss, out_activation):
    """Validation outputs and objectives of a stack of models."""
    one = partial(validation_one, net=net, loss=loss, out_activation=out_activation)
    return jax.vmap(one)(params, net_state, X, Y, w, reg)


@program
def take(tree, index):
    """The models at ``index`` (leading axis) of a stacked ``tree``."""
    return jax.tree_util.tree_map(lambda a: a[index], tree)


def set_learning_rate(opt_state, lr, dtype):
    """``opt_state`` with its injected learning rate set to ``lr`` (a scalar,
    or one value per model of a stack)."""
    return set_hyperparams(opt_state, {"learning_rate": lr}, dtype)


#: The compiled functions of training and validation (see
#: :func:`skneural._driver.bound_program_caches`).
PROGRAMS = (run_epoch, run_epoch_chunk, run_epochs, init_state, select,
            validation_batched, take)  # fmt: skip
