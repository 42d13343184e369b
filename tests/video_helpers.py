"""Helpers for the video tests: generated clips, stream facts, CLI runs."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from conftest import ROOT


def pattern(i: int, width: int, height: int) -> np.ndarray:
    """Frame ``i`` of a smooth moving gradient (compresses well, differs frame to frame)."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(1, width - 1) + 7 * i) % 256
    g = (y * 255 // max(1, height - 1) + 3 * i) % 256
    b = ((x + y + 5 * i) * 2) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def make_clip(path: Path, width: int = 64, height: int = 48, frames: int = 12, fps: int = 12,
              audio: bool = False, rotation: int = 0, pts: list[int] | None = None,
              codec: str = "libx264", pix_fmt: str = "yuv420p", faststart: bool = False,
              gop: int | None = None, sar: Fraction | None = None) -> Path:
    """Write a test clip with PyAV. ``pts`` (in 1/1000 s) makes it variable frame rate; ``audio``
    adds an AAC 440 Hz tone as long as the video; ``rotation`` sets the display matrix; ``gop``
    puts a keyframe every that many frames (default: the encoder's); ``sar`` stores non-square pixels."""
    import av

    options = {"movflags": "faststart"} if faststart else {}
    out = av.open(str(path), "w", options=options)
    vs = out.add_stream(codec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
    tb = Fraction(1, 1000) if pts is not None else Fraction(1, fps)
    vs.codec_context.time_base = tb
    if gop is not None:
        vs.codec_context.gop_size = gop
        vs.codec_context.options = {"keyint_min": str(gop), "sc_threshold": "0"}
    if rotation:
        vs.set_display_rotation(rotation)
    if sar is not None:
        vs.codec_context.sample_aspect_ratio = sar
    a = None
    if audio:
        a = out.add_stream("aac", rate=48000)
        a.codec_context.layout = "stereo"
    times = pts if pts is not None else list(range(frames))
    for i, t in enumerate(times):
        frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
        frame.pts, frame.time_base = t, tb
        out.mux(vs.encode(frame))
    out.mux(vs.encode(None))
    if a is not None:
        seconds = float((times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1)) * tb)
        n = int(seconds * 48000)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)).astype(np.float32)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000, frame_size=1024)
        for start in range(0, n, 4800):
            chunk = np.stack([tone[start:start + 4800]] * 2)
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
            af.sample_rate = 48000
            for f in resampler.resample(af):
                out.mux(a.encode(f))
        for f in resampler.resample(None):
            out.mux(a.encode(f))
        out.mux(a.encode(None))
    out.close()
    return path


def make_interlaced_clip(path: Path, width: int = 64, height: int = 48, frames: int = 8) -> Path:
    """An interlaced (top field first) H.264 clip of a white box that moves between the two fields of
    each frame, so a frame read as it is stored shows combs of alternating lines."""
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=12)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.options = {"x264-params": "interlaced=1:tff=1", "crf": "10"}
        for i in range(frames):
            image = np.zeros((height, width, 3), np.uint8)
            for field in (0, 1):  # even lines: the first field's instant; odd lines: the second's
                x = 6 * (2 * i + field) % (width - 16)
                image[field::2, x:x + 16] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    return path


def comb_energy(image: np.ndarray) -> float:
    """Mean distance of each line from the average of its neighbours: large for combs, small otherwise."""
    a = image.astype(np.float64).mean(-1)
    return float(np.abs(a[1:-1] - (a[:-2] + a[2:]) / 2).mean())


