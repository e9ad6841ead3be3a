"""The Canvas classic-quiz QTI 1.2 zip: one question group per slot that picks 1 of its
variants, numerical questions as Canvas's "exact answer with margin", multiple choice where
a question has choices to show.

The XML is text2qti's own (its templates for items, groups, the manifest and the quiz
metadata, which Canvas imports). Only text2qti's front end is bypassed: it parses a Markdown
quiz text (slow at thousands of questions, and it refuses repeated question texts), and its
zip carries the time of day. Here the zip is byte-identical for the same quiz: fixed
timestamps, sorted entries, identifiers derived from the quiz's seed and question ids."""
from __future__ import annotations

import hashlib
import html
import io
import zipfile
from xml.sax.saxutils import escape as xml_escape

from quizzes.model import Question, Quiz, format_value, plain_value

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
POINTS_PER_QUESTION = 1


def _t2q():
    # text2qti's XML templates; imported here so `cnnlab quiz grade` does not pay for them.
    from text2qti import xml_assessment, xml_assessment_meta, xml_imsmanifest
    return xml_assessment, xml_assessment_meta, xml_imsmanifest


def _ident(*parts) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def question_html(q: Question) -> str:
    paragraphs = [f"<p>{html.escape(p)}</p>" for p in q.prompt.split("\n\n") if p.strip()]
    if q.table:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in q.table[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in q.table[1:])
        paragraphs.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(paragraphs)


def _item(x, q: Question, ident: str, multiple_choice: bool) -> list[str]:
    out = [x.START_ITEM.format(question_identifier=f"cnnlab_question_{ident}",
                               question_title=xml_escape(q.id, {'"': "&quot;"}))]
    text_xml = xml_escape(question_html(q))
    if multiple_choice:
        choice_ids = [f"cnnlab_choice_{ident}_{i}" for i in range(len(q.choices))]
        out.append(x.ITEM_METADATA_MCTF_SHORTANS_MULTANS_NUM.format(
            question_type="multiple_choice_question", points_possible=POINTS_PER_QUESTION,
            original_answer_ids=",".join(choice_ids),
            assessment_question_identifierref=f"cnnlab_question_ref_{ident}"))
        choices = "\n".join(x.ITEM_PRESENTATION_MCTF_CHOICE.format(
            ident=cid, choice_html_xml=xml_escape(html.escape(format_value(c.value))))
            for cid, c in zip(choice_ids, q.choices))
        out.append(x.ITEM_PRESENTATION_MCTF.format(question_html_xml=text_xml, choices=choices))
        out.append(x.ITEM_RESPROCESSING_START)
        out.append(x.ITEM_RESPROCESSING_MCTF_SET_CORRECT_NO_FEEDBACK.format(
            ident=choice_ids[q.correct_index]))
    else:
        out.append(x.ITEM_METADATA_MCTF_SHORTANS_MULTANS_NUM.format(
            question_type="numerical_question", points_possible=POINTS_PER_QUESTION,
            original_answer_ids=f"cnnlab_numerical_{ident}",
            assessment_question_identifierref=f"cnnlab_question_ref_{ident}"))
        out.append(x.ITEM_PRESENTATION_NUM.format(question_html_xml=text_xml))
        out.append(x.ITEM_RESPROCESSING_START)
        answer, tol = q.answer, q.tolerance
        out.append(x.ITEM_RESPROCESSING_NUM_EXACT_SET_CORRECT_NO_FEEDBACK.format(
            num_exact=plain_value(answer), num_min=plain_value(answer - tol),
            num_max=plain_value(answer + tol)))
    out.append(x.ITEM_RESPROCESSING_END)
    out.append(x.END_ITEM)
    return out


def assessment_xml(quiz: Quiz, assessment_id: str, all_choices: bool = False) -> str:
    """Numerical questions stay numerical unless `all_choices`; questions whose answer is
    not a number (shapes) are always multiple choice."""
    x, _, _ = _t2q()
    title = xml_escape(quiz.title, {'"': "&quot;"})
    parts = [x.BEFORE_ITEMS.format(assessment_identifier=assessment_id, title=title)]
    for slot, questions in quiz.by_slot().items():
        parts.append(x.GROUP_START.format(
            ident=f"cnnlab_group_{_ident(quiz.seed, slot)}", group_title=xml_escape(slot),
            pick=1, points_per_item=POINTS_PER_QUESTION))
        for q in questions:
            mc = q.kind == "choice" or (all_choices and len(q.choices) > 1)
            parts += _item(x, q, _ident(quiz.seed, q.id), mc)
        parts.append(x.GROUP_END)
    parts.append(x.AFTER_ITEMS)
    return "".join(parts)


def qti_files(quiz: Quiz, all_choices: bool = False) -> dict[str, bytes]:
    _, meta, manifest = _t2q()
    base = _ident(quiz.seed, quiz.title)
    aid = f"cnnlab_assessment_{base}"
    dep = f"cnnlab_dependency_{base}"
    title = xml_escape(quiz.title)
    files = {
        "imsmanifest.xml": manifest.imsmanifest(
            manifest_identifier=f"cnnlab_manifest_{base}", assessment_identifier=aid,
            dependency_identifier=dep, images={}, date="2000-01-01"),
        f"{aid}/assessment_meta.xml": meta.assessment_meta(
            assessment_identifier=aid, assignment_identifier=f"cnnlab_assignment_{base}",
            assignment_group_identifier=f"cnnlab_assignment-group_{base}", title_xml=title,
            description_html_xml="", points_possible=POINTS_PER_QUESTION * len(quiz.slots()),
            shuffle_answers="true", show_correct_answers="false",
            one_question_at_a_time="false", cant_go_back="false"),
        f"{aid}/{aid}.xml": assessment_xml(quiz, aid, all_choices),
    }
    return {name: text.encode("utf-8") for name, text in files.items()}


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A reproducible zip: sorted entries, fixed timestamps and attributes."""
    stream = io.BytesIO()
    names = sorted(set(files) | {"non_cc_assessments/"})
    with zipfile.ZipFile(stream, "w") as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[name], compresslevel=6)
    return stream.getvalue()


def write_qti(quiz: Quiz, path, all_choices: bool = False) -> None:
    with open(path, "wb") as fh:
        fh.write(zip_bytes(qti_files(quiz, all_choices)))
