"""Issue 13, the printed quiz: quiz.md is the students' handout (one page each, their own
name only, no answers) and answer_key.md the instructor's key; shapes print without
thousands separators in every file. The files are parsed back here; shapes come from torch."""
from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
import zipfile

import pytest
import torch

from cnnlab.cli import main
from quizzes.generate import generate
from test_quiz_support import meta_output_shape, real_stage

ROSTER = [("s1", "Ada Lovelace"), ("s2", "Alan Turing"), ("s3", "Grace Hopper")]
BREAK = re.compile(r'\n<div style="page-break-after: always[^"]*"></div>\n')
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


def shape_text(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"


@pytest.fixture(scope="module")
def roster_quiz(tmp_path_factory):
    d = tmp_path_factory.mktemp("handout")
    roster = d / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{i},{n}\n" for i, n in ROSTER))
    out = generate(d / "quiz", "handout-secret", roster_path=roster, difficulty="mixed")
    key = json.loads(out["key"].read_text())
    return out, key


def pages(text: str) -> list[str]:
    return BREAK.split(text)


def question_blocks(page: str) -> dict[str, str]:
    """{question id: its text on the page}, from the '**N.** [id] ...' blocks."""
    parts = re.split(r"^\*\*\d+\.\*\* ", page, flags=re.M)[1:]
    return {re.match(r"\[([^\]]+)\]", p).group(1): p for p in parts}


def choice_lines(block: str) -> dict[str, str]:
    return dict(re.findall(r"^- ([A-J])\. (.+)$", block, flags=re.M))


def printed_answer_forms(answer) -> list[str]:
    if isinstance(answer, list):
        return [shape_text(answer), "x".join(map(str, answer))]
    if isinstance(answer, float) and not answer.is_integer():
        return [f"{answer:.2f}", repr(answer)]
    return [str(int(answer)), f"{int(answer):,}"]


def test_one_page_per_student_with_only_their_name_and_questions(roster_quiz):
    out, key = roster_quiz
    text = out["markdown"].read_text()
    got = pages(text)
    assert len(got) == len(ROSTER)
    for (sid, name), page in zip(ROSTER, got):
        assert f"{name} ({sid})" in page
        for other_id, other in ROSTER:
            if other_id != sid:
                assert other not in page and f"({other_id})" not in page
        mine = [e["id"] for e in key if e["student"] == sid]
        assert list(question_blocks(page)) == mine
        assert page.lstrip().startswith("# ")  # every page has its own title


def test_the_handout_holds_no_answers_and_no_seed(roster_quiz):
    out, key = roster_quiz
    text = out["markdown"].read_text()
    assert "handout-secret" not in text
    assert not re.search(r"answer (key|sheet)", text, re.I)
    by_id = {e["id"]: e for e in key}
    for page in pages(text):
        for qid, block in question_blocks(page).items():
            entry = by_id[qid]
            stem = "\n".join(line for line in block.splitlines() if not line.startswith("- "))
            for form in printed_answer_forms(entry["answer"]):
                assert not re.search(r"(?<![\w.,])" + re.escape(form) + r"(?![\w]|[.,]\d)",
                                     stem), (qid, form, stem)
            if entry["kind"] == "choice":
                assert shape_text(entry["answer"]) in choice_lines(block).values()


@pytest.mark.parametrize("renderer", ["markdown_it", "markdown"])
def test_page_breaks_survive_markdown_rendering(roster_quiz, renderer):
    out, _ = roster_quiz
    text = out["markdown"].read_text()
    if renderer == "markdown_it":
        from markdown_it import MarkdownIt
        rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    else:
        import markdown
        rendered = markdown.markdown(text, extensions=["tables"])
    assert rendered.count('<div style="page-break-after: always') == len(ROSTER) - 1
    assert "&lt;div" not in rendered
    assert rendered.count("<h1>") == len(ROSTER)  # the title after a break is a title
    assert rendered.count("<table>") >= len(ROSTER)  # the table questions


def _key_tables(text: str) -> dict[str, list[list[str]]]:
    """{section heading: rows of its table} from answer_key.md."""
    out = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = section.partition("\n")
        rows = [[c.strip() for c in line.strip("|").split("|")]
                for line in body.splitlines() if line.startswith("| ") and "---" not in line]
        out[heading.strip()] = rows[1:]  # past the header row
    return out


def test_the_key_matches_the_handout_and_the_json_key(roster_quiz):
    out, key = roster_quiz
    handout = out["markdown"].read_text()
    key_md = out["key_markdown"].read_text()
    assert "handout-secret" in key_md  # the instructor can regenerate the quiz
    blocks = {}
    for page in pages(handout):
        blocks.update(question_blocks(page))
    by_id = {e["id"]: e for e in key}
    tables = _key_tables(key_md)
    assert list(tables) == [f"{name} ({sid})" for sid, name in ROSTER]
    for (sid, _), rows in zip(ROSTER, tables.values()):
        assert [r[1] for r in rows] == [e["id"] for e in key if e["student"] == sid]
        for number, qid, _asks, answer in rows:
            entry = by_id[qid]
            if entry["kind"] == "choice":
                letter, shown = re.fullmatch(r"([A-J])\. (.+)", answer).groups()
                # the letter is the one printed before the answer on the handout
                assert choice_lines(blocks[qid])[letter] == shown == shape_text(entry["answer"])
            else:
                number_text = re.sub(r" \(± .*\)$", "", answer).replace(",", "")
                assert float(number_text) == pytest.approx(entry["answer"], abs=1e-4)


def test_variants_get_a_page_each_with_a_name_line(tmp_path):
    out = generate(tmp_path, "v", variants=3, questions=4)
    got = pages(out["markdown"].read_text())
    assert len(got) == 3
    for v, page in enumerate(got, 1):
        assert re.search(rf"\*\*Variant {v}\*\*\s+Name: _+", page)
        assert all(qid.endswith(f"v{v:03d}") for qid in question_blocks(page))


def _big_channel_quiz(tmp_path):
    """A quiz of ResNet stages, with some answers of 1,024 channels or more."""
    out = generate(tmp_path, "wide", variants=30, templates=["stage_shape"], questions=1,
                   difficulty="medium")
    big = [q for q in out["quiz"].questions if q.answer[0] >= 1000]
    assert big, "no stage with 1,000 channels or more"
    return out, big


def test_wide_shapes_print_without_separators_everywhere(tmp_path):
    out, big = _big_channel_quiz(tmp_path)
    grouped = re.compile(r"\(\d{1,3},\d{3}")  # "(1,024, ..." or "(2,048, ..."
    for path in (out["markdown"], out["key_markdown"]):
        assert not grouped.search(path.read_text()), path
    with zipfile.ZipFile(out["qti"]) as zf:
        xml = next(zf.read(n) for n in zf.namelist()
                   if n.endswith(".xml") and "meta" not in n and "manifest" not in n)
    items = {i.get("title"): i for i in ET.fromstring(xml).iter(f"{QTI}item")}
    for q in big:
        with torch.device("meta"):
            stage = real_stage(q.extra)
        expected = shape_text(meta_output_shape(stage, q.input_shape))
        labels = [html.unescape(m.text) for m in
                  items[q.id].findall(f".//{QTI}response_label//{QTI}mattext")]
        assert expected in labels and not any(grouped.search(t) for t in labels), labels
        assert f"| {q.id} | output shape | " in out["key_markdown"].read_text()
        assert expected in out["key_markdown"].read_text()


def test_cli_names_the_four_files(tmp_path, capsys):
    assert main(["quiz", "generate", "--seed", "1", "--variants", "1", "--questions", "2",
                 "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name in ("quiz.qti.zip", "quiz.md", "answer_key.md", "answer_key.json"):
        assert str(tmp_path / name) in text and (tmp_path / name).is_file()
    assert "handout" in text and "key" in text
    with pytest.raises(SystemExit):
        main(["quiz", "generate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "answer_key.md" in help_text and "no answers" in help_text
