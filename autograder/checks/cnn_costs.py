"""Hidden-test logic of the `cnn_costs` assignment.

`QUESTIONS` maps each question (a contract function name) to its checks; Otter splits the
question's points equally between them. Every check takes the student notebook's global
namespace `env`, calls the student's function only through `common.call` (per-call time
limit, student exceptions become feedback), and raises AssertionError with feedback that
names the likely mistake from `autograder.mistakes`, shows the arguments of the failing call
and the student's own answer, and never the expected value.

Each check pins the lecture's examples and the edge cases first, then fuzzes against the
reference with Hypothesis (an inner function, deterministic `grading_settings`). Hypothesis's
own report never reaches a student: a failure is recorded by the check, and the check raises
its own AssertionError once Hypothesis is done.

Decisions, made once here:
- Counts and sizes must be a plain `int` (`type(v) is int`): bool, float, numpy integers and
  int subclasses fail, each with a message saying what was returned and what to return.
- `memory_kb` returns a `float` (exactly that type, or numpy.float64, which is a float
  subclass), even where the KB are whole: an `int` is refused as a float is refused where an
  int is due (the contract: every result is an int except memory_kb). Compared with a
  relative tolerance of 1e-9. In a cost_table row the same rule holds, asked once, by
  check_cost_table_random (the lecture tables' checks take an int of the right value).
- `cost_table` returns a list (or, leniently, a tuple) of dicts; extra keys are fine.
  `output_shape` may be a tuple (the contract) or, leniently, a list of plain ints: the
  numbers are what the lecture teaches (docs/contract_notes.md, "Promises and leniencies").
  A row's `name` is checked only where the layer names itself; the contract leaves the
  default name of an unnamed layer open. cost_table must raise ValueError for a layer out
  of range, and must leave the layers it is given as they were (compared where the
  student's code runs: in a sandbox it works on copies).
- Student values are compared, shown and diagnosed only when made of plain ints, floats and
  strings, read by this module itself (never through a student's `__eq__`, `__float__` or
  `__repr__`), and expected values are computed only after the student's call returns.
- Out-of-range arguments must raise ValueError; in the pinned cases its message must name
  the offending argument (the contract), in the fuzzed ones any ValueError will do. Each
  range is called just outside it with nothing else wrong (stride 0, padding -1, a kernel
  one larger than the padded input, a size of 0 that padding would let the kernel fit),
  and sizes, channels and features must be >= 1 (docs/contract_notes.md). A pool's stride
  of 0 is out of range, not the default: `stride = stride or kernel` takes it for None and
  is told so.
- The likely mistake is ranked by `mistakes.rank`: the catalogued one that reproduces at
  least half of the wrong answers and agrees with the most of all the student's answers,
  so the entry that matches on every input probed wins: a single call cannot tell "forgot
  the +1" from "padding on one side" when P == S, nor, on a 1x1 input, the missing +1 from
  "pooling is free", and an H x H for H x W can happen to double the FLOPs. Before ranking,
  a failing check also asks the student's function the function's pinned cases it has not
  asked yet (DIAGNOSTIC_CASES): a fuzzed check often fails first on the smallest input,
  where most mistakes agree. Where two still fit equally well, both are named. Mistakes in
  an output size are also looked for in the FLOPs and tables that reuse it. A count that
  is the int() or round() of a mistake's float (an unrounded output size, converted at the
  end) fits that mistake.
"""
from __future__ import annotations

import collections
import copy
import functools
import inspect
import math
import re
import time
from typing import Callable

from hypothesis import Phase, Verbosity, given, settings
from hypothesis import strategies as st

from autograder import mistakes, strategies
from autograder.checks.common import (StudentTimeout, call, call_many, exact_int,
                                      grading_settings, student_failure, student_function,
                                      timeout_message)
from solutions import cnn_costs as reference

TIMEOUT = 2.0          # seconds per student call: these formulas take microseconds
SHRINK_BUDGET = 3.0    # seconds a check may spend looking for a smaller failing example
CHECK_BUDGET = 30.0    # seconds of student calls per check before it gives up as too slow
BATCH_BUDGET = 5.0     # seconds for one batch of fuzzed calls; past it, one call at a time

# Lecture hints for a wrong answer that no catalogued mistake explains. No results in them.
HINTS = {
    "conv_output_size": "use the lecture's W' = floor((W - K + 2P) / S) + 1, and work AlexNet "
                        "conv1 (227x227 input, 11x11 kernel, stride 4, padding 2) by hand",
    "pool_output_size": "a pool uses the conv formula W' = floor((W - K + 2P) / S) + 1, where "
                        "stride=None means stride = kernel (AlexNet pool1: 3x3 window, stride 2)",
    "conv_params": "a conv has Cout*Cin*K*K weights plus Cout biases (only with bias=True); "
                   "work AlexNet conv1 (64 filters 11x11 over 3 channels) by hand",
    "conv_flops": "(Cout*H'*W') output elements, each Cin*K*K multiply-adds counted as 1 FLOP; "
                  "H' and W' come from the output-size formula, separately for H and W",
    "pool_flops": "(C*H'*W') output elements, each looking at K*K inputs; stride=None means "
                  "stride = kernel, and H' and W' are computed separately",
    "fc_params": "a fully connected layer has Cin*Cout weights plus Cout biases (only with "
                 "bias=True); work AlexNet fc6 (9216 -> 4096) by hand",
    "fc_flops": "a fully connected layer does Cin*Cout multiply-adds, 1 FLOP each",
    "memory_kb": "memory is output elements x 4 bytes (float32), and KB = bytes / 1024",
}

TABLE_HINTS = {
    "output_shape": "conv gives (Cout, H', W'), pool (C, H', W'), flatten (C*H*W,) and fc "
                    "(out_features,), with the output-size formula for H' and W'",
    "memory_kb": "a row's memory is its output's elements x 4 bytes / 1024",
    "params": "conv Cout*Cin*K*K (+ Cout with bias), fc Cin*Cout (+ Cout with bias), where fc's "
              "Cin is the element count of its input; pool and flatten have none",
    "flops": "conv (Cout*H'*W')*(Cin*K*K), pool (C*H'*W')*(K*K), fc Cin*Cout, flatten 0",
}

COLUMNS = ("name", "type", "output_shape", "memory_kb", "params", "flops")
NUMERIC_COLUMNS = ("output_shape", "memory_kb", "params", "flops")

_OPAQUE = object()  # stands for a student value this module will not look into


class _Mismatch(Exception):
    """Tells Hypothesis an example failed; the check keeps the details itself."""


# ---------------------------------------------------------------------------------------
# Values: reading, comparing and showing what a student returned
# ---------------------------------------------------------------------------------------

def _type_name(value) -> str:
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


def _plain(value):
    """`value` if it is built from plain ints, floats, bools, strings and None (safe to
    compare and show without running student code), else _OPAQUE."""
    if value is None or type(value) in (int, float, bool, str):
        return value
    if type(value) in (tuple, list) and len(value) <= 64:
        items = [_plain(v) for v in value]
        if all(v is not _OPAQUE for v in items):
            return type(value)(items)
    return _OPAQUE


def _show(value) -> str:
    plain = _plain(value)
    if plain is _OPAQUE:
        return f"a {_type_name(value)} object"
    text = repr(plain)
    return text if len(text) <= 80 else text[:77] + "..."


