"""The README's main job, ``python -m skneural``, runs and prints its table and a
verdict that agrees with the table."""

import re

from skneural.__main__ import SAME_SPEED, SCORE_TOLERANCE, _verdict, main

_ROW = re.compile(
    r"^(load_\w+)\s+(\w+)\s+(accuracy|R\^2)\s+(-?[0-9.]+)\s+([0-9.]+)\s+([0-9.]+)"
    r"\s+(\d+)$",
    re.MULTILINE,
)
_SPEED = re.compile(
    r"^  (first fit, with compilation|second fit, compiled): (?:"
    r"(?P<faster>\w+) was (?P<ratio>[0-9.]+)x faster than (?P<slower>\w+)"
    r"|(?P<same>equally fast within 10%))"
    r" \((?P<n1>\w+) (?P<a>[0-9.]+) s, (?P<n2>\w+) (?P<b>[0-9.]+) s\)\.$"
)


def _parse_verdicts(out):
    """{dataset: (score line, first-fit match, second-fit match)}."""
    assert "\nVerdict\n" in out, "the demo prints no verdict"
    lines = out.split("\nVerdict\n", 1)[1].splitlines()[1:]
    lines = [line for line in lines if line.strip()]
    verdicts = {}
    for i in range(0, len(lines), 3):
        head, first, second = lines[i : i + 3]
        dataset, score_line = head.split(": ", 1)
        verdicts[dataset] = (score_line, _SPEED.match(first), _SPEED.match(second))
        assert verdicts[dataset][1] and first.startswith("  first fit"), first
        assert verdicts[dataset][2] and second.startswith("  second fit"), second
    return verdicts


def _check_speed(match, ours_name, ours, theirs_name, theirs):
    """The speed sentence agrees with the two times of the table.

    ``ours`` and ``theirs`` are the table's strings (seconds rounded to 0.01):
    the true ratio lies within the bounds those roundings allow.
    """
    assert (match["n1"], match["a"]) == (ours_name, ours)
    assert (match["n2"], match["b"]) == (theirs_name, theirs)
    o_lo, o_hi = max(float(ours) - 0.005, 1e-3), float(ours) + 0.005
    t_lo, t_hi = max(float(theirs) - 0.005, 1e-3), float(theirs) + 0.005
    if match["same"]:
        # Some pair of true times within the rounding is within SAME_SPEED.
        assert o_lo <= SAME_SPEED * t_hi and t_lo <= SAME_SPEED * o_hi
        return
    ratio = float(match["ratio"])  # printed with one decimal
    if match["faster"] == ours_name:
        assert match["slower"] == theirs_name
        low, high = t_lo / o_hi, t_hi / o_lo
    else:
        assert (match["faster"], match["slower"]) == (theirs_name, ours_name)
        low, high = o_lo / t_hi, o_hi / t_lo
    assert high > SAME_SPEED
    assert low - 0.05 <= ratio <= high + 0.05


def test_demo_prints_the_comparison_and_a_verdict(capsys):
    main()
    out = capsys.readouterr().out
    rows = _ROW.findall(out)
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

    verdicts = _parse_verdicts(out)
    assert list(verdicts) == ["load_digits", "load_diabetes"]
    for dataset in verdicts:
        (ours, theirs) = [r for r in rows if r[0] == dataset]
        metric = ours[2]
        score_line, first, second = verdicts[dataset]
        tolerance = SCORE_TOLERANCE[metric]
        assert score_line.startswith(
            f"the test scores are equal within {tolerance} "
            f"({metric}: {ours[1]} {ours[3]}, {theirs[1]} {theirs[3]})"
        )
        _check_speed(first, ours[1], ours[4], theirs[1], theirs[4])
        _check_speed(second, ours[1], ours[5], theirs[1], theirs[5])


def test_verdict_words_follow_the_numbers():
    lines = _verdict(
        "toy", "accuracy", ("Ours", 0.90, (2.0, 0.25)), ("Theirs", 0.95, (1.0, 1.04))
    )
    assert lines[0] == (
        "toy: the test scores differ by 0.0500, more than 0.01: Theirs scored "
        "higher (accuracy: Ours 0.9000, Theirs 0.9500)."
    )
    assert lines[1] == (
        "  first fit, with compilation: Theirs was 2.0x faster than Ours "
        "(Ours 2.00 s, Theirs 1.00 s)."
    )
    assert lines[2] == (
        "  second fit, compiled: Ours was 4.2x faster than Theirs "
        "(Ours 0.25 s, Theirs 1.04 s)."
    )
    lines = _verdict(
        "toy", "R^2", ("Ours", 0.501, (1.0, 1.0)), ("Theirs", 0.49, (1.05, 0.95))
    )
    assert lines[0] == (
        "toy: the test scores are equal within 0.02 (R^2: Ours 0.5010, Theirs 0.4900)."
    )
    assert lines[1].endswith("equally fast within 10% (Ours 1.00 s, Theirs 1.05 s).")
    assert lines[2].endswith("equally fast within 10% (Ours 1.00 s, Theirs 0.95 s).")
    for line in lines[1:]:
        assert _SPEED.match(line)
