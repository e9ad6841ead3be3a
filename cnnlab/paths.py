"""Checks on the paths a command is given, made before any work: a bad --out, --csv or --plot
is a one-line UserError at once, not a traceback after minutes of grading. An input file is
checked by the grader's own rule (autograder.inputs.input_problem), with its reasons."""
from __future__ import annotations

import os
from pathlib import Path

from autograder.inputs import input_problem

# What matplotlib's savefig writes without extra packages (Agg, PDF, SVG, PS backends).
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".ps", ".eps", ".tif", ".tiff",
                 ".webp")


def _user_error(message: str) -> Exception:
    from cnnlab.cli import UserError
    return UserError(message)


def output_file(path: str | os.PathLike, option: str,
                suffixes: tuple[str, ...] | None = None) -> Path:
    """`path` as a file this command may write: not a folder, in a folder that exists and is
    writable, with one of `suffixes` (when given)."""
    p = Path(path)
    if p.is_dir():
        raise _user_error(f"{option} {path}: is a folder; give a file name")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise _user_error(f"{option} {path}: unsupported file type {p.suffix or '(none)'!r}; "
                          f"use one of {', '.join(suffixes)}")
    folder = p.resolve().parent
    if folder.exists() and not folder.is_dir():
        raise _user_error(f"{option} {path}: {folder} is a file, not a folder")
    if not folder.exists():
        raise _user_error(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _user_error(f"{option} {path}: folder {folder} is not writable")
    return p


def output_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """`path` as a folder this command writes into, created (with its parents) if needed."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise _user_error(f"{option} {path}: is a file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _user_error(f"{option} {path}: cannot create the folder "
                          f"({err.strerror or err})") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise _user_error(f"{option} {path}: folder is not writable")
    return p


def input_file(path: str | os.PathLike, option: str | None = None) -> Path:
    """`path` as a file this command may read (autograder.inputs.input_problem: not missing,
    a folder, a device, unreadable or huge), or a one-line error '[OPTION ]PATH: cannot
    read: why'."""
    problem = input_problem(path)
    if problem:
        where = f"{option} {path}" if option else f"{path}"
        raise _user_error(f"{where}: cannot read: {problem}")
    return Path(path)