def _agree(a, b, loose: bool = False) -> bool:
    """Same value and, unless `loose`, same type; tuples and lists compare item by item."""
    if a is _OPAQUE or b is _OPAQUE:
        return False
    seq = (tuple, list)
    if type(a) in seq or type(b) in seq:
        return (type(a) in seq and type(b) in seq and len(a) == len(b)
                and all(_agree(x, y, loose) for x, y in zip(a, b)))
    if not loose and type(a) is not type(b):
        return False
    return mistakes.same_value(a, b, rel=1e-9)


def _fits(predicted, value, loose: bool = False) -> bool:
    """Whether a mistake's predicted value is the student's answer: the same value of the
    same type (`_agree`) or, for counts, the int a student makes of the float the mistake
    gives, with int() or round() at the end (FLOPs from an unrounded output size)."""
    seq = (tuple, list)
    if type(predicted) in seq and type(value) in seq:
        return len(predicted) == len(value) and all(
            _fits(p, v, loose) for p, v in zip(predicted, value))
    if _agree(predicted, value, loose):
        return True
    return (not loose and type(predicted) is float and type(value) is int
            and math.isfinite(predicted) and value in (int(predicted), round(predicted)))


def _kb_type(value, allow_int: bool = False) -> bool:
    """A float; numpy.float64 counts (it is a float subclass, and numpy's own C type cannot
    be rigged; the sandbox sends it over as a plain float already). With `allow_int`, a
    plain int too (the lecture tables' checks: the number is what they are about)."""
    t = type(value)
    return (t is float or (allow_int and t is int)
            or (t.__module__ == "numpy" and t.__name__ == "float64"))


def _accepted(value, expected, kind: str, allow_int: bool = False) -> bool:
    """The strict grading rule: kind "int" (a plain int) or "kb" (a float)."""
    if kind == "kb":
        return _kb_type(value, allow_int) and math.isclose(
            float(value), expected, rel_tol=1e-9, abs_tol=1e-12)
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


def _names_argument(message: str, names: tuple) -> bool:
    text = " " + re.sub(r"[^a-z0-9]+", " ", message.lower()) + " "
    words = set()
    for name in names:
        words |= {name, *ARGUMENT_SYNONYMS.get(name, ())}
    # A whole word or phrase, plurals and suffixes allowed ("pad" in "padding", "channels").
    return any(re.search(r"(?<![a-z0-9])" + re.escape(w.replace("_", " ")), text)
               for w in words)


def _catching(fn, name: str):
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


def _signature(name: str, args: tuple, kwargs: dict) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _type_problem(name: str, value, kind: str) -> str:
    """Why a returned value of the wrong type is wrong, and what to return instead."""
    tname = _type_name(value)
    # _show names the type of a value it will not show; name it for one it shows.
    article = "an" if tname[:1] in "aeiou" else "a"
    described = (_show(value) if _plain(value) is _OPAQUE
                 else f"{_show(value)}, {article} {tname}")
    if tname.startswith("numpy."):
        wanted = "float(x)" if kind == "kb" else "int(x)"
        return f"returned {tname}; return a Python {wanted[:-3]} (e.g. {wanted})"
    if kind == "kb":
        whole = " (a float even where the KB are whole: use /, not //)" if \
            type(value) is int else ""
        return f"returned {described}; memory_kb must return a Python float{whole}"
    if type(value) is float:
        return (f"returned a float ({_show(value)}); {name} must return a Python int: use // "
                f"(floor division) rather than /")
    if type(value) is bool:
        return f"returned a bool ({_show(value)}); {name} must return a Python int"
    if isinstance(value, int):
        return f"returned a {tname} (a subclass of int); return a plain Python int"
    return f"returned {described}; {name} must return a plain Python int"


# ---------------------------------------------------------------------------------------
# Diagnosis: which catalogued mistake explains the student's answers
# ---------------------------------------------------------------------------------------

def _candidates(target: str) -> tuple:
    """(mistake, wrong version of `target`, whether the mistake is in `target` itself)."""
    return mistakes.candidates(target)


def _safe(fn, args):
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - a wrong formula may fail where the right one does not
        return _OPAQUE


def _mistake_phrase(name: str, mistake, own: bool, others=()) -> str:
    """`others`: mistakes that fit the answers just as well, named as alternatives."""
    alternatives = "".join(f" (or it {m.description})" for m in others[:2])
    if own:
        return f"looks like it {mistake.description}{alternatives}"
    return (f"looks like the output size it uses is wrong: it {mistake.description}"
            f"{alternatives} (fix that in {mistake.target}, which {name} should reuse)")


# ---------------------------------------------------------------------------------------
# One check's calls of one student function
# ---------------------------------------------------------------------------------------

