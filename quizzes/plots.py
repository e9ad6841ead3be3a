"""The figure of `quiz grade --plot`: per question, stacked bars of how many students made
each catalogued mistake (plus wrong answers no mistake explains).

Made to be shown on a slide or a screen: a 16:9 page (13.33 x 7.5 in) at 144 dpi, 1920 x
1080 px, fonts of at least 12 pt, which is 16 px when the image is shown 1280 px wide. The
most common mistakes get the legend's first entries, the bottom of the stacks and the
clearest colours; past
MAX_NAMED the rest are summed into one "other" entry, so the legend always fits the page.
tests/test_plots.py measures the font sizes and that no two texts overlap.
"""
from __future__ import annotations

import math
from pathlib import Path

SLIDE_IN = (40 / 3, 7.5)   # inches, 16:9
DPI = 144                  # 1920 x 1080 px
TEXT_PT = 13               # axis labels
SMALL_PT = 12              # ticks, legend, the totals above the bars: 16 px at 1280 px wide
TITLE_PT = 15
MAX_NAMED = 16             # legend entries for single mistakes; the rest are "other"
MAX_LABELLED = 40          # question labels on the x axis; past that every k-th is written

# tab10's ten, then tab20's light shades, then greys are kept for "other" and "unexplained":
# neighbours in a stack differ clearly.
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#393b79", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94"]

# No version or date stamped into the file, so the same grades give the same bytes; each
# backend takes its own keys (the SVG writer rejects PNG's "Software"), and Pillow's
# formats (JPEG, TIFF, WebP) take none.
_METADATA = {".png": {"Software": None},
             ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
             ".svg": {"Creator": None, "Date": None},
             ".ps": {"Creator": None}, ".eps": {"Creator": None}}


def mistakes_figure(result: dict):
    """The matplotlib Figure that plot_mistakes saves."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    questions = result["questions"]
    slots = list(questions)
    counts: dict[str, int] = {}
    for q in questions.values():
        for m, c in q["mistakes"].items():
            counts[m] = counts.get(m, 0) + c
    ranked = sorted(counts, key=lambda m: (-counts[m], m))
    named, rest = ranked[:MAX_NAMED], ranked[MAX_NAMED:]
    stacks = {m: [questions[s]["mistakes"].get(m, 0) for s in slots] for m in named}
    colors = {m: _COLORS[i % len(_COLORS)] for i, m in enumerate(named)}
    if rest:
        label = f"({len(rest)} other mistakes)"
        stacks[label] = [sum(questions[s]["mistakes"].get(m, 0) for m in rest) for s in slots]
        colors[label] = "#7f7f7f"
    unexplained = [questions[s]["unexplained"] for s in slots]
    if any(unexplained) or not stacks:
        stacks["(no catalogued mistake)"] = unexplained
        colors["(no catalogued mistake)"] = "lightgrey"

    fig, ax = plt.subplots(figsize=SLIDE_IN, layout="constrained")
    x = range(len(slots))
    bottom = [0] * len(slots)
    for name, values in stacks.items():
        ax.bar(x, values, bottom=bottom, label=name.replace("+", " +\n"), color=colors[name],
               width=0.75)
        bottom = [b + v for b, v in zip(bottom, values)]
    top = max(bottom + [1])
    for i, total in enumerate(bottom):
        if total and len(slots) <= MAX_LABELLED:
            ax.text(i, total + top * 0.01, str(total), ha="center", va="bottom",
                    fontsize=SMALL_PT)
    ax.set_ylim(0, top * 1.1)
    step = math.ceil(len(slots) / MAX_LABELLED) if slots else 1
    ax.set_xticks(list(x)[::step], slots[::step], fontsize=SMALL_PT,
                  rotation=90 if len(slots) > 20 else 0)
    ax.set_xlim(-0.6, len(slots) - 0.4)
    ax.tick_params(axis="y", labelsize=SMALL_PT)
    ax.set_xlabel("question", fontsize=TEXT_PT)
    ax.set_ylabel("wrong answers", fontsize=TEXT_PT)
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    students = len(result.get("students", []))
    ax.set_title("Likely mistakes behind wrong answers"
                 + (f" ({students} students)" if students else ""), fontsize=TITLE_PT)
    # Most common first, as at the bottom of the stacks.
    ax.legend(fontsize=SMALL_PT, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False,
              title="most common first", title_fontsize=SMALL_PT)
    return fig


def plot_mistakes(result: dict, path) -> None:
    import matplotlib.pyplot as plt

    fig = mistakes_figure(result)
    try:
        fig.savefig(path, dpi=DPI, metadata=_METADATA.get(Path(path).suffix.lower()))
    finally:
        plt.close(fig)
