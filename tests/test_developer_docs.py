"""The developer guide's worked examples run, and the structure rules it
states hold."""

import doctest
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parents[1]
PACKAGE = ROOT / "skneural"

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_worked_examples_run():
    result = doctest.testfile(str(ROOT / "docs" / "developer.rst"),
                              module_relative=False)  # fmt: skip
    assert result.attempted > 20
    assert result.failed == 0


def test_no_module_over_600_lines():
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines())
             for p in PACKAGE.rglob("*.py")}  # fmt: skip
    assert {p: n for p, n in sizes.items() if n > 600} == {}


DRIVER = ["_driver.py", "_chunked.py", "_whole_batch.py", "_stopping.py", "_config.py",
          "_epochs.py"]


@pytest.mark.parametrize("module", DRIVER)
def test_the_driver_never_sees_the_estimator(module):
    text = (PACKAGE / module).read_text()
    # no estimator object: no attribute of one is read or written
    assert not re.findall(r"\b(?:est|estimator|self\.est)\.\w", text)
    assert not re.findall(r"^from \.(_base|_estimators|_fitted|_progress) ", text, re.M)


def test_solvers_import_no_estimator_driver_or_progress():
    for path in (PACKAGE / "solvers").glob("*.py"):
        imports = re.findall(r"^\s*from \.\.(\w+)", path.read_text(), re.M)
        assert not set(imports) & {
            "_base", "_estimators", "_fitted", "_driver", "_whole_batch", "_config",
            "_stopping", "_progress", "_batched", "model_selection",
        }, path.name  # fmt: skip


def test_problem_is_used_through_its_public_interface():
    for name in ("_lm.py", "_scipy.py", "_cg.py"):
        text = (PACKAGE / "solvers" / name).read_text()
        assert not re.findall(r"problem\._\w+", text), name
