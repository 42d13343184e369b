"""Evaluation content: clips (a video file or a folder of frames) and still photos, decoded once, plus the
motion the temporal metrics need (clips only).

A frame folder may carry ground-truth flow the way Ruder et al.'s data does (``flow/`` beside the frames,
or the frames' own folder): ``backward_<s>_<t>.flo`` (flow from frame s to t on s's grid),
``forward_<t>_<s>.flo`` and optionally ``reliable_<s>_<t>.pgm``, numbered like the frame files. That flow
is used for the pairs it covers; every other pair gets OpenCV DIS flow on the content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import VStyleError
from ..flags import flag
from ..io.images import IMAGE_SUFFIXES, fit_within, read_image
from ..io.video_source import VIDEO_SUFFIXES
from ..metrics.flow import consistency_mask, read_flo, resize_flow, resize_mask
from ..metrics.ssim import SSIM_WINDOW
from ..metrics.temporal import PairFlow, pair_flow

FOLDER_FPS = 24.0  # frame folders have no rate; used only for the side-by-side video


@dataclass
class Clip:
    """Decoded content frames (N×H×W×3 uint8 RGB) and where they came from."""

    name: str
    path: Path
    frames: np.ndarray
    fps: float
    numbers: list[int] = field(default_factory=list)  # frame numbers from file names (folders only)
    original_size: tuple[int, int] = (0, 0)  # (width, height) before --size
    still: bool = False  # a photo: one frame, no temporal metrics

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the evaluated frames."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])


def _natural_key(path: Path) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.name)]


def _last_number(path: Path) -> int | None:
    nums = re.findall(r"\d+", path.stem)
    return int(nums[-1]) if nums else None


def _read_folder(path: Path, max_frames: int | None) -> tuple[list[np.ndarray], list[int]]:
    """Frames sorted by name, and their numbers (empty unless every name carries a distinct one)."""
    files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
    if not files:
        raise VStyleError(f"{path} holds no frames ({', '.join(IMAGE_SUFFIXES)})")
    files = files[:max_frames] if max_frames else files
    found = [_last_number(p) for p in files]
    numbers = [n for n in found if n is not None]
    return [read_image(p) for p in files], numbers if len(set(numbers)) == len(files) else []


def _read_video(path: Path, max_frames: int | None,
                size: int | None) -> tuple[list[np.ndarray], float, tuple[int, int]]:
    """The first ``max_frames`` frames, scaled by FFmpeg so the longer side is at most ``size``."""
    from ..io.video_source import VideoReader, probe_video

    info = probe_video(path)
    scale = min(1.0, size / max(info.width, info.height)) if size else 1.0
    target = (max(1, round(info.width * scale)), max(1, round(info.height * scale)))
    frames: list[np.ndarray] = []
    with VideoReader(info, target) as reader:
        for frame in reader.frames():
            frames.append(frame.image)
            if max_frames and len(frames) >= max_frames:
                break
    return frames, float(info.fps), (info.width, info.height)


def _check_side(path: Path, frame: np.ndarray) -> np.ndarray:
    """``frame`` (as evaluated, after scaling) when SSIM can score it; else one line saying why not."""
    h, w = frame.shape[:2]
    if min(h, w) < SSIM_WINDOW:
        raise VStyleError(f"{path} is {w}×{h} px as evaluated; eval needs at least {SSIM_WINDOW} px per side "
                          f"(the window of its SSIM; {flag('size')} sets the evaluated size)")
    return frame


def load_clip(path: str | Path, max_frames: int | None = None, size: int | None = None) -> Clip:
    """Decode up to ``max_frames`` frames of a video file or frame folder, longer side capped at ``size``."""
    path = Path(path)
    if not path.exists():
        raise VStyleError(f"clip not found: {path}")
    numbers: list[int] = []
    if path.is_dir():
        frames, numbers = _read_folder(path, max_frames)
        if len({f.shape for f in frames}) != 1:
            raise VStyleError(f"{path}: frames differ in size")
        original = (frames[0].shape[1], frames[0].shape[0])
        frames = [fit_within(f, size) for f in frames]
        fps = FOLDER_FPS
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        frames, fps, original = _read_video(path, max_frames, size)
    else:
        raise VStyleError(f"{path} is neither a video ({', '.join(VIDEO_SUFFIXES)}), a photo "
                          f"({', '.join(IMAGE_SUFFIXES)}) nor a folder of frames")
    if len(frames) < 2:
        raise VStyleError(f"{path}: a clip needs at least 2 frames for the temporal metrics")
    _check_side(path, frames[0])
    return Clip(name=path.stem if path.is_file() else path.name, path=path, frames=np.stack(frames), fps=fps,
                numbers=numbers, original_size=original)


def load_still(path: str | Path, size: int | None = None) -> Clip:
    """A photo as one-frame content (temporal metrics are skipped for it), longer side capped at ``size``."""
    path = Path(path)
    if not path.is_file():
        raise VStyleError(f"photo not found: {path}")
    image = read_image(path)
    frame = _check_side(path, fit_within(image, size))
    return Clip(name=path.stem, path=path, frames=frame[None], fps=FOLDER_FPS,
                original_size=(image.shape[1], image.shape[0]), still=True)


def load_photos(folder: str | Path, size: int | None = None) -> list[Clip]:
    """Every image directly inside ``folder`` as a still (sorted by name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VStyleError(f"{flag('photo_dirs')} {folder}: not a folder")
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                   key=_natural_key)
    if not files:
        raise VStyleError(f"{flag('photo_dirs')} {folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return [load_still(p, size) for p in files]


def load_content(path: str | Path, max_frames: int | None = None, size: int | None = None) -> Clip:
    """A video file or frame folder as a clip, an image file as a still."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return load_still(path, size)
    return load_clip(path, max_frames, size)


def _ground_truth_dir(clip: Clip) -> Path | None:
    if not clip.path.is_dir() or not clip.numbers:
        return None
    for folder in (clip.path / "flow", clip.path):
        if any(folder.glob("backward_*_*.flo")):
            return folder
    return None


def _ground_truth_pair(folder: Path, clip: Clip, t: int, s: int) -> PairFlow | None:
    """Ground-truth motion between clip frames t and s, resized to the clip; None if not provided."""
    a, b = clip.numbers[t], clip.numbers[s]
    back, fwd, rel = (folder / f"backward_{b}_{a}.flo", folder / f"forward_{a}_{b}.flo",
                      folder / f"reliable_{b}_{a}.pgm")
    if not back.is_file():
        return None
    try:
        flow = read_flo(back)
        if rel.is_file():
            grey = cv2.imread(str(rel), cv2.IMREAD_GRAYSCALE)
            if grey is None:
                raise ValueError(f"cannot read {rel.name}")
            mask = np.asarray(grey > 127)
        elif fwd.is_file():
            mask = consistency_mask(flow, read_flo(fwd))
        else:
            return None
    except (ValueError, TypeError) as exc:
        raise VStyleError(f"{back.parent}: bad ground-truth flow ({exc})") from None
    if flow.shape[:2] != mask.shape or (flow.shape[1], flow.shape[0]) != clip.original_size:
        raise VStyleError(f"{back}: flow size does not match the frames")
    if clip.size != clip.original_size:
        flow, mask = resize_flow(flow, clip.size), resize_mask(mask, clip.size)
    return PairFlow(t, s, flow, mask)


def clip_flows(clip: Clip, delta: int) -> tuple[list[PairFlow], str]:
    """Motion for every pair (t, t + delta): ground truth where the clip provides it, DIS elsewhere.

    Returns the pairs and a note saying which flow was used.
    """
    if clip.still:
        return [], "still image"
    folder = _ground_truth_dir(clip)
    pairs, used_gt = [], 0
    for t in range(len(clip.frames) - delta):
        gt = _ground_truth_pair(folder, clip, t, t + delta) if folder is not None else None
        used_gt += gt is not None
        pairs.append(gt if gt is not None else pair_flow(clip.frames, t, t + delta))
    if not pairs:
        return pairs, "clip too short"
    if used_gt == len(pairs):
        return pairs, "ground truth (.flo)"
    return pairs, "OpenCV DIS on content" + (f" ({used_gt} pairs ground truth)" if used_gt else "")
