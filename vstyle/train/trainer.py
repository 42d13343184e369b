"""The training loop for the SCTNet family: frozen encoder; SCT, decoder and CCPL heads trained.

One code path for CPU and CUDA (fp32, bf16 autocast, fp16 AMP with a grad scaler). Resumable
exactly: the checkpoint holds model, heads, optimiser, scaler, step and RNG states, and every
batch and every random draw of a step is a function of (seed, step).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np
import torch
from torch import Tensor

from ..engine.device import resolve_device, resolve_precision
from ..errors import VStyleError, exception_line
from ..flags import flag
from ..interrupts import raise_terminated
from ..io.atomic import write_bytes_atomic
from ..models import SCTNet, build
from .ccpl import CCPL
from .checkpoint import CHECKPOINT_NAME, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from .config import Recipe, RunOptions
from .data import Augment, PairedBatches, batch_stream, build_pool, list_media, listing_hash
from .log import LOG_NAME, LossLog
from .lossnets import LossLayers, LossNet, build_loss_net, default_layers, init_encoder, shared_tap
from .losses import (CCPLTerm, ContentTerm, IdentityFeatureTerm, IdentityPixelTerm, LossTerm, Objective,
                     StepContext, StyleEmbedTerm, StyleTerm, TeacherFeatureTerm, TeacherPixelTerm)
from .plots import plot_losses, sample_grid
from .provenance import code_version, machine_info

CONFIG_NAME = "config.json"
DATA_NAME = "data.json"
PLOT_NAME = "losses.png"
SAMPLES_DIR = "samples"
#: Held (an advisory lock) while a process trains in the folder, so a second one cannot write beside it.
LOCK_NAME = ".train.lock"
RUN_FILES = (CHECKPOINT_NAME, LOG_NAME, PLOT_NAME, CONFIG_NAME, DATA_NAME, LOCK_NAME)
#: Keys a run writes into its JSON files: a config.json or data.json without them is the user's.
_RUN_JSON_KEYS = {CONFIG_NAME: ("recipe", "options"), DATA_NAME: ("hash",)}
#: The sample grids a run writes into SAMPLES_DIR, by step; nothing else there is the run's.
SAMPLE_FORMAT = "step_{:07d}.jpg"
SAMPLE_NAME = re.compile(r"step_\d{7,}\.jpg")


def _is_run_sample(path: Path) -> bool:
    """Whether ``path`` is a sample grid a run wrote (see :data:`SAMPLE_FORMAT`)."""
    return SAMPLE_NAME.fullmatch(path.name) is not None and path.is_file()


def _run_samples(d: Path) -> list[Path]:
    """The sample grids the run in ``d`` wrote (none when it has no samples folder)."""
    folder = d / SAMPLES_DIR
    return [p for p in folder.iterdir() if _is_run_sample(p)] if folder.is_dir() else []


def _never_checkpointed(d: Path) -> bool:
    """Whether ``d`` holds only a run's own files and no checkpoint: a run that failed before its first
    (bad data, a bad setting), which nothing can resume, so a fresh start may reuse the folder."""
    if (d / CHECKPOINT_NAME).exists() or not all(_is_run_entry(p) for p in d.iterdir()):
        return False
    samples = d / SAMPLES_DIR
    return not samples.is_dir() or all(_is_run_sample(p) for p in samples.iterdir())


def _write_json(path: Path, data: Any) -> None:
    """A run's JSON file (config.json, data.json), written atomically so a crash never leaves half of one."""
    write_bytes_atomic(path, (json.dumps(data, indent=2) + "\n").encode())


def _is_run_entry(p: Path) -> bool:
    """Whether ``p``, in a run folder, is one a run writes: its files by name, its JSON files by their
    keys too (a user's own config.json must not be taken for a run's and cleared)."""
    if p.name not in (*RUN_FILES, SAMPLES_DIR):
        return False
    keys = _RUN_JSON_KEYS.get(p.name)
    if keys is None:
        return True
    try:
        data = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and all(k in data for k in keys)


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """A run folder's ``config.json`` ({} when there is none); a damaged one is a one-line VStyleError."""
    path = Path(run_dir).expanduser() / CONFIG_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VStyleError(f"cannot read {path}: {exception_line(exc)}; repair it, or delete it to have it "
                          "written again from the checkpoint") from None
    if not isinstance(data, dict) or not isinstance(data.get("options", {}), dict):
        raise VStyleError(f"{path} is not a run's config (a JSON object with \"options\"); repair it, or delete "
                          "it to have it written again from the checkpoint")
    return data


