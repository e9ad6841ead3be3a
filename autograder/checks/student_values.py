"""What a student's function returned, read, compared and shown without running any of the
student's code: a value is looked into only when it is built from plain ints, floats,
bools, strings and None (never through a student's `__eq__`, `__float__` or `__repr__`).
Used by the cnn_costs checks (formula_probe.py, cost_table_checks.py).
"""
from __future__ import annotations

import math
import re

from solutions import tolerance
from autograder.checks.common import exact_int

OPAQUE = object()  # stands for a student value this module will not look into


def type_name(value) -> str:
    t = type(value)
    if t.__name__ == "RemoteObject" and t.__module__ == "autograder.sandbox":
        # An object the sandbox would not send as plain data: name the student's own type.
        mro = object.__getattribute__(value, "_mro")
        qualified = mro[0] if mro else "object"
    else:
        qualified = f"{t.__module__}.{t.__qualname__}"
    for prefix in ("builtins.", "__main__."):
        if qualified.startswith(prefix):
            return qualified[len(prefix):]
    return qualified


def plain_value(value):
    """`value` if it is built from plain ints, floats, bools, strings and None (safe to
    compare and show without running student code), else OPAQUE."""
    if value is None or type(value) in (int, float, bool, str):
        return value
    if type(value) in (tuple, list) and len(value) <= 64:
        items = [plain_value(v) for v in value]
        if all(v is not OPAQUE for v in items):
            return type(value)(items)
    return OPAQUE


def show_value(value) -> str:
    plain = plain_value(value)
    if plain is OPAQUE:
        return f"a {type_name(value)} object"
    text = repr(plain)
    return text if len(text) <= 80 else text[:77] + "..."


def agree(a, b, loose: bool = False) -> bool:
    """Same value and, unless `loose`, same type; tuples and lists compare item by item."""
    if a is OPAQUE or b is OPAQUE:
        return False
    seq = (tuple, list)
    if type(a) in seq or type(b) in seq:
        return (type(a) in seq and type(b) in seq and len(a) == len(b)
                and all(agree(x, y, loose) for x, y in zip(a, b)))
    if not loose and type(a) is not type(b):
        return False
    return tolerance.close(a, b, rel=1e-9, abs=1e-9, sequences="either")


def fits(predicted, value, loose: bool = False) -> bool:
    """Whether a mistake's predicted value is the student's answer: the same value of the
    same type (`agree`) or, for counts, the int a student makes of the float the mistake
    gives, with int() or round() at the end (FLOPs from an unrounded output size)."""
    seq = (tuple, list)
    if type(predicted) in seq and type(value) in seq:
        return len(predicted) == len(value) and all(
            fits(p, v, loose) for p, v in zip(predicted, value))
    if agree(predicted, value, loose):
        return True
    return (not loose and type(predicted) is float and type(value) is int
            and math.isfinite(predicted) and value in (int(predicted), round(predicted)))


def is_kb_type(value, allow_int: bool = False) -> bool:
    """A float; numpy.float64 counts (it is a float subclass, and numpy's own C type cannot
    be rigged; the sandbox sends it over as a plain float already). With `allow_int`, a
    plain int too (the lecture tables' checks: the number is what they are about)."""
    t = type(value)
    return (t is float or (allow_int and t is int)
            or (t.__module__ == "numpy" and t.__name__ == "float64"))


def accepted(value, expected, kind: str, allow_int: bool = False) -> bool:
    """The strict grading rule: kind "int" (a plain int) or "kb" (a float)."""
    if kind == "kb":
        return is_kb_type(value, allow_int) and tolerance.close(value, expected, rel=1e-9,
                                                                abs=1e-12)
    return exact_int(value) and int(value) == expected


# Other words students use for an argument in an error message ("number of input channels
# must be positive"): any of them names it. Matched on whole words, underscores as spaces.
ARGUMENT_SYNONYMS = {
    "in_channels": ("in channel", "input channel", "cin", "c in"),
    "out_channels": ("out channel", "output channel", "cout", "c out", "filter"),
    "in_features": ("in feature", "input feature", "input size", "input dim", "fan in"),
    "out_features": ("out feature", "output feature", "output size", "output dim", "unit",
                     "neuron"),
    "kernel": ("filter size", "window"),
    "padding": ("pad",),
    "channels": ("channel",),
    "num_elements": ("element",),
    "size": ("height", "width", "dimension"),
}


def names_argument(message: str, names: tuple) -> bool:
    text = " " + re.sub(r"[^a-z0-9]+", " ", message.lower()) + " "
    words = set()
    for name in names:
        words |= {name, *ARGUMENT_SYNONYMS.get(name, ())}
    # A whole word or phrase, plurals and suffixes allowed ("pad" in "padding", "channels").
    return any(re.search(r"(?<![a-z0-9])" + re.escape(w.replace("_", " ")), text)
               for w in words)


def catching(fn, name: str):
    """`fn`, returning ("returned", value) or ("raised", error) so an exception is an
    answer, not a failure; NotImplementedError and timeouts still reach `call`."""
    def wrapper(*args, **kwargs):
        try:
            return "returned", fn(*args, **kwargs)
        except (NotImplementedError, AssertionError):
            raise  # not implemented, timeouts, a lost sandbox: `call` words them
        except Exception as err:  # noqa: BLE001 - the student's error is the answer
            return "raised", err
    wrapper.__name__ = name
    return wrapper


def call_text(name: str, args: tuple, kwargs: dict) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def type_problem(name: str, value, kind: str) -> str:
    """Why a returned value of the wrong type is wrong, and what to return instead."""
    tname = type_name(value)
    # show_value names the type of a value it will not show; name it for one it shows.
    article = "an" if tname[:1] in "aeiou" else "a"
    described = (show_value(value) if plain_value(value) is OPAQUE
                 else f"{show_value(value)}, {article} {tname}")
    if tname.startswith("numpy."):
        wanted = "float(x)" if kind == "kb" else "int(x)"
        return f"returned {tname}; return a Python {wanted[:-3]} (e.g. {wanted})"
    if kind == "kb":
        whole = " (a float even where the KB are whole: use /, not //)" if \
            type(value) is int else ""
        return f"returned {described}; memory_kb must return a Python float{whole}"
    if type(value) is float:
        return (f"returned a float ({show_value(value)}); {name} must return a Python int: use // "
                f"(floor division) rather than /")
    if type(value) is bool:
        return f"returned a bool ({show_value(value)}); {name} must return a Python int"
    if isinstance(value, int):
        return f"returned a {tname} (a subclass of int); return a plain Python int"
    return f"returned {described}; {name} must return a plain Python int"
