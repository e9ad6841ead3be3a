"""The one Hypothesis harness of the hidden checks: `search` runs a check's examples over
the cases Hypothesis draws from a strategy, under the grading settings profile.

The profile: the same examples on every run (derandomized, and each search has its own
fixed seed), no .hypothesis/ folder, no deadline (a loaded grader is slow, not wrong), no
health checks and no report of Hypothesis's own: a check's feedback is its own message,
never a falsifying example or a test's source. A search stops at its first failure.

Each seed is a number written down, not derived from the code: Hypothesis would seed a
derandomized search with a digest of its test function's source, so that reformatting a
check would draw other examples, and change students' scores and feedback. The numbers are
the digests the checks' searches were first seeded with, so they draw what they always
drew.

A check whose student calls are many asks them in one batch first (common.call_many):
`drawn_examples` gives the cases its search draws where every answer is right (drawn once
per process, and kept on disk between runs: disk_cache), and `Ahead` hands the batch's
answers to the search's examples while they are those cases. A right function then costs
one round trip and no search; any other meets the search as it would without the batch
(the same cases, the same feedback), its first examples answered from the batch.
"""
from __future__ import annotations

import collections
import copy
import operator

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

from autograder.checks import disk_cache
from autograder.protocol import SandboxLost

PROFILE = "cnnlab-grading"
settings.register_profile(PROFILE, derandomize=True, database=None, deadline=None,
                          suppress_health_check=list(HealthCheck), print_blob=False,
                          verbosity=Verbosity.quiet, report_multiple_bugs=False)


class Mismatch(Exception):
    """Raised by an example that fails; `search` lets it out once Hypothesis is done (its
    message, if any, is the feedback; a check may keep the details itself instead)."""


def search(strategy, example, *, max_examples: int, seed_value: int,
           shrink: bool = True) -> None:
    """`example(case)` for each case Hypothesis draws from `strategy` (up to
    `max_examples`), the draws fixed by `seed_value`. An example fails by raising (a
    Mismatch, say): with `shrink`, Hypothesis then looks for a smaller failing case; it
    replays the last failure and raises what that raised. Where the replay passes (a
    check that stopped shrinking), Hypothesis raises a Flaky error instead."""
    phases = (Phase.explicit, Phase.generate) + ((Phase.shrink,) if shrink else ())

    def run(case):
        example(case)

    test = settings(settings.get_profile(PROFILE), max_examples=max_examples,
                    phases=phases)(seed(seed_value)(given(strategy)(run)))
    test()


_DRAWN: dict[tuple, list] = {}


def drawn_examples(strategy, *, max_examples: int, seed_value: int,
                   shrink: bool = True) -> list:
    """The cases `search` (with these arguments) hands to examples that never fail, in
    order: derandomized, so the same on every run, and the cases a check's search meets
    where every answer is right. Drawn once per process, and kept between runs where the
    disk cache is active (disk_cache); each call gets its own deep copy, so that what one
    check hands a student is never what another compares with."""
    key = (repr(strategy), max_examples, seed_value, shrink)
    if key not in _DRAWN:
        def draw() -> list:
            drawn: list = []
            search(strategy, drawn.append, max_examples=max_examples, seed_value=seed_value,
                   shrink=shrink)
            return drawn

        _DRAWN[key] = disk_cache.lookup("drawn", repr(key), draw)
    return copy.deepcopy(_DRAWN[key])


class Ahead:
    """Answers asked before a search, in one batch, to the first of `drawn_examples`'s
    cases (as many as were answered). `take(case)` hands out the next answer while `case`
    is the next of those cases (`same` compares them), else None, and None from then on:
    the search asks for itself once it leaves the drawn path (a shrink, say).

    An answer's `outcome_of(answer)` is its common.call_many outcome. One that raised is
    not handed out (None: ask again), so that the search sees the exception raised where a
    call raises it (Hypothesis tells failures apart by where they come from), unless the
    process that raised it is gone (SandboxLost), which cannot be asked again."""

    def __init__(self, cases: list = (), answers: list = (), same=operator.eq,
                 outcome_of=lambda answer: answer):
        self._queue = collections.deque(zip(cases, answers))
        self._same = same
        self._outcome_of = outcome_of

    def take(self, case):
        if self._queue and self._same(self._queue[0][0], case):
            answer = self._queue.popleft()[1]
            outcome, value = self._outcome_of(answer)
            if outcome == "raised" and not isinstance(value, SandboxLost):
                return None
            return answer
        self._queue.clear()
        return None
