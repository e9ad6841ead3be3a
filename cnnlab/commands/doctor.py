"""`cnnlab doctor`: what this machine gives the grader (torch build, CUDA, sandbox layers).

Thin: the work is autograder.doctor and autograder.torch_build."""
from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check this machine: the torch build, CUDA, and each layer of the sandbox",
        description="Report the installed torch build (CPU or CUDA) and whether CUDA works, "
                    "then start a sandbox as `cnnlab grade` does and check, from inside it, "
                    "each of its layers (a uid of its own when run as root, Landlock, "
                    "seccomp, the audit hook). Exit status 1 when a layer this machine "
                    "should give is missing (`cnnlab grade --strict` would refuse to "
                    "grade).\n\nexample: cnnlab doctor",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args) -> int:
    from autograder import doctor, lockdown, torch_build

    torch = torch_build.report()
    sandbox = doctor.sandbox_report()
    missing = doctor.missing_layers(sandbox)
    if args.json:
        print(json.dumps({"torch": torch, "sandbox": sandbox}, indent=1))
        return 1 if missing else 0
    print(f"torch    {torch['summary']}")
    print("sandbox  " + ("every layer is on: " if not missing else "layers missing: ")
          + lockdown.status_line(sandbox["layers"], missing))
    for layer in lockdown.LAYERS:
        if layer in sandbox["layers"]:
            state = "on"
        elif layer in sandbox["expected"]:
            state = f"MISSING: {sandbox['missing'].get(layer, 'not applied')}"
        else:
            state = f"not used ({sandbox['missing'].get(layer, 'not needed here')})"
        print(f"  {layer:<9} {state}")
    return 1 if missing else 0
