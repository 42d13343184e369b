# Sourced by the default-model train.sh scripts: `stage DIR STEPS [fresh-run options...]` trains one
# stage of "$recipe" with the options in "${opts[@]}", or resumes it when DIR has a checkpoint.
stage() {
  local dir="$1" steps="$2"
  shift 2
  if [[ -f "$dir/checkpoint.pt" ]]; then
    vstyle train --resume "$dir" --steps "$steps" "${opts[@]}"
  else
    vstyle train --config "$recipe" --out "$dir" --steps "$steps" "${opts[@]}" "$@"
  fi
}
