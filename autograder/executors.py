"""Where `cnnlab grade` runs the sandbox grader: on this machine (`LocalPool`) or on the
workers of a Dask cluster (`DaskExecutor`, `cnnlab grade --scheduler tcp://HOST:8786`).

An executor takes the submissions and yields `(index, record)` as each is graded, in the
order they finish; `autograder.grade.grade_many` puts them back in submission order. Each
record is the contract's (autograder/records.py); a submission that could not be graded
still gets one, with the reason on one line, never a traceback.

Wherever it runs, `grade_sandboxed` needs a process of its own: its per-call time limits use
SIGALRM, which only a process's main thread can take, and it must run under the grader's
address-space cap (`bound_grader_memory`). Locally that is a spawned pool worker, as it
always was. A Dask worker runs tasks in threads of a daemonic process (which multiprocessing
refuses to give children), so each task there hands its submission to a grading process
started with subprocess (`python -m autograder.executors --serve`), kept for the worker's
lifetime so that torch and the checks are imported once, not once per notebook. The worker
may be another machine: the notebook's bytes travel with the task, are written to a temp
folder of their own on the worker (the sandbox may not read the folder a submission is in,
so no two share one) and graded there; the record names the original path.

Standard library only at module level: Dask is imported only by `DaskExecutor`.
"""
from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path, PurePath
from typing import Iterator, Sequence

from autograder.records import failed_result

CONNECT_TIMEOUT_S = 5       # reaching the scheduler
# A grading process on a worker: what it may take beyond the submission's own timeout
# (starting, importing torch and the checks) before the task gives it up as hung.
GRADER_MARGIN_S = 120
CLUSTER_HINT = ("every worker needs this project and the same torch installed: "
                "pip install '.[cluster]'")


class ClusterError(Exception):
    """The cluster cannot be used (no Dask, a bad address, an unreachable scheduler); the
    message is one line for people."""


def one_line(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [""])[0][:300]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class Executor:
    """Grades submissions with the sandbox grader somewhere; see the module's docstring."""

    def grade_unordered(self, submissions: Sequence[str], assignment: str | None, *,
                        timeout: float, memory_bytes: int,
                        strict: bool) -> Iterator[tuple[int, dict]]:
        """Yield (index in `submissions`, record) for every submission, as each finishes."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------- local

def _pool_worker_setup() -> None:
    """A local pool worker's start: the grader's memory cap, and an exit that skips
    tearing down torch. A spawned worker ends with sys.exit once the pool is shut down,
    after multiprocessing's own exit work, and Python's teardown of torch then holds up
    the pool's shutdown, and `cnnlab grade -j N`, by 0.3 to 0.7 s."""
    import atexit

    from autograder.grade import bound_grader_memory

    bound_grader_memory()
    atexit.register(_exit_without_teardown)


def _exit_without_teardown() -> None:
    # The first of the atexit functions to run (the last registered): it does the work of
    # the ones registered before it that matter here (the log's handlers, the standard
    # streams); multiprocessing has done its own already. A worker's results have all been
    # sent (its result queue writes synchronously) and its sandboxes killed.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


class LocalPool(Executor):
    """This machine: in this process with jobs == 1 (the caller bounds its memory), else
    `jobs` spawned worker processes, each bounding its own memory."""

    def __init__(self, jobs: int = 1):
        self.jobs = max(1, int(jobs))

    def grade_unordered(self, submissions, assignment, *, timeout, memory_bytes, strict):
        from autograder.grade import grade_sandboxed

        kwargs = dict(timeout=timeout, memory_bytes=memory_bytes, strict=strict)
        if self.jobs == 1:
            for i, s in enumerate(submissions):
                yield i, grade_sandboxed(Path(s), assignment, **kwargs)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=self.jobs, initializer=_pool_worker_setup,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(grade_sandboxed, Path(s), assignment, **kwargs): i
                       for i, s in enumerate(submissions)}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - a worker died: say so, go on
                    result = failed_result(str(submissions[i]), assignment, {},
                                           f"grading failed: {err}", 0)
                yield i, result


# ----------------------------------------------------------------------------- Dask

