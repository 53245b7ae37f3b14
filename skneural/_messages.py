"""Error messages for names the user typed: the valid names, sorted, and the
closest one."""

import difflib


def did_you_mean(value, names):
    """``" Did you mean 'adam'?"`` for the closest of ``names``, or ``""``.

    The closest name is :func:`difflib.get_close_matches`'s (similarity ratio
    at least 0.6), compared without case.
    """
    if not isinstance(value, str):
        return ""
    lower = {str(n).lower(): n for n in names}
    close = difflib.get_close_matches(value.lower(), list(lower), n=1)
    return f" Did you mean {lower[close[0]]!r}?" if close else ""


def one_of(names):
    """The names, sorted and quoted: ``"'adam', 'lbfgs' or 'sgd'"``."""
    names = sorted(map(str, names))
    quoted = [repr(n) for n in names]
    if len(quoted) < 2:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
