"""Sphinx configuration for the skneural documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``; the
build needs no network (set ``SKNEURAL_DOCS_INTERSPHINX=1`` to link to the
scikit-learn, NumPy, JAX and optax documentation when it is reachable), nor do
its pages: MathJax is copied into the build.
"""

import os
import re
import sys
from pathlib import Path

# Make the package importable when the docs are built from a source checkout
# without installing it first, and find the local Sphinx helpers.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "sphinxext"))

# Documentation builds never need an accelerator, and draw off-screen.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

# -- Project information -----------------------------------------------------

project = "skneural"
author = "skneural developers"
copyright = "skneural developers"

# Read the version without importing the package (and JAX).
_init = (ROOT / "skneural" / "__init__.py").read_text(encoding="utf-8")
_match = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", _init, re.MULTILINE)
release = _match.group(1) if _match else "unknown"
version = release

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax's files copied into the build (_static/mathjax): the formulas
    # render without network access. Tested by sphinxext/check_offline.py.
    "sphinx-mathjax-offline",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
    # The activation tables and name lists, from skneural's registries.
    "skneural_registry",
]

# Cross-links to other projects' documentation need their inventories, which
# are downloaded at build time: opt in where the network is reachable. Without
# them, references such as :class:`sklearn.neural_network.MLPClassifier` are
# rendered as code, without a link (and without a warning).
_INTERSPHINX = os.environ.get("SKNEURAL_DOCS_INTERSPHINX", "") not in ("", "0")
if _INTERSPHINX:
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "jax": ("https://docs.jax.dev/en/latest/", None),
        "optax": ("https://optax.readthedocs.io/en/latest/", None),
        "matplotlib": ("https://matplotlib.org/stable/", None),
    }

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
default_role = "literal"

# -- API reference -----------------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"

# The class template (_templates/autosummary/class.rst) lists the methods;
# numpydoc does not add a second list.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document the methods skneural defines; skip scikit-learn's plumbing.

    ``get_params``, ``set_params``, ``score`` and the metadata-routing
    ``set_*_request`` methods come from scikit-learn's mixins; their docstrings
    point at scikit-learn's own glossary and would not resolve here. The API
    page says that every estimator has them.
    """
    if name.startswith("_"):
        return None  # Sphinx's default: private and special members are skipped
    if re.fullmatch(r"set_\w+_request", name):
        return True
    module = getattr(obj, "__module__", None) or ""
    if callable(obj) and not module.startswith("skneural"):
        return True
    return None


# Workaround for the shared docstrings (skneural/_docstrings.py): in their
# attribute types, "(n_features_in_,)" reads as a reST hyperlink reference
# ("Unknown target name: n_features_in"). Escape a trailing underscore before
# "," or ")" in docstring lines until the docstring itself is fixed.
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[,)])")


# Docstrings written in scikit-learn's style refer to scikit-learn's glossary
# (:term:`fit`, :term:`Glossary <random_state>`). Without intersphinx these
# cannot resolve; render them as literal text instead.
_TERM = re.compile(r":term:`(?:([^`<]*?)\s*<([^`>]+)>|([^`]+))`")


def _term_to_literal(match):
    text, target = (match.group(1) or match.group(3)).strip(), match.group(2)
    if target and text.lower() == "glossary":
        return f"scikit-learn's glossary entry ``{target.strip()}``"
    return f"``{text}``"


def _adapt_docstrings(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if " : " in line and "of shape" in line:
            lines[i] = _TRAILING_UNDERSCORE.sub(r"\\_", line)
    if not _INTERSPHINX:
        text = "\n".join(lines)
        if ":term:" in text:
            lines[:] = _TERM.sub(_term_to_literal, text).split("\n")


# -- Plots in the user guide (matplotlib's plot directive) ---------------------

plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.autolayout": True}

# -- sphinx-gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # Scripts that need more than the docs extra (a Dask cluster) are shown
    # with literalinclude in the user guide instead of in the gallery.
    "ignore_pattern": r"__init__\.py|dask_grid_search\.py",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "doc_module": ("skneural",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skneural": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    # The execution-time pages load jQuery and DataTables from a CDN: the
    # documentation must be readable offline (sphinxext/check_offline.py).
    "write_computation_times": False,
}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skneural {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
}
html_sidebars = {"changelog": [], "install": []}


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("autodoc-process-docstring", _adapt_docstrings, priority=400)
