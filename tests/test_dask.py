"""The Dask example: a grid search on a local Dask cluster matches the local one.

Needs the ``dask`` extra; CI runs it in ``.ci/docs``.
"""

import importlib.util
import pathlib

import numpy as np
import pytest

pytest.importorskip("distributed")

EXAMPLE = pathlib.Path(__file__).parents[1] / "examples" / "dask_grid_search.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("dask_grid_search", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dask_search_matches_local_search(example, capsys):
    local, on_dask = example.main(n_workers=2, small=True)

    # Same estimators, same random_state, same folds: the fits in the Dask
    # worker processes reproduce the local ones exactly.
    assert on_dask.best_params_ == local.best_params_
    assert on_dask.best_score_ == local.best_score_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert len(local.cv_results_["params"]) > 1
    assert "dask, 2 workers" in capsys.readouterr().out
