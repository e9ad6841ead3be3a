"""The kernel's part of the sandbox: what a sandbox process does to itself, after its own
imports and before the first student cell, so that the kernel (not Python) refuses what a
student's code must not do. Each layer holds on its own; docs/security.md says what each
one stops.

- **uid** (only when the grader runs as root): a mount namespace of the process's own in
  which every private folder (the reference, the checks, the master notebooks, the other
  submissions, the results) is covered by an empty unreadable tmpfs and /proc shows only
  the process's own entries (hidepid); then a uid and gid of its own, with no
  supplementary groups and so no capabilities.
- **landlock**: read-only access to the interpreter's library, the venv's packages (ours
  excepted), the system's shared libraries and the few /dev, /proc/self and /sys entries
  Python and torch read; read-write only in the submission's temp folder; nothing may be
  executed; no TCP; signals and abstract unix sockets only within the sandbox.
- **seccomp**: no new programs, no new processes (threads stay allowed), no tracing or
  reading other processes, no signals to anyone else, no sockets, none of the kernel
  interfaces a sandbox never needs (mount, namespaces, bpf, perf, io_uring, keyrings...).

Everything here runs with the interpreter's ctypes before the audit hook (the innermost
layer, autograder/sandbox_child.py) forbids ctypes to the student. Nothing here imports
anything of ours, and it runs in the sandbox process only.
"""
from __future__ import annotations

import ctypes
import errno
import os
import stat
import sysconfig
from dataclasses import dataclass, field

LAYERS = ("uid", "landlock", "seccomp", "audit")
"""Every layer a sandbox can have, outermost first (the audit hook is sandbox_child's)."""

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class LayerUnavailable(Exception):
    """This machine (kernel, library, privileges) cannot give the layer; the message says
    why, in a few words."""


@dataclass
class Policy:
    """What the sandbox may touch. Paths are absolute."""

    workdir: str                                  # read-write: the submission's temp folder
    inbox: str | None = None                      # read-only: the grader's files for it
    private: list[str] = field(default_factory=list)   # hidden by the uid layer
    private_names: tuple[str, ...] = ("cnnlab", "autograder", "solutions", "quizzes")
    uid: int | None = None                        # the sandbox's uid when run as root
    gpu: bool = False                             # allow /dev/nvidia* (CUDA)


# --------------------------------------------------------------------------- read access

def _site_entries(private_names) -> list[str]:
    """Every entry of the venv's package folders except our own packages (an install that
    is not editable puts solutions/ and autograder/ there) and their metadata."""
    entries = []
    folders = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    for folder in sorted(folders):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            lowered = name.lower()
            if any(lowered == p or lowered.startswith((p + ".", p + "-", "__editable__." + p,
                                                       "__editable___" + p))
                   for p in private_names):
                continue
            entries.append(os.path.join(folder, name))
    return entries


def readable_paths(policy: Policy) -> list[str]:
    """What a sandbox may read: the interpreter's own library, the venv's packages, the
    system's shared libraries and public data, and the kernel's description of the CPU."""
    paths = [os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")]
    paths += _site_entries(policy.private_names)
    if policy.inbox:
        paths.append(os.path.realpath(policy.inbox))
    paths += ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/share",
              "/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/matplotlibrc",
              "/dev/urandom", "/dev/random", "/dev/zero",
              "/proc/cpuinfo", "/proc/meminfo", "/proc/stat",
              "/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/fs/cgroup"]
    if policy.gpu:
        paths += ["/proc/driver/nvidia", "/sys/bus/pci", "/sys/devices", "/sys/module/nvidia"]
    return [p for p in dict.fromkeys(paths) if os.path.exists(p)]


def gpu_devices() -> list[str]:
    try:
        return [os.path.join("/dev", n) for n in sorted(os.listdir("/dev"))
                if n.startswith("nvidia")]
    except OSError:
        return []


# --------------------------------------------------------------------------------- uid

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18


