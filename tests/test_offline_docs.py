"""The checker that the built documentation needs no network
(docs/sphinxext/check_offline.py, run by .ci/docs after the build) finds what
it must find, on small hand-written builds."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "check_offline", ROOT / "docs" / "sphinxext" / "check_offline.py"
)
check_offline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_offline)

_MATH = '<span class="math notranslate nohighlight">\\(O(BP)\\)</span>'


def _build(tmp_path, head, body=_MATH, mathjax=True, fonts=True):
    """A one-page build whose page has ``head`` and ``body``."""
    static = tmp_path / "_static"
    static.mkdir()
    (static / "theme.css").write_text("body { color: black; }")
    if mathjax:
        (static / "mathjax").mkdir()
        (static / "mathjax" / "tex-chtml.js").write_text("/* MathJax */")
        if fonts:
            font_dir = static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
            font_dir.mkdir(parents=True)
            (font_dir / "MathJax_Main-Regular.woff").write_bytes(b"woff")
    (tmp_path / "guide").mkdir()
    page = f"<html><head>{head}</head><body><p>{body}</p></body></html>"
    (tmp_path / "guide" / "page.html").write_text(page)
    return tmp_path


_LOCAL_HEAD = (
    '<link rel="stylesheet" href="../_static/theme.css">'
    '<link rel="canonical" href="https://example.org/guide/page.html">'
    '<script src="../_static/mathjax/tex-chtml.js" defer></script>'
)


@pytest.mark.parametrize(
    "address",
    [
        "https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js",
        "http://code.jquery.com/jquery.js",
        "//cdn.example.org/lib.js",
    ],
)
def test_a_script_from_another_host_is_reported(tmp_path, address):
    root = _build(tmp_path, _LOCAL_HEAD + f'<script src="{address}"></script>')
    problems, with_math = check_offline.check_build(root)
    assert problems == [f"guide/page.html: <script> loads {address} from another host"]
    assert with_math == 1
    assert check_offline.main([str(root)]) == 1


def test_stylesheets_and_images_from_another_host_are_reported(tmp_path):
    head = _LOCAL_HEAD + '<link rel="stylesheet" href="https://fonts.example/a.css">'
    root = _build(tmp_path, head, body=_MATH + '<img src="https://x.example/i.png">')
    (root / "_static" / "fonts.css").write_text(
        "@import url('https://fonts.example/b.css'); a { background: url(c.png); }"
    )
    problems, _ = check_offline.check_build(root)
    assert problems == [
        "guide/page.html: <link> loads https://fonts.example/a.css from another host",
        "guide/page.html: <img> loads https://x.example/i.png from another host",
        "_static/fonts.css: loads https://fonts.example/b.css from another host",
    ]


def test_a_local_build_with_mathjax_and_its_fonts_passes(tmp_path, capsys):
    root = _build(tmp_path, _LOCAL_HEAD + '<a href="https://scikit-learn.org">x</a>')
    assert check_offline.check_build(root) == ([], 1)
    assert check_offline.main([str(root)]) == 0
    assert "no page loads anything from another host" in capsys.readouterr().out


def test_missing_mathjax_files_are_reported(tmp_path):
    root = _build(tmp_path, _LOCAL_HEAD, mathjax=False)
    problems, _ = check_offline.check_build(root)
    assert problems == [
        "guide/page.html: MathJax script ../_static/mathjax/tex-chtml.js is missing"
    ]


def test_missing_mathjax_fonts_are_reported(tmp_path):
    root = _build(tmp_path, _LOCAL_HEAD, fonts=False)
    problems, _ = check_offline.check_build(root)
    assert problems == [
        "guide/page.html: no MathJax fonts next to ../_static/mathjax/tex-chtml.js"
    ]


def test_formulas_without_mathjax_are_reported(tmp_path):
    root = _build(tmp_path, '<link rel="stylesheet" href="../_static/theme.css">')
    problems, _ = check_offline.check_build(root)
    assert problems == ["guide/page.html: formulas but no MathJax script"]


def test_a_build_without_formulas_checks_nothing_and_fails(tmp_path):
    root = _build(tmp_path, _LOCAL_HEAD, body="no formulas")
    assert check_offline.check_build(root) == ([], 0)
    assert check_offline.main([str(root)]) == 1
