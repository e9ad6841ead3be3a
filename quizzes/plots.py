"""The figure of `quiz grade --plot`: per question, stacked bars of how many students made
each catalogued mistake (plus wrong answers no mistake explains)."""
from __future__ import annotations

from pathlib import Path

# No version or date stamped into the file, so the same grades give the same bytes; each
# backend takes its own keys (the SVG writer rejects PNG's "Software"), and Pillow's
# formats (JPEG, TIFF, WebP) take none.
_METADATA = {".png": {"Software": None},
             ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
             ".svg": {"Creator": None, "Date": None},
             ".ps": {"Creator": None}, ".eps": {"Creator": None}}


def plot_mistakes(result: dict, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    slots = list(result["questions"])
    names = sorted({m for q in result["questions"].values() for m in q["mistakes"]})
    stacks = {m: [result["questions"][s]["mistakes"].get(m, 0) for s in slots] for m in names}
    stacks["(no catalogued mistake)"] = [result["questions"][s]["unexplained"] for s in slots]
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(slots) + 4), 4.5))
    bottom = [0] * len(slots)
    cmap = plt.get_cmap("tab20")
    for i, (name, counts) in enumerate(stacks.items()):
        color = "lightgrey" if name.startswith("(") else cmap(i % 20)
        ax.bar(slots, counts, bottom=bottom, label=name, color=color)
        bottom = [b + c for b, c in zip(bottom, counts)]
    ax.set_xlabel("question")
    ax.set_ylabel("wrong answers")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title("Likely mistakes behind wrong answers")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100, metadata=_METADATA.get(Path(path).suffix.lower()))
    finally:
        plt.close(fig)
