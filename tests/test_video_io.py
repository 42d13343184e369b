"""PyAV reader/writer: timestamps, rotation, segments, odd sizes, audio copy/re-encode, bad files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vstyle.errors import VStyleError
from vstyle.io.video_sink import VideoWriter, even_size, parse_bitrate, pick_encoder
from vstyle.io.video_source import VideoReader, probe_video
from vstyle.jobs.video import parse_size, parse_time, processing_size
from video_helpers import (comb_energy, facts, flat_planes, make_bad_videos, make_clip, make_interlaced_clip,
                           make_tagged_clip, pattern)


def copy_through(src: Path, dst: Path, start: float = 0.0, duration: float | None = None,
                 size: tuple[int, int] | None = None, **writer_kw: object) -> VideoWriter:
    """Decode ``src`` and re-encode it unchanged (no model): the I/O path on its own."""
    info = probe_video(src, start, duration)
    w, h = size or (info.width, info.height)
    with VideoReader(info, size) as reader, VideoWriter(dst, w, h, info.fps, info.time_base, audio_from=info,
                                                        **writer_kw) as writer:
        for f in reader.frames():
            writer.write(f.image, f.pts, f.duration)
    return writer


def test_probe_example_clip(example_clip: Path) -> None:
    info = probe_video(example_clip)
    assert (info.width, info.height, info.frames, info.rotation) == (640, 360, 72, 0)
    assert float(info.fps) == 24
    assert [a.codec for a in info.audio] == ["aac"]


def test_round_trip_keeps_frames_fps_duration_audio(example_clip: Path, tmp_path: Path) -> None:
    src = example_clip
    out = tmp_path / "rt.mp4"
    writer = copy_through(src, out)
    assert writer.describe()["audio"] == [{"codec": "aac", "mode": "copy"}]
    a, b = facts(src), facts(out)
    assert b.frames == a.frames == 72
    assert b.fps == pytest.approx(a.fps, rel=1e-3)
    assert abs(b.video_seconds - a.video_seconds) <= 1 / a.fps
    assert np.allclose(b.times, a.times, atol=1e-3)
    assert b.audio_codec == "aac" and abs(b.audio_seconds - a.audio_seconds) <= 0.05
    # Same pixels up to compression.
    assert np.abs(b.mean_frame - a.mean_frame).mean() < 3


def test_variable_frame_rate_timestamps_survive(tmp_path: Path) -> None:
    pts = [0, 40, 80, 200, 240, 400, 433, 466, 700, 1000]  # ms, irregular
    src = make_clip(tmp_path / "vfr.mkv", pts=pts, audio=True)
    out = tmp_path / "vfr_out.mp4"
    copy_through(src, out)
    got = facts(out)
    assert got.frames == len(pts)
    assert np.allclose(got.times, [p / 1000 for p in pts], atol=1e-3)
    assert got.audio_seconds is not None and abs(got.audio_seconds - facts(src).audio_seconds) <= 0.05


@pytest.mark.parametrize("angle", [90, -90, 180])
def test_rotation_is_applied_and_output_is_upright(tmp_path: Path, angle: int) -> None:
    src = make_clip(tmp_path / "rot.mp4", width=64, height=48, frames=3, rotation=angle)
    info = probe_video(src)
    assert info.rotation == angle % 360
    assert (info.width, info.height) == ((48, 64) if angle % 180 else (64, 48))
    with VideoReader(info) as reader:
        first = next(iter(reader.frames())).image
    expected = np.rot90(pattern(0, 64, 48), k=(angle % 360) // 90)
    assert first.shape == expected.shape
    assert np.abs(first.astype(int) - expected).mean() < 6
    out = tmp_path / "rot_out.mp4"
    copy_through(src, out)
    import av

    with av.open(str(out)) as c:
        frame = next(c.decode(video=0))
        assert (frame.rotation or 0) == 0  # pixels are upright, no display matrix left
        assert (frame.width, frame.height) == (info.width, info.height)


def test_segment_is_trimmed_with_its_audio(example_clip: Path, tmp_path: Path) -> None:
    src = example_clip
    out = tmp_path / "seg.mp4"
    info = probe_video(src, start=1.25, duration=1.5)
    assert info.frames == 36
    copy_through(src, out, start=1.25, duration=1.5)
    got = facts(out)
    assert got.frames == 36
    assert got.times[0] == pytest.approx(0.0, abs=1e-3)
    assert abs(got.video_seconds - 1.5) <= 1 / 24
    assert abs(got.audio_seconds - 1.5) <= 0.05
    # The segment shows the source frames from 1.25 s on.
    whole = probe_video(src)
    with VideoReader(whole) as reader:
        ref = [f.image for i, f in zip(range(31), reader.frames())][30]
    assert np.abs(got.first.astype(int) - ref).mean() < 4


def test_odd_size_is_written_even(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "odd.mkv", width=321, height=241, frames=5, pix_fmt="yuv444p")
    out = tmp_path / "odd.mp4"
    writer = copy_through(src, out)
    got = facts(out)
    assert (got.width, got.height) == (320, 240) == (writer.width, writer.height)
    assert got.frames == 5


def test_writer_scales_to_output_size(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", width=96, height=64, frames=4)
    out = tmp_path / "small.mp4"
    copy_through(src, out, size=(48, 32))
    got = facts(out)
    assert (got.width, got.height, got.frames) == (48, 32, 4)


def test_audio_is_reencoded_when_the_container_cannot_hold_it(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", frames=12, fps=12, audio=True)  # AAC: not allowed in WebM
    out = tmp_path / "a.webm"
    writer = copy_through(src, out)  # no --codec: WebM takes no H.264, so its default (VP9) is used
    assert writer.describe()["codec"] == "libvpx-vp9"
    assert writer.describe()["audio"][0]["mode"] == "reencode"
    got = facts(out)
    assert got.audio_codec == "opus" and got.frames == 12
    assert abs(got.audio_seconds - 1.0) <= 0.05
    seg = tmp_path / "seg.webm"  # re-encoded audio is trimmed to the sample
    copy_through(src, seg, start=0.25, duration=0.5)
    got = facts(seg)
    assert got.frames == 6 and abs(got.audio_seconds - 0.5) <= 0.02


def test_no_audio_stream_means_no_audio(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "silent.mp4", frames=3)
    out = tmp_path / "silent_out.mp4"
    assert copy_through(src, out).describe()["audio"] == []
    assert facts(out).audio_codec is None


def test_bad_files_raise_one_line_errors(example_clip: Path, tmp_path: Path) -> None:
    for name, path in make_bad_videos(tmp_path, example_clip).items():
        with pytest.raises(VStyleError) as err:
            info = probe_video(path)
            with VideoReader(info) as reader:
                for _ in reader.frames():
                    pass
        assert "\n" not in str(err.value), name
        assert str(path) in str(err.value), name


def test_segment_errors(example_clip: Path) -> None:
    src = example_clip
    with pytest.raises(VStyleError, match="past the end"):
        probe_video(src, start=5.0)
    with pytest.raises(VStyleError, match="duration"):
        probe_video(src, duration=0)


def test_writer_refuses_unknown_container_and_encoder(tmp_path: Path) -> None:
    with pytest.raises(VStyleError, match="cannot write"):
        VideoWriter(tmp_path / "x.notavideo", 64, 48, Fraction(24), Fraction(1, 24))
    with pytest.raises(VStyleError, match="unknown video encoder"):
        VideoWriter(tmp_path / "x.mp4", 64, 48, Fraction(24), Fraction(1, 24), codec="nope264")
    with pytest.raises(VStyleError, match="crf"):
        VideoWriter(tmp_path / "x.mp4", 64, 48, Fraction(24), Fraction(1, 24), codec="mpeg4", crf=20)


def _x264_settings(path: Path) -> str:
    """The settings line x264 writes into the stream it encodes ("cabac=1 ref=1 …")."""
    data = path.read_bytes()
    start = data.index(b"options: ")
    return data[start:data.index(b"\x00", start)].decode("ascii", "replace")


def test_preset_reaches_x264_and_others_refuse_it(tmp_path: Path) -> None:
    frames = [pattern(i, 64, 48) for i in range(4)]
    for preset, want in ((None, "cabac=1"), ("ultrafast", "cabac=0")):  # ultrafast switches CABAC off
        out = tmp_path / f"{preset}.mp4"
        with VideoWriter(out, 64, 48, Fraction(24), Fraction(1, 24), codec="libx264", preset=preset) as w:
            for i, frame in enumerate(frames):
                w.write(frame, i)
        assert want in _x264_settings(out), (preset, _x264_settings(out))
    with pytest.raises(VStyleError, match="preset is for x264 and x265; the mpeg4 encoder has none"):
        VideoWriter(tmp_path / "m.mp4", 64, 48, Fraction(24), Fraction(1, 24), codec="mpeg4", preset="fast")
    with pytest.raises(VStyleError, match="preset is one of"):
        VideoWriter(tmp_path / "n.mp4", 64, 48, Fraction(24), Fraction(1, 24), codec="libx264", preset="warp")


def test_mpeg4_fallback_handles_fine_time_bases(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "m4.mp4"  # realshort has a 1/90000 time base, beyond MPEG-4 part 2's 16-bit limit
    copy_through(shared_data / "video" / "realshort.mp4", out, codec="mpeg4")
    got = facts(out)
    assert got.frames == 36 and abs(got.fps - 30.02) < 0.05


def test_default_encoder_is_h264() -> None:
    assert pick_encoder(None) in ("libx264", "libopenh264", "h264_videotoolbox", "mpeg4")
    assert pick_encoder("vp9") == "libvpx-vp9"


def test_parsers_and_sizes() -> None:
    assert parse_time("90") == 90 and parse_time("1:30") == 90 and parse_time("0:01:30.5") == 90.5
    for bad in ("abc", "-1", "1:2:3:4"):
        with pytest.raises(VStyleError):
            parse_time(bad)
    assert parse_size("640x360") == (640, 360)
    with pytest.raises(VStyleError):
        parse_size("640")
    assert parse_bitrate("4M") == 4_000_000 and parse_bitrate("800k") == 800_000
    with pytest.raises(VStyleError):
        parse_bitrate("fast")
    assert even_size(321, 241) == (320, 240)
    assert processing_size(640, 360, 128, None) == (128, 72)
    assert processing_size(640, 360, None, None) == (640, 360)
    assert processing_size(100, 50, 512, None) == (100, 50)  # never upscales
    assert processing_size(640, 360, 128, (100, 60)) == (100, 60)


@pytest.mark.parametrize("trc, signal, name", [(18, 0.75, "HLG"), (16, 0.58, "PQ")])
def test_hdr_reference_white_decodes_as_white(tmp_path: Path, trc: int, signal: float, name: str) -> None:
    """HDR's diffuse white (BT.2408: 75 % of HLG's signal, 203 nits in PQ) is white on an SDR screen;
    read as plain numbers it is a mid grey (about 190 and 145), the washed-out look of HDR clips."""
    clip = make_tagged_clip(tmp_path / f"{name}.mp4", flat_planes(signal), trc)
    with VideoReader(probe_video(clip)) as reader:
        images = [f.image for f in reader.frames()]
    assert len(images) == 2
    assert images[0].min() >= 245, images[0].mean()
    assert reader.notes == [f"{name}.mp4: {name}, BT.2020 colours mapped to BT.709 SDR, as a player shows them"]


def test_hdr_frames_for_training_are_mapped_too(tmp_path: Path) -> None:
    from vstyle.train.data import read_video_frames

    clip = make_tagged_clip(tmp_path / "hlg.mp4", flat_planes(0.75), 18)
    assert read_video_frames(clip, 2)[0].min() >= 245


def test_wide_gamut_colours_are_mapped_and_plain_ones_are_not(tmp_path: Path) -> None:
    """BT.709's pure red, written in BT.2020's primaries, is red again once mapped; the same numbers
    tagged BT.709 are taken as they are (a duller, orange-brown red) and raise no note."""
    import av

    red = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (255, 0, 0), np.uint8), format="rgb24")
    red.colorspace, red.color_primaries, red.color_trc = 1, 1, 1
    yuv = red.reformat(format="yuv420p10le", dst_colorspace="bt2020", dst_color_range=1,
                       dst_color_trc=14, dst_color_primaries=9)
    planes = tuple(np.frombuffer(bytes(p), np.uint16).reshape(p.height, -1)[:, : p.width] for p in yuv.planes)
    images = {}
    for name, primaries in (("wide", 9), ("plain", 1)):
        clip = make_tagged_clip(tmp_path / f"{name}.mp4", planes, trc=14, primaries=primaries)
        with VideoReader(probe_video(clip)) as reader:
            images[name] = next(iter(reader.frames())).image.astype(int).mean((0, 1))
        assert bool(reader.notes) == (name == "wide")
    assert np.abs(images["wide"] - (255, 0, 0)).max() <= 30, images
    assert np.abs(images["plain"] - (255, 0, 0)).max() >= 60, images


def test_a_transfer_ffmpeg_cannot_map_keeps_its_numbers_and_says_so(tmp_path: Path) -> None:
    clip = make_tagged_clip(tmp_path / "log.mp4", flat_planes(0.5), trc=9)  # BT.2020 with a log transfer
    with VideoReader(probe_video(clip)) as reader:
        images = [f.image for f in reader.frames()]
    assert len(images) == 2 and abs(int(images[0].mean()) - 128) <= 3
    assert reader.notes == ["log.mp4: its BT.2020 colours are shown unmapped: FFmpeg cannot map its "
                            "transfer (LOG) to BT.709"]


def test_interlaced_video_is_deinterlaced_with_its_timestamps(tmp_path: Path) -> None:
    """Frames flagged interlaced come out without combs (the network would paint them as stripes), one
    per stored frame, with the file's own timestamps; training frames alike."""
    import av

    from vstyle.train.data import read_video_frames

    clip = make_interlaced_clip(tmp_path / "interlaced.mp4")
    with av.open(str(clip)) as container:
        stored = [(f.pts, comb_energy(f.to_ndarray(format="rgb24"))) for f in container.decode(video=0)]
    assert all(comb > 20 for _, comb in stored)  # the test clip really is combed as stored
    with VideoReader(probe_video(clip)) as reader:
        frames = list(reader.frames())
    assert [f.pts for f in frames] == [pts for pts, _ in stored]
    assert max(comb_energy(f.image) for f in frames) < 5
    assert max(comb_energy(image) for image in read_video_frames(clip, 3)) < 5


