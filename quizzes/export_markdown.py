"""Printable Markdown: one section per student (with a roster) or per variant (without:
section v holds variant v of every question), then an answer sheet at the end."""
from __future__ import annotations

from quizzes.model import Question, Quiz, format_value

LETTERS = "ABCDEFGHIJ"


def sections(quiz: Quiz) -> list[tuple[str, list[Question]]]:
    """[(heading, questions)] in print order."""
    groups = quiz.by_slot()
    if quiz.students is not None:
        mine: dict[str, list[Question]] = {s["id"]: [] for s in quiz.students}
        for q in quiz.questions:
            mine[q.student].append(q)
        return [(f"{s['name']} ({s['id']})" if s.get("name") else f"Student {s['id']}",
                 mine[s["id"]]) for s in quiz.students]
    count = max(len(g) for g in groups.values())
    return [(f"Variant {v + 1}", [g[v] for g in groups.values() if v < len(g)])
            for v in range(count)]


def _table(rows: list[list[str]]) -> list[str]:
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    return [line(rows[0]), "|" + "---|" * len(rows[0])] + [line(r) for r in rows[1:]]


def _question(number: int, q: Question) -> list[str]:
    out = [f"**{number}.** {q.prompt}", ""]
    if q.table:
        out += _table(q.table) + [""]
    if q.kind == "choice":
        out += [f"- {LETTERS[i]}. {format_value(c.value)}" for i, c in enumerate(q.choices)]
    else:
        out.append("Answer: ________________")
    return out + [""]


def _answer(q: Question) -> str:
    text = format_value(q.answer)
    if q.kind == "choice":
        text = f"{LETTERS[q.correct_index]}. {text}"
    if q.tolerance:
        text += f" (± {format_value(q.tolerance)})"
    return text


def markdown(quiz: Quiz) -> str:
    parts = [f"# {quiz.title}", ""]
    secs = sections(quiz)
    for heading, questions in secs:
        parts += [f"## {heading}", ""]
        for i, q in enumerate(questions, 1):
            parts += _question(i, q)
    parts += ["# Answer sheet", ""]
    for heading, questions in secs:
        parts += [f"## {heading}", "", "| # | question | answer |", "|---|---|---|"]
        parts += [f"| {i} | {q.id} | {_answer(q)} |" for i, q in enumerate(questions, 1)]
        parts.append("")
    return "\n".join(parts)


def write_markdown(quiz: Quiz, path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(markdown(quiz))
