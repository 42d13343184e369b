"""The OpenVINO measurements behind tests/test_openvino.py, run in a child process (``python
tests/openvino_checks.py [MODEL]``, the shipped model by default; one JSON object on the last line of stdout).

A child keeps OpenVINO's and NNCF's native thread pools out of the pytest process: with them loaded,
a later test that forks a data-loader worker and signals itself crashed the whole run (exit 139).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STYLES = ("starry_night.jpg", "great_wave.jpg", "the_scream.jpg")
#: Held-out frames: the calibration takes every sixth frame from 0, these sit between them.
HELD_OUT = (3, 33, 63)
#: σ of the invisible noise that sets the judge's noise floor (grey levels of 255).
NOISE_GREY_LEVELS = 2.0
#: A run of consecutive frames for the warping error.
RUN = range(40, 44)


def clip_frames() -> dict[int, np.ndarray]:
    from vstyle.io.video_source import VideoReader, probe_video

    wanted = set(HELD_OUT) | set(RUN)
    out = {}
    with VideoReader(probe_video(EXAMPLES / "bunny.mp4")) as reader:
        for i, frame in enumerate(reader.frames()):
            if i in wanted:
                out[i] = frame.image
            if len(out) == len(wanted):
                break
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * float(np.log10(255.0 ** 2 / max(mse, 1e-12)))


def main() -> None:
    from vstyle.engine import Engine
    from vstyle.evaluation.judging import Judges
    from vstyle.export.openvino_int8 import cached_int8_model
    from vstyle.io.images import fit_within, read_image, resize
    from vstyle.metrics.palette import palette_distance
    from vstyle.metrics.temporal import pair_flows, sequence_warping_errors
    from vstyle.weights import load_model

    model_name = sys.argv[1] if len(sys.argv) > 1 else None
    net = load_model(model_name)
    eng = {"torch": Engine(net, device="cpu", backend="torch"),
           "fp32": Engine(net, device="cpu", backend="openvino"),
           "int8": Engine(net, device="cpu", precision="int8", backend="auto")}
    frames = clip_frames()
    held = np.stack([frames[i] for i in HELD_OUT])
    odd = np.stack([resize(f, 301, 171) for f in held[:2]])
    tiny = np.stack([resize(held[0], 13, 9)])  # too small to reflect the margin: edge replication
    run = [frames[i] for i in RUN]
    pairs = pair_flows(run, 1)
    judges = Judges()
    refs = judges.content_refs(held)
    result: dict = {"fp32": {"backend": eng["fp32"].backend_name, "precision": eng["fp32"].precision},
                    "int8": {"backend": eng["int8"].backend_name, "precision": eng["int8"].precision},
                    "parity_max": {}, "frames_graph": {}, "quality": {}, "held_out": list(HELD_OUT)}
    for name in STYLES:
        code = eng["torch"].style_code(read_image(EXAMPLES / name))
        result["parity_max"][name] = max(
            int(np.abs(eng["fp32"].stylize(x, code).astype(int) - eng["torch"].stylize(x, code).astype(int)).max())
            for x in (held, odd))
        # uint8 frames padded, scaled and rounded inside OpenVINO's graph vs the same network on frames
        # padded and rounded by torch on the host.
        result["frames_graph"][name] = {}
        for k, e in (("fp32", eng["fp32"]), ("int8", eng["int8"])):
            pairs_out = [(e.stylize(x, code), e.download(e.stylize_tensor(e.upload(x), code)))
                         for x in (held, odd, tiny)]
            gaps = [np.abs(a.astype(int) - b.astype(int)) for a, b in pairs_out]
            result["frames_graph"][name][k] = {
                "max": max(int(g.max()) for g in gaps),
                "psnr": min(psnr(a, b) for a, b in pairs_out),
                "share_off_1": float(sum(int((g > 1).sum()) for g in gaps) / sum(g.size for g in gaps)),
                "share_off_16": float(sum(int((g > 16).sum()) for g in gaps) / sum(g.size for g in gaps))}
        ref, got = eng["fp32"].stylize(held, code), eng["int8"].stylize(held, code)
        diff = np.abs(ref.astype(int) - got.astype(int))
        warp = [float(np.mean(sequence_warping_errors(list(eng[k].stylize(np.stack(run), code)), pairs)))
                for k in ("fp32", "int8")]
        style = read_image(EXAMPLES / name)
        palette = [float(np.mean([palette_distance(o, style) for o in outs])) for outs in (ref, got)]
        # The evaluation's judge (vstyle eval): style distance and recognisability of the same frames.
        judge_style = judges.style_refs(fit_within(style, max(held.shape[1:3])))
        judged = [judges.score(outs, refs, judge_style, k) for outs, k in ((ref, "fp32"), (got, "int8"))]
        # The judge's own resolution: fp32's frames with Gaussian noise of two grey levels (42 dB), which
        # no viewer sees, move its numbers too; int8 may move them as far.
        noisy = np.clip(ref + np.random.default_rng(0).normal(0.0, NOISE_GREY_LEVELS, ref.shape), 0, 255)
        noisy = noisy.round().astype(np.uint8)
        noise_floor = judges.score(noisy, refs, judge_style, "noise")
        result["quality"][name] = {"psnr": min(psnr(r, g) for r, g in zip(ref, got)), "max": int(diff.max()),
                                   "share_off_16": float((diff > 16).mean()), "warp_fp32": warp[0],
                                   "warp_int8": warp[1], "palette_fp32": palette[0], "palette_int8": palette[1],
                                   **{f"{key}_{k}": j[key] for j, k in zip(judged, ("fp32", "int8"))
                                      for key in ("judge_style_meanstd", "kl_content", "top5_kept")},
                                   "noise_floor": {"psnr": min(psnr(r, n) for r, n in zip(ref, noisy)),
                                                   "kl_content": noise_floor["kl_content"],
                                                   "judge_style_meanstd": noise_floor["judge_style_meanstd"]}}
    path = eng["int8"].backend.source
    before = path.stat().st_mtime_ns
    again = cached_int8_model(load_model(model_name))
    result["cache"] = {"path": str(path), "bin": path.with_suffix(".bin").is_file(), "again": str(again),
                       "rewritten": path.stat().st_mtime_ns != before,
                       "blobs": len(list(path.parent.glob("*.blob")))}
    # The last line: NNCF's progress display may also write to stdout.
    print("\n" + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
