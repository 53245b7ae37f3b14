"""The README's main job, ``python -m skneural``, runs and prints its table."""

import re

from skneural.__main__ import main


def test_demo_prints_the_comparison(capsys):
    main()
    out = capsys.readouterr().out
    rows = re.findall(
        r"^(load_\w+)\s+(\w+)\s+(accuracy|R\^2)\s+(-?[0-9.]+)\s+([0-9.]+)\s+([0-9.]+)"
        r"\s+(\d+)$",
        out,
        re.MULTILINE,
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("load_digits", "NeuralClassifier"),
        ("load_digits", "MLPClassifier"),
        ("load_diabetes", "NeuralRegressor"),
        ("load_diabetes", "MLPRegressor"),
    ]
    scores = {r[1]: float(r[3]) for r in rows}
    # Same random_state, same initial weights and minibatches: the scores match.
    assert abs(scores["NeuralClassifier"] - scores["MLPClassifier"]) <= 0.01
    assert abs(scores["NeuralRegressor"] - scores["MLPRegressor"]) <= 0.02
    assert "compilation" in out