class _Probe:
    """Calls one student function, remembers every answer, and turns failures into
    feedback."""

    def __init__(self, env: dict, name: str):
        self.name = name
        self.fn = student_function(env, name)
        self.ref = getattr(reference, name)
        self.signature = inspect.signature(self.ref)
        self.kind = "kb" if name == "memory_kb" else "int"
        self.observations: list[tuple[tuple, object]] = []  # (full args, plain value)
        self.failures: list[tuple] = []  # ("value", args, kwargs, value, full) | ("message", text)
        self.ahead: collections.deque = collections.deque()  # ((args, kwargs), outcome)
        self.started = time.monotonic()

    # -- calling ------------------------------------------------------------------------
    def full_args(self, args: tuple, kwargs: dict) -> tuple:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def _ask(self, fn, args: tuple, kwargs: dict):
        """`call(fn, *args, **kwargs)`: answered from the batch `cases` asked ahead when
        its next call is this one, else asked now."""
        if self.ahead and self.ahead[0][0] == (args, kwargs):
            _, (outcome, answer) = self.ahead.popleft()
            name = getattr(fn, "__name__", "your function")
            if outcome == "timeout":
                raise StudentTimeout(timeout_message(f"`{name}`", TIMEOUT))
            if outcome == "raised":
                raise student_failure(name, args, kwargs, answer)
            return answer
        self.ahead.clear()
        return call(fn, *args, timeout=TIMEOUT, **kwargs)

    def value(self, args: tuple, kwargs: dict) -> bool:
        """Call with valid arguments; record the answer; whether it is right."""
        value = self._ask(self.fn, args, kwargs)
        expected = self.ref(*args, **kwargs)  # only now: student code never sees it
        full = self.full_args(args, kwargs)
        self.observations.append((full, _plain(value)))
        if _accepted(value, expected, self.kind):
            return True
        self.failures.append(("value", args, kwargs, value, full))
        return False

    def error(self, args: tuple, kwargs: dict, names: tuple = ()) -> bool:
        """Call with invalid arguments: it must raise ValueError, whose message names one
        of `names` (when given)."""
        outcome, payload = self._ask(self._catching(), args, kwargs)
        sig = _signature(self.name, args, kwargs)
        try:
            self.ref(*args, **kwargs)
            raise RuntimeError(f"grader bug: {sig} is valid for the reference")
        except ValueError as err:
            reason = str(err)
        if outcome == "raised" and isinstance(payload, ValueError):
            if not names or _names_argument(str(payload), names):
                return True
            self.failures.append(("message", (
                f"`{sig}` raised ValueError({str(payload)!r}), but the message should name the "
                f"offending argument ({names[0]}), since {reason}")))
            return False
        if outcome == "raised":
            text = (f"`{sig}` raised {type(payload).__name__}, but it must raise ValueError, "
                    f"since {reason}")
        else:
            text = f"`{sig}` returned {_show(payload)}, but it must raise ValueError, since {reason}"
            if "larger than the padded input" in reason and exact_int(payload) and payload > 0:
                text += (". (The lecture's formula takes the floor, where int() and int(x / s) "
                         "truncate toward zero; either way a kernel that does not fit the "
                         "padded input is an error.)")
            elif self.name.startswith("pool") and self._stride_zero(args, kwargs):
                text += (": a stride of 0 is out of range, not the default (only None means "
                         "stride = kernel): test `stride is None`, not `stride or kernel`")
        self.failures.append(("message", text))
        return False

    def _catching(self):
        return _catching(self.fn, self.name)

    def _name_first(self) -> None:
        """Ask the function's name before a batch, as `call` asks it before each call (a
        sandbox's object keeps it): a call that ends the process can then be named."""
        try:
            getattr(self.fn, "__name__", None)
        except Exception:  # noqa: BLE001 - `call` meets the same and says so
            pass

    def _ask_ahead(self, method: Callable, cases: list) -> None:
        """The calls of `cases` in one batch, ending where one call at a time would end the
        cases: at any exception for values, at those `_catching` lets through for errors."""
        self._name_first()
        calls = [(case[0], case[1]) for case in cases]
        stop_on = (BaseException,) if method is _Probe.value else (NotImplementedError,
                                                                    AssertionError)
        outcomes = call_many(self.fn, calls, timeout=TIMEOUT, budget=BATCH_BUDGET,
                             stop_on=stop_on)
        self.ahead = collections.deque()
        for (args, kwargs), (outcome, answer) in zip(calls, outcomes):
            if method is _Probe.error and outcome == "returned":
                answer = ("returned", answer)
            elif method is _Probe.error and outcome == "raised" \
                    and not isinstance(answer, (NotImplementedError, AssertionError)):
                outcome, answer = "returned", ("raised", answer)
            self.ahead.append(((args, kwargs), (outcome, answer)))

    def _stride_zero(self, args: tuple, kwargs: dict) -> bool:
        bound = self.signature.bind(*args, **kwargs)
        return bound.arguments.get("stride") == 0 and type(bound.arguments["stride"]) is int

    # -- running cases ------------------------------------------------------------------
    def cases(self, method: Callable, cases: list) -> None:
        """Pinned cases: run them all (more answers, better diagnosis), then report. Their
        calls are asked ahead, in one batch."""
        self._ask_ahead(method, cases)
        try:
            for case in cases:
                method(self, *case)
        finally:
            self.ahead.clear()
        if self.failures:
            raise AssertionError(self.feedback(prefer_last=False))

    def fuzz(self, method: Callable, strategy, max_examples: int) -> None:
        """Hypothesis-drawn cases against the reference. A function whose every answer is
        right costs one batch of calls: the examples a passing run draws are drawn once per
        process (`_drawn_examples`) and asked in one round trip. Any other outcome and
        Hypothesis runs as it would without the batch, finding and shrinking the failure
        (the same calls, the same feedback); only this module's feedback reaches the
        student."""
        asked = len(self.observations)
        spent = time.monotonic()
        if self._all_right(method, _drawn_examples(self, method, strategy, max_examples)):
            return
        del self.observations[asked:]
        self.started += time.monotonic() - spent  # the batch costs the search no budget
        self._search(method, strategy, max_examples)

    def _all_right(self, method: Callable, cases: list) -> bool:
        """Whether the student's function answers every case right, asked in one batch.
        A call past its time after right answers only is the failure the search would
        meet at the same call: it is reported as the search would report it."""
        self._name_first()
        calls = [(case[0], case[1]) for case in cases]
        outcomes = call_many(self.fn, calls, timeout=TIMEOUT, budget=BATCH_BUDGET)
        for case, (outcome, answer) in zip(cases, outcomes):
            args, kwargs = case[0], case[1]
            if outcome == "timeout":
                # The name `call` gives: the error checks call through _catching.
                name = (self.name if method is _Probe.error
                        else getattr(self.fn, "__name__", "your function"))
                raise AssertionError(timeout_message(f"`{name}`", TIMEOUT))
            if method is _Probe.value:
                if outcome != "returned" or not _accepted(answer, self.ref(*args, **kwargs),
                                                          self.kind):
                    return False
                self.observations.append((self.full_args(args, kwargs), _plain(answer)))
            elif method is _Probe.error:
                names = case[2] if len(case) > 2 else ()
                if outcome != "raised" or not isinstance(answer, ValueError) \
                        or (names and not _names_argument(str(answer), names)):
                    return False
            else:
                return False
        return len(outcomes) == len(cases)

    def _search(self, method: Callable, strategy, max_examples: int) -> None:
        """Hypothesis's search, each example one call. (The source of `run` seeds the
        derandomized search: edit it and every check draws other examples.)"""
        stopped: list[AssertionError] = []

        @settings(grading_settings(max_examples), verbosity=Verbosity.quiet,
                  report_multiple_bugs=False,
                  phases=(Phase.explicit, Phase.generate, Phase.shrink))
        @given(strategy)
        def run(case):
            if stopped:
                return
            now = time.monotonic()
            if self.failures and now > self.started + SHRINK_BUDGET:
                return  # small enough; stop shrinking
            if now > self.started + CHECK_BUDGET:
                stopped.append(AssertionError(
                    f"`{self.name}` is far too slow: {len(self.observations)} calls took "
                    f"over {CHECK_BUDGET:g} s"))
                return
            try:
                ok = method(self, *case)
            except StudentTimeout as err:
                stopped.append(err)
                return
            except AssertionError as err:  # the student's exception, phrased by `call`
                self.failures.append(("message", str(err)))
                raise _Mismatch() from None
            if not ok:
                raise _Mismatch()

        try:
            run()
        except Exception:  # noqa: BLE001 - Hypothesis's report (or Flaky) is not for students
            if not self.failures and not stopped:
                raise  # a grader bug, not the student's
        if stopped:
            raise AssertionError(str(stopped[0])) from None
        if self.failures:
            raise AssertionError(self.feedback(prefer_last=True)) from None

    # -- feedback -----------------------------------------------------------------------
    def feedback(self, prefer_last: bool) -> str:
        chosen = self.failures[-1] if prefer_last else self.failures[0]
        if chosen[0] == "message":
            return chosen[1]
        value_failures = [f for f in self.failures if f[0] == "value"]
        diagnosis = self.diagnose(value_failures, prefer_last)
        if diagnosis is not None:
            mistake, own, (_, args, kwargs, value, _), others = diagnosis
            return (f"`{_signature(self.name, args, kwargs)}` returned {_show(value)}: "
                    f"{_mistake_phrase(self.name, mistake, own, others)}.")
        _, args, kwargs, value, full = chosen
        sig = _signature(self.name, args, kwargs)
        loose = self.kind == "kb"
        right_type = _kb_type(value) if loose else type(value) is int
        if not right_type:
            text = f"`{sig}` {_type_problem(self.name, value, self.kind)}"
            expected = self.ref(*full)  # a value it cannot read is judged by its type alone
            if _plain(value) is not _OPAQUE and not _agree(_plain(value), expected, loose=True):
                text += f"; the value is off too. Hint: {HINTS[self.name]}"
            return text
        return (f"`{sig}` returned {_show(value)}, which is not what the lecture's formula "
                f"gives. Hint: {HINTS[self.name]}")

    def more_answers(self) -> None:
        """Ask the function's pinned cases not asked yet (DIAGNOSTIC_CASES): evidence to tell
        apart the mistakes that fit the failing answers alike. An exception is no answer; a
        timeout, or the check's time budget, ends the asking."""
        asked = {full for full, _ in self.observations}
        for args, kwargs in DIAGNOSTIC_CASES.get(self.name, ()):
            full = self.full_args(args, kwargs)
            if full in asked:
                continue
            if time.monotonic() > self.started + CHECK_BUDGET:
                return
            try:
                value = call(self.fn, *args, timeout=TIMEOUT, **kwargs)
            except StudentTimeout:
                return
            except AssertionError:
                continue
            asked.add(full)
            self.observations.append((full, _plain(value)))

    def diagnose(self, value_failures: list, prefer_last: bool):
        """(mistake, own, failure, equally good others) for the catalogued mistake that best
        explains all the answers (`mistakes.rank`) and reproduces one of the failing ones,
        which the feedback shows; None if none does."""
        self.more_answers()
        loose = self.kind == "kb"
        answers = [(full, value, not _agree(value, self.ref(*full), loose))
                   for full, value in self.observations]
        candidates = [((m, fn, own), functools.partial(_safe, fn))
                      for m, fn, own in _candidates(self.name)]
        groups = mistakes.rank(candidates, answers, functools.partial(_fits, loose=loose))
        for mistake, fn, own in (groups[0] if groups else ()):
            explained = [failure for failure in value_failures
                         if _fits(_safe(fn, failure[4]), _plain(failure[3]), loose)]
            if explained:
                # Shown: an answer whose number is off, where there is one (56.0 for 56 is
                # the mistake too, but says less).
                shown = [f for f in explained
                         if not mistakes.same_value(_plain(f[3]), self.ref(*f[4]))] or explained
                others = [m for m, _, o in groups[0] if o == own and m is not mistake]
                return mistake, own, shown[-1] if prefer_last else shown[0], others
        return None


