"""The lists of names in the docstrings and the user guide come from the
registries: every registry name appears in the generated text, and an entry
added to a registry appears without further edits."""

import pathlib

import pytest

from skneural import NeuralClassifier, NeuralRegressor, _activations
from skneural._activations import (
    ACTIVATIONS,
    LAYER_ACTIVATIONS,
    STEP_FUNCTIONS,
    Elementwise,
    LayerType,
)
from skneural._docstrings import (
    activation_param_doc,
    registry_names,
    registry_rst,
    solver_param_doc,
)
from skneural._losses import LOSSES
from skneural.solvers import SOLVERS

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("estimator", [NeuralClassifier, NeuralRegressor])
def test_estimator_docstrings_name_every_registry_entry(estimator):
    doc = estimator.__doc__
    for name in [*ACTIVATIONS, *LAYER_ACTIVATIONS, *STEP_FUNCTIONS, *SOLVERS]:
        assert f"'{name}'" in doc, name
    for name, entry in LAYER_ACTIVATIONS.items():
        assert f"'{name}' ({entry.summary})" in " ".join(doc.split())


def test_guide_tables_name_every_registry_entry():
    table = "\n".join(registry_rst("activations"))
    for name, entry in ACTIVATIONS.items():
        assert f'``"{name}"``' in table
        assert entry.formula in table
        if entry.reference:
            assert entry.reference in table
    layers = "\n".join(registry_rst("layer-activations"))
    for name, entry in LAYER_ACTIVATIONS.items():
        assert f'``"{name}"``' in layers
        assert entry.description in layers
    with pytest.raises(ValueError, match="Unknown registry"):
        registry_rst("nope")


def test_registry_names():
    assert registry_names("activations") == list(ACTIVATIONS)
    assert registry_names("layer-activations") == list(LAYER_ACTIVATIONS)
    assert registry_names("step-functions") == list(STEP_FUNCTIONS)
    assert registry_names("solvers") == list(SOLVERS)
    assert set(registry_names("solvers-other")) == set(SOLVERS) - {
        "adam", "sgd", "lbfgs"
    }  # fmt: skip
    whole = registry_names("solvers-whole-batch")
    stepwise = registry_names("solvers-stepwise")
    assert whole and set(whole) | set(stepwise) == set(SOLVERS)
    assert all(SOLVERS[n].whole_batch for n in whole)
    assert set(registry_names("losses-regression")) | set(
        registry_names("losses-classification")
    ) == set(LOSSES)
    assert "log_loss" in registry_names("losses-classification")
    with pytest.raises(ValueError, match="Unknown registry"):
        registry_names("nope")


def test_new_entries_appear_in_the_generated_text(monkeypatch):
    monkeypatch.setitem(
        _activations.ACTIVATIONS, "toy_rational",
        Elementwise(lambda x: x / (1 + x**2), r":math:`x / (1 + x^2)`", "Toy (2026)"),
    )  # fmt: skip
    monkeypatch.setitem(
        _activations.LAYER_ACTIVATIONS, "toy_layer",
        LayerType(lambda h, params, key, train: h, summary="toy summary",
                  description="Toy description."),
    )  # fmt: skip
    # A plain function is an entry too: its docstring's first line documents it.
    monkeypatch.setitem(_activations.ACTIVATIONS, "toy_plain", lambda x: x)
    doc = " ".join(activation_param_doc().split())
    assert "'toy_rational'" in doc and "'toy_layer' (toy summary)" in doc
    assert "'toy_plain'" in doc
    table = "\n".join(registry_rst("activations"))
    assert '``"toy_rational"``' in table and "Toy (2026)" in table
    assert '``"toy_plain"``' in table
    assert "Toy description." in "\n".join(registry_rst("layer-activations"))
    assert "toy_rational" in registry_names("activations")


def test_solver_param_doc_lists_every_solver():
    doc = solver_param_doc()
    for name in SOLVERS:
        assert f"'{name}'" in doc


def test_guide_pages_use_the_registry_directives():
    text = (DOCS / "guide" / "activations.rst").read_text()
    assert ".. skneural-registry:: activations" in text
    assert ".. skneural-registry:: layer-activations" in text
    assert '``"hard_swish"``' not in text  # no hand-written table
    assert "skneural_registry" in (DOCS / "conf.py").read_text()


def test_hand_written_tables_cover_the_registries():
    """The solver and loss tables carry costs and uses that the registries do
    not hold: they stay hand-written, and must name every entry."""
    solvers = (DOCS / "solvers.rst").read_text()
    for name in SOLVERS:
        assert f"``{name}`` (:class:" in solvers, name
    losses = (DOCS / "guide" / "losses.rst").read_text()
    for name in registry_names("losses-regression"):
        assert f'``"{name}"``' in losses, name
