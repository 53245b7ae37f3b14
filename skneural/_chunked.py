"""Several epochs per device call, for small single models.

One epoch of a small model costs the device less than the host's call
(about a millisecond of dispatch, transfers and bookkeeping). Such a model
runs several epochs in one call (:func:`skneural._epochs.run_epoch_chunk`),
and the host then goes through them one by one, with the same per-epoch
bookkeeping (:class:`skneural._stopping.Stopping`) as
:func:`skneural._driver._loop`. The fit is the same as with one epoch per
call: the same minibatches, random draws, stopping epoch and parameters.
"""

import time
import warnings

from . import _config

#: Most epochs run in one device call by a small single model (see
#: :func:`epochs_per_call`).
CHUNK_EPOCHS = 32
#: Work of one epoch (padded rows times weights) up to which a model runs
#: CHUNK_EPOCHS epochs per call, and up to which it runs 8; above, one.
CHUNK_WORK = (2**22, 2**25)
#: XLA options of the training programs of models up to ``CHUNK_WORK[0]``:
#: XLA:CPU's earlier fusion emitters compile them about a quarter faster
#: (measured: 0.95 s against 1.2-1.6 s for a 100-unit network), and the
#: 30% slower code they give costs such a model hundredths of a
#: millisecond per epoch.
SMALL_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


def compiler_options(c):
    """XLA options of a single model's training programs (one epoch or
    several per call alike, so that a fit's result does not depend on how
    its epochs were called)."""
    small = _config.epoch_work(c.n_rows, c.params) <= CHUNK_WORK[0]
    return SMALL_COMPILER_OPTIONS if small else None


def epochs_per_call(c, reporter, streamed=None):
    """How many epochs a single model runs per device call.

    One epoch of a small model costs the device less than the host's call
    (about a millisecond of dispatch, transfers and bookkeeping), so a model
    whose epoch work (padded rows times weights) is below
    :data:`CHUNK_WORK` runs several epochs in one call
    (:func:`~skneural._epochs.run_epoch_chunk`) and the host goes through
    them afterwards. That needs nothing from the host between epochs: no
    display or callbacks (``verbose=0``, none set), no validation set, no
    learning rate that changes every epoch ('invscaling'), and the data on
    one device (not streamed, not sparse, not split across devices). The
    choice depends only on the configuration, so results are reproducible,
    and ``partial_fit`` (one epoch per call) uses the program of ``fit``.
    """
    if (
        c.validation is not None or c.sparse_X is not None or streamed
        or c.sharding is not None or c.learning_rate == "invscaling"
        or getattr(reporter, "needs_each_epoch", False)
    ):  # fmt: skip
        return 1
    work = _config.epoch_work(c.n_rows, c.params)
    if work <= CHUNK_WORK[0]:
        return CHUNK_EPOCHS
    return 8 if work <= CHUNK_WORK[1] else 1


def chunked_loop(engine, model):
    """The epoch loop of a small single model, several epochs per call.

    Each call runs the next epochs (from 4, doubling with the epochs done, up
    to ``per_call``); the host then checks them one by one, exactly as
    :func:`skneural._driver._loop` checks one epoch. When the fit ends
    inside the call, or the learning rate changes ('adaptive'), the epochs
    after that point are
    dropped: the call is repeated from the same start for the epochs kept
    (the same computation), and the shuffling state goes back to theirs.
    """
    stopping, c = model.stopping, engine.config
    history = stopping.history
    state = lowest = engine.state
    try:
        while stopping.active:
            tic = time.perf_counter()
            left = c.max_iter - history.n_iter
            n = min(engine.per_call, left, max(4, history.n_iter))
            start, start_lowest = (state, lowest), (lowest, stopping.lowest_loss)
            orders, seeds, after = engine.draw(n)
            new, losses, norms, finite, low = engine.run_chunk(
                state, orders, seeds, n, *start_lowest)  # fmt: skip
            seconds = (time.perf_counter() - tic) / n
            state, lowest = new, low
            for e in range(n):
                if not stopping.check_finite(float(losses[e]), finite[e], norms[e]):
                    # Back to the lowest loss among the epochs before this one.
                    lowest = start[1] if e == 0 else engine.run_chunk(
                        start[0], orders, seeds, e, *start_lowest)[4]  # fmt: skip
                    state = lowest
                    break
                new_lr = stopping.after_epoch(float(losses[e]), norms[e],
                                              seconds=seconds)  # fmt: skip
                if new_lr is None and stopping.active:
                    continue
                if e < n - 1:  # the epochs after this one are dropped
                    state, *_, lowest = engine.run_chunk(
                        start[0], orders, seeds, e + 1, *start_lowest)  # fmt: skip
                    c.rng.set_state(after[e][0])
                    model.sample_idx = after[e][1]
                if new_lr is not None:
                    state = engine.set_learning_rates(state, {0: new_lr})
                break
    except KeyboardInterrupt:
        model.reporter.end("interrupted")
        warnings.warn("Training interrupted by user.")
    return model.result(state[0], state[2], state[1])
