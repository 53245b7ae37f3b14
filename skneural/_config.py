"""The frozen configuration of one model's stepwise fit, and its padded data.

The estimator validates its parameters and data, initialises the network,
and describes the fit with :func:`stepwise_config`: the training rows padded
to whole minibatches, the early-stopping split, the optimizer and its state,
the penalties and the stopping settings. :func:`skneural._driver.train`
trains from it without reading the estimator.
"""

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

import jax
import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split

from . import _devices, _sparse
from ._activations import RUNTIME, runtime_choice
from ._epochs import init_state, set_hyperparams
from ._objective import precision
from ._stopping import History

#: Smallest padded size of a single minibatch (see :func:`padded_shape`).
MIN_PADDED_BATCH = 16
#: Work of one epoch (padded rows times weights) up to which a network of
#: identity, logistic, tanh and relu layers chooses its activations at run
#: time (see :func:`runtime_activations`).
RUNTIME_ACTIVATION_WORK = 2**22


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


#: Padded sizes of a small model's minibatches (see :func:`shared_layout`):
#: a batch of up to 32 rows is computed as 32 rows, one of 33 to 256 as 256.
SHARED_BATCH_ROWS = (32, 256)
#: Largest padded epoch work (steps times padded rows times weights) of a
#: model whose minibatches are padded to :data:`SHARED_BATCH_ROWS`.
SHARED_BATCH_WORK = 2**22


@dataclass(frozen=True)
class SharedLayout:
    """How a small model's epoch is laid out so that fits of different batch
    sizes share one training program (see :func:`shared_layout`).

    The data hold ``rows`` rows (the samples, then at least one row of zero
    weight); the epoch's row order is the shuffled samples followed by
    padding rows, ``order_shape`` (its length a multiple of ``batch_rows``);
    step ``i`` computes the ``batch_rows`` entries of the order from
    ``i * batch_size`` on, those past ``batch_size`` replaced by a padding
    row.
    """

    rows: int
    order_shape: tuple
    batch_rows: int


