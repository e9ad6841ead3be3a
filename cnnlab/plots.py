"""Figures for the CLI. matplotlib is imported inside the functions, with the Agg backend,
so `cnnlab` never pays for it unless a figure is asked for.

The cost figure is made for a lecture slide: a 16:9 page (13.33 x 7.5 in, PowerPoint's and
Google Slides' default) saved at 144 dpi, 1920 x 1080 px. A slide shows it full width at
1280 to 1920 px, so a 12 pt font is at least 12 / 72 * 1280 / 13.33 = 16 px on screen.
tests/test_plots.py measures this, and that no two texts overlap or leave the figure.
"""
from __future__ import annotations

from pathlib import Path

SLIDE_IN = (40 / 3, 7.5)   # inches, 16:9
DPI = 144                  # 1920 x 1080 px
TEXT_PT = 13               # row labels, panel titles, the lesson line
SMALL_PT = 12              # tick labels, values next to the bars, the legend: 16 px at 1280
TITLE_PT = 15
ROW_IN = 0.2               # one bar row (14.4 pt for 12 pt labels); more rows make it taller
FRAME_IN = 1.6             # titles, axis ticks and the legend around the bars

# A group's bar takes the colour of its main layer type (a ResNet block is convs and BNs).
TYPE_STYLE = {"conv": ("conv", "#1f77b4"), "fc": ("fully connected", "#ff7f0e"),
              "pool": ("pool", "#2ca02c"), "batchnorm": ("batch norm", "#17becf"),
              "flatten": ("flatten", "#7f7f7f")}

# No version or date stamped into the file, so the same table gives the same bytes.
_METADATA = {".png": {"Software": None},
             ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
             ".svg": {"Creator": None, "Date": None},
             ".ps": {"Creator": None}, ".eps": {"Creator": None}}


def costs_figure(report: dict, level: str = "auto"):
    """Three bar panels side by side (memory, params, FLOPs), one row per layer, block or
    stage (solutions.module_costs.group_rows; "auto" keeps a deep network to at most 30
    rows), each bar labelled with its absolute value and its share of the model's total.
    Returns the matplotlib Figure; plot_costs saves it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from solutions.module_costs import group_rows

    rows, totals = report["rows"], report["totals"]
    used, groups = group_rows(report["model"], rows, level)
    n = len(groups)
    height = max(SLIDE_IN[1], FRAME_IN + ROW_IN * n)
    fig, axes = plt.subplots(1, 3, figsize=(SLIDE_IN[0], height), sharey=True,
                             layout="constrained")
    names = [g["label"] if g["label"] == g["path"] else f"{g['label']} ({g['path']})"
             for g in groups]
    colors = [TYPE_STYLE[_main_type(g["types"])][1] for g in groups]
    # (field, title, value label, tick label, the field's unit -> the axis's unit)
    in_mb = max(g["memory_kb"] for g in groups) >= 1024
    panels = [("memory_kb", "memory", _memory, _mb_tick if in_mb else _kb_tick,
               1 / 1024 if in_mb else 1),
              ("params", "params", _count, _count, 1), ("flops", "FLOPs", _count, _count, 1)]
    y = range(n)
    for ax, (key, what, fmt, tick, scale) in zip(axes, panels):
        values = [g[key] * scale for g in groups]
        total = totals[key] * scale or 1
        ax.barh(y, values, color=colors, height=0.72)
        top = max(values) or 1
        ax.set_xlim(0, top * 1.75)  # room for the value labels right of the longest bar
        for i, v in enumerate(values):
            if v:
                share = 100 * v / total
                text = fmt(v / scale) + (f"  {share:.0f}%" if share >= 1 else "")
                ax.text(v + top * 0.02, i, text, va="center", ha="left", fontsize=SMALL_PT)
        ax.set_title(f"{what}: {fmt(totals[key])} in all", fontsize=TEXT_PT)
        ax.xaxis.set_major_locator(MaxNLocator(3))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos, tick=tick: tick(v) if v else "0"))
        ax.tick_params(axis="x", labelsize=SMALL_PT)
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(list(y), names, fontsize=SMALL_PT)
    axes[0].set_ylim(n - 0.5, -0.5)  # forward order, top to bottom
    present = [t for t in TYPE_STYLE if any(_main_type(g["types"]) == t for g in groups)]
    fig.legend([Patch(color=TYPE_STYLE[t][1]) for t in present],
               [TYPE_STYLE[t][0] for t in present], loc="outside lower center",
               ncols=len(present), fontsize=SMALL_PT, frameon=False)
    c, h, w = report["input_shape"]
    per = {"layer": "per layer", "block": "per block", "stage": "per stage"}[used]
    fig.suptitle(f"{report['model']} ({c}x{h}x{w}), {per} ({n} rows for {len(rows)} layers): "
                 f"where memory, params and FLOPs go\n{_lesson(rows, totals)}",
                 fontsize=TITLE_PT)
    return fig


def plot_costs(report: dict, path, level: str = "auto") -> None:
    import matplotlib.pyplot as plt

    fig = costs_figure(report, level)
    try:
        fig.savefig(path, dpi=DPI, metadata=_METADATA.get(Path(path).suffix.lower()))
    finally:
        plt.close(fig)


def _main_type(types: list[str]) -> str:
    for t in ("conv", "fc", "pool", "batchnorm", "flatten"):
        if t in types:
            return t
    return types[0]


def _lesson(rows: list[dict], totals: dict) -> str:
    """The lecture's point, in this model's own numbers."""
    third = max(1, len(rows) // 3)

    def share(key, subset):
        return 100.0 * sum(r[key] for r in subset) / (totals[key] or 1)

    mem_early = share("memory_kb", rows[:third])
    params_fc = share("params", [r for r in rows if r["type"] == "fc"])
    params_late = share("params", rows[-third:])
    if params_fc >= 50:
        where = f"params in the fully connected layers ({params_fc:.0f}%)"
    elif params_late >= 50:
        where = f"params in the last third of layers ({params_late:.0f}%)"
    else:  # a stem without a classifier: name the layer that holds the most
        top = max(rows, key=lambda r: r["params"])
        where = f"params mostly in {top['name']} ({share('params', [top]):.0f}%)"
    return f"memory sits in the first third of layers ({mem_early:.0f}%), {where}"


def _memory(kb: float) -> str:
    if kb >= 1024:
        return f"{_sig(kb / 1024)} MB"
    if kb >= 1:
        return f"{_sig(kb)} KB"
    return f"{kb * 1024:.0f} B"


def _mb_tick(mb: float) -> str:
    return f"{mb:g} MB"


def _kb_tick(kb: float) -> str:
    return f"{kb:g} KB"


def _count(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{_sig(value / scale)}{unit}"
    return f"{value:g}"


def _sig(value: float) -> str:
    # Three significant figures, without an exponent: 85.6, 3.06, 138, 1,229.
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"
