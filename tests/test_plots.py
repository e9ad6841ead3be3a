"""Every figure the project draws is legible on a slide, measured with matplotlib's renderer.

A figure is shown full width on a 16:9 slide, 1280 to 1920 px wide. At the smallest of
those, every text must be at least 14 px high (its font size in points, scaled from the
figure's width in inches to 1280 px); no two drawn texts may overlap, none may leave the
figure, and a text placed in a panel stays inside that panel. The cost figure keeps a deep
network to at most 30 rows by default. The numbers drawn are checked against independent
truth: torchvision's published parameter counts, the lecture's worked tables in
solutions.networks for the row names, the torch module's own blocks for ResNet's stages.
"""
from __future__ import annotations

import itertools

import pytest
from PIL import Image

from cnnlab import plots
from cnnlab.cli import main
from solutions import cnn_costs, module_costs, networks

SHOWN_PX = 1280        # the narrowest a slide shows a full-width image
MIN_TEXT_PX = 14
MAX_ROWS = 30

PUBLISHED_PARAMS = {"alexnet": 61_100_840, "vgg16": 138_357_544, "resnet18": 11_689_512,
                    "resnet50": 25_557_032}


def drawn_texts(fig):
    """The texts matplotlib draws: visible, not empty, tick labels only where the tick is
    inside the axis's view (the locator also makes ticks that are never drawn)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    undrawn = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    undrawn |= {id(tick.label1), id(tick.label2)}
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and id(t) not in undrawn and t.figure is fig]


def legibility_problems(fig) -> list[str]:
    renderer = fig.canvas.get_renderer()
    texts = drawn_texts(fig)
    assert texts, "a figure with no text"
    problems = []
    scale = SHOWN_PX / (72 * fig.get_figwidth())  # px per point at 1280 px wide
    for t in texts:
        if t.get_fontsize() * scale < MIN_TEXT_PX:
            problems.append(f"{t.get_text()!r}: {t.get_fontsize() * scale:.1f} px at "
                            f"{SHOWN_PX} px wide")
    boxes = [(t, t.get_window_extent(renderer).shrunk(0.98, 0.9)) for t in texts]
    page = fig.bbox
    for t, box in boxes:
        if box.x0 < page.x0 - 1 or box.y0 < page.y0 - 1 or box.x1 > page.x1 + 1 \
                or box.y1 > page.y1 + 1:
            problems.append(f"{t.get_text()!r} is cut off at the figure's edge")
        ax = t.axes
        if ax is not None and t in ax.texts:
            inner = ax.bbox
            if box.x0 < inner.x0 - 1 or box.x1 > inner.x1 + 1 or box.y0 < inner.y0 - 1 \
                    or box.y1 > inner.y1 + 1:
                problems.append(f"{t.get_text()!r} spills out of its panel")
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        if box_a.overlaps(box_b):
            problems.append(f"{a.get_text()!r} overlaps {b.get_text()!r}")
    return problems


# --- cnnlab costs --plot ------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports():
    return {}


def report_of(reports, model):
    if model not in reports:
        reports[model] = module_costs.cost_report(model)
    return reports[model]


@pytest.mark.parametrize("model", ["alexnet", "vgg16", "vgg19", "vgg19_bn", "resnet18",
                                   "resnet50", "resnet152", "lenet5", "googlenet_stem"])
def test_cost_figure_is_legible_on_a_slide(model, reports):
    import matplotlib.pyplot as plt

    report = report_of(reports, model)
    fig = plots.costs_figure(report)
    try:
        assert legibility_problems(fig) == []
        panels = fig.axes[:3]
        bars = [len(ax.patches) for ax in panels]
        assert bars[0] == bars[1] == bars[2] <= MAX_ROWS, bars
        # A 16:9 slide, whatever the model, when the rows fit.
        assert fig.get_figwidth() / fig.get_figheight() == pytest.approx(16 / 9, rel=0.01)
        # The bars add up to the model's totals (memory in the unit its axis names): no row
        # lost in the grouping.
        ticks = [t.get_text() for t in panels[0].get_xticklabels() if t.get_text() != "0"]
        units = {text.split()[-1] for text in ticks}
        assert len(units) == 1 and units <= {"KB", "MB"}, ticks
        per_kb = 1 / 1024 if units == {"MB"} else 1
        for ax, key, unit in zip(panels, ("memory_kb", "params", "flops"), (per_kb, 1, 1)):
            assert sum(p.get_width() for p in ax.patches) == pytest.approx(
                report["totals"][key] * unit, rel=1e-9)
        if model in PUBLISHED_PARAMS:
            assert sum(p.get_width() for p in panels[1].patches) == PUBLISHED_PARAMS[model]
    finally:
        plt.close(fig)


@pytest.mark.parametrize("model", ["resnet50", "resnet152", "vgg19", "vgg19_bn"])
def test_deep_networks_are_grouped_by_default(model, reports):
    report = report_of(reports, model)
    level, groups = module_costs.group_rows(model, report["rows"])
    assert len(groups) <= MAX_ROWS < len(report["rows"]) or level == "layer"
    # The groups are runs of consecutive rows, in forward order, covering every row once.
    assert [n for g in groups for n in g["names"]] == [r["name"] for r in report["rows"]]


def test_row_names_are_the_lectures(reports):
    # The lecture's worked AlexNet and VGG-16 tables name every row; torchvision's adaptive
    # avgpool is the one row they lack.
    for model, layers in (("alexnet", networks.ALEXNET_LAYERS),
                          ("vgg16", networks.VGG16_LAYERS),
                          ("lenet5", networks.LENET5_LAYERS)):
        rows = report_of(reports, model)["rows"]
        labels = [lab["label"] for lab, r in zip(module_costs.lecture_labels(model, rows), rows)
                  if r["name"] != "avgpool"]
        assert labels == [layer["name"] for layer in layers], model


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "resnet152"])
def test_resnet_stages_follow_the_module(model, reports):
    from solutions import cnn_architectures

    net = getattr(cnn_architectures, model)()
    report = report_of(reports, model)
    _, stages = module_costs.group_rows(model, report["rows"], "stage")
    by_path = {g["path"]: g for g in stages}
    for n in range(1, 5):
        stage = getattr(net, f"layer{n}")
        g = by_path[f"layer{n}"]
        assert g["label"] == f"conv{n + 1}_x, {len(stage)} blocks"
        assert g["params"] == sum(p.numel() for p in stage.parameters())
    assert by_path["fc"]["params"] == sum(p.numel() for p in net.fc.parameters())
    assert by_path["conv1 + bn1"]["params"] == (net.conv1.weight.numel()
                                                + sum(p.numel() for p in net.bn1.parameters()))


def test_per_layer_figure_stays_legible(reports):
    import matplotlib.pyplot as plt

    report = report_of(reports, "resnet50")
    fig = plots.costs_figure(report, "layer")
    try:
        assert [len(ax.patches) for ax in fig.axes[:3]] == [len(report["rows"])] * 3
        assert legibility_problems(fig) == []
    finally:
        plt.close(fig)


@pytest.mark.parametrize("argv, size", [
    (["costs", "resnet50"], (1920, 1080)),
    (["costs", "VGG-19"], (1920, 1080)),
    (["costs", "resnet18", "--per-layer"], None),
    (["costs", "resnet18", "--group", "stage"], (1920, 1080)),
])
def test_cli_writes_a_slide_sized_png(argv, size, tmp_path, capsys):
    path = tmp_path / "costs.png"
    assert main([*argv, "--plot", str(path)]) == 0
    capsys.readouterr()
    with Image.open(path) as image:
        width, height = image.size
    assert width == 1920
    if size:
        assert (width, height) == size
    else:
        assert height > 1080  # 44 rows, kept legible: the figure grows instead


# --- cnnlab quiz grade --plot -------------------------------------------------------------


def synthetic_result(questions: int, mistakes: int, students: int = 30) -> dict:
    """A `quiz grade` result with `questions` questions and wrong answers spread over
    `mistakes` catalogued mistakes (pairs among them, as quizzes.grade names them)."""
    from solutions.mistakes.formulas import BY_ID

    ids = sorted(BY_ID)
    names = ids[:mistakes] + [f"{a}+{b}" for a, b in zip(ids, ids[1:])][:max(0, mistakes
                                                                             - len(ids))]
    result = {"students": [{"student": f"s{i}"} for i in range(students)], "questions": {}}
    for q in range(questions):
        made = {names[(q * 3 + k) % len(names)]: 1 + (q + k) % 4 for k in range(5)}
        result["questions"][f"q{q + 1:02d}"] = {"mistakes": made, "unexplained": q % 3,
                                                "correct_rate": 0.5}
    return result


@pytest.mark.parametrize("questions, mistakes", [(9, 15), (30, 40), (100, 28)])
def test_mistakes_figure_is_legible(questions, mistakes):
    import matplotlib.pyplot as plt
    from quizzes.plots import MAX_NAMED, mistakes_figure

    result = synthetic_result(questions, mistakes)
    fig = mistakes_figure(result)
    try:
        assert legibility_problems(fig) == []
        ax = fig.axes[0]
        assert fig.get_figwidth() / fig.get_figheight() == pytest.approx(16 / 9, rel=0.01)
        assert len(ax.get_legend().get_texts()) <= MAX_NAMED + 2
        # Each stack is that question's wrong answers: every mistake and the unexplained.
        heights = [0] * questions
        for p in ax.patches:
            heights[round(p.get_x() + p.get_width() / 2)] += p.get_height()
        assert heights == [sum(q["mistakes"].values()) + q["unexplained"]
                           for q in result["questions"].values()]
    finally:
        plt.close(fig)


def test_quiz_grade_plot_of_the_samples_is_a_slide(tmp_path, capsys):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert main(["quiz", "generate", "--seed", "demo-2026", "--roster",
                 str(root / "quizzes" / "samples" / "roster.csv"), "--out",
                 str(tmp_path / "q")]) == 0
    plot = tmp_path / "mistakes.png"
    assert main(["quiz", "grade", str(root / "samples" / "quiz" / "responses.csv"), "--key",
                 str(tmp_path / "q" / "answer_key.json"), "--plot", str(plot)]) == 0
    capsys.readouterr()
    with Image.open(plot) as image:
        assert image.size == (1920, 1080)
