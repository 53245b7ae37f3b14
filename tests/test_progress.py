"""Training progress: the verbose display and scikit-learn's callback API."""

import doctest
import pathlib
import re
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_regression

from skneural import NeuralClassifier, NeuralRegressor, _progress
from skneural._progress import FitReporter
from skneural.solvers import Progress

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

needs_callbacks = pytest.mark.skipif(
    not _progress.HAS_SKLEARN_CALLBACKS,
    reason="this scikit-learn has no sklearn.callback (added in 1.9)",
)

LINE = re.compile(r"^Iteration (\d+), loss = ([0-9.]+) \(([0-9.]+) s\)$", re.MULTILINE)


def clf(**params):
    params = {"hidden_layer_sizes": (10,), "random_state": 0, "max_iter": 6, **params}
    return NeuralClassifier(**params)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=0)
    return X, y / 100


@pytest.fixture
def tty(capsys, monkeypatch):
    """Call it to make the captured stdout a terminal; redraws every epoch."""
    monkeypatch.setattr(_progress, "REFRESH_SECONDS", 0.0)
    return lambda: monkeypatch.setattr(sys.stdout, "isatty", lambda: True)


# ----------------------------------------------------------------- display
@pytest.mark.parametrize("verbose", [0, False])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_quiet_prints_nothing(iris, capsys, verbose, solver):
    clf(verbose=verbose, solver=solver, early_stopping=solver == "adam").fit(*iris)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_plain_lines_without_terminal(iris, capsys, solver):
    est = clf(verbose=1, solver=solver).fit(*iris)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = LINE.findall(out)
    assert [int(n) for n, _, _ in lines] == list(range(1, est.n_iter_ + 1))
    np.testing.assert_allclose(
        [float(loss) for _, loss, _ in lines], est.loss_curve_, atol=1e-8
    )
    assert out.count("\n") == est.n_iter_  # nothing else at verbose=1


def test_plain_lines_show_validation_scores(iris, capsys):
    est = clf(verbose=True, early_stopping=True, max_iter=8).fit(*iris)
    out = capsys.readouterr().out
    assert len(LINE.findall(out)) == est.n_iter_
    scores = [
        float(s)
        for s in re.findall(r"^Validation score: ([0-9.]+)$", out, re.MULTILINE)
    ]
    np.testing.assert_allclose(scores, est.validation_scores_, atol=1e-6)
    # scikit-learn's order: each epoch's loss line, then its validation score.
    assert re.match(r"Iteration 1, .*\nValidation score: ", out)


def test_stopping_message_after_the_lines(iris, capsys):
    est = clf(verbose=1, tol=10.0, n_iter_no_change=2).fit(*iris)
    out = capsys.readouterr().out
    assert est.n_iter_ == 4  # n_iter_no_change + 2
    assert out.splitlines()[-1] == (
        "Training loss did not improve more than tol=10.000000 for 2 consecutive "
        "epochs. Stopping."
    )


def test_terminal_draws_one_updating_line(iris, capsys, tty):
    tty()
    est = clf(verbose=1, max_iter=5).fit(*iris)
    out = capsys.readouterr().out
    assert "Iteration" not in out
    assert out.startswith("\r") and out.endswith("\n") and out.count("\n") == 1
    frames = out.rstrip("\n").split("\r")[1:]
    assert len(frames) == est.n_iter_  # one per epoch
    for n, frame in enumerate(frames, start=1):
        assert frame.startswith(f"Epoch {n}/5 [")
        assert f"loss {est.loss_curve_[n - 1]:.6g}" in frame
    assert frames[-1].startswith("Epoch 5/5 [####################] 100%")


def test_terminal_early_stopping(iris, capsys, tty):
    tty()
    est = clf(verbose=1, early_stopping=True, max_iter=200, tol=10.0,
              n_iter_no_change=2).fit(*iris)  # fmt: skip
    out = capsys.readouterr().out
    bar, message = out.split("\n")[:2]
    assert est.n_iter_ == 4  # n_iter_no_change + 2
    final = bar.split("\r")[-1]
    assert re.match(r"Epoch +4/200 \[", final)
    assert f"val {est.validation_scores_[-1]:.4f}" in final
    assert final.rstrip().endswith("converged")
    assert message.startswith("Validation score did not improve")
    assert out.endswith("Stopping.\n")


