"""Figures for the CLI. matplotlib is imported inside the functions, with the Agg backend,
so `cnnlab` never pays for it unless a figure is asked for."""
from __future__ import annotations


def plot_costs(report: dict, path: str) -> None:
    """Three aligned bar panels (memory, params, FLOPs per layer, as % of the model's total),
    making the lecture's point: memory sits in the early conv layers, params in the fc ones."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"]
    totals = report["totals"]
    names = [r["name"] for r in rows]
    x = range(len(rows))
    panels = [("memory_kb", "memory", "tab:blue"), ("params", "params", "tab:orange"),
              ("flops", "FLOPs", "tab:green")]
    width = min(max(8.0, 0.18 * len(rows) + 3), 40.0)
    fig, axes = plt.subplots(3, 1, figsize=(width, 8.5), sharex=True)
    for ax, (key, label, color) in zip(axes, panels):
        total = totals[key] or 1
        share = [100.0 * r[key] / total for r in rows]
        ax.bar(x, share, color=color, width=0.8)
        ax.set_ylabel(f"% of {label}")
        ax.set_ylim(0, max(share + [1.0]) * 1.15)
        ax.grid(axis="y", alpha=0.3)
        first = sum(share[: max(1, len(rows) // 3)])
        fc = sum(s for s, r in zip(share, rows) if r["type"] == "fc")
        ax.set_title(f"{label}: total {_total(key, totals[key])}; first third of layers "
                     f"{first:.0f}%, fc layers {fc:.0f}%", loc="right", fontsize=9)
    axes[-1].set_xticks(list(x))
    axes[-1].set_xticklabels(names, rotation=90, fontsize=7 if len(rows) < 60 else 5)
    c, h, w = report["input_shape"]
    fig.suptitle(f"{report['model']} ({c}x{h}x{w}): where memory, params and FLOPs go\n"
                 f"{_lesson(rows, totals)}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lesson(rows: list[dict], totals: dict) -> str:
    """The lecture's point, in this model's own numbers."""
    third = max(1, len(rows) // 3)

    def share(key, subset):
        return 100.0 * sum(r[key] for r in subset) / (totals[key] or 1)

    mem_early = share("memory_kb", rows[:third])
    params_fc = share("params", [r for r in rows if r["type"] == "fc"])
    params_late = share("params", rows[-third:])
    where = (f"params in the fully connected layers ({params_fc:.0f}%)" if params_fc >= 50
             else f"params in the last third of layers ({params_late:.0f}%)")
    return f"memory sits in the first third of layers ({mem_early:.0f}%), {where}"


def _total(key: str, value: float) -> str:
    if key == "memory_kb":
        return f"{value / 1024:,.2f} MB"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:g}"
