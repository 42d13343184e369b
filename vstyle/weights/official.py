"""Import of the official CCPL checkpoints (``vgg_normalised.pth``, ``decoder_iter_*.pth.tar``,
``sct_iter_*.pth.tar``), read unchanged and without unpickling anything but tensors."""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Mapping, cast

import torch
from safetensors import SafetensorError
from torch import Tensor, nn

from ..errors import VStyleError, a_model, exception_line
from ..flags import flag
from ..models import SCTNet, build
from ..models.decoder import PHOTO_START
from .modelfile import load_checked

def load_torch_state_dict(path: Path, what: str) -> dict[str, Tensor]:
    """A plain str→Tensor state dict from a torch file (``weights_only=True``), with one-line errors.

    Accepts a ``{"state_dict": …}`` wrapper and strips DataParallel's ``module.`` prefix."""
    if path.is_dir():
        raise VStyleError(f"{what} file {path} is a folder")
    if not path.is_file():
        raise VStyleError(f"{what} file {path} is not a file" if path.exists() else f"{what} file not found: {path}")
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols and legacy formats before refusing; the refusal says it all.
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise VStyleError(f"{what} {path} was refused: it is not a plain tensor checkpoint that loads without "
                          f"running pickled code (torch: {_unpickler_reason(exc)}); vstyle never unpickles "
                          "other Python objects") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError,
            SafetensorError) as exc:
        # KeyError/IndexError: the weights-only unpickler reading bytes that are no pickle at all;
        # SafetensorError: torch.load hands .safetensors files to safetensors
        reason = "no pickle or zip data" if isinstance(exc, (KeyError, IndexError)) else exception_line(exc)
        raise VStyleError(f"{what} {path} is not a readable torch checkpoint: {reason}") from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise VStyleError(f"{what} {path} is not a plain state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _unpickler_reason(exc: BaseException) -> str:
    """The reason torch's weights-only unpickler gives (e.g. ``Unsupported global: GLOBAL posix.system``)."""
    marker = "WeightsUnpickler error:"
    for line in (ln.strip() for ln in str(exc).splitlines()):
        if marker in line:
            line = line.split(marker, 1)[1].strip()
        if line and not line.startswith(("Weights only load failed", "Check the documentation")):
            return line[:120].rstrip(".")
    return "weights-only loading failed"


def sct_mode(sct_state: Mapping[str, Tensor]) -> str:
    """``art`` or ``photo`` from an official SCT state dict (reference §2.5)."""
    if "uncompress.weight" not in sct_state:
        raise VStyleError("SCT file has no key 'uncompress.weight'; is it an sct_iter_*.pth.tar file?")
    channels = sct_state["uncompress.weight"].shape[0]
    if "cnet.4.weight" in sct_state and channels == 512:
        return "art"
    if "cnet.4.weight" not in sct_state and channels == 256:
        return "photo"
    raise VStyleError(f"SCT file: key 'uncompress.weight' has shape {list(sct_state['uncompress.weight'].shape)}, "
                      "expected [512, 32, 1, 1] (art) or [256, 32, 1, 1] (photo)")


def load_official(vgg: str | Path, decoder: str | Path, sct: str | Path, mode: str | None = None) -> SCTNet:
    """Build SCTNet from the unchanged official files: ``vgg_normalised.pth``, ``decoder_iter_*.pth.tar``,
    ``sct_iter_*.pth.tar``. The mode comes from the SCT file (decoder files cannot tell); an explicit
    ``mode`` must agree with it."""
    vgg_sd = load_torch_state_dict(Path(vgg), "VGG")
    dec_sd = load_torch_state_dict(Path(decoder), "decoder")
    sct_sd = load_torch_state_dict(Path(sct), "SCT")
    found = sct_mode(sct_sd)
    if mode is not None and mode != found:
        raise VStyleError(f"{flag('mode')} {mode} does not match the SCT file, which is {a_model(found)}")
    model = build("sctnet", {"mode": found})
    # The official encoder file holds the full 53-module VGG; keep only the truncated part.
    n_enc = len(cast(nn.Sequential, model.encoder))
    enc = {k: v for k, v in vgg_sd.items() if int(k.split(".")[0]) < n_enc} if _numeric_keys(vgg_sd, "VGG") else {}
    load_checked(model.encoder, enc, f"VGG {vgg}")
    if found == "photo":
        # Photo decoders are saved as the full 29-module list; modules 10… are the trained tail.
        dec = {}
        for k, v in dec_sd.items():
            idx, _, rest = k.partition(".")
            if idx.isdigit() and int(idx) >= PHOTO_START:
                dec[f"{int(idx) - PHOTO_START}.{rest}"] = v
    else:
        dec = dict(dec_sd)
    load_checked(model.decoder, dec, f"decoder {decoder}")
    load_checked(model.sct, sct_sd, f"SCT {sct}")
    return model.eval()


def _numeric_keys(sd: Mapping[str, Tensor], what: str) -> bool:
    bad = [k for k in sd if not k.split(".")[0].isdigit()]
    if bad:
        raise VStyleError(f"{what}: unexpected key {bad[0]!r}; "
                          "expected the vgg_normalised layout ('0.weight', '2.weight', …)")
    return True