def test_terminal_message_keeps_the_bar(iris, capsys, tty):
    tty()
    clf(verbose=1, solver="sgd", learning_rate="adaptive", tol=10.0,
        n_iter_no_change=1, max_iter=4).fit(*iris)  # fmt: skip
    out = capsys.readouterr().out
    first, second, rest = out.split("\n")
    # The message (after epoch 3) gets its own line: the bar is cleared, the
    # message printed, and the bar redrawn below it.
    cleared, message = first.split("\r")[-2:]
    assert cleared.strip() == ""
    assert message.startswith("Training loss did not improve")
    assert message.endswith("Setting learning rate to 0.000200")
    assert second.startswith("Epoch 3/4 [")
    assert second.split("\r")[-1].startswith("Epoch 4/4 [####################] 100%")
    assert rest == ""


def test_terminal_whole_batch(iris, capsys, tty):
    tty()
    est = clf(verbose=1, solver="lbfgs", max_iter=4).fit(*iris)
    out = capsys.readouterr().out
    final = out.rstrip("\n").split("\r")[-1]
    assert final.startswith("Iteration 4/4 [####################] 100%")
    assert f"loss {est.loss_curve_[-1]:.6g}" in final
    assert out.endswith("\n") and out.count("\n") == 1


def test_verbose_2_prints_lines_on_a_terminal(iris, capsys, tty):
    tty()
    est = clf(verbose=2, max_iter=4).fit(*iris)
    out = capsys.readouterr().out
    assert "\r" not in out
    assert len(LINE.findall(out)) == est.n_iter_ == 4
    assert out.splitlines()[-1].startswith(
        "Training max_iter reached after 4 epochs in "
    )


def test_partial_fit_prints_one_line_per_call(iris, capsys):
    X, y = iris
    est = clf(verbose=1)
    est.partial_fit(X, y, classes=np.unique(y))
    est.partial_fit(X, y)
    out = capsys.readouterr().out
    assert [int(n) for n, _, _ in LINE.findall(out)] == [1, 1]


def test_progress_outside_a_fit_prints_lines(capsys):
    progress = Progress(verbose=True)
    assert progress(2.5) is False
    progress(1.25)
    out = capsys.readouterr().out
    assert [(int(n), float(v)) for n, v, _ in LINE.findall(out)] == [
        (1, 2.5),
        (2, 1.25),
    ]
    assert progress.curve == [2.5, 1.25]
    Progress(verbose=False)(1.0)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------- the reporter
class _Stream:
    def __init__(self, tty):
        self.text, self._tty = "", tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return self._tty


def _reporter(verbose=1, tty=False, **kwargs):
    stream = _Stream(tty)
    kwargs = {"max_iter": 10, "verbose": verbose, "stream": stream, **kwargs}
    return FitReporter(object(), **kwargs), stream


def test_reporter_modes():
    assert _reporter(verbose=0, tty=True)[0].mode == "quiet"
    assert _reporter(verbose=1, tty=True)[0].mode == "bar"
    assert _reporter(verbose=1, tty=False)[0].mode == "lines"
    assert _reporter(verbose=2, tty=True)[0].mode == "lines"
    reporter, stream = _reporter(verbose=0)
    reporter.epoch(1, 0.5, 0.9, 0.1)
    reporter.message("hello")
    reporter.end()
    assert stream.text == ""


@pytest.mark.parametrize(
    "n, reason, expected",
    [(10, None, "max_iter"), (3, None, "converged"), (3, "diverged", "diverged")],
)
def test_reporter_reason(n, reason, expected):
    reporter, stream = _reporter()
    for i in range(1, n + 1):
        reporter.epoch(i, 1.0 / i)
    reporter.end(reason, "done")
    reporter.end("interrupted", "ignored")  # only the first end counts
    assert reporter.reason == expected
    assert re.search(r"Iteration %d, loss = %.8f \([0-9.]+ s\)\ndone\n$" % (n, 1 / n),
                     stream.text)  # fmt: skip
    assert "ignored" not in stream.text
    with pytest.raises(ValueError, match="reason must be one of"):
        _reporter()[0].end("bored")


@pytest.mark.parametrize(
    "exc, reason", [(KeyboardInterrupt, "interrupted"), (RuntimeError, "error")]
)
def test_reporter_ends_on_exceptions(exc, reason):
    stream = _Stream(tty=True)
    reporter = FitReporter(object(), max_iter=5, verbose=1, stream=stream)
    with pytest.raises(exc), reporter:
        reporter.epoch(1, 0.5)
        raise exc
    assert reporter.reason == reason
    assert stream.text.endswith("\n")  # the terminal line is finished


