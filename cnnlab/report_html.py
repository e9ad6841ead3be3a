"""report.html: the class view (cnnlab/classview.py) as one self-contained page.

No script, no network, no external file: the styles are in the page, the plots are inline
SVG drawn here, and the lists of students fold away in <details>, which browsers open and
close without JavaScript. The page names students: it is for the course staff.

Standard library only.
"""
from __future__ import annotations

import re
import time
from html import escape

from autograder import scoring
from cnnlab.classview import AssignmentView, ClassView, MistakeRow

STYLE = """
:root { color-scheme: light; --ink: #1d232b; --muted: #59626e; --line: #d5dae0;
        --bar: #3b6ea8; --low: #b5483b; --bg-alt: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 76rem; padding: 1.25rem 1.5rem 3rem;
       font: 16px/1.45 "DejaVu Sans", "Liberation Sans", system-ui, sans-serif;
       color: var(--ink); background: #fff; }
h1 { font-size: 1.75rem; margin: 0.2rem 0 0.4rem; }
h2 { font-size: 1.4rem; margin: 2.2rem 0 0.6rem; padding-top: 0.6rem;
     border-top: 2px solid var(--line); }
h3 { font-size: 1.15rem; margin: 1.4rem 0 0.5rem; }
h4 { font-size: 1rem; margin: 1.1rem 0 0.35rem; }
p, li { max-width: 64rem; }
.meta, .note { color: var(--muted); }
.private { border-left: 4px solid var(--low); padding: 0.3rem 0.8rem; background: #fbf1ef; }
nav ul { columns: 2; padding-left: 1.2rem; }
table { border-collapse: collapse; width: 100%; margin: 0.4rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.5rem; text-align: left;
         vertical-align: top; overflow-wrap: break-word; }
th { background: var(--bg-alt); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; overflow-wrap: normal; }
code { font: 0.92em "DejaVu Sans Mono", "Liberation Mono", monospace; }
.bar { display: inline-block; width: 7rem; height: 0.8rem; background: var(--bg-alt);
       border: 1px solid var(--line); vertical-align: middle; margin-right: 0.4rem; }
.bar > span { display: block; height: 100%; background: var(--bar); }
.bar.low > span { background: var(--low); }
td.barcell { white-space: nowrap; }
details { margin: 0.15rem 0; }
summary { cursor: pointer; color: var(--bar); white-space: nowrap; }
.who { margin: 0.3rem 0 0.2rem; font-size: 0.92rem; overflow-wrap: anywhere; }
figure { margin: 0.6rem 0 1rem; max-width: 42rem; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.92rem; }
.cards { display: flex; flex-wrap: wrap; gap: 0.6rem 2rem; margin: 0.4rem 0; }
.cards div { min-width: 9rem; }
.cards b { display: block; font-size: 1.3rem; }
@media (min-width: 60rem) { table.mistakes td:first-child { min-width: 16rem; } }
@media (max-width: 60rem) {
  body { padding: 1rem 0.75rem 2rem; }
  th, td { padding: 0.25rem 0.3rem; }
  .bar { width: 3rem; }
}
"""

# The page may load nothing and run nothing: its own styles only.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"

_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(*parts: str) -> str:
    return "-".join(_SLUG.sub("-", p.lower()).strip("-") or "x" for p in parts)


_BREAKS = re.compile(r"([_.:+/,-])")


def _code(text: str) -> str:
    """An identifier in <code>, with a break opportunity after each _ . : + / , -, so that
    a long mistake id or question name wraps between its words, never inside one."""
    return "<code>" + _BREAKS.sub(r"\1<wbr>", escape(text)) + "</code>"


def _label(a: AssignmentView) -> str:
    return ("quiz " if a.kind == "quiz" else "") + escape(a.name)


def _pts(x: float) -> str:
    return scoring.format_points(x)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _bar(share: float, low: bool = False) -> str:
    width = max(0.0, min(1.0, share)) * 100
    return (f'<span class="bar{" low" if low else ""}" aria-hidden="true">'
            f'<span style="width:{width:.1f}%"></span></span>')


def _who(students: list[str]) -> str:
    shown = " ".join(escape(s) for s in students)
    word = "id" if len(students) == 1 else "ids"
    return (f"<details><summary>{len(students)} {word}</summary>"
            f'<p class="who">{shown}</p></details>')


