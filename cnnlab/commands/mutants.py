"""`cnnlab mutants`: how strong are the hidden tests? Grades every catalogued student mistake."""
from __future__ import annotations

import json
import sys

from autograder.registry import master_notebooks


def register(sub) -> None:
    p = sub.add_parser(
        "mutants",
        help="apply the catalogue of student mistakes to the reference and grade each",
        description="Applies each catalogued student mistake to the reference implementation, "
                    "grades the mutant with the real hidden checks and reports which mistakes "
                    "the checks catch (they lose points) and which survive.\n\n"
                    "example: cnnlab mutants cnn_costs --json",
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help=f"assignments to mutate (default: all of {', '.join(master_notebooks())})")
    p.add_argument("--json", action="store_true", help="print the report as one JSON list")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.cli import UserError

    known = master_notebooks()
    unknown = [a for a in args.assignments if a not in known]
    if unknown:
        raise UserError(f"unknown assignment {unknown[0]!r}; choose from {', '.join(known)}")
    # Only now: autograder.mutants imports torch (about 1.5 s).
    from tqdm import tqdm

    from autograder import mutants
    total = len(mutants.catalogue(args.assignments or None))
    with tqdm(total=total, desc="grading mutants", unit="mutant", file=sys.stderr,
              disable=None) as bar:
        results = mutants.run(args.assignments or None, progress=lambda r: bar.update())
    if args.json:
        print(json.dumps([{k: r[k] for k in ("assignment", "id", "mistake", "caught", "lost")}
                          for r in results], indent=1))
    else:
        print(format_report(results))
    return 0 if all(r["caught"] for r in results) else 1


def format_report(results: list[dict]) -> str:
    width = max(len(r["id"]) for r in results)
    lines = [f"{'assignment':<18} {'mutant':<{width}}  caught  points lost (question)"]
    for r in results:
        lost = ", ".join(f"{q} -{p:g}" for q, p in r["lost"].items()) or "-"
        lines.append(f"{r['assignment']:<18} {r['id']:<{width}}  "
                     f"{'yes' if r['caught'] else 'NO':<6}  {lost}")
    caught = sum(r["caught"] for r in results)
    lines.append(f"\n{caught} of {len(results)} mutants caught"
                 + ("" if caught == len(results) else
                    "; survivors: " + ", ".join(r["id"] for r in results if not r["caught"])))
    return "\n".join(lines)