def test_fit_error_leaves_no_partial_line(iris, capsys, tty):
    tty()
    X, y = iris
    with pytest.raises(ValueError, match="partial_fit does not support"):
        clf(verbose=1, early_stopping=True).partial_fit(X, y, classes=np.unique(y))
    assert capsys.readouterr().out == ""


def test_reporter_bar_fits_narrow_terminals(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    reporter, stream = _reporter(tty=True, max_iter=1000, early_stopping=True)
    reporter.epoch(500, 123.456789, 0.98765)
    frame = stream.text.split("\r")[-1]
    assert len(frame) <= 39 and frame.startswith("Epoch  500/1000")


# ----------------------------------------------------- scikit-learn callbacks
class Recorder:
    """A FitCallback recording its hooks (as in scikit-learn's own tests)."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, None))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None,
                          metadata=None, fitted_estimator=None):  # fmt: skip
        self.calls.append(("begin", context.task_name, fitted_estimator))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None,
                        metadata=None, fitted_estimator=None):  # fmt: skip
        self.calls.append(("end", context.task_name, fitted_estimator))
        self.last_context = context
        self.data = (X, y, metadata)
        n = getattr(fitted_estimator, "n_iter_", None)
        return context.task_name != "fit" and n == self.stop_at

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, None))


@needs_callbacks
@pytest.mark.parametrize("solver, unit", [("adam", "epoch"), ("lbfgs", "iteration")])
def test_callback_hooks_and_task_tree(iris, solver, unit):
    X, y = iris
    sw = np.ones(len(y))
    rec = Recorder()
    est = clf(solver=solver).set_callbacks(rec).fit(X, y, sample_weight=sw)
    n = est.n_iter_
    names = [(hook, task) for hook, task, _ in rec.calls]
    assert names == (
        [("setup", "fit"), ("begin", "fit")]
        + [("begin", unit), ("end", unit)] * n
        + [("end", "fit"), ("teardown", "fit")]
    )
    root = rec.last_context
    assert root.task_name == "fit" and root.parent is None
    assert root.max_subtasks == est.max_iter
    assert [c.task_id for c in list(root)[1:]] == list(range(n))
    # The data given to fit, its sample_weight as metadata.
    assert rec.data[0] is X and rec.data[1] is y and rec.data[2]["sample_weight"] is sw
    # Each subtask's fitted_estimator holds that epoch's parameters: the last
    # one (and the root's) predicts as the fitted estimator.
    ends = [f for hook, task, f in rec.calls if (hook, task) == ("end", unit)]
    assert [f.n_iter_ for f in ends] == list(range(1, n + 1))
    assert [f.loss_ for f in ends] == pytest.approx(est.loss_curve_)
    for fitted in (ends[-1], rec.calls[-2][2]):
        np.testing.assert_allclose(fitted.predict_proba(X), est.predict_proba(X))
    # A subtask begins where the previous one ended (the first at the start).
    begins = [f for hook, task, f in rec.calls if (hook, task) == ("begin", unit)]
    assert begins[1].n_iter_ == 1 and begins[0].n_iter_ == 0
    # The fit leaves no callback state on the estimator.
    assert not hasattr(est, "_callback_fit_ctx")


@needs_callbacks
@pytest.mark.parametrize("solver", ["adam", "lbfgs", "cg", "lm", "least-squares"])
def test_callback_can_stop_training(regression, solver):
    X, y = regression
    est = NeuralRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=20,
                          tol=0.0, random_state=0)  # fmt: skip
    est.set_callbacks(Recorder(stop_at=3)).fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3


@needs_callbacks
def test_callbacks_survive_clone_and_params(iris):
    rec = Recorder()
    est = clf().set_callbacks(rec)
    assert "callbacks" not in est.get_params()
    assert clone(est)._skl_callbacks == [rec]
    est.set_callbacks()
    assert not hasattr(est, "_skl_callbacks")
    with pytest.raises(TypeError, match="FitCallback protocol"):
        est.set_callbacks(object())


def test_without_sklearn_callbacks(iris, monkeypatch):
    """Older scikit-learn: no callback context, training unchanged."""
    monkeypatch.setattr(_progress, "HAS_SKLEARN_CALLBACKS", False)
    est, rec = clf(max_iter=3), Recorder()
    if hasattr(est, "set_callbacks"):
        est.set_callbacks(rec)
    est.fit(*iris)
    assert est.n_iter_ == 3 and rec.calls == []


@needs_callbacks
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("regressor", [False, True])
@pytest.mark.filterwarnings("ignore:The y_prob values do not sum to one")
def test_scoring_monitor(iris, regression, solver, regressor):
    from sklearn.callback import ScoringMonitor

    if regressor:
        X, y = regression
        est = NeuralRegressor(hidden_layer_sizes=(10,), solver=solver, max_iter=6,
                              random_state=0)  # fmt: skip
        scoring = ["r2", "neg_mean_squared_error"]
    else:
        X, y = iris
        est = clf(solver=solver)
        scoring = ["accuracy", "neg_log_loss"]
    monitor = ScoringMonitor(scoring=scoring)
    est.set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs()
    assert log.estimator_name == type(est).__name__
    rows = [r for r in log.data if r["task_name"] != "fit"]
    (root,) = [r for r in log.data if r["task_name"] == "fit"]
    unit = "epoch" if solver == "adam" else "iteration"
    assert [r["task_name"] for r in rows] == [unit] * est.n_iter_
    assert [r["task_id_path"] for r in rows] == [(0, i) for i in range(est.n_iter_)]
    # The root task scores the fitted estimator, the last subtask the same
    # parameters.
    assert root[scoring[0]] == pytest.approx(est.score(X, y))
    assert rows[-1][scoring[0]] == pytest.approx(root[scoring[0]])
    assert rows[-1][scoring[1]] == pytest.approx(root[scoring[1]])
    # Training improves the scores.
    assert rows[-1][scoring[1]] > rows[0][scoring[1]]


@needs_callbacks
def test_scoring_monitor_with_early_stopping(iris):
    from sklearn.callback import ScoringMonitor

    monitor = ScoringMonitor(scoring="accuracy")
    est = clf(early_stopping=True, max_iter=200, tol=10.0, n_iter_no_change=2)
    est.set_callbacks(monitor).fit(*iris)
    rows = monitor.get_logs().data
    assert est.n_iter_ == 4 and len(rows) == 1 + est.n_iter_


@needs_callbacks
def test_progress_bar(iris, capsys):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar
    from sklearn.model_selection import GridSearchCV

    for solver in ("adam", "lbfgs"):
        clf(solver=solver).set_callbacks(ProgressBar()).fit(*iris)
        out = capsys.readouterr().out
        assert "NeuralClassifier - fit" in out and "100%" in out
    # Propagated by a meta-estimator to our fits.
    search = GridSearchCV(clf(max_iter=3), {"alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(*iris)
    out = capsys.readouterr().out
    assert out.count("| NeuralClassifier - fit") == 5  # 2 x 2 splits + refit


@needs_callbacks
def test_user_guide_examples_run():
    """docs/guide/progress.rst: its callback example runs."""
    path = pathlib.Path(__file__).parents[1] / "docs" / "guide" / "progress.rst"
    result = doctest.testfile(str(path), module_relative=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_verbose_summary_shows_compilation_time_of_new_programs(iris, capsys):
    """verbose=2: the summary gives the compilation time when the fit compiled
    programs, and nothing when a later fit of the same shapes reuses them."""
    X, y = iris
    params = dict(hidden_layer_sizes=(13, 3), max_iter=3, verbose=2, random_state=0)
    clf(**params).fit(X, y)
    first = capsys.readouterr().out
    match = re.search(r"\(compilation ([0-9.]+)s\)", first)
    assert match and float(match.group(1)) > 0
    clf(**params).fit(X, y)
    assert "compilation" not in capsys.readouterr().out


def test_progress_calls_its_callback_instead_of_printing(capsys):
    calls = []

    def callback(n_iter, loss, x):
        calls.append((n_iter, loss, x))
        return n_iter >= 2

    progress = Progress(verbose=True, callback=callback)
    assert progress(2.5, "x1") is False
    assert progress(1.25) is True
    assert calls == [(1, 2.5, "x1"), (2, 1.25, None)]
    assert progress.curve == [2.5, 1.25]
    assert capsys.readouterr().out == ""
    assert not hasattr(_progress, "active_reporter")
