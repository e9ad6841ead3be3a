"""One check's calls of one student formula of cnn_costs (conv_output_size ... memory_kb):
`FormulaProbe` calls the student's function only through `common.call` and `call_many`
(per-call time limit, student exceptions become feedback), remembers every answer, and
turns the failures into feedback that names the likely mistake of `autograder.mistakes`,
shows the arguments of the failing call and the student's own answer, never the expected
value (computed only after the student's call returns).

Pinned cases run all at once, in one batch (`cases`); fuzzed ones (`fuzz`) are drawn by
Hypothesis (autograder/checks/fuzzing.py) against the reference. Hypothesis's own report
never reaches a student: a failure is recorded by the probe, which raises its own
AssertionError once Hypothesis is done.
"""
from __future__ import annotations

import collections
import functools
import inspect
import time
from typing import Callable

from solutions.mistakes import formulas as mistakes
from autograder.checks import fuzzing
from autograder.checks.common import (StudentTimeout, call, call_many, exact_int,
                                      student_failure, student_function, timeout_message)
from autograder.checks.student_values import (OPAQUE, accepted, agree, call_text, catching,
                                              fits, is_kb_type, names_argument, plain_value,
                                              show_value, type_problem)
from solutions import cnn_costs as reference

TIMEOUT = 2.0          # seconds per student call: these formulas take microseconds
SHRINK_BUDGET = 3.0    # seconds a check may spend looking for a smaller failing example
CHECK_BUDGET = 30.0    # seconds of student calls per check before it gives up as too slow
BATCH_BUDGET = 5.0     # seconds for one batch of fuzzed calls; past it, one call at a time

# The seed of every probe's search (fuzzing.py says why it is a number): Hypothesis's digest
# of the source of the search's first test function.
SEARCH_SEED = int("103f3871a6e04e05ad79c8003a3c267b5c25e863dd8ef3a6a8dcb24a8e527651590d377e"
                  "61ac046188d2faded3072811", 16)


def _candidates(target: str) -> tuple:
    """(mistake, wrong version of `target`, whether the mistake is in `target` itself)."""
    return mistakes.candidates(target)


def _safe(fn, args):
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - a wrong formula may fail where the right one does not
        return OPAQUE


def _mistake_phrase(name: str, mistake, own: bool, others=()) -> str:
    """`others`: mistakes that fit the answers just as well, named as alternatives."""
    alternatives = "".join(f" (or it {m.description})" for m in others[:2])
    if own:
        return f"looks like it {mistake.description}{alternatives}"
    return (f"looks like the output size it uses is wrong: it {mistake.description}"
            f"{alternatives} (fix that in {mistake.target}, which {name} should reuse)")