def histogram_svg(counts: list[int], title: str) -> str:
    """Students per tenth of the possible score, as an SVG bar chart (text in the SVG at
    15 px, legible at the figure's width)."""
    width, height = 640, 270
    left, right, top, bottom = 52, 12, 26, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts) or 1
    step = plot_w / len(counts)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}" font-family="DejaVu Sans, Liberation '
             f'Sans, sans-serif" font-size="15"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
             f'stroke="#59626e"/>']
    for i, n in enumerate(counts):
        h = plot_h * n / peak
        x = left + i * step + 3
        y = top + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step - 6:.1f}" height="{h:.1f}" '
                     f'fill="#3b6ea8"><title>{n} students</title></rect>')
        parts.append(f'<text x="{x + (step - 6) / 2:.1f}" y="{y - 6:.1f}" '
                     f'text-anchor="middle" fill="#1d232b">{n}</text>')
        lo, hi = i * 100 // len(counts), (i + 1) * 100 // len(counts)
        parts.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{top + plot_h + 20}" '
                     f'text-anchor="middle" fill="#1d232b" font-size="13">{lo}-{hi}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                 f'fill="#59626e">score, % of the possible points</text>')
    parts.append(f'<text x="16" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                 f'fill="#59626e" transform="rotate(-90 16 {top + plot_h / 2:.1f})">'
                 f'students</text>')
    parts.append("</svg>")
    return "".join(parts)


def _mistake_table(rows: list[MistakeRow], of: int, with_where: bool = False) -> str:
    head = ("<tr><th>mistake</th><th>what the student did</th>"
            + ("<th>in</th>" if with_where else "")
            + '<th class="num">students</th><th>share</th><th>who</th></tr>')
    body = []
    for m in rows:
        where = ("<td>" + ", ".join(f"<code>{escape(q)}</code>" for q in m.questions) + "</td>"
                 if with_where else "")
        body.append(f"<tr><td>{_code(m.id)}</td><td>{escape(m.description)}</td>"
                    f"{where}<td class=\"num\">{m.count}</td>"
                    f'<td class="barcell">{_bar(m.count / of if of else 0)}'
                    f"{_pct(m.count, of)}</td><td>{_who(m.students)}</td></tr>")
    return f'<table class="mistakes">{head}{"".join(body)}</table>'


def _assignment_section(a: AssignmentView) -> str:
    anchor = _slug(a.kind, a.name)
    what = "Quiz" if a.kind == "quiz" else "Assignment"
    out = [f'<section id="{anchor}"><h2>{what} {_code(a.name)}</h2>',
           '<div class="cards">',
           f"<div><b>{a.n}</b>students</div>",
           f"<div><b>{_pts(a.mean)} / {_pts(a.possible)}</b>mean "
           f"({_pct(a.mean, a.possible)})</div>",
           f"<div><b>{_pts(a.median)}</b>median</div>",
           f"<div><b>{sum(q.full == q.n for q in a.questions if q.n)} of "
           f"{len(a.questions)}</b>questions everyone got right</div></div>"]
    if a.failed:
        out.append(f'<p class="note">{len(a.failed)} could not be run at all (0 points): '
                   f'{escape(" ".join(a.failed))}</p>')
    title = f"Scores in {a.name}: students per tenth of the possible {_pts(a.possible)} points"
    out.append(f"<figure>{histogram_svg(a.histogram(), title)}"
               f"<figcaption>{escape(title)}.</figcaption></figure>")
    head = ("<tr><th>question</th>" + ("<th>template</th>" if a.kind == "quiz" else "")
            + '<th class="num">points</th><th class="num">mean</th><th>mean, % of points</th>'
            '<th class="num">full marks</th><th class="num">zero</th>'
            "<th>commonest mistake</th></tr>")
    rows = []
    for q in a.questions:
        top = q.mistakes[0] if q.mistakes else None
        common = (f'<a href="#{_slug(a.kind, a.name, q.question)}">{_code(top.id)}</a> '
                  f"({top.count})" if top else "-")
        template = f"<td>{escape(q.template or '-')}</td>" if a.kind == "quiz" else ""
        rows.append(f"<tr><td>{_code(q.question)}</td>{template}"
                    f'<td class="num">{_pts(q.possible)}</td><td class="num">{_pts(q.mean)}</td>'
                    f'<td class="barcell">{_bar(q.mean_share, q.mean_share < 0.5)}'
                    f"{_pct(q.mean, q.possible)}</td>"
                    f'<td class="num">{_pct(q.full, q.n)}</td>'
                    f'<td class="num">{_pct(q.zero, q.n)}</td><td>{common}</td></tr>')
    out.append(f"<h3>Questions</h3><table>{head}{''.join(rows)}</table>")
    if a.mistakes:
        out.append("<h3>Mistakes across the assignment</h3>"
                   f"{_mistake_table(a.mistakes, a.n, with_where=True)}")
        out.append("<h3>Mistakes per question</h3>")
        for q in a.questions:
            if q.mistakes:
                out.append(f'<h4 id="{_slug(a.kind, a.name, q.question)}">'
                           f"{_code(q.question)}"
                           + (f" ({escape(q.template)})" if q.template else "")
                           + f"</h4>{_mistake_table(q.mistakes, q.n)}")
    else:
        out.append('<p class="note">No catalogued mistake was named in this assignment.</p>')
    if a.kind == "quiz":
        out.append(_quiz_extras(a))
    out.append("</section>")
    return "".join(out)


