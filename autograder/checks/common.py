"""What every check needs: calling student code under a time limit, and failures phrased for
students. (Hypothesis's settings for the checks: autograder/checks/fuzzing.py.)

Standard library only, and nothing here imports the autograder: the probes' installer
(autograder/checks/probes.py) compiles the definitions a probe uses, `attempt` and
`time_limit` among them, into a sandbox that may not import the autograder."""
from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager


class StudentTimeout(AssertionError):
    pass


def timeout_message(what: str, seconds: float) -> str:
    return f"{what} did not return within {seconds:g} s (an infinite loop, or far too slow)"


@contextmanager
def time_limit(seconds: float, what: str):
    """Raise StudentTimeout if the body runs longer than `seconds` (main thread only;
    elsewhere the outer per-submission limit of `cnnlab grade` still applies)."""
    if threading.current_thread() is not threading.main_thread() or seconds is None:
        yield
        return

    def on_alarm(signum, frame):
        raise StudentTimeout(timeout_message(what, seconds))

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def student_function(env: dict, name: str):
    """The student's definition of `name`, or a clear failure if there is none."""
    fn = env.get(name)
    if not callable(fn):
        raise AssertionError(f"`{name}` is not defined as a function: run its cell first")
    return fn


def call(fn, *args, timeout: float = 10.0, **kwargs):
    """Call student code; its own exceptions become feedback, not a grader crash."""
    name = getattr(fn, "__name__", "your function")
    return attempt(f"`{name}`", lambda: fn(*args, **kwargs), timeout,
                   failure=lambda err: student_failure(name, args, kwargs, err))


def attempt(what: str, thunk, timeout: float = 20.0, failure=None):
    """`thunk()` under a time limit; its exceptions become feedback: `failure(err)`, by
    default `attempt_failure(what, err)` (the probes' wording, which names `what`)."""
    with time_limit(timeout, what):
        try:
            return thunk()
        except StudentTimeout:
            raise
        except Exception as err:  # noqa: BLE001 - any student exception is feedback
            raise (failure(err) if failure else attempt_failure(what, err)) from None


def attempt_failure(what: str, err: Exception) -> AssertionError:
    """The feedback `attempt` gives when the student's code behind `what` raised `err`."""
    if isinstance(err, NotImplementedError):
        return AssertionError(f"{what}: not implemented yet")
    if isinstance(err, AssertionError):
        return AssertionError(f"{what} failed an assertion: {err}")
    hint = ""
    if "Double" in str(err) or "dtype" in str(err):
        hint = (" (the grader runs your model in float64: create any new tensor with "
                "the input's dtype and device, e.g. torch.zeros_like(x))")
    return AssertionError(f"{what} raised {type(err).__name__}: {err}{hint}")


def student_failure(name: str, args: tuple, kwargs: dict, err: Exception) -> AssertionError:
    """The feedback `call` gives when the student's `name(*args, **kwargs)` raised `err`."""
    if isinstance(err, NotImplementedError):
        return AssertionError(f"`{name}` is not implemented yet")
    shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
    return AssertionError(f"`{name}({shown})` raised {type(err).__name__}: {err}")


def exact_int(value) -> bool:
    """A plain int, not a bool, a float or an int subclass with a rigged __eq__."""
    return type(value) is int


def call_many(fn, calls: list, timeout: float, budget: float,
              stop_on: tuple = ()) -> list[tuple]:
    """`fn(*args, **kwargs)` for each (args, kwargs) of `calls`, in order, as
    [("returned", value) | ("raised", exception) | ("timeout", None)]: the student's
    exceptions are answers. The list ends early after the first call past `timeout`
    seconds ("timeout"), after the first exception that is an instance of a class in
    `stop_on` (builtin exception classes; BaseException for any), and where `budget`
    seconds have passed before a call. A function in a sandbox is called there, in one
    round trip for all the calls (autograder/protocol.py)."""
    sandbox = sys.modules.get("autograder.sandbox")
    if sandbox is not None and type(fn) is sandbox.RemoteObject:
        return fn._call_many(calls, timeout, budget, [c.__name__ for c in stop_on])
    outcomes: list[tuple] = []
    deadline = time.monotonic() + budget
    for args, kwargs in calls:
        if time.monotonic() > deadline:
            break
        try:
            with time_limit(timeout, "a call"):
                outcomes.append(("returned", fn(*args, **kwargs)))
        except StudentTimeout:
            outcomes.append(("timeout", None))
            break
        except Exception as err:  # noqa: BLE001 - the student's error is the answer
            outcomes.append(("raised", err))
            if isinstance(err, stop_on):
                break
    return outcomes