def _mount(source, target, fstype, flags, data=None) -> None:
    if _libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                   ctypes.c_ulong(flags), data and data.encode()) != 0:
        err = ctypes.get_errno()
        raise LayerUnavailable(f"mount {target}: {os.strerror(err)}")


def _hidden_ancestor(path: str, uid: int) -> str | None:
    """The outermost folder above `path` that `uid` may not pass through (e.g. /root, mode
    700, above a pyenv interpreter), or None."""
    parts = os.path.realpath(path).split(os.sep)
    for depth in range(2, len(parts)):
        folder = os.sep.join(parts[:depth])
        try:
            st = os.stat(folder)
        except OSError:
            return None
        if not (st.st_mode & stat.S_IXOTH) and st.st_uid != uid:
            return folder
    return None


STAGE_FOLDERS = ("/dev/shm", "/run", "/mnt", "/tmp")


def _stage_folder(tops: list[str], exposed: list[str]) -> str:
    """Where to mount the tmpfs of our own namespace that drop_to_uid stages mounts in (it
    stays there, covering that folder): outside every covered folder, and holding nothing
    the sandbox must still reach. The first of STAGE_FOLDERS that qualifies: /dev/shm,
    unless the grading folders are below it (TMPDIR=/dev/shm), which it would hide."""
    reach = [os.path.realpath(p) for p in exposed]
    for folder in STAGE_FOLDERS:
        stage = os.path.realpath(folder)
        if stage == "/" or not os.path.isdir(stage):
            continue
        if any(stage == t or stage.startswith(t + os.sep) for t in tops):
            continue
        if any(p == stage or p.startswith(stage + os.sep) for p in reach):
            continue
        return stage
    raise LayerUnavailable("no folder to stage mounts in: " + ", ".join(STAGE_FOLDERS)
                           + " are missing or hold the sandbox's own files")


