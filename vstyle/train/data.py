"""Training data: image folders and video frames, random resize/crop/flip, an infinite deterministic sampler.

Every batch is a pure function of (seed, step): which images it holds (a fresh permutation per pass
over each pool) and how they are cropped. So a resumed run sees exactly the batches an
uninterrupted run would, whatever the number of worker processes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import VStyleError, exception_line
from ..io.images import IMAGE_SUFFIXES, require_heif_reader, resize, to_srgb

#: The videos training reads: narrower than the players' list (``io.video_source``) on purpose, since a
#: run's data hash covers the files listed, and a wider list would stop runs made before from resuming.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")

# Seed-sequence stream tags, so permutations and augmentations never share random numbers.
_PERM, _AUG = 0, 2


@dataclass(frozen=True)
class Augment:
    """Per-sample augmentation.

    ``resize``: target size before cropping (0 = keep); ``resize_mode`` ``square`` resizes to exactly
    resize × resize like the CCPL recipe, ``short`` scales the shorter side to it. ``scale`` draws a
    random factor for ``resize`` per sample. Images smaller than ``crop`` are scaled up to it. ``hue``
    rotates each sample's colours about the grey axis by a random angle within ±``hue`` degrees: a
    painting with other colours is another style, so a few dozen paintings become many palettes.
    """

    resize: int = 512
    resize_mode: str = "square"
    crop: int = 256
    flip: bool = False
    scale: tuple[float, float] = (1.0, 1.0)
    hue: float = 0.0

    def decode_hint(self) -> int:
        """The smallest side a decoded image needs (lets JPEG decode at a reduced scale)."""
        return max(self.crop, math.ceil(self.resize * self.scale[1])) if self.resize else 0


def augment(image: np.ndarray, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """Resize, random crop, optional horizontal flip and hue rotation of one H×W×3 uint8 image."""
    h, w = image.shape[:2]
    tw, th = w, h
    if aug.resize:
        size = aug.resize * (rng.uniform(*aug.scale) if aug.scale[0] != aug.scale[1] else aug.scale[0])
        if aug.resize_mode == "square":
            tw = th = max(1, round(size))
        else:
            k = size / min(w, h)
            tw, th = max(1, round(w * k)), max(1, round(h * k))
    if min(tw, th) < aug.crop:
        k = aug.crop / min(tw, th)
        tw, th = max(aug.crop, round(tw * k)), max(aug.crop, round(th * k))
    image = resize(image, tw, th)
    y = int(rng.integers(0, th - aug.crop + 1))
    x = int(rng.integers(0, tw - aug.crop + 1))
    image = image[y:y + aug.crop, x:x + aug.crop]
    if aug.flip and rng.random() < 0.5:
        image = image[:, ::-1]
    if aug.hue:  # drawn last, so recipes without it keep their random sequence (exact resume)
        image = rotate_hue(image, rng.uniform(-aug.hue, aug.hue))
    return np.ascontiguousarray(image)


def rotate_hue(image: np.ndarray, degrees: float) -> np.ndarray:
    """H×W×3 uint8 RGB with its colours rotated by ``degrees`` about the grey axis (greys stay grey)."""
    a = math.radians(degrees)
    axis = np.full(3, 1 / math.sqrt(3))
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    # Rodrigues' rotation about the grey axis (1, 1, 1)/√3
    m = math.cos(a) * np.eye(3) + math.sin(a) * cross + (1 - math.cos(a)) * np.outer(axis, axis)
    out = image.astype(np.float32) @ m.T.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- sources


def _refuse_empty(path: Path, what: str) -> None:
    """A 0-byte file (an interrupted copy or download) named as such, not by the decoder's puzzled error."""
    try:
        empty = path.stat().st_size == 0
    except OSError:
        return  # the decoder reports what is wrong with it
    if empty:
        raise VStyleError(f"training {what} {path} is empty (0 bytes)")


