"""Training progress: the ``verbose`` display and scikit-learn's callback API.

One :class:`FitReporter` lives for the duration of one ``fit`` or
``partial_fit`` call. The training loop talks to it through four calls::

    with FitReporter(est, max_iter=..., verbose=..., early_stopping=...,
                     X=X, y=y, sample_weight=sw) as reporter:
        for ...:                                   # one epoch
            ...
            if reporter.epoch(n, loss, val_score, seconds, params=p, state=s):
                break                              # a callback asked to stop
        reporter.end("converged", "... Stopping.")  # or "max_iter", ...

Whole-batch solvers report through :class:`skneural.solvers.Progress`, which
calls the callback the estimator passes to the solver's ``minimize``; that
callback reports each iteration with :meth:`FitReporter.iteration`.

The reporter does two independent things:

* **Display** (``verbose``). 0/False prints nothing. 1/True on a terminal
  (``stream.isatty()``) draws one self-updating line (``\\r``); without a
  terminal (log files, CI, captured output) it prints scikit-learn MLP's lines
  ``Iteration %d, loss = %.8f (%.3f s)`` (and ``Validation score: %f`` with
  early stopping). 2 or more prints those lines even on a terminal, and a
  summary line at the end (why training stopped, epochs, time, the device,
  compilation time, last loss).
* **scikit-learn callbacks** (``sklearn.callback``, scikit-learn >= 1.9): the
  estimator's root task ``"fit"`` has one leaf subtask per epoch (``"epoch"``)
  or whole-batch iteration (``"iteration"``). Both hooks of a subtask are
  called when it has completed, with the data given to ``fit`` and a lazily
  built ``fitted_estimator`` holding that epoch's parameters. Without
  ``sklearn.callback`` this part is skipped.
"""

import copy
import shutil
import sys
import threading
import time

import jax

from . import _devices

from . import _program_cache

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin

    HAS_SKLEARN_CALLBACKS = True
except ImportError:  # pragma: no cover - older scikit-learn

    class CallbackSupportMixin:
        """Stand-in: this scikit-learn has no ``sklearn.callback``."""

    HAS_SKLEARN_CALLBACKS = False


#: Why training stopped, as passed to :meth:`FitReporter.end`.
REASONS = ("converged", "max_iter", "diverged", "interrupted", "callback", "error")

_REASON_TEXT = {
    "converged": "converged",
    "max_iter": "max_iter reached",
    "diverged": "diverged",
    "interrupted": "interrupted",
    "callback": "stopped by a callback",
    "error": "failed",
}

#: Least seconds between two redraws of the terminal line (the first and the
#: last epoch are always drawn).
REFRESH_SECONDS = 0.1
_BAR_WIDTH = 20

# Seconds JAX spent compiling (tracing, lowering, XLA) in this thread, from
# JAX's monitoring events: the verbose summary shows a fit's share.
_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_compile_seconds = threading.local()


def _on_duration(event, duration, **kwargs):
    if event in _COMPILE_EVENTS:
        _compile_seconds.total = compile_seconds() + duration


def compile_seconds():
    """Seconds JAX has spent compiling in this thread so far."""
    return getattr(_compile_seconds, "total", 0.0)


jax.monitoring.register_event_duration_secs_listener(_on_duration)


