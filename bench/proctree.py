"""The memory of a process tree while it runs, for the benchmarks that time whole commands."""
from __future__ import annotations

import threading

POLL_S = 0.02


class TreePeaks(threading.Thread):
    """Every 20 ms: the summed RSS of a process and its descendants (`tree`, with the number
    of processes then, `tree_procs`), the same summed as PSS (`tree_pss`: a page that
    forked processes share counts once in all, where RSS counts it in each), and the
    largest RSS of any one of them (`largest`, `largest_cmd`). A sandbox forked by the warm
    parent is not a child the command waits for, so wait4's ru_maxrss, what
    /usr/bin/time -f %M reports, would miss it."""

    def __init__(self, pid: int, poll_s: float = POLL_S):
        import psutil

        super().__init__(daemon=True)
        self.poll_s = poll_s
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
            if total > self.tree:
                self.tree, self.tree_procs = total, len(procs)
            self.tree_pss = max(self.tree_pss, pss)
            self.done.wait(self.poll_s)
