"""Local grading of student notebooks: what both engines share, and the one entry point.

`grade_many` grades submissions with the sandbox engine (autograder/runner.py: student code in
a guarded process of its own, the checks and the reference in the grader; docs/security.md),
on this machine or a Dask cluster (autograder/executors.py), or with the Otter engine
(autograder/otter_engine.py: the Gradescope zip in a kernel, no guard against hostile code).
Here: reading a submission (`validate_submission`, one-line reasons), the assignment it names,
the limits of a grading process, and killing a process tree.

Keep imports here light: only the standard library at module level.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable

from autograder.records import failed_result
from autograder.protocol import LIMITS, SandboxUnavailable
from autograder.torch_build import is_cuda_build

DEFAULT_TIMEOUT_S = LIMITS.submission_s            # a whole submission, wall clock
DEFAULT_MEMORY_BYTES = LIMITS.memory_mb * 1024**2  # RLIMIT_AS of the grading process


class GradingError(Exception):
    """A submission that cannot be graded; the message is the reason shown to people."""


def kill_tree(pid: int) -> None:
    """Kill a process and every descendant (Jupyter starts kernels in their own session)."""
    try:
        import psutil
        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
    except Exception:  # noqa: BLE001 - already gone, or no psutil
        procs = []
    for p in procs:
        try:
            p.kill()
        except Exception:  # noqa: BLE001
            pass


def bound_grader_memory() -> None:
    """Cap this grading process's own address space (LIMITS.grader_memory_mb), so that no
    submission makes the grader itself exhaust the machine; skipped where CUDA is used."""
    import resource

    if is_cuda_build():
        return
    cap = LIMITS.grader_memory_mb * 1024**2
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft > cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def notebook_assignment(path: Path) -> str | None:
    """The assignment Otter Assign wrote into the notebook's metadata, if any (None for
    metadata of any other shape: a student may have edited it)."""
    from autograder.inputs import input_problem

    path = Path(path)
    if input_problem(path):
        return None  # validate_submission says why
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb.get("metadata") if isinstance(nb, dict) else None
    otter = meta.get("otter") if isinstance(meta, dict) else None
    name = otter.get("assignment_name") if isinstance(otter, dict) else None
    return name if isinstance(name, str) and name else None


def validate_submission(path: Path) -> dict:
    """The notebook's JSON, or GradingError saying why it is not a gradable notebook."""
    if not path.exists():
        raise GradingError("file not found")
    if path.is_dir():
        raise GradingError("is a directory, not a notebook")
    from autograder.inputs import input_problem  # a device such as /dev/zero, unreadable, huge

    problem = input_problem(path)
    if problem:
        raise GradingError(f"{problem}, not a notebook")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise GradingError(f"cannot be read ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise GradingError("not a notebook (not UTF-8 text)") from None
    except json.JSONDecodeError as err:
        raise GradingError(f"not a notebook (not valid JSON: {err.msg} at line {err.lineno})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or "nbformat" not in nb:
        raise GradingError("not a notebook (JSON without 'cells' and 'nbformat')")
    import nbformat
    try:
        nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
    except Exception as err:  # noqa: BLE001 - nbformat's many validation errors
        raise GradingError(f"not a valid notebook: {str(err).splitlines()[0][:200]}") from None
    return nb


def grade_sandboxed(submission: Path, assignment: str | None = None, *,
                    timeout: float = DEFAULT_TIMEOUT_S,
                    memory_bytes: int = DEFAULT_MEMORY_BYTES, strict: bool = False) -> dict:
    """Grade with the sandboxed runner (autograder/runner.py, docs/security.md): student
    code in a guarded process of its own, the hidden checks and the reference in this one.
    Needs no build. Never raises for a bad submission."""
    from autograder import runner

    start = time.monotonic()
    name = str(submission)
    try:
        validate_submission(Path(submission))
        claimed = notebook_assignment(Path(submission))
        if assignment and claimed and claimed != assignment:
            raise GradingError(f"this notebook is for assignment {claimed!r}, not {assignment!r}")
        assignment = assignment or claimed
        if not assignment:
            raise GradingError("the notebook names no assignment (no otter metadata): "
                               "pass --assignment")
        loaded = runner.load_assignment(assignment)
    except (GradingError, runner.SubmissionError) as err:
        points = {}
        if assignment:
            try:
                points = runner.load_assignment(assignment).points
            except runner.SubmissionError:
                pass
        return failed_result(name, assignment, points, str(err), time.monotonic() - start)
    try:
        record = runner.grade_notebook(submission, loaded, total_timeout=timeout,
                                       memory_mb=int(memory_bytes // 1024**2), strict=strict)
    except SandboxUnavailable as err:
        return failed_result(name, assignment, loaded.points, str(err), time.monotonic() - start)
    record.setdefault("error", None)
    record["seconds"] = round(time.monotonic() - start, 2)
    return record


def grade_many(submissions: Iterable[Path], build_dir: Path | None = None,
               assignment: str | None = None, *, jobs: int = 1,
               timeout: float = DEFAULT_TIMEOUT_S, memory_bytes: int = DEFAULT_MEMORY_BYTES,
               on_result: Callable[[dict], None] | None = None,
               engine: str, strict: bool = False, scheduler: str | None = None) -> list[dict]:
    """Grade submissions `jobs` at a time; `on_result` sees each result as soon as it is done.
    Returns the results in the order of `submissions`.

    engine "sandbox": autograder/runner.py (the guarded grader; checks run in worker
    processes, whose main thread their time limits need), on this machine
    (autograder.executors.LocalPool) or, with `scheduler` (a Dask scheduler's address), on
    that cluster's workers (DaskExecutor; raises executors.ClusterError when it cannot be
    reached); engine "otter": `otter run` with the zip in `build_dir`."""
    if engine not in ("sandbox", "otter"):
        raise ValueError(f"unknown engine {engine!r}: sandbox or otter")
    if scheduler and (engine != "sandbox" or jobs != 1):
        raise ValueError("a scheduler grades with the sandbox engine, and its workers decide "
                         "the parallelism (jobs=1)")
    submissions = list(submissions)
    results: list[dict | None] = [None] * len(submissions)
    if engine == "sandbox":
        if not submissions:
            return []
        from autograder import executors
        executor = (executors.DaskExecutor(scheduler) if scheduler
                    else executors.LocalPool(jobs))
        with executor:
            for i, result in executor.grade_unordered(
                    [str(s) for s in submissions], assignment, timeout=timeout,
                    memory_bytes=memory_bytes, strict=strict):
                results[i] = result
                if on_result:
                    on_result(result)
        return results  # type: ignore[return-value]
    from autograder.cores import threads_per_job
    from autograder.otter_engine import grade_one

    # Kernels side by side each get their share of the cores (autograder/cores.py says why).
    threads = threads_per_job(jobs) if jobs > 1 else None
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one, Path(s), build_dir, assignment, timeout=timeout,
                               memory_bytes=memory_bytes, threads=threads): i
                   for i, s in enumerate(submissions)}
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_result:
                on_result(result)
    return results  # type: ignore[return-value]