class Reporter(Protocol):
    """What the trainer tells its user interface."""

    def start(self, first_step: int, total_steps: int, info: dict[str, Any]) -> None: ...

    def step(self, step: int, losses: dict[str, float], lr: float) -> None: ...

    def message(self, text: str) -> None: ...

    def stop(self, failed: bool = False) -> None:
        """Close the display; ``failed``: an error follows, which is all the user should see."""
        ...


class SilentReporter:
    """A reporter that shows nothing (library use, tests, benchmarks)."""

    def start(self, first_step: int, total_steps: int, info: dict[str, Any]) -> None:
        """Ignored."""

    def step(self, step: int, losses: dict[str, float], lr: float) -> None:
        """Ignored."""

    def message(self, text: str) -> None:
        """Ignored."""

    def stop(self, failed: bool = False) -> None:
        """Ignored."""


@dataclass
class Summary:
    """Outcome of :meth:`Trainer.run`."""

    run_dir: str
    first_step: int
    step: int
    steps: int
    interrupted: bool
    steps_per_second: float
    wall_seconds: float
    last_losses: dict[str, float] = field(default_factory=dict)


def step_seed(seed: int, step: int) -> int:
    """Seed of the per-step generator (CCPL centres, shift jitter)."""
    return int(np.random.SeedSequence([seed, 1, step]).generate_state(1, np.uint64)[0] >> 1)


def shipped_architecture() -> tuple[str, dict[str, Any]]:
    """Architecture and config of the shipped default model (what a plain ``vstyle train`` trains);
    ``sctnet-mobile`` with its defaults when no default model file is installed."""
    from ..weights import read_metadata, resolve

    try:
        meta = read_metadata(resolve(None))
        return str(meta["arch"]), dict(meta.get("config") or {})
    except (VStyleError, KeyError):
        return "sctnet-mobile", {}


def _reconfigured(model: SCTNet, changes: dict[str, Any]) -> SCTNet:
    """``model`` rebuilt with ``changes`` to its config, keeping all its weights.

    Allowed: changes that keep every parameter's name and shape (e.g. sctnet-mobile's
    ``dec_upsample``) and changes that only add parameters (e.g. its ``skip_taps``, whose projections
    start at zero so the grown model starts as the old one); the added ones are named on stderr.
    Anything that would drop or reshape a trained weight is a VStyleError.
    """
    try:
        rebuilt = build(model.arch, {**model.config, **changes})
    except ValueError as exc:
        raise VStyleError(str(exc)) from None
    old, new = model.state_dict(), rebuilt.state_dict()
    if any(k not in new or old[k].shape != new[k].shape for k in old):
        raise VStyleError(f"{flag('init')} model has config {model.config}; "
                          f"{flag('arch_config_json')}/{flag('mode')} {changes} would change "
                          "its weights' shapes (only weight-compatible changes can fine-tune from it)")
    added = sorted(new.keys() - old.keys())
    if added:
        print(f"vstyle: {len(added)} new parameter tensors start from their initialisation: {', '.join(added)}",
              file=sys.stderr)
    rebuilt.load_state_dict(old, strict=False)
    return rebuilt


