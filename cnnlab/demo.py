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


def shown_name(record: dict) -> str:
    """samples/cnn_costs/correct.ipynb -> cnn_costs/correct.ipynb: the sample names repeat."""
    path = Path(record["submission"])
    return f"{path.parent.name}/{path.name}"


def write_grades_csv(results: list[dict], path: Path) -> None:
    """The same CSV as `cnnlab grade --csv` (autograder/records.py)."""
    from autograder import records

    questions = records.questions_of(results)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(records.csv_header(questions))
        for r in results:
            writer.writerow(records.csv_row(dict(r, submission=shown_name(r)), questions))


def scores_figure(results: list[dict]):
    """One panel per assignment, at slide size (cnnlab/plots.py): each question's mean score
    (% of its points) as a bar with its value, and each submission as a dot; dots of equal
    score sit side by side, not on top of each other."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnlab.plots import DPI, SLIDE_IN, SMALL_PT, TEXT_PT, TITLE_PT

    assignments = sorted({r["assignment"] for r in results if r["questions"]})
    fig, axes = plt.subplots(len(assignments), 1, squeeze=False, layout="constrained",
                             figsize=(SLIDE_IN[0], max(SLIDE_IN[1], 2.5 * len(assignments))),
                             dpi=DPI)
    labelled = False
    for ax, assignment in zip(axes[:, 0], assignments):
        mine = [r for r in results if r["assignment"] == assignment and r["questions"]]
        questions = list(mine[0]["questions"])
        for i, q in enumerate(questions):
            scores = [round(100 * r["questions"][q]["score"] / r["questions"][q]["possible"])
                      for r in mine if q in r["questions"] and r["questions"][q]["possible"]]
            mean = sum(scores) / len(scores)
            ax.bar(i, mean, color="#9ecae1", width=0.75, label="mean" if i == 0 else None)
            ax.text(i, 109, f"mean {mean:.0f}%", ha="center", va="bottom", fontsize=SMALL_PT)
            seen: dict[int, int] = {}
            for score in scores:
                k = seen[score] = seen.get(score, -1) + 1
                offset = (k - (scores.count(score) - 1) / 2) * 0.11
                ax.scatter(i + offset, score, color="#08519c", s=36, zorder=3,
                           label=None if labelled else "one submission")
                labelled = True
        crowded = len(questions) > 6
        ax.set_xticks(range(len(questions)), questions, fontsize=SMALL_PT,
                      rotation=35 if crowded else 0, ha="right" if crowded else "center",
                      rotation_mode="anchor" if crowded else "default")
        ax.set_ylim(-8, 130)
        ax.set_yticks([0, 50, 100], ["0", "50", "100"], fontsize=SMALL_PT)
        ax.set_ylabel("% of points", fontsize=SMALL_PT)
        ax.set_title(f"{assignment}: score per question ({len(mine)} submissions)",
                     fontsize=TEXT_PT, loc="left")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    legend = {}
    for ax in axes[:, 0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    handles, labels = list(legend.values()), list(legend)
    fig.legend(handles, labels, loc="outside upper right", ncols=2, fontsize=SMALL_PT,
               frameon=False)
    fig.suptitle("The bundled samples, graded in the sandbox", fontsize=TITLE_PT, x=0.01,
                 ha="left")
    return fig


def plot_scores(results: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig = scores_figure(results)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def score_table(results: list[dict], width: int = 100) -> str:
    """One line per submission (wrapped at word boundaries, never cut): its score, and the
    questions that lost points with what each scored, or why it could not be graded."""
    import textwrap

    from autograder.scoring import format_points as points

    name_width = max(len(shown_name(r)) for r in results)
    score_width = 9
    head = f"{'submission':<{name_width}}  {'score':>{score_width}}  "
    lines = [head + "lost points (score/points)", "-" * width]
    for r in results:
        if r.get("error"):
            what = f"not graded: {r['error']}"
        else:
            lost = [f"{q}\xa0{points(v['score'])}/{points(v['possible'])}"  # kept on one line
                    for q, v in r["questions"].items() if v["score"] < v["possible"]]
            what = ", ".join(lost) or "none: full marks"
            if r["questions"] and all(v["score"] == 0 for v in r["questions"].values()):
                what = f"every question: 0 of {len(r['questions'])}"
        score = f"{points(r['total'])} / {points(r['possible'])}"
        first = f"{shown_name(r):<{name_width}}  {score:>{score_width}}  "
        wrapped = textwrap.wrap(what, width=max(width, len(first) + 30), initial_indent=first,
                                subsequent_indent=" " * len(first), break_long_words=False,
                                break_on_hyphens=False)
        lines += [line.replace("\xa0", " ") for line in wrapped]
    return "\n".join(lines)


def sample_legend() -> dict[str, str]:
    """{"cnn_costs/correct.ipynb": what that sample is}, as samples/make_samples.py wrote it."""
    index = SAMPLES / "samples.json"
    return json.loads(index.read_text()) if index.exists() else {}


def quiz_summary(result: dict) -> list[str]:
    """What a course staff wants first from the quiz grading: how the class did, where."""
    from quizzes.grade import describe

    from autograder.scoring import format_points as points

    students = result["students"]
    if not students:
        return ["no responses were graded"]
    mean = sum(s["score"] for s in students) / len(students)
    possible = students[0]["possible"]
    lines = [f"{len(students)} students graded, mean {points(mean)} / {points(possible)}"]
    rated = [(q["correct_rate"], slot) for slot, q in result["questions"].items()
             if q["correct_rate"] is not None]
    if rated:
        rate, slot = min(rated)
        lines.append(f"hardest question: {slot} ({result['questions'][slot]['template']}), "
                     f"{rate:.0%} correct")
    counts: dict[str, int] = {}
    for q in result["questions"].values():
        for mistake, n in q["mistakes"].items():
            counts[mistake] = counts.get(mistake, 0) + n
    if counts:
        mistake, n = max(counts.items(), key=lambda item: item[1])
        lines.append(f"most common mistake: {mistake} ({n} answers): {describe(mistake)}")
    if result.get("skipped"):
        lines.append(f"{len(result['skipped'])} response rows could not be graded "
                     "(see report.txt)")
    return lines


def run(out: Path, *, jobs: int = 2, say=lambda m: print(m, file=sys.stderr)) -> dict:
    from autograder import build, grade
    from quizzes.generate import generate
    from quizzes.grade import grade_files, report
    from quizzes.plots import plot_mistakes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = step_started = time.monotonic()
    written: dict[str, str] = {}

    def step_done(what: str) -> None:
        nonlocal step_started
        say(f"   {what} in {time.monotonic() - step_started:.0f} s")
        step_started = time.monotonic()

    say("== 1/3 building every assignment (Otter Assign, Gradescope zips, proofs)")
    # A build from the same inputs (a second `make demo`) is reused with its proofs.
    summaries = build.build(None, out / "build", progress=lambda m: say("   " + m), reuse=True,
                            jobs=jobs)
    for s in summaries:
        say(f"   {s['assignment']}: the reference scores {s.get('reference', '?')}, the "
            f"blank notebook {s.get('blank', '?')}, {s.get('leaks', 0)} leaks into the "
            "student notebook")
        written[f"{s['assignment']} student notebook"] = s["student"]
        written[f"{s['assignment']} Gradescope zip"] = s["zip"]
    step_done("built")

    submissions = sample_submissions()
    say(f"== 2/3 grading {len(submissions)} sample submissions in the sandbox")
    legend = sample_legend()
    if legend:
        width = max(map(len, legend))
        print("The samples:")
        for name, what in legend.items():
            print(f"  {name:<{width}}  {what}")
        print()
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
    print(score_table(results))
    print(f"(each question's feedback: {out / 'grades.jsonl'}; "
          f"`cnnlab grade NOTEBOOK` prints it as a table)")
    step_done("graded")
    written.update({"grades (CSV)": str(out / "grades.csv"),
                    "grades (JSON lines, with feedback)": str(out / "grades.jsonl"),
                    "score distribution per question": str(out / "scores.png")})

    say("== 3/3 a quiz for the sample roster, and grading its sample responses")
    quiz = generate(out / "quiz", QUIZ_SEED, None, ROOT / "quizzes" / "samples" / "roster.csv")
    quiz_result = grade_files(SAMPLES / "quiz" / "responses.csv", quiz["key"])
    plot_mistakes(quiz_result, out / "quiz" / "mistakes.png")
    (out / "quiz" / "report.txt").write_text(report(quiz_result) + "\n")
    print("\nThe quiz:")
    for line in quiz_summary(quiz_result):
        print(f"  {line}")
    step_done("quiz made and graded")
    written.update({"Canvas quiz (QTI)": str(quiz["qti"]),
                    "printable handout (a page per student)": str(quiz["markdown"]),
                    "answer key (printable)": str(quiz["key_markdown"]),
                    "answer key (for quiz grade)": str(quiz["key"]),
                    "quiz grading report": str(out / "quiz" / "report.txt"),
                    "common quiz mistakes": str(out / "quiz" / "mistakes.png")})

    width = max(map(len, written))
    print(f"\ncnnlab demo finished in {time.monotonic() - started:.0f} s. It wrote:")
    for what, where in written.items():
        print(f"  {what:<{width}}  {where}")
    return {"builds": summaries, "grades": results, "quiz": quiz_result, "written": written}
