"""Student implementations for the tests of the hidden checks: correct ones in other styles
than the reference, the blank stubs, and the mistake catalogue's entries (solutions/mistakes)
as the tests make them. A mistake is an edit of a module's source, made by the catalogue's
own applier (solutions/mistakes/edits.py, as `cnnlab mutants` makes it), or a replacement
function, so each entry stays one line of intent and stays in step with the reference."""
from __future__ import annotations

import importlib
import inspect

from autograder.reference_source import self_contained_source
from solutions.mistakes.edits import apply_edits


def namespace(module_name: str) -> dict:
    """The globals a student notebook would have after running this module's code."""
    return dict(vars(importlib.import_module(module_name)))


def mutated(module_name: str, edits, extra: dict | None = None) -> dict:
    """The module's source with its edits made (each find occurring exactly once), executed as
    a notebook would."""
    source = apply_edits(self_contained_source(module_name.split(".", 1)[1])
                         if module_name.startswith("solutions.")  # networks inlined
                         else inspect.getsource(importlib.import_module(module_name)), edits)
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
