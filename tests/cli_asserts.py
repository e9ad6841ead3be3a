"""Assertions shared by the command-line tests."""
from __future__ import annotations


def one_line_error(capsys, *words):
    """The command printed exactly one error line to stderr, with each of `words` in it,
    and no traceback; returns what was captured."""
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return captured
