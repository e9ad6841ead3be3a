"""Feedback for the public tests: what your function returned, and which usual mistake it
looks like.

The public tests (`otter check`, `grader.check`) build their failure messages with

    explain(call, got, expected, what="", note="")
    -> "conv_output_size(227, 11, 4, 2) returned 55, expected 56 (AlexNet conv1):
        it looks like you forgot the +1 in floor((W - K + 2P) / S) + 1"

`call` is the call as the test writes it, `got` what came back (a number, a shape, a list, a
tensor: tensors are summarized by shape, dtype and their first values), `expected` what the
test wanted (a value, or a phrase such as "a ValueError that names the stride").

HINTS maps each public test's (call, what) to the values that the course's catalogued
mistakes give for that very call, with a description of each. It was written by `cnnlab
build`, which ran these public tests once per catalogued mistake: it holds nothing but the
public tests' own calls, wrong values and descriptions (no hidden test, no expected value,
no solution). Editing this file changes only the messages you see, never a grade.
"""
import math

nan, inf = float("nan"), float("inf")  # as HINTS writes them
HINTS = {}  # (call, what) -> [(fingerprint of a wrong value, what it looks like)]

REL_TOL, ABS_TOL = 1e-6, 1e-9  # two values are "the same" within these (float round-off)
SHOWN_ITEMS = 6                # items of a long list or tensor shown in a message


def explain(call, got, expected, what="", note=""):
    """The failure message of a public test; never raises (a broken hint must not hide the
    test's own failure)."""
    try:
        message = f"{call} returned {what + ' ' if what else ''}{shown(got)}, " \
                  f"expected {expected if isinstance(expected, str) else shown(expected)}"
        if note:
            message += f" ({note})"
        mine = fingerprint(got)
        hints = [hint for wrong, hint in HINTS.get((call, what), ()) if same(mine, wrong)]
        if hints:
            message += ": it looks like " + ", or ".join(dict.fromkeys(hints))
        # Otter strips quotes from both ends of a message: keep a final one (H' x W').
        return message + "." if message.endswith(("'", '"')) else message
    except Exception:  # noqa: BLE001 - a value that cannot even be shown
        return f"{call} did not return {expected!r}"


def _is_tensor(x):
    return all(hasattr(x, a) for a in ("shape", "dtype", "detach", "flatten"))


def _shape(t):
    return tuple(int(d) for d in t.shape)


def _float_values(t):
    """The tensor's entries as floats, flattened (None on the meta device)."""
    t = t.detach()
    if getattr(t.device, "type", "") == "meta":
        return None
    return [float(v) for v in t.flatten().double().cpu().tolist()]


def shown(x, top=True):
    """A value as a message shows it: short, and never a whole tensor."""
    if isinstance(x, bool) or x is None:
        return repr(x)
    if isinstance(x, int):
        return f"{x:,}" if top else repr(x)
    if isinstance(x, float):
        return f"{x:.8g}"
    if isinstance(x, (list, tuple)):
        items = [shown(v, top=False) for v in x[:SHOWN_ITEMS]]
        if len(x) > SHOWN_ITEMS:
            items.append(f"... ({len(x)} items)")
        if isinstance(x, tuple) and len(x) == 1:
            return f"({items[0]},)"
        return ("(%s)" if isinstance(x, tuple) else "[%s]") % ", ".join(items)
    if _is_tensor(x):
        dtype = str(x.dtype).replace("torch.", "")
        values = _float_values(x)
        if values is None:
            return f"a tensor of shape {_shape(x)}, {dtype}, on the meta device"
        if not _shape(x):
            return f"tensor({values[0]:.6g}, {dtype})"
        first = ", ".join(f"{v:.4g}" for v in values[:3]) + (", ..." if len(values) > 3 else "")
        return f"a tensor of shape {_shape(x)}, {dtype}: [{first}]"
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def fingerprint(x):
    """What two values are compared by: numbers, strings and nested lists as they are; a
    tensor as its shape and a few sums of its entries; any other object as ("object",),
    which is the same as nothing."""
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, (list, tuple)):
        return [fingerprint(v) for v in x]
    if _is_tensor(x):
        values = _float_values(x)
        if values is None:
            return ("tensor", list(_shape(x)), None)
        stats = [sum(values), sum(abs(v) for v in values), sum(v * v for v in values),
                 values[0] if values else 0.0, values[-1] if values else 0.0]
        return ("tensor", list(_shape(x)), stats)
    return ("object",)


def same(a, b):
    """Whether two fingerprints are the same value, up to float round-off."""
    if isinstance(a, tuple) or isinstance(b, tuple):  # tensors, other objects
        return isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "tensor" \
            and a[1] == b[1] and (a[2] is None) == (b[2] is None) \
            and (a[2] is None or same(a[2], b[2]))
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) \
            and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) \
            or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b
