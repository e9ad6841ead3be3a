"""Student implementations for the tests of the hidden checks: correct ones in other styles
than the reference, the blank stubs, and catalogues of realistic mistakes. A mistake is a
text replacement in the reference's source (or a replacement function), so each entry stays
one line of intent and stays in step with the reference."""
from __future__ import annotations

import importlib
import inspect


def namespace(module_name: str) -> dict:
    """The globals a student notebook would have after running this module's code."""
    return dict(vars(importlib.import_module(module_name)))


def mutated(module_name: str, replacements: list[tuple[str, str]],
            extra: dict | None = None) -> dict:
    """The module's source with each (old, new) replaced once, executed as a notebook would."""
    source = inspect.getsource(importlib.import_module(module_name))
    for old, new in replacements:
        if old not in source:
            raise ValueError(f"mutation target not found in {module_name}: {old!r}")
        source = source.replace(old, new, 1)
    env = {"__name__": f"student_{module_name.rsplit('.', 1)[-1]}"}
    exec(compile(source, f"<mutant of {module_name}>", "exec"), env)
    env.update(extra or {})
    return env


def failure(check, env) -> str | None:
    """The check's feedback, or None if it passes. Anything but AssertionError is a bug."""
    try:
        check(env)
    except AssertionError as err:
        return str(err)
    return None