def _ignore_signals(_worker_id: int) -> None:
    # Data workers leave Ctrl-C and SIGTERM (often sent to the whole process group) to the main process,
    # which checkpoints and shuts them down (killing any that do not stop); a forked worker would
    # otherwise run the trainer's handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _close_loader(batches: Any) -> None:
    """Stop the data workers now, killing any that do not stop. Torch stops them when its iterator is
    collected, but an exception's traceback keeps the iterator until the interpreter exits, when torch
    does nothing and multiprocessing ends its children with SIGTERM, which they ignore
    (:func:`_ignore_signals`): the process would hang. ``_shutdown_workers`` is idempotent."""
    shutdown = getattr(batches, "_shutdown_workers", None)  # torch's multi-process iterator only
    if shutdown is None:
        return
    shutdown()
    for worker in getattr(batches, "_workers", ()):
        if worker.is_alive():
            worker.kill()


class WeightAverage:
    """An exponential moving average of a model's weights (parameters and float buffers), for export.

    The decay warms up as ``min(decay, (1 + n) / (10 + n))`` over the n updates so far, so the average
    forgets the starting weights within a run's first few hundred steps rather than carrying them along.
    Frozen entries (the encoder) average to themselves, so the whole state dict is kept: it loads as is.
    """

    def __init__(self, model: SCTNet, decay: float, state: dict[str, Any] | None = None) -> None:
        self.decay = decay
        self.updates = 0
        self.average: dict[str, Tensor] | None = None
        if decay <= 0:
            return
        if state is not None:  # resume: the average and its update count as checkpointed
            self.updates = int(state["updates"])
            device = next(model.parameters()).device
            self.average = {k: v.to(device) for k, v in state["weights"].items()}
        else:
            self.average = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: SCTNet) -> None:
        """Move the average towards the model's current weights (after an optimiser step)."""
        if self.average is None:
            return
        self.updates += 1
        weight = 1.0 - min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                self.average[key].lerp_(value, weight)
            else:
                self.average[key].copy_(value)

    def state_dict(self) -> dict[str, Any] | None:
        """Checkpoint form (CPU tensors), or None when averaging is off."""
        if self.average is None:
            return None
        return {"updates": self.updates, "weights": {k: v.detach().cpu() for k, v in self.average.items()}}


