"""Write random state dicts with the exact official CCPL key names and shapes (reference §2)."""

from __future__ import annotations

from pathlib import Path

import torch

VGG_CONVS = {0: (3, 3, 1), 2: (64, 3, 3), 5: (64, 64, 3), 9: (128, 64, 3), 12: (128, 128, 3), 16: (256, 128, 3),
             19: (256, 256, 3), 22: (256, 256, 3), 25: (256, 256, 3), 29: (512, 256, 3), 32: (512, 512, 3),
             35: (512, 512, 3), 38: (512, 512, 3), 42: (512, 512, 3), 45: (512, 512, 3), 48: (512, 512, 3),
             51: (512, 512, 3)}
DECODER_CONVS = {1: (256, 512), 5: (256, 256), 8: (256, 256), 11: (256, 256), 14: (128, 256), 18: (128, 128),
                 21: (64, 128), 25: (64, 64), 28: (3, 64)}
SCT_ART = {"cnet.0": (256, 512, 1), "cnet.2": (128, 256, 1), "cnet.4": (32, 128, 1), "snet.0": (256, 512, 3),
           "snet.2": (128, 256, 3), "snet.4": (32, 128, 1), "uncompress": (512, 32, 1)}
SCT_PHOTO = {"cnet.0": (128, 256, 1), "cnet.2": (32, 128, 1), "snet.0": (128, 256, 3), "snet.2": (32, 128, 1),
             "uncompress": (256, 32, 1)}


def _conv(out: int, cin: int, k: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    std = (2.0 / (cin * k * k)) ** 0.5
    return torch.randn(out, cin, k, k, generator=g) * std, torch.randn(out, generator=g) * 0.01


def official_state_dicts(mode: str, seed: int = 0) -> tuple[dict, dict, dict]:
    """(vgg, decoder, sct) plain state dicts as the official files store them."""
    g = torch.Generator().manual_seed(seed)
    vgg, dec, sct = {}, {}, {}
    for idx, (o, i, k) in VGG_CONVS.items():
        vgg[f"{idx}.weight"], vgg[f"{idx}.bias"] = _conv(o, i, k, g)
    for idx, (o, i) in DECODER_CONVS.items():
        dec[f"{idx}.weight"], dec[f"{idx}.bias"] = _conv(o, i, 3, g)
    for key, (o, i, k) in (SCT_ART if mode == "art" else SCT_PHOTO).items():
        sct[f"{key}.weight"], sct[f"{key}.bias"] = _conv(o, i, k, g)
    return vgg, dec, sct


def write_official_files(folder: Path, mode: str, seed: int = 0) -> tuple[Path, Path, Path]:
    """Save the three files under their official names; returns (vgg, decoder, sct) paths."""
    vgg, dec, sct = official_state_dicts(mode, seed)
    paths = (folder / "vgg_normalised.pth", folder / "decoder_iter_160000.pth.tar", folder / "sct_iter_160000.pth.tar")
    for sd, p in zip((vgg, dec, sct), paths):
        torch.save(sd, p)
    return paths
