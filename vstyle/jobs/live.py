"""The live job: one context manager owns the camera, the virtual camera and the window of a session
(opened in that order after every check, closed in reverse on every exit path); the loop in
:mod:`vstyle.live.loop` runs inside it and finalises its recordings itself."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import VStyleError
from ..flags import flag
from .engine import EngineSpec, parse_style_spec

if TYPE_CHECKING:
    from ..engine import Engine
    from ..io.camera import CameraSpec, Frame, LatestFrameCapture
    from ..live.loop import LiveOptions, LiveResult, LiveStyle
    from ..live.state import LiveState
    from ..live.stats import Snapshot
    from ..live.virtualcam import VirtualCamera
    from ..live.window import Window


def expand_styles(specs: Sequence[str]) -> list[Path]:
    """Each style is an image, or a folder whose images are all added (sorted by name)."""
    from ..io.images import IMAGE_SUFFIXES

    paths: list[Path] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise VStyleError(f"{flag('styles')} {spec}: the folder has no images")
            paths.extend(found)
        elif not path.exists() and parse_style_spec(spec).path.is_file():  # a.jpg:0.5 names a.jpg and a weight
            raise VStyleError(f"{flag('styles')} {spec}: live styles take no weight (each is shown on its own; "
                              "the keys switch between them)")
        else:
            paths.append(path)
    return paths


@dataclass(frozen=True)
class LiveRequest:
    """What a session runs: styles, camera, outputs (``options``), display and virtual camera."""

    styles: tuple[Path, ...]  # style images (see :func:`expand_styles`)
    camera: str
    options: LiveOptions
    style_size: int | None = None
    window: bool = True
    virtual_cam: bool = False
    virtual_cam_device: str | None = None


class LiveSession:
    """``with LiveSession(request, engine) as session: session.run(...)``.

    Entering checks everything the user can get wrong before the camera and the model are touched,
    then opens the camera, the virtual camera, loads the model and the styles, and opens the window;
    whatever was opened is closed again on exit, however the session ends.
    """

    def __init__(self, request: LiveRequest, engine: EngineSpec,
                 on_style: Callable[[int, int], None] | None = None,
                 notify: Callable[[str], None] = print) -> None:
        self.request = request
        self.engine_spec = engine
        self.on_style = on_style
        self.notify = notify
        self._stack = contextlib.ExitStack()
        self.spec: CameraSpec
        self.capture: LatestFrameCapture
        self.first: Frame
        self.engine: Engine
        self.styles: list[LiveStyle] = []
        self.virtual_cam: VirtualCamera | None = None
        self.window: Window | None = None

    def __enter__(self) -> LiveSession:
        from ..io.camera import open_camera, parse_camera
        from ..io.images import fitted_size, read_image
        from ..io.recorder import check_target

        req, opts = self.request, self.request.options
        style_paths = list(req.styles)
        images = [read_image(p) for p in style_paths]
        self.spec = parse_camera(req.camera)
        if opts.record is not None:
            check_target(opts.record, opts.overwrite,
                         inputs=(Path(str(self.spec.source)),) if self.spec.is_file else ())
        if req.window:
            from ..live.window import check_display

            check_display()
        if req.virtual_cam:
            from ..live.virtualcam import require_pyvirtualcam

            require_pyvirtualcam()
        if not opts.out_dir.is_dir():
            raise VStyleError(f"{flag('out_dir')} {opts.out_dir} does not exist")
        with self._stack:  # closes what was opened if a later step fails; popped once all is open
            self.capture, self.first = open_camera(self.spec, lossless=self.spec.is_file and opts.frames is not None)
            self._stack.callback(self.capture.close)
            fh, fw = self.first.image.shape[:2]
            w, h = fitted_size(fw, fh, opts.max_size)  # the size frames are stylised at
            if req.virtual_cam:
                from ..live.virtualcam import VirtualCamera

                self.virtual_cam = VirtualCamera(w, h, self.capture.fps, device=req.virtual_cam_device)
                self._stack.callback(self.virtual_cam.close)
                self.notify(f"virtual camera: {self.virtual_cam.device} ({w}×{h})")
            # Imported only now (torch is slow to import) so a missing camera is reported at once.
            from ..live.loop import LiveStyle

            # A session with no limit runs until the user stops it: long enough to repay one-off costs.
            frames = opts.frames if opts.frames is not None else (
                None if opts.seconds is None else opts.seconds * self.capture.fps)
            work = math.inf if frames is None else frames * w * h / 1e6
            self.engine = dataclasses.replace(self.engine_spec, megapixels=work).build()
            for i, (path, image) in enumerate(zip(style_paths, images)):
                self.styles.append(LiveStyle(path.stem, self.engine.style_code(image, max_size=req.style_size)))
                if self.on_style is not None:
                    self.on_style(i + 1, len(images))
            if req.window:
                from ..live.window import Window

                self.window = Window(f"vstyle live - {self.spec.label}")
                self._stack.callback(self.window.close)
            self._stack = self._stack.pop_all()
        return self

    def run(self, state: LiveState, on_frame: Callable[[Snapshot, LiveState], None] | None = None) -> LiveResult:
        """Stylise until a limit, a quit key, the end of the source or Ctrl-C (see :func:`run_live`)."""
        from ..live.loop import run_live

        return run_live(self.capture, self.first, self.engine, self.styles, state, self.request.options,
                        window=self.window, virtual_cam=self.virtual_cam, notify=self.notify, on_frame=on_frame)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()
