#!/usr/bin/env bash
# Reproduce the shipped default model (weights/default.safetensors); see docs/default_model.md.
# Run from the repository root:
#   scripts/default_model/train.sh [RUN_ROOT]            # start, or continue where it stopped
#   STEPS=20000 scripts/default_model/train.sh [RUN_ROOT] # continue the last stage to a new total
# then export:
#   vstyle train export RUN_ROOT/stage3 --name default -o weights/default.safetensors --half --overwrite
#
# Three stages, one recipe (recipe.json), each a fine-tune of the previous stage's export (fresh Adam):
#   stage 1:   350 steps at lr 1e-4 (how the shipped run began),
#   stage 2:   600 steps at lr 3e-4 (faster progress in a short CPU budget),
#   stage 3:   from there on, lr 3e-4 (it started as the λccp > 0 arm of the CCPL ablation, which
#              branched off the stage-2 export; see scripts/default_model/ablation.sh).
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
stage "$root/stage2" 600 --init "$root/stage1.safetensors" --lr 3e-4
vstyle train export "$root/stage2" --name default-stage2 -o "$root/stage2.safetensors" --overwrite
stage "$root/stage3" "${STEPS:-40000}" --init "$root/stage2.safetensors" --lr 3e-4
