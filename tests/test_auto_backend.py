"""``--backend auto`` for fp32 on the CPU: OpenVINO when installed and the job is long enough to
repay the one-off export (vstyle/engine/auto.py); each job hands the engine its estimate."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from conftest import EXAMPLES


class _Built(Exception):
    """Raised by the patched EngineSpec.build: the job got as far as loading the model."""

    def __init__(self, megapixels: float | None) -> None:
        super().__init__(megapixels)
        self.megapixels = megapixels


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> type[_Built]:
    """EngineSpec.build records the spec's megapixels and stops the job there."""
    from vstyle.jobs.engine import EngineSpec

    def build(self: EngineSpec) -> None:
        raise _Built(self.megapixels)

    monkeypatch.setattr(EngineSpec, "build", build)
    return _Built


@pytest.mark.parametrize("openvino", [True, False])
def test_fp32_on_the_cpu_leaves_eager_torch_only_for_long_jobs(monkeypatch: pytest.MonkeyPatch,
                                                               openvino: bool) -> None:
    from vstyle.engine import auto

    monkeypatch.setattr(auto, "openvino_ready", lambda: openvino)
    cpu, repay = torch.device("cpu"), auto.REPAY_MEGAPIXELS
    fastest = "openvino" if openvino else "torch"
    assert auto.pick_backend(cpu, None, "fp32", math.inf) == fastest
    assert auto.pick_backend(cpu, None, "fp32", repay) == fastest
    assert auto.pick_backend(cpu, None, "fp32", repay * 0.99) == "torch"
    assert auto.pick_backend(cpu, None, "fp32", None) == "torch"
    assert auto.pick_backend(cpu, None, "fp32", math.inf, compile=True) == "torch"
    assert auto.pick_backend(cpu, None, "bf16", math.inf) == "torch"
    assert auto.pick_backend(torch.device("cuda"), None, "fp32", math.inf) == "torch"
    assert auto.pick_backend(cpu, None, "int8", None) == "openvino"


def test_video_job_estimates_frames_times_processing_size(built: type[_Built], tmp_path: Path) -> None:
    from vstyle.io.video_source import probe_video
    from vstyle.jobs.engine import EngineSpec
    from vstyle.jobs.video import VideoOptions, processing_size, run_video

    clip = EXAMPLES / "bunny.mp4"
    opts = VideoOptions(max_size=128, duration=1.0)
    info = probe_video(clip, 0.0, 1.0)
    w, h = processing_size(*info.square_size, 128, None)
    with pytest.raises(_Built) as caught:
        run_video(clip, tmp_path / "out.mp4", [str(EXAMPLES / "starry_night.jpg")], None, opts, EngineSpec())
    assert info.frames > 1 and max(w, h) == 128
    assert caught.value.megapixels == pytest.approx(info.frames * w * h / 1e6)


def test_image_job_estimates_the_images_it_stylises(built: type[_Built], tmp_path: Path) -> None:
    from vstyle.jobs.engine import EngineSpec
    from vstyle.jobs.image import ImageOptions, run_images

    photos = [EXAMPLES / "great_wave.jpg", EXAMPLES / "starry_night.jpg"]  # one image twice is refused
    with pytest.raises(_Built) as caught:
        run_images(photos, tmp_path, [str(EXAMPLES / "the_scream.jpg")], None, ImageOptions(max_size=100),
                   EngineSpec())
    mp = caught.value.megapixels
    assert mp is not None and 2 * 100 * 50 / 1e6 <= mp <= 2 * 100 * 100 / 1e6


@pytest.mark.parametrize("frames, unbounded", [(30, False), (None, True)])
def test_live_session_without_a_limit_counts_as_long(built: type[_Built], frames: int | None,
                                                     unbounded: bool) -> None:
    from vstyle.jobs.engine import EngineSpec
    from vstyle.jobs.live import LiveRequest, LiveSession
    from vstyle.live.loop import LiveOptions

    req = LiveRequest(styles=(EXAMPLES / "starry_night.jpg",), camera=str(EXAMPLES / "bunny.mp4"),
                      options=LiveOptions(max_size=64, frames=frames), window=False)
    with pytest.raises(_Built) as caught:
        with LiveSession(req, EngineSpec(), notify=lambda _: None):
            pass
    mp = caught.value.megapixels
    assert mp == math.inf if unbounded else (mp is not None and 0 < mp <= 30 * 64 * 64 / 1e6)


def test_batch_estimate_sums_videos_and_images(tmp_path: Path) -> None:
    from vstyle.io.video_source import probe_video
    from vstyle.jobs.batch import Job, batch_megapixels
    from vstyle.jobs.video import VideoOptions, video_megapixels

    opts = VideoOptions(max_size=96)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    jobs = [Job(EXAMPLES / "bunny.mp4", tmp_path / "a.mp4", "video"),
            Job(EXAMPLES / "great_wave.jpg", tmp_path / "b.jpg", "image"),
            Job(broken, tmp_path / "c.mp4", "video")]
    clip = video_megapixels(probe_video(EXAMPLES / "bunny.mp4"), opts)
    total = batch_megapixels(jobs, opts)
    assert clip > 0 and clip < total <= clip + 96 * 96 / 1e6