class Trainer:
    """Sets a run up from a recipe (fresh) or a run folder (resume), then trains with :meth:`run`."""

    def __init__(self, run_dir: str | Path, recipe: Recipe | None, options: RunOptions, *, resume: bool = False,
                 overwrite: bool = False, reporter: Reporter | None = None) -> None:
        self.run_dir = Path(run_dir).expanduser()
        self.options = options.validate()
        self.reporter: Reporter = reporter or SilentReporter()
        self.resume = resume
        state: dict[str, Any] | None = None
        if resume:
            if self.run_dir.is_dir() and _never_checkpointed(self.run_dir) and any(self.run_dir.iterdir()):
                raise VStyleError(f"{self.run_dir} has no checkpoint to continue from (the run stopped before its "
                                  f"first); start it again with the same {flag('out')}")
            state = load_checkpoint(self.run_dir / CHECKPOINT_NAME)
            done = int(state["step"])
            if done >= options.steps:  # nothing would run: say so rather than "done" with a bar at 4/3
                raise VStyleError(f"{self.run_dir} is at step {done} already; pass {flag('steps')} above {done} "
                                  "to train it further")
            recipe = Recipe.from_dict(state["recipe"])
        elif recipe is None:
            raise ValueError("a fresh run needs a recipe")
        else:
            recipe.refuse_unused()
            self._check_run_dir(overwrite)
        assert recipe is not None
        self.recipe = recipe.validate()
        self.device = resolve_device(options.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick the fastest kernels
        resolve_precision(options.precision, self.device)
        if options.threads:
            torch.set_num_threads(options.threads)
        torch.manual_seed(self.recipe.seed)
        self._setup_data(state)
        self._setup_model(state)
        self._setup_objective(state)
        self._setup_optimiser(state)
        self.step = int(state["step"]) if state else 0
        self.ema = WeightAverage(self.model, self.recipe.ema_decay, state.get("model_ema") if state else None)
        self.wall_seconds = float(state["wall_seconds"]) if state else 0.0
        self.sessions: list[dict[str, Any]] = list(state["sessions"]) if state else []
        if state:
            restore_rng(state["rng"])
        self._stop_requested = False
        #: The signal that asked the run to stop (SIGINT or SIGTERM), None if none did.
        self.stop_signal: int | None = None

    # ------------------------------------------------------------------ setup

    def _check_run_dir(self, overwrite: bool) -> None:
        d = self.run_dir
        if d.exists() and not d.is_dir():
            raise VStyleError(f"run folder {d} is a file")
        if d.is_dir() and any(d.iterdir()) and not overwrite and not _never_checkpointed(d):
            raise VStyleError(f"run folder {d} is not empty: continue it with {flag('resume')} {d}, "
                              f"choose another folder, or pass {flag('overwrite')}")

    def _start_run_dir(self) -> None:
        """Clear a previous run's files from the folder of a fresh run (under --overwrite; made, and locked, by
        :meth:`_lock_run_dir`): only those, anything else in the folder or its samples folder is the user's."""
        d = self.run_dir
        try:
            for name in RUN_FILES:
                if name != LOCK_NAME:  # held by this process (see _lock_run_dir)
                    (d / name).unlink(missing_ok=True)
            for sample in _run_samples(d):
                sample.unlink()
        except OSError as exc:  # a read-only folder
            raise VStyleError(f"cannot clear the run folder {d}: {exception_line(exc)}") from None

    def _lock_run_dir(self) -> Any:
        """Make the run folder and hold its lock until the returned file is closed; one line when another
        process trains in it (two writers leave a log and checkpoints no resume can read)."""
        d = self.run_dir
        try:
            d.mkdir(parents=True, exist_ok=True)
            lock = open(d / LOCK_NAME, "a+")
        except OSError as exc:  # a read-only place, /proc, a file in the way
            raise VStyleError(f"cannot create the run folder {d}: {exception_line(exc)}") from None
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here
            return lock
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip()
            lock.close()
            raise VStyleError(f"{d} is being trained by another process{f' ({holder})' if holder else ''}; "
                              "wait for it or stop it, or choose another folder") from None
        except OSError as exc:  # a file system without locks (some network mounts): train unguarded
            self.reporter.message(f"cannot lock {d} ({exception_line(exc)}): make sure no other training "
                                  "writes there")
            return lock
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()}")
        lock.flush()
        return lock

    def _setup_data(self, state: dict[str, Any] | None) -> None:
        r = self.recipe
        content = list_media(r.content, "content", videos=True)
        style = list_media(r.style, "style", videos=False)
        self.data_hash = listing_hash(content, style, r.video_frames)
        if state is not None and state["data_hash"] != self.data_hash:
            raise VStyleError("the training data changed since this run started (different files or sizes); "
                              "an exact resume needs the same data")
        self.augment = Augment(r.resize, r.resize_mode, r.crop, r.flip, (r.scale_min, r.scale_max))
        # style_resize 0: the styles are scaled like the content
        style_scale = (r.style_scale_min, r.style_scale_max) if r.style_resize else (r.scale_min, r.scale_max)
        style_augment = Augment(r.style_resize or r.resize, r.resize_mode, r.crop, r.flip, style_scale, r.style_hue)
        if content.videos:
            self.reporter.message(f"decoding {r.video_frames} frames from each of {len(content.videos)} video(s)…")
        self.dataset = PairedBatches(build_pool(content, r.video_frames, self.augment),
                                     build_pool(style, r.video_frames, style_augment), r.batch, self.augment, r.seed,
                                     style_augment)
        self.data_info = {"hash": self.data_hash, "content": content.entries(), "style": style.entries(),
                          "content_items": len(self.dataset.pools[0]), "style_items": len(self.dataset.pools[1])}

    def _setup_model(self, state: dict[str, Any] | None) -> None:
        r = self.recipe
        if state is not None:
            model = build(state["arch"], state["arch_config"])
            model.load_state_dict(state["model"])
        elif r.init is not None:
            from ..weights import load_model

            model = load_model(r.init)
            if r.arch is not None and r.arch != model.arch:
                raise VStyleError(f"{flag('init')} model is a {model.arch} model but {flag('arch')} is {r.arch}")
            if r.arch_config and any(model.config.get(k) != v for k, v in r.arch_config.items()):
                model = _reconfigured(model, r.arch_config)
        else:
            arch, config = (r.arch, r.arch_config) if r.arch is not None else shipped_architecture()
            try:
                model = build(arch, {**config, **r.arch_config})
            except ValueError as exc:
                raise VStyleError(str(exc)) from None
        if r.crop % model.multiple or r.crop < model.min_style_side:
            # Both rules in one line, with the smallest side that keeps them, so a fix is not refused next.
            smallest = -(-model.min_style_side // model.multiple) * model.multiple
            raise VStyleError(f"{flag('crop')} {r.crop}: {model.arch} needs a multiple of {model.multiple} of at "
                              f"least {model.min_style_side} px (the smallest is {smallest})")
        defaults = default_layers(r.loss_net, model.mode)
        self.layers = LossLayers(
            content=r.content_layer or defaults.content,
            style=tuple(r.style_layers or defaults.style),
            ccpl=tuple(r.ccpl_layers or defaults.ccpl),
            teacher=tuple(r.teacher_layers or defaults.teacher),
        )
        used = self._used_layers()
        self.loss_net: LossNet = build_loss_net(r.loss_net, used, r.loss_net_file, r.random_weights)
        if r.random_weights:
            # Random loss-net weights are part of the run: keep them so a resume uses the same ones.
            if state is not None:
                self.loss_net.load_state_dict(state["loss_net_state"])
        self.encoder_source = state["encoder_source"] if state else (
            f"init {r.init}" if r.init is not None else init_encoder(model.encoder, self.loss_net, r.encoder_file,
                                                                     r.random_weights))
        self.model: SCTNet = model.to(self.device)
        self.loss_net.to(self.device)
        self.shared = shared_tap(self.loss_net, self.model.encoder)
        self._check_sizes()

    def _used_layers(self) -> list[str]:
        r = self.recipe
        used: list[str] = []
        if r.lambda_content > 0 or r.lambda_identity_feat > 0:
            used.append(self.layers.content)
        if any(weight > 0 for _, weight, _, _ in self._style_terms()):
            used.extend(self.layers.style)
        if r.lambda_ccpl > 0:
            used.extend(self.layers.ccpl)
        if r.lambda_teacher_feat > 0:
            used.extend(self.layers.teacher)
        # Keep the content tap even if unused so a loss net always has at least one tap.
        return list(dict.fromkeys(used or [self.layers.content]))

    def _check_sizes(self) -> None:
        """Fail before training when a crop is too small for the CCPL layers."""
        if self.recipe.lambda_ccpl <= 0:
            return
        with torch.no_grad():
            probe = torch.zeros(1, 3, self.recipe.crop, self.recipe.crop, device=self.device)
            feats = dict(zip(self.loss_net.tap_names, self.loss_net.features(probe)))
        for name in self.layers.ccpl:
            h, w = feats[name].shape[2:]
            if (h - 2) * (w - 2) < self.recipe.ccpl_centres:
                raise VStyleError(f"{flag('crop')} {self.recipe.crop} gives a {h}×{w} map at {name}, too small for "
                                  f"{self.recipe.ccpl_centres} CCPL centres; use a larger crop")

    def _style_terms(self) -> list[tuple[str, float, float, str]]:
        """The recipe's terms on the style taps, in the objective's order: (name, weight, softmax temperature
        or 0, statistic)."""
        r = self.recipe
        return [("style", r.lambda_style, 0.0, "moments"),
                ("style_softmax", r.lambda_style_softmax, r.style_temperature, "moments"),
                ("style_gram", r.lambda_style_gram, 0.0, "gram"),
                ("style_sliced", r.lambda_style_sliced, 0.0, "sliced")]

    def _setup_objective(self, state: dict[str, Any] | None) -> None:
        r = self.recipe
        idx = self.loss_net.index
        terms: list[LossTerm] = []
        if r.lambda_content > 0:
            terms.append(ContentTerm(r.lambda_content, idx(self.layers.content)))
        for name, weight, softmax, statistic in self._style_terms():
            if weight > 0:  # the loss net has the style taps only when a style term uses them
                terms.append(StyleTerm(weight, [idx(t) for t in self.layers.style], softmax, name=name,
                                       statistic=statistic))
        if r.lambda_style_embed > 0:
            if not self.loss_net.embeds:
                raise VStyleError(f"{flag('lambda_style_embed')} needs the mnv2-magenta loss net (Magenta's style "
                                  f"predictor), not {self.loss_net.kind}")
            terms.append(StyleEmbedTerm(r.lambda_style_embed))
        if r.lambda_ccpl > 0:
            ccpl = CCPL(self.layers.ccpl, [self.loss_net.channels(t) for t in self.layers.ccpl], r.ccpl_centres, r.tau)
            terms.append(CCPLTerm(r.lambda_ccpl, [idx(t) for t in self.layers.ccpl], ccpl))
        if r.lambda_teacher_pix > 0:
            terms.append(TeacherPixelTerm(r.lambda_teacher_pix))
        if r.lambda_teacher_feat > 0:
            terms.append(TeacherFeatureTerm(r.lambda_teacher_feat, [idx(t) for t in self.layers.teacher]))
        if r.lambda_identity > 0:
            terms.append(IdentityPixelTerm(r.lambda_identity))
        if r.lambda_identity_feat > 0:
            terms.append(IdentityFeatureTerm(r.lambda_identity_feat, idx(self.layers.content)))
        self.objective = Objective(terms).to(self.device)
        if state is not None:
            self.objective.load_state_dict(state["objective"])
        self.teacher = self._make_teacher() if self.objective.needs_teacher else None

    def _make_teacher(self) -> Any:
        try:
            from .teacher import MagentaTeacher
        except ImportError:
            raise VStyleError("the teacher losses need vstyle.train.teacher, which is not available") from None
        return MagentaTeacher(self.recipe.teacher_file, threads=self.options.threads, device=self.device)

    def _setup_optimiser(self, state: dict[str, Any] | None) -> None:
        params = list(self.model.trainable_parameters()) + list(self.objective.parameters())
        self.optimiser = torch.optim.Adam(params, lr=self.recipe.lr)
        self.scaler = torch.amp.GradScaler("cuda") if self.options.precision == "fp16" else None
        if state is not None:
            self.optimiser.load_state_dict(state["optimizer"])
            if self.scaler is not None and state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])

    # ------------------------------------------------------------------ one step

    def lr_at(self, step: int) -> float:
        """The recipe's schedule: lr / (1 + decay · step), step 0-based."""
        return self.recipe.lr / (1.0 + self.recipe.lr_decay * step)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        p = self.options.precision
        if p == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16 if p == "bf16" else torch.float16)

    def losses(self, content: Tensor, style: Tensor, step: int) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        """Forward pass of step ``step`` on uint8 batches: (total, {term: weighted value}, the output).

        Everything random in it (CCPL centres, the shift) is a function of (seed, step).
        """
        content = content.to(self.device, non_blocking=True).float().div_(255)
        style = style.to(self.device, non_blocking=True).float().div_(255)
        gen = torch.Generator().manual_seed(step_seed(self.recipe.seed, step))
        s = self.recipe.shift_px
        shift = tuple(torch.randint(-s, s + 1, (2,), generator=gen).tolist()) if s else (0, 0)
        teacher = None
        if self.teacher is not None:
            with torch.no_grad():
                teacher = self.teacher(content, style)
        model = self.model
        with self._autocast():
            given: dict[str, list[Tensor]] = {}
            with torch.no_grad():
                if self.shared is not None:
                    given = {"content": self.loss_net.features(content), "style": self.loss_net.features(style)}
                    fc, fs = given["content"][self.shared], given["style"][self.shared]
                    # Skip features come from the model's own trunk (the loss net does not tap them).
                    skips = model.encode_content(content)[1] if model.uses_skips else []
                else:
                    (fc, skips), fs = model.encode_content(content), model.encoder(style)
            sigma, mean = model.sct.style_stats(fs)
            output = model.decode(model.sct.transform(fc, sigma, mean), skips, sigma, mean)
            identity = None
            if self.objective.needs_identity:  # the content as its own style must come back unchanged
                own = model.sct.style_stats(fc)
                identity = model.decode(model.sct.transform(fc, *own), skips, *own)
            ctx = StepContext(self.loss_net, content, style, output, teacher=teacher, identity=identity,
                              shift=shift, shift_pad=s, generator=gen, given=given)
            total, parts = self.objective(ctx)
        return total, parts, output

    def train_step(self, content: Tensor, style: Tensor, step: int) -> tuple[dict[str, float], Tensor]:
        """One optimiser step on uint8 batches; returns (weighted losses incl. ``total``, the output)."""
        lr = self.lr_at(step)
        for group in self.optimiser.param_groups:
            group["lr"] = lr
        total, parts, output = self.losses(content, style, step)
        if not torch.isfinite(total):
            raise VStyleError(f"the loss became {total.item()} at step {step + 1}; lower {flag('lr')} or use fp32")
        self.optimiser.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.step(self.optimiser)
            self.scaler.update()
        else:
            total.backward()
            self.optimiser.step()
        self.ema.update(self.model)
        losses = {"total": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}
        return losses, output.detach()

    # ------------------------------------------------------------------ run

    def checkpoint(self) -> Path:
        """Write the run's state to ``checkpoint.pt`` (atomic)."""
        path = self.run_dir / CHECKPOINT_NAME
        state = {
            "step": self.step,
            "arch": self.model.arch,
            "arch_config": self.model.config,
            "model": self.model.state_dict(),
            "model_ema": self.ema.state_dict(),
            "objective": self.objective.state_dict(),
            "optimizer": self.optimiser.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": capture_rng(),
            "recipe": self.recipe.to_dict(),
            "data_hash": self.data_hash,
            "layers": asdict(self.layers),
            "loss_net": self.loss_net.describe(),
            "loss_net_state": self.loss_net.state_dict() if self.recipe.random_weights else None,
            "encoder_source": self.encoder_source,
            "wall_seconds": self.wall_seconds,
            "sessions": self.sessions,
        }
        save_checkpoint(path, state)
        return path

    def _write_run_info(self) -> None:
        info = {"recipe": self.recipe.to_dict(), "options": self.options.to_dict(), "layers": asdict(self.layers),
                "loss_net": self.loss_net.describe(), "model": {"arch": self.model.arch, "config": self.model.config,
                                                                "mode": self.model.mode},
                "encoder_source": self.encoder_source, "code": code_version()}
        _write_json(self.run_dir / CONFIG_NAME, info)
        _write_json(self.run_dir / DATA_NAME, self.data_info)

    def _save_samples(self, content: Tensor, style: Tensor, output: Tensor) -> None:
        from ..io.images import write_image

        folder = self.run_dir / SAMPLES_DIR
        folder.mkdir(exist_ok=True)
        grid = sample_grid(content.float() / 255, style.float() / 255, output)
        write_image(folder / SAMPLE_FORMAT.format(self.step), grid, overwrite=True, quality=90)

    def _plot(self) -> None:
        try:
            plot_losses(self.run_dir / LOG_NAME, self.run_dir / PLOT_NAME)
        except ImportError:
            self.reporter.message("matplotlib is not installed: no losses.png (pip install matplotlib)")
        except (OSError, ValueError, VStyleError) as exc:  # a picture of the losses must never stop training
            self.reporter.message(f"could not draw {PLOT_NAME}: {exception_line(exc)}")

    def request_stop(self) -> None:
        """Finish the current step, checkpoint and return (what Ctrl-C does)."""
        self._stop_requested = True

    def _on_signal(self, signum: int, _frame: Any) -> None:
        """Ctrl-C or SIGTERM: finish the step and checkpoint; a second signal of either kind aborts."""
        self.request_stop()
        self.stop_signal = signum
        again = "Ctrl-C again" if signum == signal.SIGINT else "a second SIGTERM"
        prefix = "terminated: " if signum == signal.SIGTERM else ""
        self.reporter.message(f"{prefix}stopping after this step and saving a checkpoint ({again} to abort)…")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, raise_terminated)

    def run(self) -> Summary:
        """Train until ``options.steps`` (or a stop request); checkpoint periodically and at the end."""
        lock = self._lock_run_dir()
        try:
            return self._run_locked()
        finally:
            lock.close()

    def _run_locked(self) -> Summary:
        o = self.options
        first = self.step
        if not self.resume:
            self._start_run_dir()
            self._write_run_info()
        elif not (info := read_run_config(self.run_dir)):
            self._write_run_info()  # deleted: the checkpoint holds everything it records
        else:
            _write_json(self.run_dir / CONFIG_NAME, {**info, "options": o.to_dict()})
        session = {"from_step": first, "machine": machine_info(self.device), "code": code_version(),
                   "precision": o.precision, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        # Plain JSON types only, so the checkpoint loads with weights_only=True.
        self.sessions.append(json.loads(json.dumps(session, default=str)))
        columns = ["total", *self.objective.names, "lr", "elapsed_s"]
        log = LossLog(self.run_dir / LOG_NAME, columns, resume_step=first if self.resume else None)
        on_main = threading.current_thread() is threading.main_thread()
        # SIGTERM (kill, service managers) gets Ctrl-C's clean stop: steps since the last checkpoint are kept.
        old_handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)} \
            if on_main else {}
        batches: Iterator[tuple[Tensor, Tensor]] | None = None
        losses: dict[str, float] = {}
        saved_at = self.step
        t0 = time.perf_counter()
        wall0 = self.wall_seconds
        self.model.train()
        self.reporter.start(first, o.steps, {"device": str(self.device), "shared_encoder": self.shared is not None})
        if log.dropped:
            self.reporter.message(f"{LOG_NAME}: left out {log.dropped} damaged row{'s' * (log.dropped > 1)} "
                                  "(a crash while writing, or another process writing it)")
        finished = False
        try:
            if self.step < o.steps:
                batches = self._batches(first)
            while self.step < o.steps and not self._stop_requested:
                content, style = self._next_batch(batches)  # type: ignore[arg-type]
                losses, output = self.train_step(content, style, self.step)
                self.step += 1
                self.wall_seconds = wall0 + time.perf_counter() - t0
                log.append(self.step, {**losses, "lr": self.lr_at(self.step - 1), "elapsed_s": self.wall_seconds})
                self.reporter.step(self.step, losses, self.lr_at(self.step - 1))
                if o.sample_every and self.step % o.sample_every == 0:
                    self._save_samples(content, style, output)
                if self.step % o.checkpoint_every == 0 or self.step == o.steps or self._stop_requested:
                    log.flush()
                    self.sessions[-1].update(to_step=self.step, seconds=round(time.perf_counter() - t0, 1))
                    self.checkpoint()
                    saved_at = self.step
                    self._plot()
            finished = True
        finally:
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            log.close()
            _close_loader(batches)
            del batches
            self.reporter.stop(failed=not finished)
        if saved_at != self.step:  # e.g. steps already reached: nothing new to save
            self.checkpoint()
        elapsed = time.perf_counter() - t0
        done = self.step - first
        return Summary(str(self.run_dir), first, self.step, o.steps, self._stop_requested and self.step < o.steps,
                       done / elapsed if elapsed > 0 and done else 0.0, self.wall_seconds, losses)

    def _batches(self, first: int) -> Iterator[tuple[Tensor, Tensor]]:
        workers = self.options.workers
        loader = batch_stream(self.dataset, first, workers, pin_memory=self.device.type == "cuda",
                              worker_init_fn=_ignore_signals if workers else None)
        return loader

    @staticmethod
    def _next_batch(batches: Iterator[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
        try:
            return next(batches)
        except VStyleError as exc:
            # Errors from worker processes arrive with the worker's traceback in the message; keep the cause.
            line = exception_line(exc, last=True, limit=10_000, empty="data loading failed")
            raise VStyleError(line.split("VStyleError: ", 1)[-1]) from None
