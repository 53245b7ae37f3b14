"""Check that the built HTML documentation needs no network to be read.

Usage: ``python docs/sphinxext/check_offline.py docs/_build/html``

Fails (exit status 1, one line per problem) when a page loads a script, a
stylesheet, an image or a font from another host (an ``http://``, ``https://``
or protocol-relative ``//`` address), when a stylesheet under ``_static`` loads
one, or when a page with formulas does not load a local MathJax whose files
(script and fonts) are in the build.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

# Attributes through which a page loads something while it is displayed;
# <a href> and the navigational <link> relations below only point elsewhere.
_LOADING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
}
_NAVIGATIONAL_LINKS = {"canonical", "alternate", "next", "prev", "index", "search"}
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)""")


def is_remote(address):
    """Whether a URL points to another host (``http:``, ``https:``, ``//``)."""
    address = address.strip()
    return address.startswith("//") or urlsplit(address).scheme in ("http", "https")


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.loaded = []  # (tag, address)
        self.scripts = []  # local and remote script addresses
        self.has_math = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "math" in (attrs.get("class") or "").split():
            self.has_math = True
        if tag == "link":
            rel = set((attrs.get("rel") or "").lower().split())
            if rel and rel <= _NAVIGATIONAL_LINKS:
                return
        for name in _LOADING.get(tag, ()):
            value = attrs.get(name)
            if not value:
                continue
            addresses = [value]
            if name == "srcset":
                addresses = [part.split()[0] for part in value.split(",") if part]
            for address in addresses:
                self.loaded.append((tag, address))
                if tag == "script":
                    self.scripts.append(address)


def check_page(path, root):
    """Problems with one HTML page (a list of strings), and whether it has math."""
    parser = _Assets()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    where = Path(path).relative_to(root)
    problems = [
        f"{where}: <{tag}> loads {address} from another host"
        for tag, address in parser.loaded
        if is_remote(address)
    ]
    if parser.has_math:
        mathjax = [s for s in parser.scripts if "mathjax" in s.lower()]
        if not mathjax:
            problems.append(f"{where}: formulas but no MathJax script")
        for address in mathjax:
            if is_remote(address):
                continue  # reported above
            script = (Path(path).parent / urlsplit(address).path).resolve()
            if not script.is_file():
                problems.append(f"{where}: MathJax script {address} is missing")
                continue
            fonts = list(script.parent.glob("output/chtml/fonts/**/*.woff*"))
            if not fonts:
                problems.append(f"{where}: no MathJax fonts next to {address}")
    return problems, parser.has_math


def check_stylesheet(path, root):
    """Problems with one stylesheet: remote ``url()`` or ``@import``."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    where = Path(path).relative_to(root)
    return [
        f"{where}: loads {address} from another host"
        for match in _CSS_URL.finditer(text)
        if is_remote(address := match.group(1) or match.group(2))
    ]


def check_build(root):
    """Problems with a whole HTML build; also the number of pages with formulas."""
    root = Path(root)
    pages = sorted(root.rglob("*.html"))
    if not pages:
        return [f"{root}: no HTML pages"], 0
    problems, with_math = [], 0
    for page in pages:
        page_problems, has_math = check_page(page, root)
        problems += page_problems
        with_math += has_math
    for sheet in sorted((root / "_static").rglob("*.css")):
        problems += check_stylesheet(sheet, root)
    return problems, with_math


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__)
        return 2
    problems, with_math = check_build(argv[0])
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s): the documentation needs the network")
        return 1
    if with_math == 0:
        print(f"{argv[0]}: no page has formulas; the MathJax check checked nothing")
        return 1
    print(
        f"{argv[0]}: no page loads anything from another host ({with_math} with formulas)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