_DRAWN: dict[tuple, list] = {}


def _drawn_examples(probe: _Probe, method: Callable, strategy, max_examples: int) -> list:
    """The cases Hypothesis draws for a run in which every answer is right (derandomized:
    the same on every run), drawn once per process, by the same search with an answer
    that is always right."""
    key = (probe.name, method.__name__, max_examples, repr(strategy))
    if key not in _DRAWN:
        drawn: list = []
        recorder = _Probe.__new__(_Probe)
        recorder.name, recorder.failures, recorder.observations = probe.name, [], []
        recorder.started = time.monotonic()
        recorder._search(lambda _, *case: drawn.append(case) or True, strategy, max_examples)
        _DRAWN[key] = drawn
    return copy.deepcopy(_DRAWN[key])


def _case(*args, **kwargs):
    return args, kwargs


def _err(*args, names=(), **kwargs):
    return args, kwargs, names


def _as_case(strategy):
    """A strategy of argument tuples as (args, kwargs) cases."""
    return strategy.map(lambda args: (tuple(args), {}))


# Words a ValueError's message may use for an argument (the contract: it names it).
KERNEL_FIT = ("kernel", "size", "input", "padding", "height", "width")


# ---------------------------------------------------------------------------------------
# conv_output_size
# ---------------------------------------------------------------------------------------

CONV_OUTPUT_SIZE_CASES = [
    _case(227, 11, stride=4, padding=2),  # AlexNet conv1
    _case(27, 5, padding=2),              # AlexNet conv2
    _case(224, 3, 1, 1),                  # VGG
    _case(28, 5, 1, 2),                   # LeNet conv1
    _case(32, 5, 1, 2),                   # P != S: one-sided padding shows
    _case(10, 3, 2, 0),                   # 7 / 2: floor, not ceil
    _case(5, 2, 2, 0),                    # 3 / 2: / gives a float
    _case(7, 7),                          # kernel = input: one output
    _case(5, 7, 1, 1),                    # kernel = padded input: one output
    _case(10, 2, 5, 0),                   # stride > kernel skips inputs
    _case(11, 3, 7, 1),
]


def check_conv_output_size_lecture(env):
    """The lecture's layers and the edge cases: floor, kernel = padded input, big strides."""
    _Probe(env, "conv_output_size").cases(_Probe.value, CONV_OUTPUT_SIZE_CASES)


def check_conv_output_size_random(env):
    _Probe(env, "conv_output_size").fuzz(
        _Probe.value, _as_case(strategies.conv_args()), max_examples=80)


def check_conv_output_size_errors(env):
    probe = _Probe(env, "conv_output_size")
    probe.cases(_Probe.error, [
        _err(3, 6, 4, 0, names=KERNEL_FIT),   # truncation would give 1
        _err(2, 5, 2, 1, names=KERNEL_FIT),   # floor gives 0, truncation 1
        _err(10, 0, names=("kernel",)),
        _err(10, -3, 2, names=("kernel",)),
        _err(10, 3, 0, names=("stride",)),
        _err(10, 3, -1, names=("stride",)),
        _err(10, 3, 1, -1, names=("padding",)),
        _err(0, 1, names=("size", "input", "kernel")),
        _err(-5, 3, names=("size", "input", "kernel")),
        _err(0, 1, 1, 1, names=("size", "input")),  # the padded input would fit the kernel
    ])
    probe.fuzz(_Probe.error,
               strategies.invalid_conv_args().map(lambda a: (a[:4], {}, ())), max_examples=40)


# ---------------------------------------------------------------------------------------
# pool_output_size
# ---------------------------------------------------------------------------------------

POOL_OUTPUT_SIZE_CASES = [
    _case(55, 3, 2),              # AlexNet pool1
    _case(224, 2, 2),             # VGG pool1
    _case(224, 2),                # stride omitted: stride = kernel
    _case(7, 3),
    _case(9, 3, stride=None),
    _case(13, 3, None, 1),
    _case(10, 3, 2, 1),           # 9 / 2: floor, not ceil
    _case(4, 4),                  # kernel = input: one output
    _case(3, 5, None, 1),         # kernel = padded input
    _case(9, 2, 5, 0),            # stride > kernel
]


def check_pool_output_size_lecture(env):
    """The lecture's pools, the stride default (None means the kernel) and edge cases."""
    _Probe(env, "pool_output_size").cases(_Probe.value, POOL_OUTPUT_SIZE_CASES)


def check_pool_output_size_random(env):
    _Probe(env, "pool_output_size").fuzz(
        _Probe.value, _as_case(strategies.pool_args()), max_examples=80)


def check_pool_output_size_errors(env):
    probe = _Probe(env, "pool_output_size")
    probe.cases(_Probe.error, [
        _err(8, 3, None, 2, names=("padding",)),   # padding > kernel // 2
        _err(8, 2, 2, 2, names=("padding",)),
        _err(8, 1, 1, 1, names=("padding",)),
        _err(3, 6, 4, 0, names=KERNEL_FIT),        # truncation would give 1
        _err(10, 0, names=("kernel",)),
        _err(10, 3, 0, names=("stride",)),         # 0 is out of range, not the default
        _err(10, 3, -1, names=("stride",)),
        _err(10, 2, -2, names=("stride",)),
        _err(10, 3, None, -1, names=("padding",)),
        _err(0, 1, names=("size", "input", "kernel")),
        _err(0, 2, None, 1, names=("size", "input")),  # the padded input would fit
    ])
    invalid = st.one_of(
        strategies.invalid_pool_padding().map(lambda a: (a, {}, ())),
        strategies.invalid_conv_args().map(lambda a: (a[:4], {}, ())),
    )
    probe.fuzz(_Probe.error, invalid, max_examples=40)


