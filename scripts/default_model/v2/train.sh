#!/usr/bin/env bash
# Train the second default model (sctnet-mobile with a residual decoder), shipped as `default` since
# 2026-12-06: weights/default.safetensors is the seventh stretch with its dead decoder channels cut
# (prune_dead_channels.py: the same pictures to one grey level, less arithmetic); see docs/default_model.md.
# Run from the repository root:
#   scripts/default_model/v2/train.sh [RUN_ROOT]             # start, or continue where it stopped
# It stops after the last stage's STEPS (default: the committed stretch's) and exports every stage; stage D's
# export is weights/default-v2-stretch3.safetensors, stage E's weights/default-v2-stretch4.safetensors,
# stage G's weights/default-v2-stretch5.safetensors, stage H's weights/default-v2-stretch6.safetensors and
# the last one, RUN_ROOT/stageI_skips065.safetensors, weights/default-v2-stretch7.safetensors; pruned, it is
# RUN_ROOT/default.safetensors, the shipped weights/default.safetensors:
#   cp RUN_ROOT/default.safetensors weights/default.safetensors
#
# One data set (recipe.json: the shared photos, frames and styles minus the eye panel's), nine stages:
#   stage A: 2,000 steps of reconstruction only: the content stylised with itself as the style must come
#            back (identity L1 + 0.5 × e6x feature MSE; 128² crops, batch 8, lr 1e-3), so SCT and decoder
#            carry the subject before any style loss pulls at them (how WCT and AdaIN decoders are made);
#   stage B: from stage A's export, the full objective of recipe.json, teacher-led (per-term gradient
#            norms, scripts/default_model/grad_norms.py): teacher pixels 20 and features 10, MobileNetV2
#            style 5, content 0.5, CCPL 1, identity 10 + 5; 6,950 steps (the first stretch);
#   stage C: style 15, teacher pixels 10, features 20 against the blur; 1,145 steps (the second stretch);
#   stage D: the decoder grows skip features (trunk taps b0, b2: unstylised detail at strides 2 and 4,
#            through zero-initialised projections, so it starts as stage C's model), and the style rises
#            now that the skips carry the subject: style 40, teacher pixels 5, features 20; 2,974 steps;
#   stage E: style 100 and the identity losses halved (5 + 2.5), so the held-out styles move further from
#            the photo; 2,718 steps (the fourth stretch);
#   stage F: the decoder grows a FiLM of every stage from the style code (dec_style_film, zero-initialised,
#            so it starts as stage E's model), style 250; 1,250 steps;
#   stage G: the teacher's pixel loss off (features kept); 778 steps (the fifth stretch);
#   stage H: style augmentation (every style sample's hue rotated by up to ±180°, cropped at 1–2×
#            scale), lr 1e-4, and the exported weights a moving average (decay 0.998); 2,000 steps (the
#            sixth stretch; STEPS_H overrides);
#   stage I: stage H's recipe at batch 32 with a slower average (decay 0.999), STEPS steps (the committed
#            seventh stretch's 829 by default); its export's skip projections are then scaled by 0.65
#            (scale_skips.py), which trades a little recognisability for style (docs/default_model.md).
#            The seventh stretch ran on an H200 in 181 s (gpu_stretch.sh, bf16; the command is in that
#            script); here it is the same recipe in fp32 on the CPU, about 12 s a step on two cores.
# Every stage is resumable: Ctrl-C (or a crash) and rerun the same command.
set -euo pipefail
root="${1:-runs/default-v2}"
recipe="$(dirname "$0")/recipe.json"
# Sleeping (not spinning) OpenMP workers: the box is a small shared CPU.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
opts=(--threads "${THREADS:-2}" --workers 1 --checkpoint-every 250 --sample-every 250 --precision fp32)

# shellcheck source=scripts/default_model/stage.sh
source "$(dirname "$0")/../stage.sh"

stage "$root/stageA" 2000 --lambda-content 0 --lambda-style 0 --lambda-ccpl 0 --lambda-teacher-pix 0 \
  --lambda-teacher-feat 0 --lambda-identity 1 --lambda-identity-feat 0.5 --batch 8 --crop 128 --lr 1e-3