def _read_submission(path: str) -> bytes | None:
    """The notebook's bytes, or None when this machine cannot read it as a file (the grader
    then says why, here: see DaskExecutor)."""
    from autograder.inputs import input_problem

    if input_problem(path):
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


class DaskExecutor(Executor):
    """The workers of the Dask cluster whose scheduler is at `address`: one task per
    submission; the cluster's workers (their threads) decide how many run at once."""

    def __init__(self, address: str, connect_timeout: float = CONNECT_TIMEOUT_S):
        try:
            import distributed
            from distributed.comm.addressing import get_address_host_port, normalize_address
        except ImportError:
            raise ClusterError("--scheduler needs Dask on this machine: install this project "
                               "with its cluster extra, pip install '.[cluster]'") from None
        try:
            given, address = address, normalize_address(address)
            get_address_host_port(address)  # a port, and a scheme that has hosts
        except ValueError as err:  # checked first: a Client that fails so hangs at exit
            raise ClusterError(f"--scheduler {given}: {err}") from None
        try:
            self.client = distributed.Client(address, timeout=connect_timeout,
                                             set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            detail = (str(err).strip().splitlines() or [type(err).__name__])[0]
            detail = ("" if detail.startswith("Timed out trying to connect")
                      else f" ({detail[:200]})")
            raise ClusterError(f"cannot reach the Dask scheduler at {address} within "
                               f"{connect_timeout:g} s{detail}: is `dask scheduler` running "
                               f"there, and its port open to this machine?") from None
        self._as_completed = distributed.as_completed
        # Dask logs a lost scheduler as tracebacks; here each record says it in one line.
        self._levels = {}
        for name in ("distributed", "distributed.client"):  # the client's level is its own
            logger = logging.getLogger(name)
            self._levels[logger] = logger.level
            logger.setLevel(logging.CRITICAL)

    def grade_unordered(self, submissions, assignment, *, timeout, memory_bytes, strict):
        names = [str(Path(s)) for s in submissions]  # as grade_sandboxed names them
        futures = {}
        unreadable = []
        for i, name in enumerate(names):
            data = _read_submission(name)
            if data is None:
                unreadable.append(i)
                continue
            future = self.client.submit(grade_on_worker, name, data, assignment,
                                        timeout, memory_bytes, strict, pure=False,
                                        key=f"cnnlab-grade-{i}-{os.urandom(4).hex()}")
            futures[future] = i
        if unreadable:
            # Not read here, so not sent: the grader's own check says why, without running
            # anything of the notebook (it stops at validate_submission).
            from autograder.grade import grade_sandboxed
            for i in unreadable:
                yield i, grade_sandboxed(Path(names[i]), assignment, timeout=timeout,
                                         memory_bytes=memory_bytes, strict=strict)
        try:
            for future in self._as_completed(list(futures), loop=self.client.loop):
                i = futures.pop(future)
                yield i, self._record(future, names[i], assignment)
                future.release()
        finally:
            for future in futures:  # interrupted: nothing is left running for us
                future.cancel()

    @staticmethod
    def _record(future, submission: str, assignment: str | None) -> dict:
        try:
            if future.status == "finished":
                return future.result()
            if future.status == "error":
                err = future.exception()
                reason = one_line(err)
                if isinstance(err, ModuleNotFoundError):
                    reason += f" ({CLUSTER_HINT})"
            else:
                reason = (f"the cluster gave up the task ({future.status}: the scheduler, "
                          f"or the connection to it, lost?)")
        except Exception as err:  # noqa: BLE001 - the result could not be fetched
            reason = one_line(err)
        return failed_result(submission, assignment, {}, f"grading failed: {reason}", 0)

    def close(self) -> None:
        try:
            self.client.close(timeout=CONNECT_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the scheduler is already gone
            pass
        finally:
            for logger, level in self._levels.items():
                logger.setLevel(level)


# ----------------------------------------------------------------------------- on a worker

class GraderLost(Exception):
    """The grading process died or hung; the message is why."""


class GraderProcess:
    """A grading process on this (worker) machine: `python -m autograder.executors --serve`,
    which bounds its memory, imports the grader and then grades one request at a time, each
    a JSON line on one pipe, its record a JSON line on another (so nothing the grader prints
    can pass for a record). It exits when its requests pipe closes: when the worker is gone."""

    def __init__(self):
        to_child_r, self._requests = os.pipe()
        self._replies, from_child_w = os.pipe()
        root = str(Path(__file__).resolve().parent.parent)  # this project, for `-m autograder`
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.executors", "--serve", str(to_child_r),
                 str(from_child_w)], pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
                env=env, start_new_session=True)  # a ^C to the worker is not the grader's
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._buffer = b""
        self._killed = False
        self._poll = select.poll()
        self._poll.register(self._replies, select.POLLIN)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def grade(self, request: dict, wait: float) -> dict:
        try:
            os.write(self._requests, (json.dumps(request) + "\n").encode())
        except OSError:
            raise GraderLost(self._death()) from None
        deadline = time.monotonic() + wait
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise GraderLost(f"the grading process did not answer within {wait:g} s")
            if self._poll.poll(min(left, 5) * 1000):  # poll: a busy worker's fds pass 1024
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise GraderLost(self._death())
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply = json.loads(line)
        if "crashed" in reply:
            raise GraderLost(reply["crashed"])
        return reply

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            return "the grading process stopped answering"
        if code < 0:
            return f"the grading process was killed by signal {-code}"
        return f"the grading process exited with status {code}"

    def kill(self) -> None:
        """End it and its sandbox; idempotent (its pipes are closed once: another thread
        may already have opened a file under the same number)."""
        from autograder.grade import kill_tree
        if self._killed:
            return
        self._killed = True
        kill_tree(self.proc.pid)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self._requests, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass


# The idle grading processes of this worker process: a task takes one (or starts one) and
# gives it back, so there are as many as the worker runs tasks at once (its --nthreads).
_idle: list[GraderProcess] = []
_idle_lock = threading.Lock()


def _restore_names(value, names: dict[str, str]):
    """`value` with every temp path of the worker in its strings put back as the client's."""
    if isinstance(value, str):
        for temp, original in names.items():
            value = value.replace(temp, original)
        return value
    if isinstance(value, dict):
        return {k: _restore_names(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_names(v, names) for v in value]
    return value


def grade_on_worker(submission: str, data: bytes, assignment: str | None, timeout: float,
                    memory_bytes: int, strict: bool) -> dict:
    """The Dask task: grade the notebook `data` (read from `submission` on the client) in a
    grading process of this machine; the record names `submission`."""
    name = PurePath(submission).name or "submission.ipynb"
    folder = tempfile.mkdtemp(prefix="cnnlab_dask_")
    try:
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(data)
        with _idle_lock:
            grader = _idle.pop() if _idle else None
        if grader is None or not grader.alive():
            if grader is not None:
                grader.kill()
            grader = GraderProcess()
        try:
            record = grader.grade({"path": path, "assignment": assignment, "timeout": timeout,
                                   "memory_bytes": memory_bytes, "strict": strict},
                                  wait=timeout + GRADER_MARGIN_S)
        except GraderLost as err:
            grader.kill()
            return failed_result(submission, assignment, {}, f"grading failed: {err}", 0)
        with _idle_lock:
            _idle.append(grader)
        parent = str(PurePath(submission).parent)
        record = _restore_names(record, {path: submission, folder: parent})
        record["submission"] = submission
        return record
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _serve(requests_fd: int, replies_fd: int) -> None:
    """The grading process's loop (see GraderProcess)."""
    from autograder.grade import bound_grader_memory

    bound_grader_memory()
    from autograder.grade import grade_sandboxed
    from autograder import runner  # noqa: F401 - torch and the checks, imported once

    replies = os.fdopen(replies_fd, "w")
    for line in os.fdopen(requests_fd, "r"):
        request = json.loads(line)
        try:
            reply = grade_sandboxed(Path(request["path"]), request["assignment"],
                                    timeout=request["timeout"],
                                    memory_bytes=request["memory_bytes"],
                                    strict=request["strict"])
        except Exception as err:  # noqa: BLE001 - the grader's own failure, in one line
            reply = {"crashed": one_line(err)}
        try:
            replies.write(json.dumps(reply) + "\n")
            replies.flush()
        except BrokenPipeError:
            return  # the worker is gone


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--serve":
    _serve(int(sys.argv[2]), int(sys.argv[3]))
