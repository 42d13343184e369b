"""Build ``examples/`` (the bundled sample media) from ``../shared/data``; run once, the results are committed.

* ``examples/bunny.mp4``: the first 3 s of ``video/big_buck_bunny_cut.mp4`` (Big Buck Bunny,
  (c) Blender Foundation, CC BY 3.0), 640×360 H.264 (CRF 23) + AAC stereo, re-encoded with PyAV.
* ``examples/starry_night.jpg``, ``great_wave.jpg``, ``the_scream.jpg``: public-domain paintings,
  copied byte for byte when at most 300 KB, else downscaled (long side 768, Lanczos, JPEG q90).

Credits are in ``examples/SOURCES.md`` (written by hand from ``../shared/data/SOURCES.md``).

    python scripts/make_examples.py
"""

from __future__ import annotations

import argparse
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
STYLES = ("starry_night.jpg", "great_wave.jpg", "the_scream.jpg")
MAX_STYLE_BYTES = 300 * 1024
CLIP_SECONDS = 3


def make_clip(src: Path, dst: Path, seconds: int = CLIP_SECONDS, crf: int = 23) -> None:
    """Re-encode the first ``seconds`` of ``src`` (video and its first audio stream) into ``dst``."""
    import av

    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0]
        fps = Fraction(vin.average_rate)
        rate = ain.codec_context.sample_rate
        n_frames = int(seconds * fps)
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(n_frames), inp.decode(video=0))]
        inp.seek(0)
        samples = np.concatenate([f.to_ndarray() for f in inp.decode(audio=0)], axis=1)[:, : seconds * rate]
    out = av.open(str(dst), "w", options={"movflags": "faststart"})
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
    vs.codec_context.options = {"crf": str(crf), "preset": "slow"}
    a = out.add_stream("aac", rate=rate)
    a.codec_context.layout = "stereo"
    a.codec_context.bit_rate = 96_000
    for i, img in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = i, 1 / fps
        out.mux(vs.encode(frame))
    out.mux(vs.encode(None))
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate, frame_size=1024)
    af = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.astype(np.float32)), format="fltp", layout="stereo")
    af.sample_rate = rate
    for f in resampler.resample(af) + resampler.resample(None):
        out.mux(a.encode(f))
    out.mux(a.encode(None))
    out.close()


def copy_style(src: Path, dst: Path) -> None:
    """Copy a painting verbatim, or downscale it when over the size limit."""
    if src.stat().st_size <= MAX_STYLE_BYTES:
        shutil.copyfile(src, dst)
        return
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((768, 768), Image.Resampling.LANCZOS)
        im.save(dst, "JPEG", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=ROOT / "examples")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    make_clip(args.shared / "video" / "big_buck_bunny_cut.mp4", args.out / "bunny.mp4")
    for name in STYLES:
        copy_style(args.shared / "styles" / name, args.out / name)
    for p in sorted(args.out.iterdir()):
        print(f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}: {p.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
