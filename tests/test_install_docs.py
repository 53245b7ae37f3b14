"""docs/install.rst lists exactly the optional extras of pyproject.toml, and for
each extra every package it installs."""

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def _extras():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]


def _documented_extras():
    """{extra: its description} from install.rst's "Optional extras" section."""
    text = (ROOT / "docs" / "install.rst").read_text(encoding="utf-8")
    section = text.split("Optional extras\n---------------\n", 1)[1]
    section = re.split(r"\n[^\n]+\n-{3,}\n", section, maxsplit=1)[0]
    entries = re.findall(r"^``([\w-]+)``\n((?:    .*\n|\n)+)", section, re.MULTILINE)
    return {name: " ".join(body.split()) for name, body in entries}


def _name_and_specifier(requirement):
    """'sphinx-gallery>=0.17' -> ('sphinx-gallery', '>=0.17')."""
    match = re.fullmatch(r"([A-Za-z0-9._-]+(?:\[[\w,-]+\])?)\s*(.*)", requirement)
    return match.group(1), match.group(2).replace(" ", "")


def test_install_page_lists_every_extra():
    assert set(_documented_extras()) == set(_extras())


@pytest.mark.parametrize("extra", sorted(_extras()))
def test_install_page_lists_the_packages_of_each_extra(extra):
    """Each package as a literal, ``name`` or with a version: ``name>=1.0``."""
    description = _documented_extras()[extra]
    for requirement in _extras()[extra]:
        name, specifier = _name_and_specifier(requirement)
        literal = re.compile("``" + re.escape(name) + r"(?:\s*[<>=!~][^`]*)?``")
        assert literal.search(description), (
            f"docs/install.rst: the {extra!r} extra installs {requirement!r}, "
            f"which its description does not list as ``{name}``"
        )
        if specifier and f"``{name}" in description:
            # A version, when the page gives one, is the declared one.
            shown = re.findall(
                "``" + re.escape(name) + r"\s*([<>=!~][^`]*)``", description
            )
            assert all(s.replace(" ", "") == specifier for s in shown), (extra, shown)


def test_the_parser_reads_the_page():
    """Guard against a parser that finds nothing (and so checks nothing)."""
    documented = _documented_extras()
    assert "``pytest``" in documented["test"]
    assert "``matplotlib``" in documented["plot"]
