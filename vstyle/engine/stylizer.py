"""What code that stylises needs of an engine, as protocols: :class:`Stylizer` is what the pipeline
drives (the test suite's fake engine fits it); :class:`StyleEngine` is a whole engine as the jobs,
the live loop and the evaluation use it. :class:`vstyle.engine.Engine` is both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import Tensor

    from ..models import SCTNet, StyleCode


class Stylizer(Protocol):
    """The frames side: uint8 frames in, stylised uint8 frames out, in one call (``stylize``) or in
    three (upload, stylise on the device, download) so that copies overlap compute on CUDA."""

    @property
    def device(self) -> torch.device:
        """Where frames are stylised."""
        ...

    def upload(self, frames: np.ndarray | Sequence[np.ndarray]) -> Tensor:
        """uint8 H×W×3 frames → an N×3×H×W float tensor in [0, 1] on :attr:`device`."""
        ...

    def stylize_tensor(self, x: Tensor, code: StyleCode, alpha: float, preserve_color: bool) -> Tensor:
        """Stylised N×3×H×W frames (queued work on CUDA; :meth:`download` waits for it)."""
        ...

    def download(self, x: Tensor) -> np.ndarray:
        """N×3×H×W [0, 1] → N×H×W×3 uint8 frames on the host."""
        ...

    def stylize(self, frames: np.ndarray | Sequence[np.ndarray], code: StyleCode, alpha: float = 1.0,
                preserve_color: bool = False) -> np.ndarray:
        """Stylise same-sized uint8 RGB frames (N×H×W×3 or a list); returns N×H×W×3 uint8."""
        ...


class StyleEngine(Stylizer, Protocol):
    """A whole engine: style codes from images, frames in one call, a description for ``--json``."""

    @property
    def model(self) -> SCTNet:
        """The network, with its inference settings."""
        ...

    def style_code(self, image: np.ndarray, max_size: int | None = None) -> StyleCode:
        """The style code of one H×W×3 uint8 image (scaled to the model's style size by default)."""
        ...

    def describe(self) -> dict[str, str]:
        """Device, backend and precision for summaries."""
        ...