# ---------------------------------------------------------------------------------------
# conv_params
# ---------------------------------------------------------------------------------------

_channels = st.integers(1, 512)


CONV_PARAMS_CASES = [
    _case(3, 64, 11),             # AlexNet conv1
    _case(64, 192, 5),            # AlexNet conv2
    _case(256, 512, 3),           # VGG
    _case(1, 20, 5),              # LeNet conv1
    _case(5, 2, 3),               # Cin != Cout
    _case(16, 4, 1, bias=True),
]


def check_conv_params_values(env):
    probe = _Probe(env, "conv_params")
    probe.cases(_Probe.value, CONV_PARAMS_CASES)
    probe.fuzz(_Probe.value, _as_case(st.tuples(_channels, _channels, st.integers(1, 11))),
               max_examples=50)


CONV_PARAMS_NO_BIAS_CASES = [
    _case(3, 64, 11, bias=False),
    _case(64, 128, 3, bias=False),
    _case(7, 5, 1, bias=False),
]


def check_conv_params_no_bias(env):
    probe = _Probe(env, "conv_params")
    probe.cases(_Probe.value, CONV_PARAMS_NO_BIAS_CASES)
    probe.fuzz(_Probe.value,
               st.tuples(_channels, _channels, st.integers(1, 11)).map(
                   lambda a: (a, {"bias": False})), max_examples=40)


def check_conv_params_errors(env):
    probe = _Probe(env, "conv_params")
    probe.cases(_Probe.error, [
        _err(0, 64, 3, names=("in_channels", "in channels")),
        _err(-1, 2, 3, names=("in_channels", "in channels")),
        _err(3, 0, 3, names=("out_channels", "out channels")),
        _err(3, 64, 0, names=("kernel",)),
        _err(3, 64, -2, bias=False, names=("kernel",)),
    ])


# ---------------------------------------------------------------------------------------
# conv_flops
# ---------------------------------------------------------------------------------------

CONV_FLOPS_CASES = [
    _case(3, 227, 227, 64, 11, stride=4, padding=2),   # AlexNet conv1
    _case(64, 27, 27, 192, 5, 1, 2),                   # AlexNet conv2
    _case(3, 224, 224, 64, 3, 1, 1),                   # VGG conv1_1
    _case(1, 28, 28, 20, 5, padding=2),                # LeNet conv1
    _case(3, 227, 200, 64, 11, 4, 2),                  # non-square
    _case(1, 28, 20, 6, 5),
    _case(8, 10, 6, 4, 3, 2, 0),
    _case(2, 5, 9, 3, 7, 1, 1),                        # kernel = padded height
    _case(4, 16, 12, 8, 2, 5, 0),                      # stride > kernel
]


def check_conv_flops_lecture(env):
    """The lecture's layers, non-square inputs, kernel = padded input, big strides."""
    _Probe(env, "conv_flops").cases(_Probe.value, CONV_FLOPS_CASES)


def check_conv_flops_random(env):
    _Probe(env, "conv_flops").fuzz(
        _Probe.value, _as_case(strategies.conv_layer()), max_examples=60)


@st.composite
def _invalid_conv_flops(draw):
    """conv_flops arguments with one out of range (either spatial dimension, or a channel)."""
    cin, h, w, cout, k, s, p = draw(strategies.conv_layer())
    which = draw(st.sampled_from(["height", "width", "in_channels", "out_channels"]))
    if which == "in_channels":
        cin = draw(st.integers(-3, 0))
    elif which == "out_channels":
        cout = draw(st.integers(-3, 0))
    else:
        size, k, s, p, _ = draw(strategies.invalid_conv_args())
        h, w = (size, w + k) if which == "height" else (h + k, size)
    return (cin, h, w, cout, k, s, p), {}, ()


def check_conv_flops_errors(env):
    probe = _Probe(env, "conv_flops")
    probe.cases(_Probe.error, [
        _err(0, 32, 32, 16, 3, names=("in_channels", "in channels")),
        _err(3, 32, 32, 0, 3, names=("out_channels", "out channels")),
        _err(3, 4, 32, 16, 7, names=KERNEL_FIT),           # fits the width only
        _err(3, 32, 3, 16, 6, 4, 0, names=KERNEL_FIT),     # truncation would give 1
        _err(3, 4, 8, 4, 5, 1, 0, names=KERNEL_FIT),       # one larger than the height
        _err(3, 32, 32, 16, 3, 0, names=("stride",)),
        _err(3, 32, 32, 16, 3, 1, -1, names=("padding",)),
        _err(3, 32, 32, 16, 0, names=("kernel",)),
        _err(3, 0, 8, 4, 1, 1, 1, names=("height", "size", "input")),  # padding would fit
        _err(3, 8, 0, 4, 1, 1, 1, names=("width", "size", "input")),
    ])
    probe.fuzz(_Probe.error, _invalid_conv_flops(), max_examples=30)


# ---------------------------------------------------------------------------------------
# pool_flops
# ---------------------------------------------------------------------------------------

@st.composite
def _pool_layer(draw):
    """pool_flops arguments, non-square, stride sometimes None."""
    height, kernel, stride, padding = draw(strategies.pool_args())
    width = draw(st.integers(max(1, kernel - 2 * padding), 64))
    channels = draw(st.integers(1, 64))
    return (channels, height, width, kernel, stride, padding), {}


POOL_FLOPS_CASES = [
    _case(64, 55, 55, 3, 2),           # AlexNet pool1
    _case(64, 224, 224, 2, 2),         # VGG pool1
    _case(64, 224, 224, 2),            # stride omitted: stride = kernel
    _case(3, 7, 9, 3),                 # non-square, default stride
    _case(6, 28, 20, 2, stride=None),
    _case(5, 13, 9, 3, None, 1),
    _case(2, 10, 7, 3, 2, 1),          # floor, not ceil
    _case(2, 9, 11, 2, 5, 0),          # stride > kernel
    _case(3, 4, 6, 4),                 # kernel = height
]


def check_pool_flops_lecture(env):
    _Probe(env, "pool_flops").cases(_Probe.value, POOL_FLOPS_CASES)


def check_pool_flops_random(env):
    _Probe(env, "pool_flops").fuzz(_Probe.value, _pool_layer(), max_examples=60)


@st.composite
def _invalid_pool_flops(draw):
    c, h, w, k, s, p = draw(_pool_layer())[0]
    which = draw(st.sampled_from(["channels", "padding", "height", "width"]))
    if which == "channels":
        c = draw(st.integers(-3, 0))
    elif which == "padding":
        size, k, s, p = draw(strategies.invalid_pool_padding())
        h, w = size, size + 1
    else:
        size, k, s, p = draw(strategies.invalid_conv_args())[:4]
        h, w = (size, w + k) if which == "height" else (h + k, size)
    return (c, h, w, k, s, p), {}, ()


