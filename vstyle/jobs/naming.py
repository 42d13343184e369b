"""The one rule for naming outputs.

``run`` and ``image``: ``<input stem>_<style stems>`` in the current folder (input folders are often
shared or read-only media libraries) or in ``-o DIR``; ``batch``: the input's own relative path under
the output folder. Either way videos become ``.mp4`` and images keep a format we can write, else PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import VStyleError
from .engine import parse_style_spec

VIDEO_SUFFIX = ".mp4"


def style_label(styles: Sequence[str]) -> str:
    """A short name for outputs: the style stems joined by '+'."""
    return "+".join(parse_style_spec(s).path.stem for s in styles)


def output_suffix(src: Path, kind: str) -> str:
    """``.mp4`` for a video; an image's own suffix when it can be written, else ``.jpg`` for a HEIC
    photo (lossy in, lossy out) and ``.png`` for the rest."""
    from ..io.images import HEIF_SUFFIXES, WRITE_FORMATS

    if kind == "video":
        return VIDEO_SUFFIX
    suffix = src.suffix.lower()
    return suffix if suffix in WRITE_FORMATS else ".jpg" if suffix in HEIF_SUFFIXES else ".png"


def stylised_name(src: Path, label: str, kind: str) -> str:
    """``<stem>_<label><suffix>``: the name of ``src`` stylised with the styles called ``label``."""
    return f"{src.stem}_{label}{output_suffix(src, kind)}"


def video_output(src: Path, out: Path | None, label: str) -> Path:
    """``-o FILE``, ``-o DIR`` (→ DIR/<stem>_<label>.mp4) or ./<stem>_<label>.mp4."""
    name = stylised_name(src, label, "video")
    if out is None:
        return Path(name)
    if out.is_dir():
        return out / name
    from ..io.images import STILL_SUFFIXES

    if not out.suffix or out.suffix.lower() in STILL_SUFFIXES:
        raise VStyleError(f"-o {out}: give a video file name (.mp4, .mkv, .mov) or an existing folder")
    return out


def image_output(src: Path, out: Path | None, many: bool, label: str) -> Path:
    """``-o FILE`` for one input; ``-o DIR`` (or several inputs) → DIR/<stem>_<label><ext>."""
    from ..io.images import IMAGE_SUFFIXES, image_format

    name = stylised_name(src, label, "image")
    if out is None:
        return Path(name)
    if out.is_dir() or many or not out.suffix:
        if out.exists() and not out.is_dir():
            raise VStyleError(f"{out} is a file; with several inputs -o must be a folder")
        if not out.exists() and out.suffix.lower() in IMAGE_SUFFIXES:
            raise VStyleError(f"-o {out} names an image file, but there are several inputs; give a folder")
        return out / name
    image_format(out)  # a file name must be one we can write, said before any work
    return out


def mirrored_output(rel: Path, out_dir: Path, kind: str, taken: set[Path]) -> Path:
    """``out_dir/rel`` with the output suffix; a name another input already took keeps the old
    suffix in its stem (``a.gif`` and ``a.png`` → ``a.png`` and ``a_png.png``). Adds it to ``taken``."""
    suffix = output_suffix(rel, kind)
    dst = out_dir / rel.with_suffix(suffix)
    n = 1
    while dst in taken:  # a.BMP, a.Bmp and a.bmp: a.bmp, a_bmp.bmp, a_bmp_2.bmp
        tail = rel.suffix.lower()[1:] + (f"_{n}" if n > 1 else "")
        dst = out_dir / rel.with_name(f"{rel.stem}_{tail}{suffix}")
        n += 1
    taken.add(dst)
    return dst
