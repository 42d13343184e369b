#!/usr/bin/env bash
# Reproduce the shipped default model (weights/default.safetensors); see docs/default_model.md.
# Run from the repository root:
#   scripts/default_model/train.sh [RUN_ROOT]            # start, or continue where it stopped
#   STEPS=20000 scripts/default_model/train.sh [RUN_ROOT] # continue stage 2 to a new total
# then export:
#   vstyle train export RUN_ROOT/stage2 --name default -o weights/default.safetensors --half --overwrite
#
# Two stages with the same recipe (recipe.json): stage 1 = 350 steps at lr 1e-4 (how the shipped run
# began), stage 2 = fine-tune from stage 1's export at lr 3e-4 (faster progress in a short CPU budget).
# Every stage is resumable: Ctrl-C (or a crash) and rerun the same command.
set -euo pipefail
root="${1:-runs/default}"
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

stage "$root/stage1" 350
vstyle train export "$root/stage1" --name default-stage1 -o "$root/stage1.safetensors" --overwrite
stage "$root/stage2" "${STEPS:-40000}" --init "$root/stage1.safetensors" --lr 3e-4
