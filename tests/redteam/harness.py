"""One grading run of every attack beside two correct classmates, and what it changed.

`run(folder, attacks)` writes the notebooks, snapshots every place the run must not change,
runs `python -m cnnlab grade --json -j 2 --assignment cnn_costs <attackers...> <classmates>`
(sys.executable of this process) under supervise.py, snapshots again, cleans up what the
attacks left (files carrying their tag or marker, processes the run started) and returns an
`Outcome`, which tests/test_redteam.py judges. Under pytest-xdist the run happens once per
session (`shared_outcome`): the first worker runs it under a file lock, the others read it.
"""
from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from redteam import cases

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "cnn_costs"
CLASSMATES = ("alice", "bob")
# A safety net, not a target: the run takes ~40-70 s on these 2 cores, more beside other tests.
RUN_TIMEOUT_S = float(os.environ.get("CNNLAB_REDTEAM_TIMEOUT", 300))
GRACE_S = 6.0   # a process left running gets this long to end (and write) before it is killed
ENV_MARKER = "CNNLAB_REDTEAM_RUN"
# Shared temp folders: only additions and changed files count there (other programs use them
# too); these names are other programs' (and the grader's own cnnlab-* temp entries).
SHARED_EXCLUDED = ("pytest-of-*", "cnnlab-*", "cnnlab_*")
SHARED_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")


# ----------------------------------------------------------------------------- snapshots

def _entry(path: str, ctime: bool = True):
    """["file", size, mtime_ns, ctime_ns] (ctime, which no utime() can set back, in the
    watched places; not in the shared temp folders), ["dir"] or ["link", target]."""
    st = os.lstat(path)
    if os.path.islink(path):
        return ["link", os.readlink(path)]
    if os.path.isdir(path):
        return ["dir"]
    return ["file", st.st_size, st.st_mtime_ns] + ([st.st_ctime_ns] if ctime else [])


def _is_venv(path: str) -> bool:
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


# Never watched: git's store, bytecode caches, and Hypothesis's cache (tests running at the
# same time write ROOT/.hypothesis; the grader's own checks write .hypothesis/ into its cwd).
TREE_SKIPPED = (".git", "__pycache__", ".hypothesis")
# And the screenshots tests/test_report.py keeps for people (git ignores the folder), written
# by a test that may run beside the red-team run; only this one path, not any such name.
OUTPUT_SKIPPED = (str(Path(__file__).resolve().parent.parent / "artifacts"),)


def snapshot_tree(root: Path, skip=TREE_SKIPPED) -> dict[str, list]:
    """`_entry` of every path under root, without TREE_SKIPPED folders and
    virtual environments."""
    found: dict[str, list] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs
                   if d not in skip and os.path.join(folder, d) not in OUTPUT_SKIPPED
                   and not _is_venv(os.path.join(folder, d))]
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                found[path] = _entry(path)
            except OSError:
                pass
    return found


def snapshot_top(root: Path, ctime: bool = True) -> dict[str, list]:
    found: dict[str, list] = {}
    try:
        names = os.listdir(root)
    except OSError:
        return found
    for name in names:
        path = os.path.join(root, name)
        try:
            found[path] = _entry(path, ctime)
        except OSError:
            pass
    return found


def venv_paths() -> dict[str, str]:
    paths = sysconfig.get_paths()
    return {"site_packages": paths["purelib"], "platlib": paths["platlib"],
            "bin": paths["scripts"]}


@dataclass
class Places:
    """Every place the run must leave as it was."""
    strict: dict[str, tuple[str, Path]]   # name -> (mode "tree"/"top", path)
    shared: tuple[str, ...] = SHARED_ROOTS

    def take(self) -> dict[str, dict[str, list]]:
        shot = {}
        for name, (mode, path) in self.strict.items():
            shot[name] = snapshot_tree(path) if mode == "tree" else snapshot_top(path)
        for root in self.shared:
            shot[root] = {p: e for p, e in snapshot_top(Path(root), ctime=False).items()
                          if not any(fnmatch.fnmatch(os.path.basename(p), pattern)
                                     for pattern in SHARED_EXCLUDED)}
        return shot