def _quiz_extras(a: AssignmentView) -> str:
    out = ["<h3>Where a wrong answer drew more students than the right one</h3>"]
    if a.outdrawn:
        rows = "".join(
            f"<tr><td>{'question' if o.scope == 'question' else 'variant'} "
            f"{_code(o.id)}</td><td>{escape(o.template or '-')}</td>"
            f'<td class="num">{o.correct}</td><td>{_code(o.mistake)}: '
            f'{escape(o.description)}</td><td class="num">{o.count}</td></tr>'
            for o in a.outdrawn)
        out.append("<table><tr><th>item</th><th>template</th><th class=\"num\">right</th>"
                   "<th>wrong answer (its mistake)</th><th class=\"num\">chose it</th></tr>"
                   f"{rows}</table>")
    else:
        out.append('<p class="note">None: on every item the right answer drew the most.</p>')
    out.append("<h3>Per template and parameter</h3>")
    if a.parameters:
        rows = []
        for p in a.parameters:
            top = (f"{_code(p['top_mistake'])} ({p['top_mistake_count']})"
                   if p["top_mistake"] else "-")
            rows.append(f"<tr><td>{escape(p['template'])}</td><td>{escape(p['parameter'])}</td>"
                        f"<td>{_code(p['value'])}</td>"
                        f'<td class="num">{p["answers"]}</td><td class="barcell">'
                        f'{_bar(p["rate"], p["rate"] < 0.5)}{_pct(p["correct"], p["answers"])}'
                        f"</td><td>{top}</td></tr>")
        out.append("<table><tr><th>template</th><th>parameter</th><th>value</th>"
                   '<th class="num">answers</th><th>right</th><th>commonest mistake</th></tr>'
                   f"{''.join(rows)}</table>")
    else:
        out.append('<p class="note">No parameter takes two values in one template here (or '
                   "the items' key is not known: give --key with --json).</p>")
    return "".join(out)


def _look_here_first(view: ClassView) -> str:
    lows = view.lowest_questions()
    rows = "".join(
        f'<tr><td><a href="#{_slug(a.kind, a.name)}">{_label(a)}</a></td>'
        f"<td>{_code(q.question)}</td>"
        f'<td class="barcell">{_bar(q.mean_share, True)}{_pct(q.mean, q.possible)}</td>'
        f'<td class="num">{_pct(q.zero, q.n)}</td><td>'
        + (f'<a href="#{_slug(a.kind, a.name, q.question)}">{_code(q.mistakes[0].id)}</a> '
           f"({q.mistakes[0].count})" if q.mistakes else "-")
        + "</td></tr>" for a, q in lows)
    out = ['<section id="look-here-first"><h2>Look here first</h2>',
           "<h3>The questions with the lowest scores</h3>"]
    out.append("<table><tr><th>assignment</th><th>question</th><th>mean, % of points</th>"
               '<th class="num">zero</th><th>commonest mistake</th></tr>'
               f"{rows}</table>" if lows else '<p class="note">No questions.</p>')
    spread = view.widespread_mistakes()
    out.append("<h3>The most widespread mistakes</h3>")
    if spread:
        out.append("<table><tr><th>assignment</th><th>mistake</th><th>what the student did</th>"
                   '<th class="num">students</th><th>share</th></tr>')
        for a, m in spread:
            out.append(f'<tr><td><a href="#{_slug(a.kind, a.name)}">{_label(a)}</a></td>'
                       f"<td>{_code(m.id)}</td><td>{escape(m.description)}</td>"
                       f'<td class="num">{m.count}</td><td class="barcell">'
                       f"{_bar(m.count / a.n if a.n else 0)}{_pct(m.count, a.n)}</td></tr>")
        out.append("</table>")
    else:
        out.append('<p class="note">No catalogued mistake was named.</p>')
    out.append("</section>")
    return "".join(out)


def render(view: ClassView, generated: str | None = None) -> str:
    """The whole page."""
    generated = generated or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    notebooks = [a for a in view.assignments if a.kind == "notebook"]
    quizzes = [a for a in view.assignments if a.kind == "quiz"]
    contents = "".join(f'<li><a href="#{_slug(a.kind, a.name)}">'
                       f"{'quiz ' if a.kind == 'quiz' else ''}{escape(a.name)}</a> ({a.n})</li>"
                       for a in view.assignments)
    body = ["<h1>Class report</h1>",
            f'<p class="meta">From {escape(view.source or "the records given")}, made '
            f"{escape(generated)} by cnnlab: {len(view.students)} students, "
            f"{len(notebooks)} assignment{'s' * (len(notebooks) != 1)}, {len(quizzes)} "
            f"quiz{'zes' * (len(quizzes) != 1)}.</p>",
            '<p class="private">This page names students (the lists under "who"): it is '
            "for the course staff only.</p>",
            f'<nav><ul><li><a href="#look-here-first">Look here first</a></li>{contents}'
            "</ul></nav>",
            _look_here_first(view)]
    body += [_assignment_section(a) for a in view.assignments]
    body.append('<p class="note">A mistake counts the students whose feedback named it (a '
                "catalogued mistake of autograder/mistakes.py, or a phrase of the checks: "
                "autograder/gradebook.py); a question's share counts every student with a "
                "record of the assignment, their latest one.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Class report</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