def shared_layout(c):
    """The :class:`SharedLayout` of a small single model's fit, or None.

    Every batch size compiles its own training program, which costs a small
    model far more than its whole fit. Computing each minibatch as
    ``batch_rows`` rows (:data:`SHARED_BATCH_ROWS`: 32 for batches of up to
    32 rows, 256 up to 256), the rows past the batch with zero weight, lets
    the batch sizes of each group share one program; the batch size and the
    number of minibatches are traced. The minibatches, their updates and
    the random draws are the same; the sums over a batch take the extra
    zeros in their own order, which changes results only by rounding.

    Used only where the padded arithmetic stays cheap: padded epoch work (see
    :func:`epoch_work`) up to :data:`SHARED_BATCH_WORK`, dense data on one
    device, and no random layers (their draws depend on the batch's shape).
    """
    if c.sparse_X is not None or c.sharding is not None:
        return None
    if c.net.stochastic or c.batch_size > SHARED_BATCH_ROWS[-1]:
        return None
    batch_rows = next(b for b in SHARED_BATCH_ROWS if c.batch_size <= b)
    if epoch_work(c.n_batches * batch_rows, c.params) > SHARED_BATCH_WORK:
        return None
    # Rows: the samples and one padding row, rounded up as padded_shape
    # rounds batches (data of similar sizes share programs).
    rows = padded_shape(c.n_samples + 1, 1, False)[0]
    # Room for the last step's batch_rows entries from its first row.
    order_rows = padded_shape(-(-(c.n_samples + batch_rows) // batch_rows), 1, False)[0]
    return SharedLayout(rows, (order_rows, batch_rows), batch_rows)


def epoch_work(n_rows, params):
    """Padded rows times weights: the size of one training epoch, by which
    small models are told apart (here and in :mod:`skneural._chunked`)."""
    return n_rows * sum(np.size(layer["W"]) for layer in params)


def runtime_activations(net, net_state, n_rows, params):
    """``net`` and ``net_state`` with the activations chosen at run time, for
    a small network of identity, logistic, tanh and relu layers.

    Compiling dominates the fit of a small network: with the choice made at
    run time (one-hot rows in the state, see
    :func:`skneural._activations.runtime_choice`), fits that differ only in
    these activations share one training program, at the price of computing
    the four functions in each layer, which only small networks can afford
    (epoch work up to :data:`RUNTIME_ACTIVATION_WORK`). Results are those of
    the network's own activations.
    """
    choice = runtime_choice(net.activations)
    if not choice or epoch_work(n_rows, params) > RUNTIME_ACTIVATION_WORK:
        return net, net_state
    state = [dict(s, activation=np.asarray(c, dtype=params[0]["W"].dtype))
             for s, c in zip(net_state, choice)]  # fmt: skip
    return net._replace(activations=(RUNTIME,) * len(choice)), state


def without_runtime_activations(net_state):
    """The network state without the run-time choices of activations."""
    return [{k: v for k, v in s.items() if k != "activation"} for s in net_state]


def pad_rows(a, n_rows, dtype):
    """``a`` (dense or sparse) as a dense ``dtype`` array of ``n_rows`` rows."""
    out = np.zeros((n_rows,) + a.shape[1:], dtype=dtype)
    out[: a.shape[0]] = a.toarray() if sp.issparse(a) else a
    return out


def to_numpy(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


@dataclass(frozen=True)
class Validation:
    """The held-out rows of early stopping, padded to a power of two rows of
    zero weight (as prediction pads), so that validation sets of different
    sizes share programs. ``y`` and ``sample_weight`` are the unpadded
    targets (labels for a classifier) and weights the score is computed on."""

    X: Any
    Y: np.ndarray
    w: np.ndarray
    y: np.ndarray
    sample_weight: Optional[np.ndarray]


@dataclass(frozen=True)
class StepwiseConfig:
    """Everything one model's stepwise fit needs, prepared by the estimator.

    The arrays are numpy (the computation's dtype); the driver moves them to
    the device. ``rng`` is the fit's random number generator, drawn from
    epoch after epoch (minibatch order, random layers' seeds) as
    scikit-learn's MLP draws from it; ``history`` is where the fit starts
    from (empty for a fresh fit). ``score(output, y, sample_weight)`` is the
    validation score of early stopping (the estimator's ``score`` on a network
    output).
    """

    # the network and its objective (static arguments of compiled code)
    net: Any
    loss: str
    out_activation: str
    dtype: np.dtype
    tx: Any
    devices: Any
    # data: rows padded to padded_batches x padded_batch
    data: dict
    sparse_X: Any
    batch_nnz: Optional[int]
    n_samples: int
    n_features: int
    batch_size: int
    n_batches: int
    padded_batches: int
    padded_batch: int
    validation: Optional[Validation]
    # the model and its optimizer (numpy pytrees)
    params: Any
    net_state: Any
    opt_state: Any
    reg: dict
    # epochs and stopping
    rng: np.random.RandomState
    shuffle: bool
    learning_rate: str
    initial_lr: Optional[float]
    power_t: float
    tol: float
    n_iter_no_change: float
    max_iter: int
    incremental: bool
    history: History
    score: Callable

    @property
    def n_rows(self):
        return self.padded_batches * self.padded_batch

    @property
    def early_stopping(self):
        return self.validation is not None

    @property
    def sharding(self):
        return _devices.batch_sharding(self.devices)

    @property
    def group_key(self):
        """What fits trained together in one program must share."""
        shapes = [(p["W"].shape, tuple(sorted(p))) for p in self.params]
        return (
            self.tx, self.net, self.loss, np.dtype(self.dtype).str, self.batch_size,
            self.padded_batch, repr(shapes), self.n_features, self.batch_nnz,
            self.data["Y"].shape[1:],
            repr(jax.tree_util.tree_structure(self.opt_state)),
            repr(jax.tree_util.tree_structure(self.net_state)),
            self.validation is not None,
            None if self.devices is None else tuple(map(str, self.devices)),
            self.out_activation,
        )  # fmt: skip


def _validation_split(X, Y, labels, sample_weight, *, rng, fraction, stratify, dtype):
    """Split off the held-out rows of early stopping (as scikit-learn's MLP)."""
    arrays = (X, Y, labels) if sample_weight is None else (X, Y, labels, sample_weight)
    split = train_test_split(*arrays, random_state=rng, test_size=fraction,
                             stratify=stratify)  # fmt: skip
    X, X_val, Y, Y_val, _, y_val = split[:6]
    sw_val = None
    if sample_weight is not None:
        sample_weight, sw_val = split[6:]
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    n_val = len(Y_val)
    rows = max(MIN_PADDED_BATCH, 1 << (n_val - 1).bit_length())
    w_val = np.zeros(rows, dtype)
    w_val[:n_val] = 1 if sw_val is None else sw_val
    validation = Validation(
        X=(_sparse.chunk(X_val, rows, dtype) if sp.issparse(X_val)
           else pad_rows(X_val, rows, dtype)),  # fmt: skip
        Y=pad_rows(Y_val, rows, dtype),
        w=w_val,
        y=y_val,
        sample_weight=sw_val,
    )
    return X, Y, sample_weight, validation


def stepwise_config(X, Y, sample_weight, *, labels, stratify, solver, clip_norm, net,
                    loss, out_activation, dtype, rng, params, net_state, opt_leaves, reg,
                    history, device, batch_size, shuffle, early_stopping,
                    validation_fraction, score, learning_rate, power_t, tol,
                    n_iter_no_change, max_iter, incremental):  # fmt: skip
    """The :class:`StepwiseConfig` of a fit of validated data.

    ``X``, ``Y`` and ``sample_weight`` are the validated training data, ``Y``
    the network's targets (2-d, in ``dtype``); with early stopping,
    ``labels`` are the targets the validation score compares (class labels
    for a classifier) and ``stratify`` the array the split is stratified on
    (or None); ``params`` and ``net_state`` the parameters to start from;
    ``opt_leaves`` the optimizer state saved by a previous ``partial_fit``
    (None: a fresh state); ``history`` the estimator's training history; the
    other arguments are the estimator's parameters. Draws the early-stopping
    split from ``rng``.
    """
    if early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    validation = None
    if early_stopping:
        X, Y, sample_weight, validation = _validation_split(
            X, Y, labels, sample_weight, rng=rng, fraction=validation_fraction,
            stratify=stratify, dtype=dtype,
        )  # fmt: skip

    n_samples = X.shape[0]
    if batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped"
            )
        batch_size = int(np.clip(batch_size, 1, n_samples))
    devices = _devices.resolve(device)
    # Padded to a few shapes, so that fits of different sizes share their
    # compiled programs (see padded_shape); the minibatches are the same.
    n_batches = -(-n_samples // batch_size)
    padded_batches, padded_batch = padded_shape(n_batches, batch_size, net.stochastic)
    n_rows = padded_batches * padded_batch

    # The estimator's clip_norm is a link of the transformation.
    tx, hyper = solver.optax_transformation(clip_norm=clip_norm)
    schedule = learning_rate if solver.uses_lr_schedule and "learning_rate" in hyper \
        else "constant"  # fmt: skip
    mask = np.zeros(n_rows, dtype=dtype)
    mask[:n_samples] = 1
    w = mask.copy()
    if sample_weight is not None:
        w[:n_samples] = sample_weight
    data = dict(Y=pad_rows(Y, n_rows, dtype), w=w, mask=mask)
    # Sparse X stays a CSR matrix on the host; each epoch's minibatches go
    # to the device as padded coordinates (see _sparse.epoch_batches).
    sparse_X = batch_nnz = None
    if sp.issparse(X):
        sparse_X = _sparse.training_matrix(X, n_rows, dtype)
        batch_nnz = _sparse.batch_nnz_bound(sparse_X, batch_size)
    else:
        data = dict(X=pad_rows(X, n_rows, dtype), **data)
    with precision(dtype):
        # In the computation's dtype (the fitted arrays follow the input's).
        params, net_state = jax.tree_util.tree_map(
            lambda a: np.asarray(a, dtype=dtype), (params, net_state)
        )
        fresh = to_numpy(set_hyperparams(
            init_state(_devices.to_device(params, dtype), tx=tx), hyper, dtype
        ))  # fmt: skip
        opt_state = restore_state(fresh, opt_leaves)
        if "clip_norm" in hyper:  # the threshold set now, not the saved one
            opt_state = opt_state._replace(hyperparams={
                **opt_state.hyperparams, "clip_norm": fresh.hyperparams["clip_norm"]})  # fmt: skip
    net, net_state = runtime_activations(net, net_state, n_rows, params)
    return StepwiseConfig(
        net=net, loss=loss, out_activation=out_activation, dtype=dtype, tx=tx,
        devices=devices, data=data, sparse_X=sparse_X, batch_nnz=batch_nnz,
        n_samples=n_samples, n_features=X.shape[1], batch_size=batch_size,
        n_batches=n_batches, padded_batches=padded_batches, padded_batch=padded_batch,
        validation=validation, params=params, net_state=net_state,
        opt_state=opt_state, reg=reg, rng=rng, shuffle=shuffle,
        learning_rate=schedule, initial_lr=hyper.get("learning_rate"),
        power_t=power_t, tol=tol, n_iter_no_change=n_iter_no_change,
        max_iter=max_iter, incremental=incremental,
        history=history.continued(early_stopping), score=score,
    )  # fmt: skip


def restore_state(fresh, saved):
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