def compare(before: dict, after: dict, shared: tuple[str, ...]) -> list[dict]:
    changes = []
    for name in after:
        old, new = before.get(name, {}), after[name]
        for path in sorted(set(old) | set(new)):
            a, b = old.get(path), new.get(path)
            if a == b:
                continue
            if name in shared:
                if b is None:
                    continue  # removed by someone: other programs share these folders
                if a is not None and a[0] == "dir" == b[0]:
                    continue
            kind = "added" if a is None else "removed" if b is None else "changed"
            changes.append({"place": name, "path": path, "change": kind,
                            "before": a, "after": b, "attack": attribute(path, b)})
    # A folder an attack created holds what it wrote: it is that attack's too.
    for change in changes:
        if change["attack"] is None and change["after"] and change["after"][0] == "dir":
            inside = [c["attack"] for c in changes if c["attack"]
                      and c["path"].startswith(change["path"] + os.sep)]
            change["attack"] = inside[0] if inside else None
    return changes


def attribute(path: str, entry=None) -> str | None:
    """The attack whose tag a path carries (in its name, its folders or, for a planted
    file, its first 4 KB), if any: the longest tag that matches. A file given the
    project-tree attack's mtime is that attack's."""
    if entry and entry[0] == "file" and entry[2] == cases.TOUCH_NS:
        return "write_project_tree"
    hits = [a.id for a in cases.ATTACKS if a.tag in os.path.basename(path)]
    if not hits:
        hits = [a.id for a in cases.ATTACKS if a.tag in path]
    if not hits and os.path.isfile(path):
        try:
            with open(path, "rb") as f:
                head = f.read(4096).decode(errors="replace")
        except OSError:
            head = ""
        hits = [a.id for a in cases.ATTACKS if a.tag in head]
    return max(hits, key=len) if hits else None


def _planted(path: str) -> bool:
    if cases.TAG_PREFIX in os.path.basename(path):
        return True
    try:
        with open(path, "rb") as f:
            return cases.MARKER.encode() in f.read(4096)
    except OSError:
        return False


# Where an untagged folder the run added is removed once it is empty (e.g. .cnnlab_build/
# made by an attack); never in the shared temp folders, where it may be someone else's.
EMPTIED_PLACES = ("project", "site-packages", "platlib", "bin")


def clean_up(changes: list[dict]) -> list[str]:
    """Remove what the attacks added (files carrying a tag or the marker, tagged folders,
    and folders added in EMPTIED_PLACES that are empty then); give back the mtime the
    project-tree attack changed. Nothing else is touched."""
    done = []
    added = [c for c in changes if c["change"] == "added"]
    for change in sorted(added, key=lambda c: -c["path"].count(os.sep)):
        path = change["path"]
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                if cases.TAG_PREFIX in os.path.basename(path):
                    shutil.rmtree(path)
                elif change["place"] in EMPTIED_PLACES:
                    os.rmdir(path)  # only if empty
                else:
                    continue
            elif _planted(path):
                os.unlink(path)
            else:
                continue
            done.append(path)
        except OSError:
            pass
    for change in changes:
        before, after = change["before"], change["after"]
        if change["change"] == "changed" and before and after and before[0] == after[0] == "file" \
                and after[2] == cases.TOUCH_NS and os.path.exists(change["path"]):
            os.utime(change["path"], ns=(before[2], before[2]))
            done.append(change["path"] + " (mtime restored)")
    # Named semaphores a killed CLI leaves in /dev/shm: added during the run, mapped by no
    # process any more (a live one maps its own).
    leaked = [c["path"] for c in added if c["place"] == "/dev/shm"
              and os.path.basename(c["path"]).startswith("sem.mp-")]
    if leaked:
        mapped = b"".join(_read(f"/proc/{pid}/maps") for pid in os.listdir("/proc")
                          if pid.isdigit())
        for path in leaked:
            if os.path.basename(path).encode() not in mapped:
                try:
                    os.unlink(path)
                    done.append(path)
                except OSError:
                    pass
    # Files written after the last snapshot (a late writer) carry the tag too.
    for root in SHARED_ROOTS:
        for path in snapshot_top(Path(root)):
            if os.path.basename(path).startswith(cases.TAG_PREFIX):
                try:
                    shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
                    done.append(path)
                except OSError:
                    pass
    return done


