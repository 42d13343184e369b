#!/usr/bin/env bash
# Reproduce the shipped default model (weights/default.safetensors): see docs/default_model.md.
# Run from the repository root. Usage:
#   scripts/default_model/train.sh [RUN_DIR]          # fresh run, or continue RUN_DIR if it has a checkpoint
#   STEPS=60000 scripts/default_model/train.sh RUN_DIR # continue to a new total
# Then export: vstyle train export RUN_DIR --name default -o weights/default.safetensors --half --overwrite
set -euo pipefail
run_dir="${1:-runs/default}"
steps="${STEPS:-40000}"
# Sleeping (not spinning) OpenMP workers: the box is a small shared CPU.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
opts=(--steps "$steps" --threads "${THREADS:-2}" --workers 1 --checkpoint-every 250 --sample-every 250 --precision fp32)
if [[ -f "$run_dir/checkpoint.pt" ]]; then
  exec vstyle train --resume "$run_dir" "${opts[@]}"
fi
exec vstyle train --config "$(dirname "$0")/recipe.json" --out "$run_dir" "${opts[@]}"
