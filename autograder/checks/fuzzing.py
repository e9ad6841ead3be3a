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
"""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

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
