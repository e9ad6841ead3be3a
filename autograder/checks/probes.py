"""Probes: how the checks touch student objects, here or in a sandbox.

Student objects are touched only by *probes*: functions `probe_*(env, ...)` of the modules
in PROBE_MODULES that take the student's namespace and plain data (ints, strings, lists,
dicts, tensors) and return plain data. A check computes the reference's answer itself and
compares it with what the probe returned. In Otter's kernel the probe runs in-process; an
env that runs the student in another process provides `env.run_probe(name, *args)`, which
runs the probe there and returns its plain result, re-raising an AssertionError with the
same message; a sandbox's env (autograder.sandbox.RemoteEnv) gets the probe's source
installed into the student's process instead. `run_probe` dispatches.

The probe modules import torch, the standard library and each other, and nothing of the
autograder beyond them, nor `solutions`: their definitions are compiled into a sandbox
that may not import the autograder (the imports of each other dropped: they share one
namespace there), so probes run where the reference must not be readable.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect

from autograder.checks.common import call_many

# In the order their module-level statements run in a sandbox.
PROBE_MODULES = (
    "autograder.checks.common",
    "autograder.checks.determinism",
    "autograder.checks.model_specs",
    "autograder.checks.reference_weights",
    "autograder.checks.model_probes",
    "autograder.checks.autograd_watch",
    "autograder.checks.call_probe",
)


def probe_function(name: str):
    """The probe `name` (`probe_forward`, ...) of the probe modules."""
    for module in PROBE_MODULES:
        fn = getattr(importlib.import_module(module), name, None)
        if name.startswith("probe_") and callable(fn):
            return fn
    raise KeyError(f"no probe {name!r} in {', '.join(PROBE_MODULES)}")


def run_probe(env, name: str, *args):
    """Run the probe `name` where the student's code lives; see the module docstring."""
    if hasattr(env, "run_probe"):
        return env.run_probe(name, *args)
    if hasattr(env, "run_in_sandbox"):
        # autograder.sandbox.RemoteEnv: install the probe in the student's process (afresh
        # each time, so a student's own `__cnnlab_probe__` is overwritten) and call there.
        env.run_in_sandbox(installer_source(name), timeout=60)
        return env.get("__cnnlab_probe__")(name, *args)
    return probe_function(name)(env, *args)


def run_probe_many(env, name: str, arg_lists: list, timeout: float,
                   budget: float) -> list[tuple]:
    """`run_probe(env, name, *args)` for each `args` of `arg_lists`, as common.call_many's
    outcomes, ending at the first exception (a probe's own failures are in its replies):
    where the student's code is in a sandbox, in one round trip (and one install)."""
    if hasattr(env, "run_probe"):
        fn = functools.partial(env.run_probe, name)
    elif hasattr(env, "run_in_sandbox"):
        env.run_in_sandbox(installer_source(name), timeout=60)
        fn, arg_lists = env.get("__cnnlab_probe__"), [(name, *args) for args in arg_lists]
    else:
        fn = functools.partial(probe_function(name), env)
    return call_many(fn, [(tuple(args), {}) for args in arg_lists], timeout=timeout,
                     budget=budget, stop_on=(BaseException,))


_INSTALLERS: dict = {}


def installer_source(name: str | None = None) -> str:
    """The source that installs the probe `name` (all probes: None) in a namespace: the
    probe modules' statements other than definitions, and the definitions the probe
    reaches. Compiling whole modules there for every call cost 7 ms, 0.5 s a submission."""
    if name not in _INSTALLERS:
        source = probe_source(name)
        _INSTALLERS[name] = (
            "__cnnlab_probes__ = {'__name__': 'cnnlab_probes', 'SPARE_COPIES': "
            "globals().setdefault('__cnnlab_spare_copies__', {})}\n"
            f"exec(compile({source!r}, '<cnnlab probes>', 'exec'), __cnnlab_probes__)\n"
            "def __cnnlab_probe__(name, *args, _probes=__cnnlab_probes__, _env=globals()):\n"
            "    return _probes[name](_env, *args)\n")
    return _INSTALLERS[name]


def _ours(node) -> bool:
    """An import of the autograder's own modules, or of __future__ (one, at the top)."""
    if isinstance(node, ast.ImportFrom):
        return node.module == "__future__" or (node.module or "").split(".")[0] == "autograder"
    return isinstance(node, ast.Import) and any(
        a.name.split(".")[0] == "autograder" for a in node.names)


def _docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


def probe_source(name: str | None) -> str:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    statements = []  # (node, its module's lines), in PROBE_MODULES order
    defs: dict = {}
    for module in PROBE_MODULES:
        source = inspect.getsource(importlib.import_module(module))
        lines = source.splitlines()
        for node in ast.parse(source).body:
            if _ours(node) or _docstring(node):
                continue
            if isinstance(node, kinds):
                if node.name in defs:
                    raise RuntimeError(f"{node.name} is defined twice in the probe modules: "
                                       "they share one namespace in a sandbox")
                defs[node.name] = node
            statements.append((node, lines))

    def names(node) -> set:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}

    todo = [n for n in defs if n.startswith("probe_")] if name is None else [name]
    for node, _ in statements:
        if not isinstance(node, kinds):
            todo += names(node)
    needed: set = set()
    while todo:
        n = todo.pop()
        if n in defs and n not in needed:
            needed.add(n)
            todo += names(defs[n])
    parts = ["from __future__ import annotations"]
    for node, lines in statements:
        if isinstance(node, kinds) and node.name not in needed:
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        parts.append("\n".join(lines[start - 1:node.end_lineno]))
    return "\n\n\n".join(parts) + "\n"