class FormulaProbe:
    """Calls one student function, remembers every answer, and turns failures into
    feedback."""

    def __init__(self, env: dict, name: str, hint: str, diagnostic_cases=()):
        """`hint`: the lecture's hint for a wrong answer no catalogued mistake explains;
        `diagnostic_cases`: (args, kwargs) to ask as well before diagnosing (more_answers)."""
        self.name = name
        self.hint = hint
        self.diagnostic_cases = diagnostic_cases
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
        self.observations.append((full, plain_value(value)))
        if accepted(value, expected, self.kind):
            return True
        self.failures.append(("value", args, kwargs, value, full))
        return False

    def error(self, args: tuple, kwargs: dict, names: tuple = ()) -> bool:
        """Call with invalid arguments: it must raise ValueError, whose message names one
        of `names` (when given)."""
        outcome, payload = self._ask(self._catching(), args, kwargs)
        sig = call_text(self.name, args, kwargs)
        try:
            self.ref(*args, **kwargs)
            raise RuntimeError(f"grader bug: {sig} is valid for the reference")
        except ValueError as err:
            reason = str(err)
        if outcome == "raised" and isinstance(payload, ValueError):
            if not names or names_argument(str(payload), names):
                return True
            self.failures.append(("message", (
                f"`{sig}` raised ValueError({str(payload)!r}), but the message should name the "
                f"offending argument ({names[0]}), since {reason}")))
            return False
        if outcome == "raised":
            text = (f"`{sig}` raised {type(payload).__name__}, but it must raise ValueError, "
                    f"since {reason}")
        else:
            text = (f"`{sig}` returned {show_value(payload)}, but it must raise ValueError, "
                    f"since {reason}")
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
        return catching(self.fn, self.name)

    def _name_first(self) -> None:
        """Ask the function's name before a batch, as `call` asks it before each call (a
        sandbox's object keeps it): a call that ends the process can then be named."""
        try:
            getattr(self.fn, "__name__", None)
        except Exception:  # noqa: BLE001 - `call` meets the same and says so
            pass

    def _ask_ahead(self, method: Callable, cases: list) -> None:
        """The calls of `cases` in one batch, ending where one call at a time would end the
        cases: at any exception for values, at those `catching` lets through for errors."""
        self._name_first()
        calls = [(case[0], case[1]) for case in cases]
        stop_on = (BaseException,) if method is FormulaProbe.value else (NotImplementedError,
                                                                    AssertionError)
        outcomes = call_many(self.fn, calls, timeout=TIMEOUT, budget=BATCH_BUDGET,
                             stop_on=stop_on)
        self.ahead = collections.deque()
        for (args, kwargs), (outcome, answer) in zip(calls, outcomes):
            if method is FormulaProbe.error and outcome == "returned":
                answer = ("returned", answer)
            elif method is FormulaProbe.error and outcome == "raised" \
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
        process (`fuzzing.drawn_examples`) and asked in one round trip. Any other outcome and
        Hypothesis runs as it would without the batch, finding and shrinking the failure
        (the same calls, the same feedback); only this module's feedback reaches the
        student."""
        asked = len(self.observations)
        spent = time.monotonic()
        if self._all_right(method, fuzzing.drawn_examples(strategy, max_examples=max_examples,
                                                          seed_value=SEARCH_SEED)):
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
                # The name `call` gives: the error checks call through catching.
                name = (self.name if method is FormulaProbe.error
                        else getattr(self.fn, "__name__", "your function"))
                raise AssertionError(timeout_message(f"`{name}`", TIMEOUT))
            if method is FormulaProbe.value:
                if outcome != "returned" or not accepted(answer, self.ref(*args, **kwargs),
                                                          self.kind):
                    return False
                self.observations.append((self.full_args(args, kwargs), plain_value(answer)))
            elif method is FormulaProbe.error:
                names = case[2] if len(case) > 2 else ()
                if outcome != "raised" or not isinstance(answer, ValueError) \
                        or (names and not names_argument(str(answer), names)):
                    return False
            else:
                return False
        return len(outcomes) == len(cases)

    def _search(self, method: Callable, strategy, max_examples: int) -> None:
        """Hypothesis's search, each example one call (seeded with SEARCH_SEED)."""
        stopped: list[AssertionError] = []

        def example(case):
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
                raise fuzzing.Mismatch() from None
            if not ok:
                raise fuzzing.Mismatch()

        try:
            fuzzing.search(strategy, example, max_examples=max_examples,
                           seed_value=SEARCH_SEED)
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
            return (f"`{call_text(self.name, args, kwargs)}` returned {show_value(value)}: "
                    f"{_mistake_phrase(self.name, mistake, own, others)}.")
        _, args, kwargs, value, full = chosen
        sig = call_text(self.name, args, kwargs)
        loose = self.kind == "kb"
        right_type = is_kb_type(value) if loose else type(value) is int
        if not right_type:
            text = f"`{sig}` {type_problem(self.name, value, self.kind)}"
            expected = self.ref(*full)  # a value it cannot read is judged by its type alone
            plain = plain_value(value)
            if plain is not OPAQUE and not agree(plain, expected, loose=True):
                text += f"; the value is off too. Hint: {self.hint}"
            return text
        return (f"`{sig}` returned {show_value(value)}, which is not what the lecture's formula "
                f"gives. Hint: {self.hint}")

    def more_answers(self) -> None:
        """Ask the function's pinned cases not asked yet (`diagnostic_cases`): evidence to tell
        apart the mistakes that fit the failing answers alike. An exception is no answer; a
        timeout, or the check's time budget, ends the asking."""
        asked = {full for full, _ in self.observations}
        for args, kwargs in self.diagnostic_cases:
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
            self.observations.append((full, plain_value(value)))

    def diagnose(self, value_failures: list, prefer_last: bool):
        """(mistake, own, failure, equally good others) for the catalogued mistake that best
        explains all the answers (`mistakes.rank`) and reproduces one of the failing ones,
        which the feedback shows; None if none does."""
        self.more_answers()
        loose = self.kind == "kb"
        answers = [(full, value, not agree(value, self.ref(*full), loose))
                   for full, value in self.observations]
        candidates = [((m, fn, own), functools.partial(_safe, fn))
                      for m, fn, own in _candidates(self.name)]
        groups = mistakes.rank(candidates, answers,
                               lambda predicted, value, _: fits(predicted, value, loose))
        for mistake, fn, own in (groups[0] if groups else ()):
            explained = [failure for failure in value_failures
                         if fits(_safe(fn, failure[4]), plain_value(failure[3]), loose)]
            if explained:
                # Shown: an answer whose number is off, where there is one (56.0 for 56 is
                # the mistake too, but says less).
                shown = [f for f in explained if not mistakes.same_value(
                    plain_value(f[3]), self.ref(*f[4]))] or explained
                others = [m for m, _, o in groups[0] if o == own and m is not mistake]
                return mistake, own, shown[-1] if prefer_last else shown[0], others
        return None

