"""Which torch build is installed (CPU or CUDA), whether CUDA works here, and where it lives.

Standard library only at import time; torch is imported inside `report()`, so importing this
module is cheap and works where torch is missing or broken. `cnnlab doctor` prints
`report()["summary"]`; the Makefile checks an install with

    python -m autograder.torch_build --expect cpu     # or: --expect cuda

which prints the summary and exits 1, with a one-line reason on stderr, when the installed
torch is not the build asked for (`--json` prints the whole report instead).
"""
from __future__ import annotations

import sys

BUILDS = ("cpu", "cuda")


def report() -> dict:
    """Report on the torch that this interpreter imports.

    Returns a dict with the keys:

    - ``installed`` (bool): ``import torch`` worked;
    - ``error`` (str or None): why it did not (``ModuleNotFoundError: ...``), else None;
    - ``version`` (str or None): ``torch.__version__``, e.g. ``"2.13.0+cpu"`` or ``"2.13.0"``;
    - ``build`` (str or None): ``"cpu"``, ``"cuda X.Y"`` (the CUDA version torch was built
      with, ``torch.version.cuda``) or ``"rocm X.Y"``;
    - ``kind`` (str or None): ``"cpu"``, ``"cuda"`` or ``"rocm"``, the build without version;
    - ``cuda_version`` (str or None): ``torch.version.cuda``, None for the CPU build;
    - ``cuda_available`` (bool): ``torch.cuda.is_available()`` (False on the CPU build, and on
      a CUDA build without a GPU or driver);
    - ``device_count`` (int): ``torch.cuda.device_count()`` when CUDA is available, else 0;
    - ``devices`` (list of str): the name of each CUDA device;
    - ``cuda_works`` (bool): a tensor op on ``cuda:0`` ran (False when CUDA is not available);
    - ``cuda_error`` (str or None): why CUDA is not available or did not work, when known;
    - ``location`` (str or None): the folder of the imported torch package;
    - ``python`` (str): ``sys.executable``;
    - ``summary`` (str): one line, e.g. ``"torch 2.13.0+cpu, CPU build, at .../torch;
      CUDA not available (CPU build)"``.
    """
    import warnings

    info = {"installed": False, "error": None, "version": None, "build": None, "kind": None,
            "cuda_version": None, "cuda_available": False, "device_count": 0, "devices": [],
            "cuda_works": False, "cuda_error": None, "location": None,
            "python": sys.executable}
    try:
        import torch
    except Exception as err:  # noqa: BLE001 - missing, or a broken install: report it
        info["error"] = f"{type(err).__name__}: {err}"
        info["summary"] = summary(info)
        return info
    import os

    info["installed"] = True
    info["version"] = str(torch.__version__)
    info["location"] = os.path.dirname(os.path.abspath(torch.__file__))
    version = getattr(torch, "version", None)
    cuda = getattr(version, "cuda", None)
    hip = getattr(version, "hip", None)
    info["cuda_version"] = cuda
    if cuda:
        info["kind"], info["build"] = "cuda", f"cuda {cuda}"
    elif hip:
        info["kind"], info["build"] = "rocm", f"rocm {hip}"
    else:
        info["kind"], info["build"] = "cpu", "cpu"
    if info["kind"] == "cpu":
        info["cuda_error"] = "CPU build"
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                info["cuda_available"] = bool(torch.cuda.is_available())
            except Exception as err:  # noqa: BLE001
                info["cuda_error"] = f"{type(err).__name__}: {err}"
        if not info["cuda_available"] and info["cuda_error"] is None:
            said = [str(w.message).strip().splitlines()[0] for w in caught
                    if str(w.message).strip()]
            info["cuda_error"] = said[0] if said else "no CUDA device or driver found"
    if info["cuda_available"]:
        try:
            info["device_count"] = int(torch.cuda.device_count())
            info["devices"] = [str(torch.cuda.get_device_name(i))
                               for i in range(info["device_count"])]
            ran = (torch.zeros(2, device="cuda:0") + 1).sum().item()
            info["cuda_works"] = ran == 2
            if not info["cuda_works"]:
                info["cuda_error"] = f"a test op on cuda:0 gave {ran}, not 2"
        except Exception as err:  # noqa: BLE001 - a driver that reports devices but fails
            info["cuda_error"] = f"{type(err).__name__}: {err}".splitlines()[0]
    info["summary"] = summary(info)
    return info


def is_cuda_build() -> bool:
    """torch is the CUDA build (GPU or not: it reserves ~3.2 GB of address space on import,
    so an address-space limit would break it). False where torch does not import. Where
    this process has not imported torch, read off torch/version.py without importing it
    (1 to 2 s that a cnn_costs grading, or the Otter engine's parent, would spend only on
    this question)."""
    torch = sys.modules.get("torch")
    if torch is None:
        built_for = _cuda_version_on_disk()
        if built_for is not _UNKNOWN:
            return bool(built_for)
        try:
            import torch
        except Exception:  # noqa: BLE001 - missing, or a broken install
            return False
    return bool(getattr(getattr(torch, "version", None), "cuda", None))


_UNKNOWN = object()


def _cuda_version_on_disk():
    """torch.version.cuda as torch/version.py assigns it (a string or None), or _UNKNOWN
    where that file is missing or assigns it otherwise."""
    import ast
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("torch")
        folders = list(spec.submodule_search_locations or []) if spec else []
        tree = ast.parse((Path(folders[0]) / "version.py").read_text())
    except (ImportError, IndexError, OSError, SyntaxError, ValueError):
        return _UNKNOWN
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1
            else None)
        if isinstance(target, ast.Name) and target.id == "cuda":
            value = getattr(node, "value", None)
            if isinstance(value, ast.Constant) and (value.value is None
                                                    or isinstance(value.value, str)):
                return value.value
            return _UNKNOWN
    return _UNKNOWN


def summary(info: dict) -> str:
    """One line from a `report()` dict."""
    if not info.get("installed"):
        return f"torch is not importable in {info.get('python')}: {info.get('error')}"
    kind = info.get("kind")
    build = {"cpu": "CPU build", "cuda": f"CUDA {info.get('cuda_version')} build"}.get(
        kind, f"{info.get('build')} build")
    head = f"torch {info['version']}, {build}, at {info['location']}"
    if info.get("cuda_works"):
        names = ", ".join(info["devices"])
        n = info["device_count"]
        return f"{head}; CUDA works: {n} device{'s' if n != 1 else ''} ({names})"
    if info.get("cuda_available"):
        return f"{head}; CUDA is available but failed: {info.get('cuda_error')}"
    return f"{head}; CUDA not available ({info.get('cuda_error') or 'no device'})"


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(
        prog="python -m autograder.torch_build",
        description="Report the installed torch build; with --expect, fail unless it is the "
                    "build asked for.")
    parser.add_argument("--expect", choices=BUILDS,
                        help="exit 1 unless torch is installed and is this build")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    info = report()
    print(json.dumps(info) if args.json else info["summary"])
    if args.expect and info.get("kind") != args.expect:
        wanted = {"cpu": "the CPU build", "cuda": "a CUDA build"}[args.expect]
        print(f"expected {wanted} of torch, found: {info['summary']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
