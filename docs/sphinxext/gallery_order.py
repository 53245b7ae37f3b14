"""Order of the examples in the sphinx-gallery (a ``within_subsection_order`` key).

Examples listed in ``ORDER`` come first, in that order, the others after them
by file name, so a new example shows up without editing this file.
"""

ORDER = [
    "plot_quickstart.py",
    "plot_pipeline_grid_search.py",
    "plot_logic_gates.py",
    "plot_perceptron_logic_gates.py",
    "plot_backpropagation.py",
    "plot_decision_boundaries.py",
    "plot_solver_comparison.py",
    "plot_regularization.py",
    "plot_progress_callbacks.py",
    "plot_batched_search.py",
    "plot_digits.py",
    "plot_first_layer_weights.py",
    "plot_coffee_price.py",
    "plot_weekday_activity.py",
]


class ExampleOrder:
    """Sort key: position in ``ORDER``, then file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = str(filename)
        rank = ORDER.index(name) if name in ORDER else len(ORDER)
        return (rank, name)

    def __repr__(self):
        return f"{type(self).__name__}()"
