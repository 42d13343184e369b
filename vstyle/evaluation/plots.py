"""Figures of an evaluation: warping error per frame, the style–stability trade-off (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..io.atomic import atomic_output


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    return plt


def plot_warping_error(data: dict[str, Any], path: Path, overwrite: bool) -> Path:
    """One panel per (clip, style): short-term warping error of every frame pair, one line per method."""
    plt = _pyplot()
    clips, styles = [c["name"] for c in data["clips"] if not c.get("still")], data["styles"]
    from matplotlib.ticker import MaxNLocator

    if not clips:  # photos only: nothing temporal to show
        fig, ax = plt.subplots(figsize=(5.0, 2.0))
        ax.axis("off")
        ax.text(0.5, 0.5, "no clips in this evaluation (photos only)", ha="center", va="center")
        return _save(fig, plt, path, overwrite)

    fig, axes = plt.subplots(len(clips), len(styles), figsize=(max(4.2 * len(styles), 8.0), 3.0 * len(clips)),
                             squeeze=False, sharey=True)
    values = [y for r in data["results"] for y in r["warp_short_per_pair"] if y is not None]
    log = bool(values) and min(values) > 0  # a log axis cannot show an exactly steady (zero-error) method
    for i, clip in enumerate(clips):
        for j, style in enumerate(styles):
            ax = axes[i][j]
            for row in data["results"]:
                if row["clip"] == clip and row["style"] == style:
                    ys = row["warp_short_per_pair"]
                    ax.plot(range(1, len(ys) + 1), [float("nan") if y is None else y for y in ys],
                            label=row["method"], lw=1.2, ls="--" if row["kind"] == "reference" else "-")
            if log:
                ax.set_yscale("log")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"{clip} × {style}", fontsize=9)
            ax.set_xlabel("frame t+1")
            if j == 0:
                ax.set_ylabel("warping error (MSE)")
            ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(labels) // 4), 1, 1))
    return _save(fig, plt, path, overwrite)


def plot_tradeoff(data: dict[str, Any], path: Path, overwrite: bool) -> Path:
    """Style distance against short-term warping error: small dots per (clip, style), big per method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    for k, summary in enumerate(data["summary"]):
        color = f"C{k % 10}"
        pts = [(r["warp_short"], r["style_meanstd"]) for r in data["results"]
               if r["method"] == summary["method"] and r["warp_short"] is not None]
        if pts:
            ax.scatter(*zip(*pts), s=14, alpha=0.35, color=color)
        if summary["warp_short"] is not None:
            ax.scatter([summary["warp_short"]], [summary["style_meanstd"]], s=90, color=color, edgecolor="black",
                       label=summary["method"], marker="D" if summary["kind"] == "reference" else "o")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("short-term warping error, MSE (lower = steadier)")
    ax.set_ylabel("style distance, mean/std (lower = closer to style)")
    ax.set_title("Style vs temporal stability (best: bottom left)", fontsize=10)
    ax.grid(alpha=0.3)
    _legend(ax)
    fig.tight_layout()
    return _save(fig, plt, path, overwrite)


def plot_judged(data: dict[str, Any], path: Path, overwrite: bool) -> Path:
    """The independent judge's view, one big dot per method: style distance against recognisability (left)
    and style specificity against palette distance (right); small dots per (content, style)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.6))
    panels = (("judge_style_meanstd", "top5_kept", "judge style distance (lower = closer to style)",
               "top-5 kept (higher = subject recognisable)"),
              ("palette", "specificity", "palette distance, CIELAB (lower = style's colours)",
               "style specificity (higher = each style its own look)"))
    for ax, (xkey, ykey, xlabel, ylabel) in zip(axes, panels):
        for k, summary in enumerate(data["summary"]):
            color = f"C{k % 10}"
            pts = [(r[xkey], r[ykey]) for r in data["results"]
                   if r["method"] == summary["method"] and r.get(xkey) is not None and r.get(ykey) is not None]
            if pts:
                ax.scatter(*zip(*pts), s=12, alpha=0.3, color=color)
            if summary.get(xkey) is not None and summary.get(ykey) is not None:
                ax.scatter([summary[xkey]], [summary[ykey]], s=90, color=color, edgecolor="black",
                           label=summary["method"], marker="D" if summary["kind"] == "reference" else "o")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_title("Independent judge (EfficientNet-Lite0): best top left", fontsize=10)
    axes[1].set_title("Colours and specificity: best top left", fontsize=10)
    _legend(axes[0])
    fig.tight_layout()
    return _save(fig, plt, path, overwrite)


def _save(fig: Any, plt: Any, path: Path, overwrite: bool) -> Path:
    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return path


def _legend(ax: Any) -> None:
    """A legend of the labelled dots, if any (photos alone have no warping error to plot, and matplotlib
    warns on stderr about an empty legend)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