def test_progressive_video_is_not_filtered(example_clip: Path) -> None:
    import av

    with av.open(str(example_clip)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    with VideoReader(probe_video(example_clip)) as reader:
        assert np.array_equal(next(iter(reader.frames())).image, first)


def test_an_interlaced_stream_that_changes_size_is_read_whole(tmp_path: Path) -> None:
    """Two interlaced raw H.264 streams of different sizes back to back (a broadcast recording switching
    programmes): every frame comes out whole (left half white), none cropped to the first size."""
    import av

    def raw(path: Path, width: int, height: int) -> bytes:
        with av.open(str(path), "w", format="h264") as out:
            vs = out.add_stream("libx264", rate=12)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            vs.codec_context.options = {"x264-params": "interlaced=1:tff=1:crf=10"}
            for i in range(6):
                image = np.zeros((height, width, 3), np.uint8)
                image[:, : width // 2] = 255
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                out.mux(vs.encode(frame))
            out.mux(vs.encode(None))
        return path.read_bytes()

    clip = tmp_path / "switch.h264"
    clip.write_bytes(raw(tmp_path / "a.h264", 64, 48) + raw(tmp_path / "b.h264", 128, 96))
    with VideoReader(probe_video(clip)) as reader:
        white = [round(float((f.image[..., 0] > 128).mean()), 2) for f in reader.frames()]
    assert white == [0.5] * 12
