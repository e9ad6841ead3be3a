"""Printable Markdown, two files: the students' handout and the instructor's key.

The handout has one page per student (with a roster) or per variant (without: page v holds
variant v of every question), each page its own title and the one student's name, no
answers; pages are separated by an HTML page break, which Markdown renderers pass through
and browsers and Markdown-to-PDF tools (pandoc, VS Code, Typora) honour when printing. The
key lists, per student or variant, every question's id and answer (multiple-choice answers
with the letter printed on the handout), and the seed that regenerates the quiz."""
from __future__ import annotations

from quizzes.model import ASKED_FIELDS, Question, Quiz, format_value

LETTERS = "ABCDEFGHIJ"
PAGE_BREAK = '<div style="page-break-after: always; break-after: page;"></div>'


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


def handout(quiz: Quiz) -> str:
    """The students' handout: one page each, no answers."""
    pages = []
    for heading, questions in sections(quiz):
        who = (f"**{heading}**" if quiz.students is not None
               else f"**{heading}**  Name: ______________________")
        page = [f"# {quiz.title}", "", who, "",
                "Circle one letter for a multiple-choice question; write the other answers "
                "on the line. Shapes as (C, H, W).", ""]
        for i, q in enumerate(questions, 1):
            page += _question(i, q)
        pages.append("\n".join(page))
    return f"\n{PAGE_BREAK}\n\n".join(pages)


def _asks(q: Question) -> str:
    """What a question asks, for the key's "asks" column (quizzes.model.ASKED_FIELDS; a
    field not listed there shows as is)."""
    field, layer = q.asked["field"], q.asked.get("layer")
    what = ASKED_FIELDS[field].asks if field in ASKED_FIELDS else field
    if q.table and layer is not None:  # which row of the table
        what += f" of {q.layers[layer].get('name') or f'layer {layer + 1}'}"
    return what


def answer_key(quiz: Quiz) -> str:
    """The instructor's key: every student's (or variant's) answers, and the seed."""
    parts = [f"# Answer key: {quiz.title}", "",
             f"Seed `{quiz.seed}`: keep it from students (with it the quiz can be "
             f"regenerated). The numbers and letters are those of the handout, quiz.md; "
             f"`cnnlab quiz grade` takes a choice's letter as its answer.", ""]
    for heading, questions in sections(quiz):
        parts += [f"## {heading}", "", "| # | question | asks | answer |", "|---|---|---|---|"]
        parts += [f"| {i} | {q.id} | {_asks(q)} | {_answer(q)} |"
                  for i, q in enumerate(questions, 1)]
        parts.append("")
    return "\n".join(parts)


def _write(text: str, path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def write_handout(quiz: Quiz, path) -> None:
    _write(handout(quiz), path)


def write_answer_key(quiz: Quiz, path) -> None:
    _write(answer_key(quiz), path)


write_markdown = write_handout  # the name bench/bench_quiz.py times
