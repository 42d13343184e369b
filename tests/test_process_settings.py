"""The process-wide settings of vstyle.process_settings: malloc keeps freed memory, the user's choices win."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from vstyle.process_settings import _user_tuned_malloc

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Allocates, touches and frees a 64 MiB block in a worker thread (as the pipeline's compute thread
# allocates feature maps), six times, and reports each round's page faults. glibc's defaults serve a
# block over 32 MiB (its dynamic threshold's cap) with a fresh mmap every time: 16,384 faults of 4 KiB
# pages a round; kept, rounds after the first reuse the first round's pages. (Eager frames behave the
# same below that size, but how often depends on the allocator's history: README, "The allocator".)
_PROBE = """
import ctypes, json, resource, sys, threading
from vstyle.process_settings import apply_process_settings
settings = apply_process_settings(malloc=sys.argv[1] == "keep")
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
faults = []
def work():
    for _ in range(6):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        libc.free(block)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(json.dumps({**settings, "faults": max(faults[1:])}))
"""


def _probe(mode: str, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "LD_PRELOAD", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], env={**clean, **env}, capture_output=True,
                         text=True, check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="the malloc settings are glibc's")
def test_freed_memory_is_reused_without_page_faults() -> None:
    kept, default = _probe("keep"), _probe("default")
    assert kept["malloc"] == "keep freed memory" and default["malloc"] == "unchanged"
    assert kept["omp_wait_policy"] == "PASSIVE"
    assert isinstance(kept["faults"], int) and isinstance(default["faults"], int)
    assert default["faults"] > 16_000, default  # the control: glibc's defaults map the block afresh
    assert kept["faults"] < 100, kept


@pytest.mark.skipif(not GLIBC, reason="the malloc settings are glibc's")
def test_the_users_own_settings_win() -> None:
    result = _probe("keep", MALLOC_ARENA_MAX="2", OMP_WAIT_POLICY="ACTIVE")
    assert result["malloc"] == "unchanged" and result["omp_wait_policy"] == "ACTIVE"
    assert isinstance(result["faults"], int) and result["faults"] > 16_000


@pytest.mark.parametrize("env, tuned", [
    ({}, False),
    ({"PATH": "/usr/bin", "GLIBC_TUNABLES": "glibc.rtld.optional_static_tls=1"}, False),
    ({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, True),
    ({"MALLOC_TRIM_THRESHOLD_": "0"}, True),
    ({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}, True),
])
def test_user_tuned_malloc(env: dict[str, str], tuned: bool) -> None:
    assert _user_tuned_malloc(env) is tuned


def test_the_cli_applies_the_settings_first(monkeypatch: pytest.MonkeyPatch) -> None:
    import vstyle.cli.main as cli_main

    calls: list[bool] = []
    monkeypatch.setattr(cli_main, "apply_process_settings", lambda: calls.append(True))
    monkeypatch.setattr(sys, "argv", ["vstyle", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main()
    assert exit_info.value.code == 0 and calls == [True]


def test_info_reports_the_settings() -> None:
    from clitools import run_vstyle

    proc = run_vstyle("info", "--json")
    assert proc.returncode == 0, proc.stderr
    kept = GLIBC and not _user_tuned_malloc(os.environ)
    assert json.loads(proc.stdout)["process"] == {
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
        "malloc": "keep freed memory" if kept else "unchanged"}
