"""How many threads a process's math libraries get, when several processes share the cores.

torch (OpenMP), OpenBLAS and MKL each start a pool of one thread per core, and a pool's
threads spin waiting for one another at every small operation: two or three such processes
on two cores made the checks' small matmuls many times slower (a pytest run spent 820 s of
CPU where 570 s did the same work). A process given its share of the cores does not wait.
Standard library only."""
from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads_per_job(jobs: int) -> int:
    """Each of `jobs` processes' share of the cores, at least one thread."""
    return max(1, usable_cores() // max(1, jobs))


def thread_variables(threads: int) -> dict[str, str]:
    """The environment variables that size the math libraries' pools, read at their start."""
    return {name: str(threads) for name in THREAD_VARIABLES}