def check_pool_flops_errors(env):
    probe = _Probe(env, "pool_flops")
    probe.cases(_Probe.error, [
        _err(0, 8, 8, 2, names=("channels",)),
        _err(3, 8, 8, 3, None, 2, names=("padding",)),
        _err(3, 8, 2, 3, names=KERNEL_FIT),               # fits the height only
        _err(3, 8, 8, 2, -1, names=("stride",)),
        _err(3, 8, 8, 2, 0, names=("stride",)),            # 0 is out of range, not the default
        _err(3, 8, 8, 0, names=("kernel",)),
        _err(3, 8, 8, 0, 1, names=("kernel",)),            # a kernel of 0 alone
        _err(3, 8, 8, 2, None, -1, names=("padding",)),
        _err(3, 0, 8, 2, None, 1, names=("height", "size", "input")),  # padding would fit
        _err(3, 8, 0, 2, None, 1, names=("width", "size", "input")),
    ])
    probe.fuzz(_Probe.error, _invalid_pool_flops(), max_examples=30)


# ---------------------------------------------------------------------------------------
# fc_params, fc_flops, memory_kb
# ---------------------------------------------------------------------------------------

_features = st.integers(1, 100_000)


FC_PARAMS_CASES = [
    _case(9216, 4096),            # AlexNet fc6
    _case(4096, 1000),            # fc8
    _case(800, 500),              # LeNet fc1
    _case(7, 3, bias=True),
]


def check_fc_params_values(env):
    probe = _Probe(env, "fc_params")
    probe.cases(_Probe.value, FC_PARAMS_CASES)
    probe.fuzz(_Probe.value, _as_case(st.tuples(_features, _features)), max_examples=50)


FC_PARAMS_NO_BIAS_CASES = [_case(9216, 4096, bias=False), _case(3, 7, bias=False)]


def check_fc_params_no_bias(env):
    probe = _Probe(env, "fc_params")
    probe.cases(_Probe.value, FC_PARAMS_NO_BIAS_CASES)
    probe.fuzz(_Probe.value, st.tuples(_features, _features).map(
        lambda a: (a, {"bias": False})), max_examples=40)


def check_fc_params_errors(env):
    _Probe(env, "fc_params").cases(_Probe.error, [
        _err(0, 10, names=("in_features", "in features")),
        _err(-3, 4, names=("in_features", "in features")),
        _err(10, 0, names=("out_features", "out features")),
        _err(10, -1, bias=False, names=("out_features", "out features")),
    ])


FC_FLOPS_CASES = [_case(9216, 4096), _case(4096, 4096), _case(800, 500), _case(3, 7)]


def check_fc_flops_values(env):
    probe = _Probe(env, "fc_flops")
    probe.cases(_Probe.value, FC_FLOPS_CASES)
    probe.fuzz(_Probe.value, _as_case(st.tuples(_features, _features)), max_examples=50)


def check_fc_flops_errors(env):
    _Probe(env, "fc_flops").cases(_Probe.error, [
        _err(0, 10, names=("in_features", "in features")),
        _err(10, 0, names=("out_features", "out features")),
        _err(-2, -2),
    ])


MEMORY_KB_CASES = [
    _case(64 * 56 * 56),          # AlexNet conv1's output
    _case(3 * 224 * 224),         # VGG's input
    _case(4096), _case(1000), _case(250), _case(1), _case(0),
]


def check_memory_kb_values(env):
    probe = _Probe(env, "memory_kb")
    probe.cases(_Probe.value, MEMORY_KB_CASES)
    probe.fuzz(_Probe.value, _as_case(st.tuples(st.integers(0, 10**9))), max_examples=50)


def check_memory_kb_errors(env):
    _Probe(env, "memory_kb").cases(_Probe.error, [
        _err(-1, names=("num_elements", "elements")),
        _err(-1024, names=("num_elements", "elements")),
    ])


# ---------------------------------------------------------------------------------------
# cost_table
# ---------------------------------------------------------------------------------------

def _cell_problem(column: str, value, expected, strict_kb: bool = True) -> str | None:
    """None if `value` is right for this column, else what is wrong with its type, or ""
    for a wrong value of the right type. Without `strict_kb`, a memory_kb that is an int of
    the right value passes (the lecture tables' checks: the float is asked once, elsewhere)."""
    if column == "output_shape":
        if type(value) not in (tuple, list):
            return (f"is a {_type_name(value)}; use a tuple such as (C, H, W), or (N,) after "
                    f"flatten and fc")
        bad = [v for v in value if not exact_int(v)]
        if bad:
            return (f"holds a {_type_name(bad[0])} ({_show(bad[0])}); sizes must be Python "
                    f"ints (use // rather than /)")
        return None if (len(value) == len(expected)
                        and all(int(v) == e for v, e in zip(value, expected))) else ""
    if column == "memory_kb":
        if not _kb_type(value, allow_int=not strict_kb):
            whole = (f" ({_show(value)}); memory_kb is a float even where the KB are whole "
                     f"(the contract: every result is an int except memory_kb)"
                     if type(value) is int else "")
            return f"is {'an' if whole else 'a'} {_type_name(value)}{whole}; use a Python float"
        return None if _accepted(value, expected, "kb", allow_int=not strict_kb) else ""
    if not exact_int(value):
        return f"is {_show(value)}, a {_type_name(value)}; counts must be Python ints"
    return None if int(value) == expected else ""


def _row_label(index: int, layer: dict) -> str:
    name = layer.get("name")
    what = f"{'an' if layer['type'] == 'fc' else 'a'} {layer['type']} layer"
    return f"row {index} ({name!r}, {what})" if name else f"row {index} ({what})"


def _table_feedback(table, input_shape, layers, context: str,
                    strict_kb: bool = True) -> str | None:
    """None if the student's table is right, else feedback naming the first wrong row and
    column and, where one fits, the catalogued mistake that reproduces the table.
    `strict_kb`: whether an int memory_kb of the right value is wrong (_cell_problem)."""
    expected_rows = reference.cost_table(input_shape, layers)  # after the student's call
    if type(table) not in (list, tuple):
        return (f"{context} returned {_show(table)}, a {_type_name(table)}; return a list "
                f"with one dict per layer")
    if len(table) != len(layers):
        return (f"{context} returned {len(table)} rows for {len(layers)} layers; return one "
                f"row per layer, in order")
    cells = {}  # (row, column) -> plain value, for the diagnosis
    wrong = []  # (row, column) of every wrong cell
    first_wrong = None
    for i, (row, expected, layer) in enumerate(zip(table, expected_rows, layers), 1):
        label = _row_label(i, layer)
        if not isinstance(row, dict):  # read below with dict's own methods, never row's
            return f"{context}: {label} is a {_type_name(row)}; each row must be a dict"
        missing = [c for c in COLUMNS if not dict.__contains__(row, c)]
        if missing:
            return (f"{context}: {label} has no {', '.join(repr(c) for c in missing)}; each "
                    f"row needs the keys {', '.join(COLUMNS)}")
        name, kind = dict.get(row, "name"), dict.get(row, "type")
        if "name" in layer and not (type(name) is str and name == layer["name"]):
            return (f"{context}: {label} has name {_show(name)}; use the layer's own "
                    f"'name' where it has one")
        if not (type(kind) is str and kind == layer["type"]):
            return (f"{context}: {label} has type {_show(kind)}; use the layer's 'type' "
                    f"({layer['type']!r})")
        for column in NUMERIC_COLUMNS:
            value = dict.get(row, column)
            cells[(i - 1, column)] = _plain(value)
            problem = _cell_problem(column, value, expected[column], strict_kb)
            if problem is not None:
                wrong.append((i - 1, column))
                if first_wrong is None:
                    first_wrong = (i, column, value, problem, label)
    if first_wrong is None:
        return None
    i, column, value, problem, label = first_wrong
    where = f"{context}: {label}, column '{column}'"
    found = _table_mistake(cells, wrong, expected_rows, input_shape, layers)
    if found:
        mistake, others = found[0], found[1:3]
        alternatives = "".join(f" (or {m.target} {m.description})" for m in others)
        # The table may call a right formula with a wrong argument (a bias flag, a stride it
        # forgot to pass), so both places are named.
        return (f"{where} is wrong (you gave {_show(value)}): looks like {mistake.target} "
                f"{mistake.description}{alternatives}. Check {mistake.target} and the "
                f"arguments cost_table passes to it.")
    if problem:
        return f"{where} {problem}"
    return (f"{where} is wrong (you gave {_show(value)}). Hint: {TABLE_HINTS[column]}")