def make_tagged_clip(path: Path, planes: tuple[np.ndarray, np.ndarray, np.ndarray], trc: int,
                     primaries: int = 9, frames: int = 2) -> Path:
    """A 10-bit 4:2:0 H.264 clip of ``frames`` copies of the given limited-range Y, U, V planes (uint16),
    tagged with the BT.2020 matrix, the transfer ``trc`` and the ``primaries`` (FFmpeg's codes: trc 16
    is PQ, 18 HLG, 9 log; primaries 9 BT.2020)."""
    import av

    h, w = planes[0].shape
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=12)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p10le"
        cc = vs.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 9, primaries, trc, 1
        for i in range(frames):
            frame = av.VideoFrame(w, h, "yuv420p10le")
            for plane, data in zip(frame.planes, planes):
                rows = np.zeros((data.shape[0], plane.line_size // 2), np.uint16)
                rows[:, : data.shape[1]] = data
                plane.update(rows.tobytes())
            frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = 9, primaries, trc, 1
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    return path


def flat_planes(signal: float, width: int = 64, height: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limited-range 10-bit planes of a neutral grey at ``signal`` (0–1 of the transfer's range)."""
    y = np.full((height, width), round(64 + signal * 876), np.uint16)
    c = np.full((height // 2, width // 2), 512, np.uint16)
    return y, c, c.copy()


def make_mixed_folder(src: Path, example_clip: Path) -> Path:
    """A batch input: 3 images, 2 videos (one with audio, one in a sub-folder), 1 corrupt file,
    1 unrelated file."""
    import shutil

    from PIL import Image

    from conftest import EXAMPLES

    (src / "sub").mkdir(parents=True)
    for i, name in enumerate(sorted(EXAMPLES.glob("*.jpg"))[:2]):
        with Image.open(name) as im:
            im.convert("RGB").resize((80, 60)).save(src / f"photo{i}.jpg")
    Image.new("RGB", (50, 40), (200, 30, 90)).save(src / "sub" / "flat.png")
    shutil.copy(example_clip, src / "clip.mp4")
    make_clip(src / "sub" / "clip.mkv", width=64, height=48, frames=6)
    (src / "broken.mp4").write_text("not a video")
    (src / "notes.txt").write_text("ignored")
    return src


def make_bad_videos(tmp: Path, real: Path) -> dict[str, Path]:
    """Broken inputs in ``tmp``: empty, text, truncated (two ways), zero frames (two containers)."""
    data = real.read_bytes()
    files = {
        "empty": tmp / "empty.mp4",
        "text": tmp / "text.mp4",
        "truncated": tmp / "truncated.mp4",  # moov atom at the end is cut off
        "truncated_faststart": tmp / "cut_fast.mp4",  # header intact, media data cut
        "zero_frames": tmp / "zero.mp4",
        "zero_frames_mkv": tmp / "zero.mkv",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not a video\n" * 20)
    files["truncated"].write_bytes(data[: len(data) // 2])
    fast = make_clip(tmp / "fast.mp4", width=160, height=120, frames=24, faststart=True)
    blob = fast.read_bytes()
    files["truncated_faststart"].write_bytes(blob[: len(blob) * 2 // 3])
    import av

    for key in ("zero_frames", "zero_frames_mkv"):
        with av.open(str(files[key]), "w") as out:
            s = out.add_stream("libx264", rate=24)
            s.width, s.height = 64, 48
            out.start_encoding()
    return files


@dataclass
class StreamFacts:
    """What the tests compare between input and output."""

    frames: int
    fps: float
    video_seconds: float
    audio_seconds: float | None
    audio_codec: str | None
    width: int
    height: int
    times: list[float]
    first: np.ndarray
    mean_frame: np.ndarray


def facts(path: Path) -> StreamFacts:
    """Decode a whole file (small clips only): frame count and times, stream durations, sizes."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        fps = float(vs.average_rate or vs.guessed_rate)
        audio = c.streams.audio[0] if c.streams.audio else None
        a_secs = float(audio.duration * audio.time_base) if audio is not None and audio.duration else None
        a_codec = audio.codec_context.name if audio is not None else None
        if audio is not None and a_secs is None:  # e.g. Matroska: no stream duration, measure the packets
            spans = [(p.pts, p.pts + (p.duration or 0)) for p in c.demux(audio) if p.pts is not None]
            a_secs = float((max(e for _, e in spans) - min(b for b, _ in spans)) * audio.time_base)
            c.seek(0)
        times, first, acc = [], None, None
        last_end = 0.0
        for f in c.decode(vs):
            times.append(float(f.time))
            img = f.to_ndarray(format="rgb24")
            first = img if first is None else first
            acc = img.astype(np.float64) if acc is None else acc + img
            last_end = float(f.time) + float((f.duration or 0) * f.time_base)
        v_secs = float(vs.duration * vs.time_base) if vs.duration else last_end
    return StreamFacts(len(times), fps, v_secs, a_secs, a_codec, first.shape[1], first.shape[0], times, first,
                       acc / len(times))


def run_cli(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m vstyle ARGS`` (the real entry point, so errors map to exit codes)."""
    return subprocess.run([sys.executable, "-m", "vstyle", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
