"""Process-wide settings every vstyle entry point applies before its first tensor.

Two defaults of the C runtime cost vstyle dearly on the CPU, and both can be changed from inside the
process:

* OpenMP's idle workers spin. On small shared CPUs the spinning threads starve the ones doing work
  (measured 1.3× on the VGG model and 3× on sctnet-mobile; README, "Fast paths"), so idle workers sleep
  (``OMP_WAIT_POLICY=PASSIVE``) unless the user's environment says otherwise.
* glibc's malloc serves large blocks with fresh ``mmap`` pages and gives freed memory back to the
  kernel, so eager PyTorch, which frees and reallocates the same feature maps every frame, takes
  new pages every frame: about 18,000 page faults per 512² frame of the shipped model, a third of
  its CPU time, and 222,000 at 1024² (README, "The allocator"). One arena, no ``mmap`` and no
  trimming make each frame reuse the previous frame's pages. The price: memory freed after a peak
  stays with the process until it exits, instead of going back to the system.
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Mapping

#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
#: The largest trim threshold ``mallopt`` takes (an ``int``): free memory is never handed back in practice.
_NO_TRIM = 2**31 - 1
#: Whether :func:`keep_freed_memory` changed malloc in this process.
_malloc_kept = False


def _user_tuned_malloc(environ: Mapping[str, str]) -> bool:
    """Whether the environment already sets glibc malloc's parameters or preloads another allocator."""
    return (any(key.startswith("MALLOC_") for key in environ)
            or "glibc.malloc." in environ.get("GLIBC_TUNABLES", "")
            or bool(environ.get("LD_PRELOAD")))


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep and reuse freed memory (one arena, no ``mmap``, no trimming).

    Call it before the process starts threads: the arena limit applies to arenas created later.
    Returns whether the settings were applied; they are not where the C library is not glibc, or
    where the user's environment already tunes malloc (``MALLOC_*``, ``GLIBC_TUNABLES``) or preloads
    another allocator (``LD_PRELOAD``, e.g. jemalloc or tcmalloc): the user's choice wins.
    """
    global _malloc_kept
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or _user_tuned_malloc(os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a process without the symbol: nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # Arena first: a second arena's heaps are at most 64 MiB, and glibc falls back to mmap for any
    # block larger than that in a thread's arena whatever M_MMAP_MAX says (1024² feature maps are).
    ok = all(mallopt(param, value) == 1
             for param, value in ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _NO_TRIM)))
    _malloc_kept = _malloc_kept or ok
    return ok


def describe_process_settings() -> dict[str, str]:
    """What this process runs with, for benchmark provenance: the OpenMP wait policy and malloc's mode."""
    return {"omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "OpenMP's default"),
            "malloc": "keep freed memory" if _malloc_kept else "unchanged"}


def apply_process_settings(malloc: bool = True) -> dict[str, str]:
    """Apply both settings (see the module's docstring; ``malloc=False`` leaves malloc as it is, for
    benchmarks of the difference); returns :func:`describe_process_settings`. The wait policy takes
    effect only if OpenMP has not started yet (it reads it when torch is first imported)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if malloc:
        keep_freed_memory()
    return describe_process_settings()
