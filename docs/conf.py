"""Sphinx configuration for the skneural documentation."""

import os
import re
import sys
from pathlib import Path

# Make the package importable when the docs are built from a source checkout
# without installing it first.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Documentation builds never need an accelerator.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# -- Project information -----------------------------------------------------

project = "skneural"
author = "skneural developers"
copyright = "skneural developers"

# Read the version without importing the package (and JAX).
_init = (ROOT / "skneural" / "__init__.py").read_text(encoding="utf-8")
_match = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", _init, re.M)
release = _match.group(1) if _match else "unknown"
version = release

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = []
exclude_patterns = ["_build"]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}

# numpydoc already lists the methods through autosummary tables; avoid
# duplicate entries and warnings for every inherited scikit-learn method.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "jax": ("https://docs.jax.dev/en/latest/", None),
    "optax": ("https://optax.readthedocs.io/en/latest/", None),
}

# -- sphinx-gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skneural {release}"
html_theme_options = {
    "navigation_with_keys": False,
}