vstyle train export "$root/stageA" --name default-v2-stageA -o "$root/stageA.safetensors" --overwrite
stage "$root/stageB" 6950 --init "$root/stageA.safetensors"
vstyle train export "$root/stageB" --name default-v2-stretch1 -o "$root/stageB.safetensors" --half --overwrite
stage "$root/stageC" 1145 --init "$root/stageB.safetensors" --lambda-style 15 --lambda-teacher-pix 10 \
  --lambda-teacher-feat 20
vstyle train export "$root/stageC" --name default-v2-stretch2 -o "$root/stageC.safetensors" --half --overwrite
stage "$root/stageD" 2974 --init "$root/stageC.safetensors" --lambda-style 40 \
  --lambda-teacher-pix 5 --lambda-teacher-feat 20 --arch-config '{"skip_taps": ["b0", "b2"]}'
vstyle train export "$root/stageD" --name default-v2-stretch3 -o "$root/stageD.safetensors" --half --overwrite
stage "$root/stageE" 2718 --init "$root/stageD.safetensors" --lambda-style 100 \
  --lambda-teacher-pix 5 --lambda-teacher-feat 20 --lambda-identity 5 --lambda-identity-feat 2.5 \
  --arch-config '{"skip_taps": ["b0", "b2"]}'
vstyle train export "$root/stageE" --name default-v2-stretch4 -o "$root/stageE.safetensors" --half --overwrite
stage "$root/stageF" 1250 --init "$root/stageE.safetensors" --lambda-style 250 \
  --lambda-teacher-pix 5 --lambda-teacher-feat 20 --lambda-identity 5 --lambda-identity-feat 2.5 \
  --arch-config '{"skip_taps": ["b0", "b2"], "dec_style_film": true}'
vstyle train export "$root/stageF" --name default-v2-stageF -o "$root/stageF.safetensors" --half --overwrite
stage "$root/stageG" 778 --init "$root/stageF.safetensors" --lambda-style 250 \
  --lambda-teacher-pix 0 --lambda-teacher-feat 20 --lambda-identity 5 --lambda-identity-feat 2.5 \
  --arch-config '{"skip_taps": ["b0", "b2"], "dec_style_film": true}'
vstyle train export "$root/stageG" --name default-v2-stretch5 -o "$root/stageG.safetensors" --half --overwrite
stage "$root/stageH" "${STEPS_H:-2000}" --init "$root/stageG.safetensors" --lambda-style 250 \
  --lambda-teacher-pix 0 --lambda-teacher-feat 20 --lambda-identity 5 --lambda-identity-feat 2.5 \
  --style-hue 180 --style-scale-range 1 2 --lr 1e-4 --ema-decay 0.998 \
  --arch-config '{"skip_taps": ["b0", "b2"], "dec_style_film": true}'
vstyle train export "$root/stageH" --name default-v2-stretch6 -o "$root/stageH.safetensors" --half --overwrite
stage "$root/stageI" "${STEPS:-829}" --init "$root/stageH.safetensors" --lambda-style 250 \
  --lambda-teacher-pix 0 --lambda-teacher-feat 20 --lambda-identity 5 --lambda-identity-feat 2.5 \
  --style-hue 180 --style-scale-range 1 2 --lr 1e-4 --ema-decay 0.999 --batch 32 \
  --arch-config '{"skip_taps": ["b0", "b2"], "dec_style_film": true}'
vstyle train export "$root/stageI" --name default-v2-stageI -o "$root/stageI.safetensors" --half --overwrite
python "$(dirname "$0")/scale_skips.py" "$root/stageI.safetensors" "$root/stageI_skips065.safetensors" \
  --gain 0.65 --name default-v2-stretch7 --overwrite
python "$(dirname "$0")/prune_dead_channels.py" "$root/stageI_skips065.safetensors" "$root/default.safetensors" \
  --name default-v2-stretch7-pruned --overwrite
