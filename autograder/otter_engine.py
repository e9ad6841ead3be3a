"""The Otter engine of local grading (`cnnlab grade --engine otter`): the Gradescope zip and
`otter run`, in a kernel, without Docker.

Each submission is graded by `otter.run` in a child process of its own (`run_isolated`), under a
wall-clock timeout and a memory limit, so one submission cannot hang, crash or starve the
others. Inside that child:

- the notebook is copied and a *guard* cell is put first: it wraps Otter's test-case runner so
  every test case (public or hidden) gets `TEST_CPU_LIMIT_S` seconds of CPU time (SIGVTALRM,
  which does not clash with the SIGALRM limits the checks put on each student call). A stub
  with `while True: pass` fails its question, not the run;
- every notebook cell gets `CELL_TIMEOUT_S` seconds, after which the kernel is interrupted and
  execution goes on (a top-level infinite loop costs what depends on it, not the run);
- the feedback of a failed test is only its exception message: Otter's report also quotes the
  test's failing source line, which we drop.

The result of one submission is the contract's record (autograder/records.py), scored as the
sandbox engine scores it: from the hidden tests only, by autograder/scoring.py's rule, so both
engines give the same scores to every submission that does not attack the grader. Unlike the
sandbox, Otter runs student code in the same kernel as the hidden tests: it does not guard
against hostile code (docs/security.md).

What both engines share (reading a submission, naming its assignment, the limits) is
autograder/grade.py. Keep imports here light: only the standard library at module level.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from autograder import scoring
from autograder.cores import thread_variables
from autograder.grade import (DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT_S, GradingError, kill_tree,
                              notebook_assignment, validate_submission)
from autograder.records import failed_result
from autograder.torch_build import is_cuda_build

# One notebook cell, wall clock; the kernel is interrupted after it and execution goes on.
CELL_TIMEOUT_S = float(os.environ.get("CNNLAB_CELL_TIMEOUT", 60))
# One Otter test case, CPU seconds: public tests are a few literal examples; hidden checks
# also limit each call into student code themselves (autograder.checks.common.call).
PUBLIC_TEST_CPU_S = float(os.environ.get("CNNLAB_PUBLIC_TEST_CPU", 5))
HIDDEN_TEST_CPU_S = float(os.environ.get("CNNLAB_HIDDEN_TEST_CPU", 120))
GUARD_TAG = "cnnlab_guard"

# Runs first in the kernel. Self-contained: it must not depend on anything but Otter.
GUARD_CELL = '''\
def _cnnlab_guard(public_limit, hidden_limit):
    import inspect, signal, sys, threading
    from otter.test_files import exception_test

    class TestTimeLimit(AssertionError):
        pass

    def on_timer(signum, frame):
        raise TestTimeLimit("this test did not finish in time (an infinite loop, or far too slow)")

    def call_func(self, global_environment):
        params = list(inspect.signature(self.test_func).parameters)
        kwargs = {p: (global_environment if p == "env" else global_environment.get(p))
                  for p in params}
        # Seeded as the sandbox engine seeds before each check; only where the kernel has
        # imported torch: a cnn_costs notebook does not, and importing it here cost each
        # grading ~2 s (the sandbox engine does not seed student code's torch either).
        torch = sys.modules.get("torch")
        if self.hidden and torch is not None:
            torch.manual_seed(0)
        guarded = threading.current_thread() is threading.main_thread()
        if guarded:
            previous = signal.signal(signal.SIGVTALRM, on_timer)
            signal.setitimer(signal.ITIMER_VIRTUAL, hidden_limit if self.hidden else public_limit)
        try:
            self.test_func(**kwargs)
        finally:
            if guarded:
                signal.setitimer(signal.ITIMER_VIRTUAL, 0)
                signal.signal(signal.SIGVTALRM, previous)

    exception_test.test_case.call_func = call_func

_cnnlab_guard(%r, %r)
del _cnnlab_guard
'''


OTTER_WARNING = ("--engine otter does not guard against hostile code: it runs student code in "
                 "the same kernel as the hidden tests, where a notebook can read them or forge "
                 "its score. Use the default sandbox engine for grades that count "
                 "(docs/security.md)")



# ----------------------------------------------------------------------------- results

def feedback_message(message: str | None) -> str:
    """The exception message of a failed Otter test case, without the quoted test source.

    Otter writes '❌ Test case failed\\nError at line N in test Q:\\n  <source line>\\n
    <ExceptionType>: <message>'; only the last part is for students."""
    if not message:
        return ""
    lines = message.split("\n")
    if len(lines) >= 4 and lines[1].startswith("Error at line"):
        lines = lines[3:]
    text = "\n".join(line.strip() for line in lines).strip()
    for prefix in ("AssertionError: ", "TestTimeLimit: ", "StudentTimeout: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text or "failed"


def questions_from_otter(results) -> tuple[dict, float, float]:
    """Per-question scores and feedback from Otter's GradingResults, scored as the sandbox
    engine scores: from the hidden tests only (each calls one check of the assignment's
    QUESTIONS, in the same order), by autograder/scoring.py's rule. The public tests are
    the student's own `otter check`; Otter would split a question's points between them too."""
    questions = {}
    for name, test_file in results.results.items():
        hidden = [tcr for tcr in test_file.test_case_results if tcr.test_case.hidden]
        messages = []
        for tcr in hidden:
            if not tcr.passed:
                text = feedback_message(tcr.message)
                if text not in messages:
                    messages.append(text)
        possible = scoring.points(test_file.possible)
        questions[name] = {
            "score": scoring.question_score(possible, sum(t.passed for t in hidden),
                                            len(hidden)),
            "possible": possible,
            "feedback": "\n".join(messages) if messages else "all tests passed",
        }
    total = scoring.total(q["score"] for q in questions.values())
    possible = scoring.total(q["possible"] for q in questions.values())
    return questions, total, possible


# ----------------------------------------------------------------------------- the child

def _child_main(zip_path: str, submission: str, out_path: str, assignment: str) -> None:
    """Grade one notebook in this (child) process and write the result JSON to out_path."""
    import nbformat
    from traitlets.config import Config
    import otter.execute
    import otter.run
    from otter.run import capture_run_output

    def config():  # otter builds its executor from `Config()`; add our cell timeout
        c = Config()
        c.ExecutePreprocessor.timeout = CELL_TIMEOUT_S
        c.ExecutePreprocessor.interrupt_on_timeout = True
        return c

    otter.execute.Config = config

    nb = nbformat.read(submission, as_version=4)
    nb.metadata.setdefault("otter", {}).setdefault("assignment_name", assignment)
    guard = nbformat.v4.new_code_cell(GUARD_CELL % (PUBLIC_TEST_CPU_S, HIDDEN_TEST_CPU_S))
    guard.metadata["tags"] = [GUARD_TAG]
    nb.cells.insert(0, guard)
    work = tempfile.mkdtemp(prefix="cnnlab_grade_")
    try:
        copy = os.path.join(work, f"{assignment}.ipynb")
        nbformat.write(nb, copy)
        with capture_run_output():
            results = otter.run.main(copy, autograder=zip_path, output_dir=None, no_logo=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    error = results.catastrophic_error
    questions, total, possible = questions_from_otter(results)
    out = {"questions": questions, "total": total, "possible": possible,
           "error": (f"the notebook could not be graded: {type(error).__name__}: {error}"
                     if error else None)}
    with open(out_path, "w") as f:
        json.dump(out, f)


def _limit_memory(memory_bytes: int) -> Callable[[], None]:
    if is_cuda_build():
        return lambda: None  # the wall-clock timeout still ends a runaway
    def preexec():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    return preexec


# Jupyter kernels that fail to start say so in these words. It happens now and then when
# several kernels start at once (two picks of the same free port race to bind it); it is
# the grader's hiccup, not the student's, so the run is tried again.
KERNEL_START_FAILURES = ("Kernel died before replying to kernel_info",
                         "Kernel didn't respond in")
KERNEL_START_ATTEMPTS = 3


def run_isolated(zip_path: Path, submission: Path, assignment: str, *,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 memory_bytes: int = DEFAULT_MEMORY_BYTES, threads: int | None = None) -> dict:
    """Grade one notebook in a child process with a wall-clock timeout and a memory limit.

    `threads`: the size of the kernel's math thread pools (autograder/cores.py), where
    several gradings share the cores; None leaves the libraries' default, one per core.
    Returns {"questions", "total", "possible", "error"}; raises GradingError with the reason
    when the child does not produce a result. A kernel that fails to start is retried."""
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            return _run_isolated_once(zip_path, submission, assignment, timeout=timeout,
                                      memory_bytes=memory_bytes, threads=threads)
        except GradingError as err:
            if attempt == KERNEL_START_ATTEMPTS or not any(
                    words in str(err) for words in KERNEL_START_FAILURES):
                raise
            print(f"{submission}: the Jupyter kernel did not start ({err}); trying again",
                  file=sys.stderr)
    raise AssertionError("unreachable")


def _run_isolated_once(zip_path: Path, submission: Path, assignment: str, *,
                       timeout: float, memory_bytes: int, threads: int | None = None) -> dict:
    """One try of run_isolated. (The one place to harden isolation further.)"""
    with tempfile.TemporaryDirectory(prefix="cnnlab_run_") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "autograder.otter_engine", "--child", str(Path(zip_path).resolve()),
               str(Path(submission).resolve()), str(out), assignment]
        root = str(Path(__file__).resolve().parent.parent)  # this project, for `-m autograder`
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        if threads is not None:  # the kernel inherits them: its torch reads them at import
            env.update(thread_variables(threads))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                cwd=tmp, env=env, preexec_fn=_limit_memory(memory_bytes),
                                start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.communicate()
            raise GradingError(f"grading did not finish within {timeout:g} s (execution timeout)")
        finally:
            kill_tree(proc.pid)
        if proc.returncode != 0 or not out.exists():
            tail = output.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            if proc.returncode and proc.returncode < 0:
                reason = f"the grading process was killed by signal {-proc.returncode}"
            elif "MemoryError" in output.decode(errors="replace"):
                reason = f"ran out of memory (limit {memory_bytes / 1024**3:g} GB)"
            else:
                reason = f"the grading process failed: {tail[0][:300]}"
            raise GradingError(reason)
        return json.loads(out.read_text())


# ----------------------------------------------------------------------------- the parent

def find_autograder(build_dir: Path, assignment: str) -> tuple[Path, dict[str, float]]:
    """(the Gradescope zip, {question: points}) of an assignment in a `cnnlab build` output."""
    ag = Path(build_dir) / assignment / "autograder"
    zips = sorted(ag.glob("*.zip"))
    if not zips:
        raise FileNotFoundError(f"no autograder zip in {ag}: run `cnnlab build {assignment} "
                                f"--out {build_dir}` first")
    questions_file = Path(build_dir) / assignment / "questions.json"
    questions = json.loads(questions_file.read_text()) if questions_file.exists() else {}
    return zips[-1], questions


def grade_one(submission: Path, build_dir: Path, assignment: str | None = None, *,
              timeout: float = DEFAULT_TIMEOUT_S,
              memory_bytes: int = DEFAULT_MEMORY_BYTES, threads: int | None = None) -> dict:
    """Grade with Otter (`otter run` and the Gradescope zip, in a kernel). The contract's
    result object for one submission; never raises for a bad submission. `threads`: see
    run_isolated."""
    start = time.monotonic()
    name = str(submission)
    questions: dict[str, float] = {}
    try:
        built = sorted(p.parent.parent.name for p in Path(build_dir).glob("*/autograder/*.zip"))
        only_one = built[0] if len(built) == 1 else None
        if assignment or only_one:
            questions = find_autograder(build_dir, assignment or only_one)[1]
        validate_submission(Path(submission))
        claimed = notebook_assignment(Path(submission))
        if assignment and claimed and claimed != assignment:
            raise GradingError(f"this notebook is for assignment {claimed!r}, not {assignment!r}")
        assignment = assignment or claimed or only_one
        if not assignment:
            raise GradingError("the notebook names no assignment (no otter metadata): "
                               "pass --assignment")
        zip_path, questions = find_autograder(build_dir, assignment)
        result = run_isolated(zip_path, Path(submission), assignment,
                              timeout=timeout, memory_bytes=memory_bytes, threads=threads)
    except (GradingError, FileNotFoundError) as err:
        return failed_result(name, assignment, questions, str(err), time.monotonic() - start)
    if result["error"] and not result["questions"]:
        return failed_result(name, assignment, questions, result["error"],
                             time.monotonic() - start)
    return {"submission": name, "assignment": assignment, "total": result["total"],
            "possible": result["possible"], "questions": result["questions"],
            "error": result["error"], "seconds": round(time.monotonic() - start, 2)}


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "--child":
    _child_main(*sys.argv[2:])
