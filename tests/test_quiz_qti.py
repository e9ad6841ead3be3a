"""The QTI zip parsed back: the manifest, one group per question with pick 1 and all its
variants, numerical answers carrying the tolerance, multiple choice with one right answer."""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
import zipfile

import pytest

from quizzes.export_qti import qti_files, zip_bytes
from quizzes.generate import generate
from quizzes.model import format_value

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"


def _field(item, label):
    for f in item.iter(f"{QTI}qtimetadatafield"):
        if f.find(f"{QTI}fieldlabel").text == label:
            return f.find(f"{QTI}fieldentry").text


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = generate(tmp_path_factory.mktemp("qti"), "qti-test", variants=4, difficulty="mixed")
    return out["quiz"], out["qti"]


def test_zip_layout_and_manifest(generated):
    quiz, path = generated
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        manifest = ET.fromstring(zf.read("imsmanifest.xml"))
        hrefs = [f.get("href") for f in manifest.iter(f"{CP}file")]
        assert all(h in names for h in hrefs)
        assessment = [h for h in hrefs if not h.endswith("assessment_meta.xml")]
        assert len(assessment) == 1
        root = ET.fromstring(zf.read(assessment[0]))
        meta = zf.read([h for h in hrefs if h.endswith("assessment_meta.xml")][0]).decode()
    assert "<points_possible>9.0</points_possible>" in meta
    groups = root.find(f"{QTI}assessment").find(f"{QTI}section").findall(f"{QTI}section")
    assert [g.get("title") for g in groups] == quiz.slots()
    by_slot = quiz.by_slot()
    for g in groups:
        assert g.find(f".//{QTI}selection_number").text == "1"
        items = g.findall(f"{QTI}item")
        questions = by_slot[g.get("title")]
        assert len(items) == len(questions) == 4
        for item, q in zip(items, questions):
            assert item.get("title") == q.id
            text = html.unescape(item.find(f".//{QTI}mattext").text)
            assert f"[{q.id}]" in text
            kind = _field(item, "question_type")
            if q.kind == "choice":
                assert kind == "multiple_choice_question"
                labels = item.findall(f".//{QTI}response_label")
                assert len(labels) == len(q.choices)
                right = item.find(f".//{QTI}respcondition/{QTI}conditionvar/{QTI}varequal").text
                shown = [html.unescape(l.find(f".//{QTI}mattext").text) for l in labels]
                assert shown[[l.get("ident") for l in labels].index(right)] == \
                    format_value(q.answer)
            else:
                assert kind == "numerical_question"
                cond = item.find(f".//{QTI}respcondition/{QTI}conditionvar")
                exact = float(cond.find(f".//{QTI}varequal").text)
                lo = float(cond.find(f".//{QTI}vargte").text)
                hi = float(cond.find(f".//{QTI}varlte").text)
                assert exact == pytest.approx(q.answer)
                assert lo == pytest.approx(q.answer - q.tolerance)
                assert hi == pytest.approx(q.answer + q.tolerance)
                if q.asked["field"] == "memory_kb":
                    assert hi > lo  # a margin for rounding


def test_multiple_choice_option_and_table_html():
    from quizzes.variants import build_quiz
    quiz = build_quiz(5, variants=2, templates=["table_cell", "layer_params"])
    xml = qti_files(quiz, all_choices=True)
    text = next(v for k, v in xml.items() if k.endswith(".xml") and "meta" not in k
                and "manifest" not in k).decode()
    root = ET.fromstring(text)
    kinds = {_field(i, "question_type") for i in root.iter(f"{QTI}item")}
    assert kinds == {"multiple_choice_question"}
    assert "&lt;table&gt;" in text  # the cost table travels as escaped HTML


def test_zip_bytes_reproducible():
    files = {"b.xml": b"<b/>", "a.xml": b"<a/>"}
    assert zip_bytes(files) == zip_bytes(dict(reversed(list(files.items()))))
    with zipfile.ZipFile(__import__("io").BytesIO(zip_bytes(files))) as zf:
        assert zf.namelist() == ["a.xml", "b.xml", "non_cc_assessments/"]


def test_same_xml_shape_as_text2qti():
    """Our items use text2qti's own templates: check a text2qti-made numerical question in
    a group has the same element structure as ours."""
    from text2qti.config import Config
    from text2qti.qti import QTI as T2Q
    from text2qti.quiz import Quiz as T2Quiz
    from quizzes.variants import build_quiz

    source = ("Quiz title: t\n\nGROUP\npick: 1\npoints per question: 1\n"
              "1.  How many?\n=   42 +- 0.5\nEND_GROUP\n")
    t2q = T2Q(T2Quiz(source, config=Config(), source_name="<test>"))

    def paths(xml):
        root = ET.fromstring(xml)
        item = next(root.iter(f"{QTI}item"))
        return sorted({re.sub(r"\{.*?\}", "", "/".join(
            [e.tag for e in [item]] + [c.tag])) for c in item.iter()})

    ours = build_quiz(1, variants=1, templates=["layer_params"])
    xml = next(v for k, v in qti_files(ours).items()
               if k.endswith(".xml") and "meta" not in k and "manifest" not in k)
    assert paths(xml) == paths(t2q.assessment)