def drop_to_uid(policy: Policy, readable: list[str]) -> None:
    """As root: a mount namespace of our own in which the private folders are covered by
    bare tmpfs folders and /proc shows only our own entries, then the sandbox's uid. What
    the sandbox must still read below a covered folder (the venv inside the project tree, a
    pyenv interpreter below /root, mode 700) is mounted aside first and moved back after.
    lock_down calls it only as root."""
    uid, workdir = policy.uid, os.path.realpath(policy.workdir)
    # The workdir (and the inbox) must stay reachable too, even below a folder of mode 700
    # (pytest's, a user's own temp folder).
    exposed = readable + [workdir]
    hidden = {h for h in (_hidden_ancestor(p, uid) for p in exposed) if h}
    if _libc.unshare(CLONE_NEWNS) != 0:
        # A container without CAP_SYS_ADMIN (Docker's default): no mount namespace, so the
        # private folders cannot be covered. The uid is still dropped where everything the
        # sandbox reads is reachable for it (a hardening, not the whole layer).
        why = f"no mount namespace ({os.strerror(ctypes.get_errno())})"
        if hidden:
            raise LayerUnavailable(f"{why}, and {min(hidden)} is closed to a uid of its own")
        _become(uid, workdir)
        raise LayerUnavailable(f"{why}: runs as uid {uid}, but the private folders are not "
                               "covered")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    tops = set(hidden)
    # ("/" itself is never covered: a notebook graded from the root folder.)
    private = {os.path.realpath(p) for p in policy.private if os.path.isdir(p)} - {"/"}
    # A private folder that holds the workdir stays visible (Landlock keeps its files).
    tops |= {t for t in private if not (workdir + os.sep).startswith(t + os.sep)}
    tops = sorted(t for t in tops if not any(t.startswith(o + os.sep) for o in tops))
    stage = _stage_folder(tops, exposed)
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64k")
    staged = []
    for path in exposed:
        if any(path.startswith(t + os.sep) for t in tops):
            spot = os.path.join(stage, str(len(staged)))
            if os.path.isdir(path):
                os.mkdir(spot)
            else:
                open(spot, "a").close()
            _mount(path, spot, None, MS_BIND | MS_REC)
            staged.append((spot, path))
    for top in tops:
        _mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=256k")
    for spot, path in staged:
        if os.path.isdir(spot):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "a").close()
        _mount(spot, path, None, MS_MOVE)
    for top in tops:  # the bare folders stay as they are: read-only from now on
        _mount(None, top, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for spot, _ in reversed(staged):
        (os.rmdir if os.path.isdir(spot) else os.unlink)(spot)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
    _become(uid, workdir)


def _become(uid: int, workdir: str) -> None:
    os.chown(workdir, uid, uid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    os.environ["HOME"] = workdir


# ---------------------------------------------------------------------------- landlock

# linux/landlock.h; the syscall numbers are the same on every architecture.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
FS = dict(EXECUTE=1 << 0, WRITE_FILE=1 << 1, READ_FILE=1 << 2, READ_DIR=1 << 3,
          REMOVE_DIR=1 << 4, REMOVE_FILE=1 << 5, MAKE_CHAR=1 << 6, MAKE_DIR=1 << 7,
          MAKE_REG=1 << 8, MAKE_SOCK=1 << 9, MAKE_FIFO=1 << 10, MAKE_BLOCK=1 << 11,
          MAKE_SYM=1 << 12, REFER=1 << 13, TRUNCATE=1 << 14, IOCTL_DEV=1 << 15)
# The rights each ABI version knows (a right the kernel does not know is refused).
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
              5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
PR_SET_NO_NEW_PRIVS = 38


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    abi = _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(CREATE_RULESET_VERSION))
    if abi < 0:
        err = ctypes.get_errno()
        raise LayerUnavailable("the kernel has no Landlock" if err in (errno.ENOSYS, errno.EOPNOTSUPP)
                               else f"Landlock: {os.strerror(err)}")
    return abi


def _no_new_privs() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise LayerUnavailable(f"no_new_privs: {os.strerror(ctypes.get_errno())}")


def _threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 1


def apply_landlock(policy: Policy, readable: list[str]) -> int:
    """Restrict this process (and all it starts) to `readable` and the workdir. Returns the
    ABI version used."""
    abi = landlock_abi()
    if _threads() != 1:
        # Landlock restricts the calling thread and what it starts, not threads already
        # running: lock down while single-threaded, or not at all.
        raise LayerUnavailable("the sandbox already runs several threads")
    handled = _FS_BY_ABI[min(abi, 5)]
    attr = _RulesetAttr(handled, (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
                        (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        raise LayerUnavailable(f"Landlock ruleset: {os.strerror(ctypes.get_errno())}")
    read = FS["READ_FILE"] | FS["READ_DIR"]
    file_rights = FS["READ_FILE"] | FS["WRITE_FILE"] | FS["TRUNCATE"] | FS["IOCTL_DEV"]
    everything_but_exec = handled & ~FS["EXECUTE"] & ~FS["MAKE_CHAR"] & ~FS["MAKE_BLOCK"]
    rules = [(p, read) for p in readable]
    rules += [("/dev/null", FS["READ_FILE"] | FS["WRITE_FILE"]),
              (f"/proc/{os.getpid()}", read),   # /proc/self, and no other process's entries
              (policy.workdir, everything_but_exec)]
    if policy.gpu:
        rules += [(d, file_rights) for d in gpu_devices()]
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    # Rights that only make sense on a folder are refused on a file.
                    rights &= FS["EXECUTE"] | file_rights
                rule = _PathBeneath(rights & handled, fd)
                if _libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset),
                                 ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                                 ctypes.c_uint32(0)) != 0:
                    raise LayerUnavailable(f"Landlock rule for {path}: "
                                           f"{os.strerror(ctypes.get_errno())}")
            finally:
                os.close(fd)
        _no_new_privs()
        if _libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise LayerUnavailable(f"Landlock restrict: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)
    return abi


# ----------------------------------------------------------------------------- seccomp

# Refused outright (EPERM): programs, processes, other processes' memory, and kernel
# interfaces a sandbox never needs. Threads (clone with CLONE_THREAD) stay allowed.
DENIED_SYSCALLS = (
    "execve", "execveat", "fork", "vfork",
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "tkill",
    "socket", "socketpair",
    "mount", "umount2", "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "pivot_root", "chroot", "unshare", "setns",
    "bpf", "perf_event_open", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "userfaultfd", "keyctl", "add_key", "request_key", "fanotify_init",
    "open_by_handle_at", "name_to_handle_at", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct",
    "quotactl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl",
    "ioperm", "mknod", "mknodat", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setgroups", "setfsuid", "setfsgid", "personality", "vhangup",
    "migrate_pages", "move_pages",
)
CLONE_THREAD = 0x00010000


def _seccomp_library():
    """pyseccomp, loaded before any other layer (it looks libseccomp up with ldconfig, a
    program the sandbox may not run)."""
    try:
        import pyseccomp
        return pyseccomp
    except (ImportError, OSError) as err:  # the package, or libseccomp.so.2, is missing
        raise LayerUnavailable(f"no libseccomp ({type(err).__name__})") from None


def apply_seccomp() -> None:
    seccomp = _seccomp_library()
    deny = seccomp.ERRNO(errno.EPERM)
    pid = os.getpid()
    try:
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        f.set_attr(seccomp.Attr.CTL_TSYNC, 1)  # every thread, not only this one
        for name in DENIED_SYSCALLS:
            try:
                f.add_rule(deny, name)
            except (RuntimeError, ValueError, OSError):
                pass  # a call this architecture does not have
        # A new process is a clone without CLONE_THREAD; clone3 hides its flags in memory,
        # so it answers "not implemented" and the C library falls back to clone.
        f.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        # Signals only at itself.
        for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
            f.add_rule(deny, name, seccomp.Arg(0, seccomp.NE, pid))
        _no_new_privs()
        f.load()
    except LayerUnavailable:
        raise
    except Exception as err:  # noqa: BLE001 - libseccomp reports in its own ways
        raise LayerUnavailable(f"seccomp: {err}") from None


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """SIGKILL when the grader that started us dies; exit now if it already has."""
    import signal as _signal

    _libc.prctl(PR_SET_PDEATHSIG, int(_signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def own_session_and_limits(memory_mb: int | None, file_mb: int, open_files: int) -> None:
    """A session of its own and the sandbox's rlimits (address space unless None, one file's
    size, no core dumps, open descriptors); set in the new process before anything else,
    whether it was started fresh or forked by the warm parent."""
    import resource
    import signal as _signal

    os.setsid()
    if memory_mb is not None:
        memory = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    files = file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
    # Writing past the file limit then fails with an error instead of killing us.
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)


# ------------------------------------------------------------------------------- entry

def lock_down(policy: Policy, want=("uid", "landlock", "seccomp")) -> tuple[list[str], dict]:
    """Apply every layer this machine can give, outermost first. Returns (active layers,
    {layer: why it is missing}). Never raises for a missing layer: the caller decides
    whether that is acceptable (`cnnlab grade --strict`)."""
    active, missing = [], {}
    readable = readable_paths(policy)
    try:
        _seccomp_library()
    except LayerUnavailable:
        pass  # apply_seccomp says so below
    steps = [("uid", lambda: drop_to_uid(policy, readable)),
             ("landlock", lambda: apply_landlock(policy, readable)),
             ("seccomp", apply_seccomp)]
    for name, step in steps:
        if name not in want:
            missing[name] = "not asked for"
            continue
        if name == "uid" and (os.geteuid() != 0 or policy.uid is None):
            missing[name] = "the grader does not run as root"
            continue
        try:
            step()
            active.append(name)
        except LayerUnavailable as err:
            missing[name] = str(err)
        except OSError as err:
            missing[name] = f"{name}: {err.strerror or err}"
    return active, missing


def expected_layers() -> list[str]:
    """The layers a sandbox should have on this machine: all of them, uid only when the
    grader runs as root."""
    return [x for x in LAYERS if x != "uid" or os.geteuid() == 0]


def status_line(active, missing) -> str:
    return ", ".join(active + [f"no {k} ({v})" for k, v in missing.items()])