# ----------------------------------------------------------------------------- processes

def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _uptime_ticks() -> int:
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


def marked_processes(token: str, folder: Path, since: int) -> list[dict]:
    """Live processes (other than this one) started since `since` (clock ticks after boot)
    whose environment carries this run's marker, or whose command line or cwd names the
    run's folder."""
    found = []
    needle = f"{ENV_MARKER}={token}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        stat = _read(f"/proc/{name}/stat")
        fields = stat.rsplit(b")", 1)[1].split() if stat else []
        if len(fields) < 20 or fields[0] in (b"Z", b"X") or int(fields[19]) < since:
            continue
        cmdline = _read(f"/proc/{name}/cmdline").replace(b"\0", b" ").decode(errors="replace")
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            cwd = ""
        if needle in _read(f"/proc/{name}/environ").split(b"\0") \
                or str(folder) in cmdline or cwd.startswith(str(folder)):
            found.append({"pid": int(name), "cmdline": cmdline.strip(), "cwd": cwd})
    return found


# ----------------------------------------------------------------------------- the run

@dataclass
class Outcome:
    returncode: int | None
    timed_out: bool
    wall_s: float
    stdout: str
    stderr: str
    attackers: dict[str, str]               # attack id -> submission path, as passed
    classmates: dict[str, str]              # name -> submission path
    classmates_unchanged: dict[str, bool]
    points: dict[str, float]
    changes: list[dict]
    left_running: list[dict]
    marked_left_running: list[dict]
    snapshot_sizes: dict[str, int]
    token: str = ""                          # the run's marker, in the grader's environment
    supervisor: dict = field(default_factory=dict)
    cleaned: list[str] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "Outcome":
        return cls(**json.loads(path.read_text()))

    @property
    def graded(self) -> list[str]:
        return [*self.attackers.values(), *self.classmates.values()]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(folder: Path, attacks=None) -> Outcome:
    from autograder.runner import load_assignment

    attacks = list(cases.ATTACKS if attacks is None else attacks)
    folder = Path(os.path.realpath(folder))
    dirs = {name: folder / name
            for name in ("attackers", "classmates", "home", "run", "io", "cache")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    # The grader's disk cache (autograder/checks/disk_cache.py), filled first by grading a
    # correct notebook alone: the run then has nothing to add to it, so any change there is
    # an attack's, and the attackers are told every file in it.
    cache_env = dict(os.environ, HOME=str(dirs["home"]), CNNLAB_CACHE=str(dirs["cache"]))
    warm = dirs["io"] / "warm-up.ipynb"
    shutil.copyfile(SAMPLES / "correct.ipynb", warm)
    subprocess.run([sys.executable, "-m", "cnnlab", "grade", "--json", str(warm)],
                   cwd=str(dirs["io"]), env=cache_env, stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=RUN_TIMEOUT_S, check=True)
    warm.unlink()
    cache_files = sorted(str(p) for p in dirs["cache"].rglob("*") if p.is_file())
    points = load_assignment("cnn_costs").points
    venv = venv_paths()
    classmates = {}
    for name in CLASSMATES:
        path = dirs["classmates"] / f"{name}.ipynb"
        shutil.copyfile(SAMPLES / "correct.ipynb", path)
        classmates[name] = str(path)
    correct_sha = _sha(SAMPLES / "correct.ipynb")
    blank = json.loads((SAMPLES / "blank.ipynb").read_text())
    attackers = {}
    for attack in attacks:
        path = dirs["attackers"] / f"{attack.id}.ipynb"
        known = cases.knowledge(
            attack, me=str(path), classmates=list(classmates.values()),
            attackers_dir=str(dirs["attackers"]), classmates_dir=str(dirs["classmates"]),
            root=str(ROOT), site_packages=venv["site_packages"], bin_dir=venv["bin"],
            home=str(dirs["home"]), points=points, cache=str(dirs["cache"]),
            cache_files=cache_files)
        path.write_text(json.dumps(cases.notebook(blank, cases.attack_cell(attack, known)),
                                   indent=1))
        attackers[attack.id] = str(path)

    strict = {"project": ("tree", ROOT), "site-packages": ("top", Path(venv["site_packages"])),
              "bin": ("top", Path(venv["bin"])), "classmates": ("tree", dirs["classmates"]),
              "attackers": ("tree", dirs["attackers"]), "home": ("tree", dirs["home"]),
              "cli cwd": ("tree", dirs["run"]), "disk cache": ("tree", dirs["cache"])}
    if venv["platlib"] != venv["site_packages"]:
        strict["platlib"] = ("top", Path(venv["platlib"]))
    places = Places(strict)
    before = places.take()

    token = uuid.uuid4().hex
    since = _uptime_ticks() - 1
    env = dict(cache_env, **{ENV_MARKER: token})
    command = [sys.executable, "-m", "cnnlab", "grade", "--json", "-j", "2",
               "--assignment", "cnn_costs", *attackers.values(), *classmates.values()]
    config = {"command": command, "cwd": str(dirs["run"]), "env": env,
              "stdout": str(dirs["io"] / "stdout.txt"), "stderr": str(dirs["io"] / "stderr.txt"),
              "timeout": RUN_TIMEOUT_S, "grace": GRACE_S, "report": str(dirs["io"] / "report.json")}
    (dirs["io"] / "config.json").write_text(json.dumps(config, indent=1))
    supervisor = subprocess.run([sys.executable, str(Path(__file__).with_name("supervise.py")),
                                 str(dirs["io"] / "config.json")], cwd=str(dirs["io"]),
                                stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=RUN_TIMEOUT_S + GRACE_S + 120)
    if not (dirs["io"] / "report.json").exists():
        raise RuntimeError("supervise.py gave no report: "
                           + supervisor.stderr.decode(errors="replace")[-2000:])
    report = json.loads((dirs["io"] / "report.json").read_text())
    report["supervisor_stderr"] = supervisor.stderr.decode(errors="replace")[-2000:]

    marked = marked_processes(token, folder, since)
    for proc in marked:  # processes of this run that escaped the supervisor's tree
        try:
            os.kill(proc["pid"], signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    after = places.take()
    changes = compare(before, after, places.shared)
    # In the machine's shared temp folders only what carries an attack's tag counts: every
    # attack tags what it writes, and untagged entries there belong to whatever else runs
    # (other tests under xdist, pip, a log being written).
    changes = [c for c in changes if c["place"] not in places.shared or c["attack"]]
    cleaned = clean_up(changes)
    return Outcome(
        returncode=report["returncode"], timed_out=report["timed_out"], wall_s=report["wall_s"],
        stdout=(dirs["io"] / "stdout.txt").read_text(errors="replace"),
        stderr=(dirs["io"] / "stderr.txt").read_text(errors="replace"),
        attackers=attackers, classmates=classmates,
        classmates_unchanged={n: Path(p).exists() and _sha(Path(p)) == correct_sha
                              for n, p in classmates.items()},
        points=points, changes=changes, left_running=report["left_running"],
        marked_left_running=marked, snapshot_sizes={k: len(v) for k, v in before.items()},
        token=token, supervisor=report, cleaned=cleaned)


def shared_outcome(tmp_path_factory) -> Outcome:
    """One run per test session, shared by pytest-xdist workers (as tests/buildcache.py
    shares builds): the first to get the lock runs it, the others read its outcome."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if base.name.startswith("popen-gw") else base
    folder = root / "redteam"
    folder.mkdir(exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = folder / "outcome.json"
        if saved.exists():
            return Outcome.load(saved)
        outcome = run(folder / "run")
        outcome.save(saved)
        return outcome
