"""`cnnlab demo`: what an instructor does in a term, on the bundled samples.

1. build every assignment (student notebooks, Gradescope zips, with their proofs);
2. grade the bundled sample submissions (samples/<assignment>/*.ipynb: correct ones, typical
   mistakes, blank ones, a hostile one) in the sandbox, write the grades (CSV, JSON lines) and
   a plot of the score distribution per question;
3. generate a quiz for the bundled roster (QTI zip, Markdown, answer key) and grade the
   bundled responses, with the mistakes named and plotted.
"""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
QUIZ_SEED = "demo-2026"


def sample_submissions() -> list[Path]:
    return sorted(SAMPLES.glob("*/*.ipynb"))


def write_grades_csv(results: list[dict], path: Path) -> None:
    questions: list[str] = []
    for r in results:
        questions += [q for q in r["questions"] if q not in questions]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "assignment", "total", "possible", "percent",
                         *questions, "error"])
        for r in results:
            percent = 100 * r["total"] / r["possible"] if r["possible"] else 0
            writer.writerow([Path(r["submission"]).name, r["assignment"], r["total"],
                             r["possible"], round(percent, 1),
                             *[r["questions"].get(q, {}).get("score", "") for q in questions],
                             r.get("error") or ""])


def plot_scores(results: list[dict], path: Path) -> None:
    """One panel per assignment: each question's score (% of its points) per submission."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assignments = sorted({r["assignment"] for r in results if r["questions"]})
    fig, axes = plt.subplots(len(assignments), 1, figsize=(11, 3.2 * len(assignments)),
                             squeeze=False)
    for ax, assignment in zip(axes[:, 0], assignments):
        mine = [r for r in results if r["assignment"] == assignment and r["questions"]]
        questions = list(mine[0]["questions"])
        for i, q in enumerate(questions):
            scores = [100 * r["questions"][q]["score"] / r["questions"][q]["possible"]
                      for r in mine if q in r["questions"] and r["questions"][q]["possible"]]
            ax.bar(i, sum(scores) / len(scores), color="#9ecae1", width=0.7,
                   label="mean" if i == 0 else None)
            ax.scatter([i + (j - (len(scores) - 1) / 2) * 0.08 for j in range(len(scores))],
                       scores, color="#08519c", s=14, zorder=3,
                       label="one submission" if i == 0 else None)
        ax.set_xticks(range(len(questions)), questions, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(-5, 105)
        ax.set_ylabel("% of points")
        ax.set_title(f"{assignment}: score per question ({len(mine)} submissions)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def score_table(results: list[dict]) -> str:
    width = max(len(Path(r["submission"]).name) for r in results)
    lines = [f"{'submission':<{width}}  {'assignment':<18} {'score':>13}  note"]
    for r in results:
        note = r.get("error") or "; ".join(
            q for q, v in r["questions"].items() if v["score"] < v["possible"])
        note = ("lost: " + note) if note and not r.get("error") else note
        lines.append(f"{Path(r['submission']).name:<{width}}  {str(r['assignment']):<18} "
                     f"{r['total']:>6.4g} / {r['possible']:<4g}  {note[:70]}")
    return "\n".join(lines)


def run(out: Path, *, jobs: int = 2, say=lambda m: print(m, file=sys.stderr)) -> dict:
    from autograder import build, grade
    from quizzes.generate import generate
    from quizzes.grade import grade_files, report
    from quizzes.plots import plot_mistakes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    written: dict[str, str] = {}

    say("== 1/3 building every assignment (Otter Assign, Gradescope zips, proofs)")
    summaries = build.build(None, out / "build", progress=lambda m: say("   " + m))
    for s in summaries:
        written[f"{s['assignment']} student notebook"] = s["student"]
        written[f"{s['assignment']} Gradescope zip"] = s["zip"]

    submissions = sample_submissions()
    say(f"== 2/3 grading {len(submissions)} sample submissions in the sandbox")
    from tqdm import tqdm

    with tqdm(total=len(submissions), desc="   grading", unit="nb", file=sys.stderr,
              disable=None) as bar:
        results = grade.grade_many(submissions, engine="sandbox", jobs=jobs,
                                   on_result=lambda r: bar.update())
    with open(out / "grades.jsonl", "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    write_grades_csv(results, out / "grades.csv")
    plot_scores(results, out / "scores.png")
    table = score_table(results)
    print(table)
    written.update({"grades (CSV)": str(out / "grades.csv"),
                    "grades (JSON lines, with feedback)": str(out / "grades.jsonl"),
                    "score distribution per question": str(out / "scores.png")})

    say("== 3/3 a quiz for the sample roster, and grading its sample responses")
    quiz = generate(out / "quiz", QUIZ_SEED, None, ROOT / "quizzes" / "samples" / "roster.csv")
    quiz_result = grade_files(SAMPLES / "quiz" / "responses.csv", quiz["key"])
    plot_mistakes(quiz_result, out / "quiz" / "mistakes.png")
    (out / "quiz" / "report.txt").write_text(report(quiz_result) + "\n")
    written.update({"Canvas quiz (QTI)": str(quiz["qti"]),
                    "printable quiz": str(quiz["markdown"]),
                    "answer key": str(quiz["key"]),
                    "quiz grading report": str(out / "quiz" / "report.txt"),
                    "common quiz mistakes": str(out / "quiz" / "mistakes.png")})

    width = max(map(len, written))
    print(f"\ncnnlab demo finished in {time.monotonic() - started:.0f} s. It wrote:")
    for what, where in written.items():
        print(f"  {what:<{width}}  {where}")
    return {"builds": summaries, "grades": results, "quiz": quiz_result, "written": written}