def _table_mistake(cells, wrong, expected_rows, input_shape, layers):
    """The catalogued mistakes whose whole wrong table reproduces the student's first wrong
    cell and at least half of the wrong cells, and agrees with the most cells overall (more
    than one where they fit the table equally well); empty if none does."""
    best, best_score = [], -1
    for mistake in mistakes.CATALOGUE:
        try:
            predicted = mistakes.wrong_table(mistake, input_shape, layers)
        except Exception:  # noqa: BLE001 - a wrong formula may fail on the network
            continue
        if len(predicted) != len(expected_rows):
            continue

        def explains(r, c):
            loose = c == "memory_kb"
            return (_fits(predicted[r][c], cells[(r, c)], loose)
                    and not _agree(predicted[r][c], expected_rows[r][c], loose))
        if not explains(*wrong[0]) or 2 * sum(explains(r, c) for r, c in wrong) < len(wrong):
            continue
        score = sum(_fits(predicted[r][c], v, c == "memory_kb") for (r, c), v in cells.items())
        if score > best_score:
            best, best_score = [mistake], score
        elif score == best_score:
            best.append(mistake)
    return best


def _check_table(env, input_shape, layers, context: str, strict_kb: bool = False) -> None:
    fn = student_function(env, "cost_table")
    # The student gets copies: a table that edits the layers cannot change the expected one.
    table = call(fn, tuple(input_shape), copy.deepcopy(layers), timeout=TIMEOUT)
    feedback = _table_feedback(table, tuple(input_shape), layers, context, strict_kb)
    if feedback:
        raise AssertionError(feedback)


def check_cost_table_lenet(env):
    _check_table(env, reference.LENET5_INPUT, reference.LENET5_LAYERS,
                 f"cost_table on the lecture's LeNet-5 (input {reference.LENET5_INPUT})")


def check_cost_table_alexnet_vgg16(env):
    _check_table(env, reference.ALEXNET_INPUT, reference.ALEXNET_LAYERS,
                 f"cost_table on the lecture's AlexNet (input {reference.ALEXNET_INPUT})")
    _check_table(env, reference.VGG16_INPUT, reference.VGG16_LAYERS,
                 f"cost_table on the lecture's VGG-16 (input {reference.VGG16_INPUT})")