def _format_seconds(s):
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(round(s), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def _device_text(estimator):
    """The devices ``estimator`` trains on, for the summary (None if unknown)."""
    try:
        return _devices.describe(_devices.resolve(getattr(estimator, "device", None)))
    except (ValueError, TypeError, RuntimeError):  # the fit itself reports it
        return None


class FitReporter:
    """Progress of one fit: verbose display and scikit-learn callbacks.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted. If it supports scikit-learn's callbacks
        (:class:`sklearn.callback.CallbackSupportMixin`), its callback context
        is initialised here (which calls the callbacks' ``setup``) and the
        root task's ``on_fit_task_begin`` hook is called.
    max_iter : int
        Most epochs (or iterations) of this fit: the total of the display and
        the ``max_subtasks`` of the callbacks' root task.
    verbose : bool or int
        The estimator's ``verbose``.
    early_stopping : bool, default=False
        Whether the epochs report a validation score.
    unit : {'epoch', 'iteration'}, default='epoch'
        What one step is called (stepwise solvers run epochs, whole-batch
        solvers iterations).
    X, y, sample_weight : default=None
        The data given to ``fit``, passed on to the callbacks (for example,
        :class:`sklearn.callback.ScoringMonitor` scores on it).
    stream : file-like, default=None
        Where the display goes; ``sys.stdout`` (at construction) if None.

    Attributes
    ----------
    n_reported : int
        Number of epochs reported so far.
    reason : str or None
        Why training stopped (one of :data:`REASONS`) once :meth:`end` ran.
    stop_requested : bool
        Whether a callback's ``on_fit_task_end`` asked to stop.
    iteration_losses : list of float
        Objective after each whole-batch iteration reported so far
        (:meth:`iteration`).
    """

    def __init__(
        self,
        estimator,
        *,
        max_iter,
        verbose,
        early_stopping=False,
        unit="epoch",
        X=None,
        y=None,
        sample_weight=None,
        stream=None,
    ):
        self.estimator = estimator
        self.max_iter = int(max_iter)
        self.verbose = int(verbose or 0)
        self.early_stopping = bool(early_stopping)
        self.unit = unit
        self.stream = sys.stdout if stream is None else stream
        if self.verbose == 0:
            self.mode = "quiet"
        elif self.verbose == 1 and _isatty(self.stream):
            self.mode = "bar"
        else:
            self.mode = "lines"
        self.n_reported = 0
        self.reason = None
        self.stop_requested = False
        self._start = self._last_time = time.perf_counter()
        self._compile_start = compile_seconds()
        self._programs_start = _program_cache.counts()
        self._last_draw = -float("inf")
        self._line = ""  # the terminal line drawn last (bar mode)
        self._last = None  # (n, loss, validation score) of the last epoch
        self.iteration_losses = []  # whole-batch iterations reported so far
        self._base_curve = None  # loss_curve_ before the first iteration
        self._X, self._y = X, y
        self._metadata = (
            {"sample_weight": sample_weight} if sample_weight is not None else None
        )
        self._ctx = None
        self._n_subtasks = 0
        # The first subtask begins with the estimator as it is (its initial
        # parameters), no iteration done yet.
        self._previous_attributes = {"n_iter_": 0}
        if HAS_SKLEARN_CALLBACKS and isinstance(estimator, CallbackSupportMixin):
            self._ctx = estimator._init_callback_context(
                task_name="fit", max_subtasks=self.max_iter
            )
            self._ctx.call_on_fit_task_begin(
                estimator=estimator, X=X, y=y, metadata=self._metadata
            )

    @property
    def needs_each_epoch(self):
        """Whether each epoch must be reported as soon as it ends: a display
        (``verbose``) or scikit-learn callbacks, which may look at the
        estimator. Otherwise epochs run in one compiled call may be reported
        together afterwards."""
        callbacks = getattr(self.estimator, "_skl_callbacks", None)
        return self.mode != "quiet" or bool(callbacks)

    # --------------------------------------------------------------- hooks
    def epoch(self, n_iter, loss, validation_score=None, seconds=None, *,
              params=None, state=None):  # fmt: skip
        """Report a completed epoch (or iteration).

        Call it once the epoch's bookkeeping is done (``n_iter_``,
        ``loss_curve_``, ``validation_scores_``): callbacks may look at the
        estimator. Epochs that ran inside one compiled call can be reported
        one after the other afterwards, each with its own loss and score.

        Parameters
        ----------
        n_iter : int
            Number of this epoch, from 1 (the estimator's ``n_iter_``).
        loss : float
            Training loss of the epoch (the value appended to
            ``loss_curve_``).
        validation_score : float or None, default=None
            Validation score with early stopping.
        seconds : float or None, default=None
            Duration of the epoch; None measures the time since the previous
            report.
        params, state : default=None
            The network's parameters (the pytree that
            ``estimator._set_params_from`` takes, or a function of no argument
            returning it) and batch-norm state after this epoch. Only
            converted (lazily) when a callback asks for a
            ``fitted_estimator``; without them the callbacks get None (scores
            of :class:`sklearn.callback.ScoringMonitor` are then not logged
            for that epoch). They are kept until the next report (the next
            subtask's "begin" state), so they must not be donated buffers.

        Returns
        -------
        stop : bool
            True when a callback asked to stop training.
        """
        now = time.perf_counter()
        if seconds is None:
            seconds = now - self._last_time
        self._last_time = now
        self.n_reported += 1
        loss = float(loss)
        self._last = (n_iter, loss, validation_score)
        if self.mode == "lines":
            self._write(
                "Iteration %d, loss = %.8f (%.3f s)\n" % (n_iter, loss, seconds)
            )
            if validation_score is not None:
                self._write("Validation score: %f\n" % validation_score)
        elif self.mode == "bar" and (
            now - self._last_draw >= REFRESH_SECONDS
            or self.n_reported == 1
            or n_iter >= self.max_iter
        ):
            self._draw()
        stop = self._callbacks_epoch(n_iter, loss, params, state)
        self.stop_requested = self.stop_requested or stop
        if self.mode == "bar" and n_iter >= self.max_iter:
            # The loop ends here: finish the line before a warning is shown.
            self._write("\n")
            self._line = ""
        return stop

    def message(self, text):
        """Print a line of text (when verbose) without breaking the display."""
        if self.mode == "quiet":
            return
        if self.mode == "bar" and self._line:
            self._write("\r" + " " * len(self._line) + "\r" + text + "\n")
            self._write(self._line)
        else:
            self._write(text + "\n")

    def end(self, reason=None, message=None):
        """Training stopped: finish the display.

        Only the first call does anything, so a loop may call it where it
        breaks and again after the loop.

        Parameters
        ----------
        reason : str or None, default=None
            One of :data:`REASONS`. None infers it: 'callback' when a callback
            asked to stop, 'max_iter' when ``max_iter`` epochs were reported,
            else 'converged'.
        message : str or None, default=None
            A line printed (when verbose) after the display, e.g. why the
            training loss stopped improving.
        """
        if self.reason is not None:
            return
        if reason is None:
            if self.stop_requested:
                reason = "callback"
            elif self.n_reported >= self.max_iter:
                reason = "max_iter"
            else:
                reason = "converged"
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, got {reason!r}.")
        self.reason = reason
        if self.mode == "bar" and self._line:
            self._draw(final=True)
            self._write("\n")
            self._line = ""  # the line is finished: messages go below it
        elif self.mode == "lines" and self.verbose >= 2:
            self._write(self._summary() + "\n")
        if message is not None:
            self.message(message)

    def iteration(self, n_iter, loss, params=None):
        """:meth:`epoch` for a whole-batch solver's iteration.

        Usable as the ``callback`` of a solver's ``minimize`` once its third
        argument is the parameter pytree. Appends ``loss`` to
        :attr:`iteration_losses` and sets the estimator's ``n_iter_``,
        ``loss_`` and ``loss_curve_`` (its curve before the first iteration,
        then this fit's iterations) to this iteration's before the callbacks
        run.

        Parameters
        ----------
        n_iter : int
            Number of this iteration, from 1.
        loss : float
            Objective after the iteration.
        params : list of dict, callable or None, default=None
            The network's parameters after the iteration, or a function of no
            argument returning them (called only when a callback asks for a
            ``fitted_estimator``).

        Returns
        -------
        stop : bool
            True when a callback asked to stop training.
        """
        loss = float(loss)
        est = self.estimator
        if self._base_curve is None:
            self._base_curve = list(getattr(est, "loss_curve_", None) or [])
        self.iteration_losses.append(loss)
        est.n_iter_, est.loss_ = int(n_iter), loss
        est.loss_curve_ = self._base_curve + self.iteration_losses
        return self.epoch(n_iter, loss, params=params)

    # ------------------------------------------------------ context manager
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.end()
            self.close()
        else:
            self.end(
                "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "error"
            )
        return False

    def close(self):
        """The fit completed: call the root task's ``on_fit_task_end`` hook.

        Called by ``__exit__`` after the estimator's fitted attributes are set,
        so the callbacks' ``fitted_estimator`` is the fitted estimator. Not
        called when the fit raises (scikit-learn's estimators do the same);
        the callbacks' ``teardown`` runs anyway (``_fit_context``).
        """
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            ctx.call_on_fit_task_end(
                estimator=self.estimator,
                X=self._X,
                y=self._y,
                metadata=self._metadata,
                reconstruction_attributes={},
            )

    # ------------------------------------------------------------ internals
    def _callbacks_epoch(self, n_iter, loss, params, state):
        ctx = self._ctx
        if ctx is None or self._n_subtasks >= self.max_iter:
            return False  # no callbacks, or more reports than max_subtasks allows
        self._n_subtasks += 1
        estimator = self.estimator
        before = self._previous_attributes
        if params is None:
            after = None
        else:
            after = _LazyAttributes(estimator, params, state, n_iter, loss)
        sub = ctx.subcontext(task_name=self.unit)
        sub.call_on_fit_task_begin(
            estimator=estimator, X=self._X, y=self._y, metadata=self._metadata,
            reconstruction_attributes=before,
        )  # fmt: skip
        stop = sub.call_on_fit_task_end(
            estimator=estimator, X=self._X, y=self._y, metadata=self._metadata,
            reconstruction_attributes=after,
        )  # fmt: skip
        self._previous_attributes = after
        return bool(stop)

    def _summary(self):
        elapsed = time.perf_counter() - self._start
        text = (
            f"Training {_REASON_TEXT[self.reason]} after {self.n_reported} "
            f"{self.unit}{'s' if self.n_reported != 1 else ''} in "
            f"{_format_seconds(elapsed)}"
        )
        device = _device_text(self.estimator)
        if device is not None:
            text += f" on {device}"
        compiling = compile_seconds() - self._compile_start
        if compiling > 0:
            # Programs compiled by this fit; later fits with the same shapes
            # (and the same static settings) reuse them.
            text += f" (compilation {compiling:.2f}s)"
        programs = _program_cache.counts()
        found = {k: programs[k] - self._programs_start[k] for k in programs}
        if found["compiled"] or found["disk"]:
            # Programs new to this process: compiled, or loaded from the
            # persistent cache written by an earlier process.
            text += (
                f" [programs: {found['compiled']} compiled, {found['disk']} "
                "loaded from the cache]"
            )
        if self._last is not None:
            text += f", loss = {self._last[1]:.8f}"
            if self._last[2] is not None:
                text += f", validation score = {self._last[2]:.6f}"
        return text + "."

    def _bar_text(self, final, columns):
        """``Epoch  12/200 [##......]   6% loss 0.4321 val 0.9500 1.2s``."""
        n, loss, score = self._last if self._last is not None else (0, None, None)
        total = self.max_iter
        frac = min(n / total, 1.0) if total else 1.0
        head = f"{self.unit.capitalize()} {n:>{len(str(total))}}/{total}"
        tail = [f"{frac:4.0%}"]
        if loss is not None:
            tail.append(f"loss {loss:<9.6g}")
        if score is not None:
            tail.append(f"val {score:.4f}")
        tail.append(_format_seconds(time.perf_counter() - self._start))
        if final and self.reason is not None:
            tail.append(_REASON_TEXT[self.reason])
        tail = " ".join(tail)
        # The bar takes what is left of the line, at most _BAR_WIDTH cells.
        width = min(_BAR_WIDTH, columns - 1 - len(head) - len(tail) - 4)
        if width >= 5:
            filled = round(frac * width)
            return f"{head} [{'#' * filled}{'.' * (width - filled)}] {tail}"
        return f"{head} {tail}"[: max(columns - 1, 1)]

    def _draw(self, final=False):
        columns = shutil.get_terminal_size((80, 24)).columns
        text = self._bar_text(final, columns)
        pad = max(len(self._line) - len(text), 0)
        self._write("\r" + text + " " * pad)
        self._line = text
        self._last_draw = time.perf_counter()

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _LazyAttributes:
    """Callable giving the fitted attributes of one epoch's parameters.

    scikit-learn's ``CallbackContext`` calls it only when a callback hook
    takes ``fitted_estimator``; it then sets the returned attributes on a
    shallow copy of the estimator. The conversion reuses the estimator's
    ``_set_params_from`` (on another shallow copy), so the attribute layout is
    defined in one place.
    """

    def __init__(self, estimator, params, state, n_iter, loss):
        self.estimator = estimator
        self.params, self.state = params, state
        self.n_iter, self.loss = n_iter, loss
        self._attributes = None

    def __call__(self):
        # Memoised: the same epoch is the end of one subtask and the beginning
        # of the next.
        if self._attributes is None:
            self._attributes = self._compute()
            self.params = self.state = None
        return self._attributes

    def _compute(self):
        params = self.params() if callable(self.params) else self.params
        shadow = copy.copy(self.estimator)
        shadow._set_params_from(params, self.state)
        attributes = {
            k: getattr(shadow, k)
            for k in ("coefs_", "intercepts_", "layer_params_", "layer_state_")
            if hasattr(shadow, k)
        }
        attributes["n_iter_"] = self.n_iter
        attributes["loss_"] = self.loss
        return attributes
