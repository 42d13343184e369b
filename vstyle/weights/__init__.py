"""Model weights: name lookup (:mod:`.names`), the project's file format (:mod:`.modelfile`) and the
import of the official CCPL checkpoints (:mod:`.official`)."""

from .modelfile import FORMAT_VERSION, file_sha256, inference_settings, load_model, read_metadata, save_model
from .names import (DEFAULT_MODEL, PROJECT_WEIGHTS, SUFFIX, available_models, how_to_get_a_model, model_output,
                    resolve, search_dirs, user_dir)
from .official import load_official, load_torch_state_dict, sct_mode

__all__ = ["DEFAULT_MODEL", "FORMAT_VERSION", "PROJECT_WEIGHTS", "SUFFIX", "available_models", "file_sha256",
           "how_to_get_a_model", "inference_settings", "load_model", "load_official", "load_torch_state_dict",
           "model_output", "read_metadata", "resolve", "save_model", "sct_mode", "search_dirs", "user_dir"]
