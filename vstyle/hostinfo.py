"""Facts about the host machine, for benchmark tables, training provenance and backend notices."""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
#: x86 flags of int8 multiply-accumulate units (AVX-512 VNNI, AVX-VNNI, AMX): without one, OpenVINO's int8
#: convolutions run no faster than fp32 (README, "CPU real time").
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def cpuinfo_field(key: str, cpuinfo: Path = CPUINFO) -> str | None:
    """The value of the first ``key : value`` line of ``/proc/cpuinfo`` (Linux); None where there is none."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``'s "model name"), else what ``platform`` knows."""
    return cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str] | None:
    """The x86 instruction-set flags of ``/proc/cpuinfo`` (Linux); None where they are not listed."""
    flags = cpuinfo_field("flags", cpuinfo)
    return None if flags is None else frozenset(flags.split())


def has_int8_units(cpuinfo: Path = CPUINFO) -> bool | None:
    """Whether the CPU has int8 multiply-accumulate units; None where its flags are unknown."""
    flags = cpu_flags(cpuinfo)
    return None if flags is None else bool(flags & INT8_DOT_FLAGS)
