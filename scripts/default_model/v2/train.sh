#!/usr/bin/env bash
# Train the second default model (sctnet-mobile with a residual decoder); see docs/default_model.md.
# Run from the repository root:
#   scripts/default_model/v2/train.sh [RUN_ROOT]             # start, or continue where it stopped
#   STEPS=6000 scripts/default_model/v2/train.sh [RUN_ROOT]  # continue the last stage to a new total
# then export:
#   vstyle train export RUN_ROOT/stageB --name default -o weights/default.safetensors --half --overwrite
#
# One data set (recipe.json: the shared photos, frames and styles minus the eye panel's), two stages:
#   stage A: 2,000 steps of reconstruction only: the decoder learns to invert the frozen MobileNetV2
#            trunk (identity L1 + 0.5 × e6x feature MSE; 128² crops, batch 8, lr 1e-3), so subjects
#            survive before any style loss pulls at it (how WCT and AdaIN decoders are made);
#   stage B: from stage A's export, the full objective of recipe.json: teacher pixels 5 and
#            features 2, MobileNetV2 style 30, content 0.5, CCPL 5, identity 1 + 0.5.
# Every stage is resumable: Ctrl-C (or a crash) and rerun the same command.
set -euo pipefail
root="${1:-runs/default-v2}"
recipe="$(dirname "$0")/recipe.json"
# Sleeping (not spinning) OpenMP workers: the box is a small shared CPU.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
opts=(--threads "${THREADS:-2}" --workers 1 --checkpoint-every 250 --sample-every 250 --precision fp32)

stage() {  # stage DIR STEPS [fresh-run options...]
  local dir="$1" steps="$2"
  shift 2
  if [[ -f "$dir/checkpoint.pt" ]]; then
    vstyle train --resume "$dir" --steps "$steps" "${opts[@]}"
  else
    vstyle train --config "$recipe" --out "$dir" --steps "$steps" "${opts[@]}" "$@"
  fi
}

stage "$root/stageA" 2000 --lambda-content 0 --lambda-style 0 --lambda-ccpl 0 --lambda-teacher-pix 0 \
  --lambda-teacher-feat 0 --lambda-identity 1 --lambda-identity-feat 0.5 --batch 8 --crop 128 --lr 1e-3
vstyle train export "$root/stageA" --name default-v2-stageA -o "$root/stageA.safetensors" --overwrite
stage "$root/stageB" "${STEPS:-40000}" --init "$root/stageA.safetensors"