@st.composite
def _network(draw):
    """A small valid (input_shape, layers): conv and pool layers, flatten, then fc layers;
    optional keys (name, stride, padding, bias) sometimes left to their defaults."""
    shape = (draw(st.integers(1, 8)), draw(st.integers(4, 40)), draw(st.integers(4, 40)))
    input_shape, layers = shape, []

    def optional(layer, key, value, default):
        if value != default or draw(st.booleans()):
            layer[key] = value

    for index in range(1, draw(st.integers(1, 4)) + 1):
        _, h, w = shape
        if draw(st.booleans()):
            padding = draw(st.integers(0, 2))
            kernel = draw(st.integers(1, min(7, min(h, w) + 2 * padding)))
            layer = {"type": "conv", "out_channels": draw(st.integers(1, 32)), "kernel": kernel}
            optional(layer, "stride", draw(st.integers(1, kernel + 2)), 1)
            optional(layer, "padding", padding, 0)
            optional(layer, "bias", draw(st.booleans()), True)
        else:
            kernel = draw(st.integers(1, min(4, h, w)))
            layer = {"type": "pool", "kernel": kernel}
            optional(layer, "stride", draw(st.none() | st.integers(1, kernel + 1)), None)
            optional(layer, "padding", draw(st.integers(0, kernel // 2)), 0)
        if draw(st.booleans()):
            layer["name"] = f"{layer['type']}_{index}"
        layers.append(layer)
        shape = reference.layer_costs(shape, layer)[0]
    # The flatten is optional: an fc right after a (C, H, W) output flattens it itself.
    flatten = draw(st.sampled_from(["named", "unnamed", "implicit"]))
    if flatten != "implicit":
        layers.append({"type": "flatten", "name": "flatten"} if flatten == "named"
                      else {"type": "flatten"})
    for index in range(1, draw(st.integers(1, 2)) + 1):
        layer = {"type": "fc", "out_features": draw(st.integers(1, 64))}
        optional(layer, "bias", draw(st.booleans()), True)
        if draw(st.booleans()):
            layer["name"] = f"fc_{index}"
        layers.append(layer)
    return input_shape, layers


# Pinned before the fuzzing: an fc straight after a pool (no flatten layer) takes C*H*W
# inputs, not C; and a layer type the contract does not know is an error, not a skipped row.
IMPLICIT_FLATTEN_INPUT = (3, 10, 10)
IMPLICIT_FLATTEN_LAYERS = [
    {"type": "conv", "name": "conv1", "out_channels": 6, "kernel": 3, "padding": 1},
    {"type": "pool", "name": "pool1", "kernel": 2},
    {"type": "fc", "name": "fc1", "out_features": 10},
]
UNKNOWN_LAYER = {"type": "dropout", "name": "drop1"}
# Every output a whole number of KB (1024, 256, 256 and 512 elements), the optional keys all
# left out and no names: memory_kb must still be a float, and the layers, the defaults not
# written into them, must come back as they were given.
WHOLE_KB_INPUT = (4, 16, 16)
WHOLE_KB_LAYERS = [
    {"type": "conv", "out_channels": 4, "kernel": 1},
    {"type": "pool", "kernel": 2},
    {"type": "flatten"},
    {"type": "fc", "out_features": 512},
]
# A layer out of range, each alone: cost_table raises ValueError as the formulas do.
OUT_OF_RANGE_INPUT = (3, 8, 8)
OUT_OF_RANGE_LAYERS = [
    ({"type": "conv", "out_channels": 4, "kernel": 0}, "a kernel of 0"),
    ({"type": "conv", "out_channels": 4, "kernel": 9}, "a kernel larger than the 8x8 input"),
]


def _check_unknown_layer_type(fn) -> None:
    layers = [dict(IMPLICIT_FLATTEN_LAYERS[0]), dict(UNKNOWN_LAYER)]
    outcome, payload = call(_catching(fn, "cost_table"), IMPLICIT_FLATTEN_INPUT, layers,
                            timeout=TIMEOUT)
    if outcome == "raised" and isinstance(payload, (ValueError, KeyError, TypeError)):
        return
    what = (f"raised {type(payload).__name__}" if outcome == "raised"
            else f"returned {_show(payload)}")
    raise AssertionError(
        f"cost_table({IMPLICIT_FLATTEN_INPUT!r}, [a conv, {UNKNOWN_LAYER!r}]) {what}; a layer "
        f"type other than conv, pool, flatten and fc must raise ValueError naming it, not be "
        f"skipped")


def _check_layers_out_of_range(fn) -> None:
    for layer, what in OUT_OF_RANGE_LAYERS:
        outcome, payload = call(_catching(fn, "cost_table"), OUT_OF_RANGE_INPUT,
                                [dict(layer)], timeout=TIMEOUT)
        if outcome == "raised" and isinstance(payload, ValueError):
            continue
        answer = (f"raised {type(payload).__name__}" if outcome == "raised"
                  else "returned a table")
        raise AssertionError(
            f"cost_table({OUT_OF_RANGE_INPUT!r}, [{layer!r}]) {answer}; a layer out of range "
            f"({what}) must raise ValueError, as conv_output_size does, not get a row")


# Runs in the student's process when the checks reach it through a sandbox (where the
# layers the grader sends are copies, so a change to them would never show here).
_LAYERS_AFTER = "__cnnlab_layers_after__"
_LAYERS_AFTER_SOURCE = (
    f"def {_LAYERS_AFTER}(input_shape, layers, _env=globals()):\n"
    "    try:\n"
    "        _env['cost_table'](input_shape, layers)\n"
    "    except Exception:\n"
    "        pass\n"
    "    return layers\n")


def _layers_after_call(env, fn, input_shape, layers: list):
    """The `layers` handed to the student's cost_table, as they are after the call."""
    if hasattr(env, "run_in_sandbox"):
        env.run_in_sandbox(_LAYERS_AFTER_SOURCE, timeout=10)
        return call(student_function(env, _LAYERS_AFTER), input_shape, copy.deepcopy(layers),
                    timeout=TIMEOUT)
    given = copy.deepcopy(layers)
    call(_catching(fn, "cost_table"), input_shape, given, timeout=TIMEOUT)
    return given


def _changed_layer(after, layers: list) -> int | None:
    """The 1-based index of the first layer that is not as it was given (0: the list itself
    changed), or None. Student values are read with dict's own methods, compared as plain."""
    if type(after) is not list or len(after) != len(layers):
        return 0
    for i, (got, want) in enumerate(zip(after, layers), 1):
        if type(got) is not dict or len(got) != len(want):
            return i
        for key, value in want.items():
            now = _plain(dict.get(got, key)) if dict.__contains__(got, key) else _OPAQUE
            if now is _OPAQUE or type(now) is not type(value) or now != value:
                return i
    return None


def _check_layers_unchanged(env, fn) -> None:
    after = _layers_after_call(env, fn, WHOLE_KB_INPUT, WHOLE_KB_LAYERS)
    changed = _changed_layer(after, WHOLE_KB_LAYERS)
    if changed is None:
        return
    which = "the list of layers" if changed == 0 else \
        f"layer {changed} ({WHOLE_KB_LAYERS[changed - 1]!r})"
    raise AssertionError(
        f"cost_table({WHOLE_KB_INPUT!r}, layers) changed {which} in place; it must not change "
        f"its arguments: read a missing key with layer.get('stride', 1), never write defaults "
        f"or names into the caller's dicts (use a copy if you must)")


def check_cost_table_random(env):
    fn = student_function(env, "cost_table")
    _check_table(env, IMPLICIT_FLATTEN_INPUT, IMPLICIT_FLATTEN_LAYERS,
                 f"cost_table on a net whose fc follows a pool directly, with no flatten layer "
                 f"(input {IMPLICIT_FLATTEN_INPUT})", strict_kb=True)
    _check_table(env, WHOLE_KB_INPUT, WHOLE_KB_LAYERS,
                 f"cost_table on a net whose outputs are whole KB (input {WHOLE_KB_INPUT})",
                 strict_kb=True)
    _check_unknown_layer_type(fn)
    failures: list[str] = []
    stopped: list[AssertionError] = []
    started = time.monotonic()

    @settings(grading_settings(25), verbosity=Verbosity.quiet, report_multiple_bugs=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink))
    @given(_network())
    def run(network):
        if stopped or (failures and time.monotonic() > started + SHRINK_BUDGET):
            return
        input_shape, layers = network
        context = f"cost_table({input_shape!r}, {layers!r})"
        try:
            table = call(fn, input_shape, copy.deepcopy(layers), timeout=TIMEOUT)
        except StudentTimeout as err:
            stopped.append(err)
            return
        except AssertionError as err:
            failures.append(str(err))
            raise _Mismatch() from None
        feedback = _table_feedback(table, input_shape, layers, context)
        if feedback:
            failures.append(feedback)
            raise _Mismatch()

    try:
        run()
    except Exception:  # noqa: BLE001 - Hypothesis's report is not for students
        if not failures and not stopped:
            raise
    if stopped:
        raise AssertionError(str(stopped[0])) from None
    if failures:
        raise AssertionError(failures[-1]) from None
    # After the values, so that a formula mistake is named before a missing range check.
    _check_layers_out_of_range(fn)
    _check_layers_unchanged(env, fn)


# ---------------------------------------------------------------------------------------

# The pinned valid cases of each function, which a failing check also asks where it has not
# (`_Probe.more_answers`): lecture-sized, non-square, strides that leave a remainder, bias
# on and off, so the catalogued mistakes of a function give different values on them.
DIAGNOSTIC_CASES = {
    "conv_output_size": CONV_OUTPUT_SIZE_CASES,
    "pool_output_size": POOL_OUTPUT_SIZE_CASES,
    "conv_params": CONV_PARAMS_CASES + CONV_PARAMS_NO_BIAS_CASES,
    "conv_flops": CONV_FLOPS_CASES,
    "pool_flops": POOL_FLOPS_CASES,
    "fc_params": FC_PARAMS_CASES + FC_PARAMS_NO_BIAS_CASES,
    "fc_flops": FC_FLOPS_CASES,
    "memory_kb": MEMORY_KB_CASES,
}

QUESTIONS: dict[str, list[Callable[[dict], None]]] = {
    "conv_output_size": [check_conv_output_size_lecture, check_conv_output_size_random,
                         check_conv_output_size_errors],
    "pool_output_size": [check_pool_output_size_lecture, check_pool_output_size_random,
                         check_pool_output_size_errors],
    "conv_params": [check_conv_params_values, check_conv_params_no_bias,
                    check_conv_params_errors],
    "conv_flops": [check_conv_flops_lecture, check_conv_flops_random, check_conv_flops_errors],
    "pool_flops": [check_pool_flops_lecture, check_pool_flops_random, check_pool_flops_errors],
    "fc_params": [check_fc_params_values, check_fc_params_no_bias, check_fc_params_errors],
    "fc_flops": [check_fc_flops_values, check_fc_flops_errors],
    "memory_kb": [check_memory_kb_values, check_memory_kb_errors],
    "cost_table": [check_cost_table_lenet, check_cost_table_alexnet_vgg16,
                   check_cost_table_random],
}