def load_image(path: Path, min_side: int = 0) -> np.ndarray:
    """Decode to H×W×3 uint8 sRGB (as :func:`~vstyle.io.images.read_image`); JPEGs decode at the coarsest
    scale that keeps ``min_side``."""
    _refuse_empty(path, "image")
    require_heif_reader(path)
    try:
        with Image.open(path) as im:
            if min_side:
                im.draft("RGB", (min_side, min_side))
            im = ImageOps.exif_transpose(im)
            return np.asarray(to_srgb(im).convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise VStyleError(f"cannot decode training image {path}: {exception_line(exc, empty='corrupt')}") from None


def read_video_frames(path: Path, count: int, max_short_side: int = 0) -> list[np.ndarray]:
    """``count`` frames spread evenly over a video, as H×W×3 uint8 RGB, as a player shows them (upright,
    deinterlaced, display colours; shorter side capped)."""
    import av

    from ..io.deinterlace import progressive
    from ..io.frame_rgb import FrameToRGB
    from ..io.video_source import av_message, display_rotation, upright

    _refuse_empty(path, "video")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VStyleError(f"{path} has no video stream")
            stream = container.streams.video[0]
            total = stream.frames or sum(1 for p in container.demux(stream) if p.size)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            wanted = set(np.linspace(0, max(total - 1, 0), num=min(count, max(total, 1))).round().astype(int).tolist())
            frames: list[np.ndarray] = []
            to_rgb = FrameToRGB()
            for i, frame in enumerate(progressive(container.decode(stream), stream)):
                if i in wanted:
                    arr = upright(to_rgb(frame, frame.width, frame.height), display_rotation(frame))
                    h, w = arr.shape[:2]
                    if max_short_side and min(h, w) > max_short_side:
                        k = max_short_side / min(h, w)
                        arr = resize(arr, round(w * k), round(h * k))
                    frames.append(arr)
                if i >= max(wanted):
                    break
    except av.error.FFmpegError as exc:
        raise VStyleError(f"cannot decode training video {path}: {av_message(exc)}") from None
    if not frames:
        raise VStyleError(f"no frames could be decoded from {path}")
    return frames


class ImagePool:
    """Images (decoded lazily from disk) and video frames (decoded once, kept in memory)."""

    def __init__(self, files: Sequence[Path], frames: Sequence[np.ndarray] = (), min_side: int = 0) -> None:
        self.files = list(files)
        self.frames = list(frames)
        self.min_side = min_side

    def __len__(self) -> int:
        return len(self.files) + len(self.frames)

    def load(self, index: int) -> np.ndarray:
        """Item ``index``: files first, then frames."""
        if index < len(self.files):
            return load_image(self.files[index], self.min_side)
        return self.frames[index - len(self.files)]


@dataclass(frozen=True)
class Listing:
    """Media found under the given paths: still images and videos, each with a stable display name."""

    images: tuple[Path, ...]
    videos: tuple[Path, ...]

    def entries(self) -> list[dict[str, object]]:
        """Names and sizes (for the data hash and the run's data.json)."""
        return [{"name": p.name, "bytes": p.stat().st_size, "kind": kind}
                for kind, paths in (("image", self.images), ("video", self.videos)) for p in paths]


def list_media(paths: Sequence[str | Path], what: str, videos: bool) -> Listing:
    """Images (and, if ``videos``, video files) directly inside folders or given as files, sorted by name."""
    if not paths:
        raise VStyleError(f"no {what} folders given")
    images: list[Path] = []
    vids: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise VStyleError(f"{what} path not found: {p}")
        found = sorted(q for q in p.iterdir() if q.is_file()) if p.is_dir() else [p]
        for q in found:
            suffix = q.suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                images.append(q)
            elif suffix in VIDEO_SUFFIXES:
                if not videos:
                    # Told by the suffix, not the contents: an .mp4 may hold only sound.
                    raise VStyleError(f"{what} must be still images; {q} is a {suffix} file, a video format")
                vids.append(q)
            elif not p.is_dir():
                raise VStyleError(f"{q} is not an image{' or video' if videos else ''} file")
    if not images and not vids:
        raise VStyleError(f"no {what} images found in {', '.join(map(str, paths))}")
    return Listing(tuple(images), tuple(vids))


def listing_hash(content: Listing, style: Listing, video_frames: int) -> str:
    """SHA-256 of the names and sizes of all training media (and the frames sampled per video)."""
    blob = json.dumps({"content": content.entries(), "style": style.entries(), "video_frames": video_frames},
                      sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def build_pool(listing: Listing, video_frames: int, aug: Augment) -> ImagePool:
    """An :class:`ImagePool` with the videos' sampled frames decoded now."""
    frames: list[np.ndarray] = []
    for video in listing.videos:
        frames.extend(read_video_frames(video, video_frames, aug.decode_hint()))
    return ImagePool(listing.images, frames, aug.decode_hint())


# ----------------------------------------------------------------------------- batches


class PairedBatches(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Item ``step`` is (content, style): two B×3×crop×crop uint8 tensors, a pure function of (seed, step).

    Each pool is walked through a fresh random permutation per pass, content and style independently;
    ``style_aug`` (default: ``aug``) augments the style images.
    """

    def __init__(self, content: ImagePool, style: ImagePool, batch: int, aug: Augment, seed: int,
                 style_aug: Augment | None = None) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        if style_aug is not None and style_aug.crop != aug.crop:
            raise ValueError("content and style crops must have the same size (they share a batch)")
        self.pools = (content, style)
        self.batch = batch
        self.augs = (aug, style_aug or aug)
        self.seed = seed
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def _permutation(self, stream: int, epoch: int) -> np.ndarray:
        key = (stream, epoch)
        if key not in self._perms:
            if len(self._perms) > 8:
                self._perms.clear()
            rng = np.random.default_rng([self.seed, _PERM + stream, epoch])
            self._perms[key] = rng.permutation(len(self.pools[stream]))
        return self._perms[key]

    def sample(self, stream: int, step: int, slot: int) -> np.ndarray:
        """One augmented image: ``stream`` 0 = content, 1 = style; ``slot`` its place in the batch."""
        pool = self.pools[stream]
        epoch, k = divmod(step * self.batch + slot, len(pool))
        image = pool.load(int(self._permutation(stream, epoch)[k]))
        return augment(image, self.augs[stream], np.random.default_rng([self.seed, _AUG + stream, step, slot]))

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        out = []
        for stream in (0, 1):
            imgs = np.stack([self.sample(stream, step, j) for j in range(self.batch)])
            out.append(torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous())
        return out[0], out[1]


class InfiniteSampler(Sampler[int]):
    """Step numbers ``start``, ``start + 1``, … forever."""

    def __init__(self, start: int = 0) -> None:
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return itertools.count(self.start)


def batch_stream(dataset: PairedBatches, start: int, workers: int, pin_memory: bool = False,
                 worker_init_fn: Callable[[int], None] | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches for steps ``start``, ``start + 1``, …, loaded by ``workers`` processes (0 = in process)."""
    loader = DataLoader(dataset, batch_size=None, sampler=InfiniteSampler(start), num_workers=workers,
                        pin_memory=pin_memory, prefetch_factor=2 if workers else None,
                        worker_init_fn=worker_init_fn)
    return iter(loader)
