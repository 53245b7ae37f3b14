"""Tables and name lists of the user guide, rendered from skneural's registries.

``.. skneural-registry:: activations`` renders the table of elementwise
activations (formula, arguments, reference) from
``skneural._activations.ACTIVATIONS``; ``.. skneural-registry::
layer-activations`` the definition list of
``skneural._activations.LAYER_ACTIVATIONS``. The role
``:registry-names:`solvers-other``` writes the names of a registry inline as
``"name"`` literals (see ``skneural._docstrings.registry_names`` for the
kinds). Adding an entry to a registry adds it to the pages.
"""

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from skneural._docstrings import registry_names, registry_rst


class RegistryDirective(SphinxDirective):
    """Render one registry as reStructuredText (a table or a list)."""

    required_arguments = 1
    has_content = False

    def run(self):
        try:
            lines = registry_rst(self.arguments[0])
        except ValueError as exc:
            raise self.error(str(exc)) from None
        node = nodes.container()
        source = f"<skneural-registry {self.arguments[0]}>"
        self.state.nested_parse(StringList(lines, source=source), 0, node)
        return node.children


def registry_names_role(name, rawtext, text, lineno, inliner, options=None,
                        content=None):  # fmt: skip
    """``"a"``, ``"b"``, ... ``"z"``: the names of one registry, inline."""
    try:
        names = registry_names(text)
    except ValueError as exc:
        msg = inliner.reporter.error(str(exc), line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    result = []
    for i, item in enumerate(names):
        if i:
            result.append(nodes.Text(", "))
        result.append(nodes.literal(f'"{item}"', f'"{item}"'))
    return result, []


def setup(app):
    app.add_directive("skneural-registry", RegistryDirective)
    app.add_role("registry-names", registry_names_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
