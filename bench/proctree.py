"""The memory of a process tree while it runs, for the benchmarks that time whole commands."""
from __future__ import annotations

import os
import threading

POLL_S = 0.02
PAGE = os.sysconf("SC_PAGE_SIZE")
_PFN_MASK = (1 << 55) - 1
_PRESENT = 1 << 63
NEAR_PEAK = 0.97


def resident_frames(pid: int):
    """The physical page frames a process maps now (a numpy array, possibly with repeats),
    read from /proc/PID/pagemap; None where the kernel hides frame numbers (it shows them
    only to a process with CAP_SYS_ADMIN: zeros otherwise) or numpy is missing."""
    try:
        import numpy as np
    except ImportError:
        return None
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            start, end = (int(x, 16) for x in line.split(None, 1)[0].split("-"))
            if line.rstrip().endswith("[vsyscall]"):
                continue
            pagemap.seek(start // PAGE * 8)
            entries = np.frombuffer(pagemap.read((end - start) // PAGE * 8), dtype=np.uint64)
            present = entries[(entries & np.uint64(_PRESENT)) != 0]
            chunks.append(present & np.uint64(_PFN_MASK))
    frames = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint64)
    if len(frames) and not frames.any():
        return None
    return frames


class TreePeaks(threading.Thread):
    """Every 20 ms: the summed RSS of a process and its descendants (`tree`, with the number
    of processes then, `tree_procs`), the same summed as PSS (`tree_pss`: a page that
    forked processes share counts once in all, where RSS counts it in each), and the
    largest RSS of any one of them (`largest`, `largest_cmd`). With `unique`, also the
    tree's resident pages each counted once however many of its processes map it
    (`tree_unique`, from their page frames: the memory the tree holds, which PSS understates
    where a process outside the tree maps the same library; None where the kernel hides
    frame numbers, see resident_frames), and `tree_unique_bound`: that count plus what each
    process's own peak RSS (the kernel's VmHWM, exact) exceeds its RSS at that sample, which
    no moment between samples can exceed. A sandbox forked by the warm
    parent is not a child the command waits for, so wait4's ru_maxrss, what
    /usr/bin/time -f %M reports, would miss it."""

    def __init__(self, pid: int, poll_s: float = POLL_S, unique: bool = False):
        import psutil

        super().__init__(daemon=True)
        self.poll_s = poll_s
        self.unique = unique
        self.tree_unique: int | None = 0 if unique else None
        self.tree_unique_bound: int | None = None
        self._peak_rss: dict[int, int] = {}   # pid -> its VmHWM (bytes), last read
        self._rss_at_unique: dict[int, int] = {}  # pid -> its resident bytes at that count
        self.root = psutil.Process(pid)
        self.tree = self.tree_procs = self.tree_pss = self.largest = self.samples = 0
        self.largest_cmd = ""
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.done.is_set():
            try:
                procs = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                break
            total = pss = 0
            for proc in procs:
                try:
                    full = proc.memory_full_info()  # /proc/PID/smaps_rollup
                except psutil.Error:
                    continue
                rss = full.rss
                total += rss
                pss += getattr(full, "pss", rss)
                if rss > self.largest:
                    self.largest = rss
                    try:
                        self.largest_cmd = " ".join(proc.cmdline())[:60]
                    except psutil.Error:
                        pass
            self.samples += 1
            # Counted near the RSS sum's peak only (a count reads every process's page table,
            # 20 ms per 600 MB): where the tree's RSS sum is highest, so is what it holds.
            if self.unique and self.tree_unique is not None:
                self._read_peaks(procs)
                if total >= NEAR_PEAK * self.tree:
                    self._count_unique(procs)
            if total > self.tree:
                self.tree, self.tree_procs = total, len(procs)
            self.tree_pss = max(self.tree_pss, pss)
            self.done.wait(self.poll_s)

    def _count_unique(self, procs) -> None:
        import numpy as np

        frames = {}
        for proc in procs:
            try:
                got = resident_frames(proc.pid)
            except OSError:  # it ended between the listing and the read
                continue
            if got is None:
                self.tree_unique = None
                return
            frames[proc.pid] = got
        if frames:
            count = len(np.unique(np.concatenate(list(frames.values())))) * PAGE
            if count > self.tree_unique:
                self.tree_unique = count
                self._rss_at_unique = {pid: len(f) * PAGE for pid, f in frames.items()}

    def _read_peaks(self, procs) -> None:
        for proc in procs:
            try:
                with open(f"/proc/{proc.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            self._peak_rss[proc.pid] = int(line.split()[1]) * 1024
                            break
            except OSError:
                continue

    def finish(self) -> None:
        """Stop sampling; sets tree_unique_bound."""
        self.done.set()
        self.join()
        if self.tree_unique:
            self.tree_unique_bound = self.tree_unique + sum(
                max(0, self._peak_rss.get(pid, rss) - rss)
                for pid, rss in self._rss_at_unique.items())
