"""Host facts read from /proc/cpuinfo: the CPU's name and whether int8 has its own units."""

from __future__ import annotations

from pathlib import Path

from vstyle.hostinfo import cpu_flags, has_int8_units


def _cpuinfo(tmp_path: Path, flags: str | None) -> Path:
    path = tmp_path / "cpuinfo"
    lines = ["processor\t: 0", "model name\t: Some CPU"] + ([f"flags\t\t: {flags}"] if flags is not None else [])
    path.write_text("\n".join(lines) + "\n")
    return path


def test_int8_units_from_the_flags(tmp_path: Path) -> None:
    assert has_int8_units(_cpuinfo(tmp_path, "fpu sse2 avx2 fma")) is False  # AVX2 only: int8 no faster
    assert has_int8_units(_cpuinfo(tmp_path, "avx2 avx512f avx512_vnni")) is True
    assert has_int8_units(_cpuinfo(tmp_path, "avx2 avx_vnni")) is True
    assert cpu_flags(_cpuinfo(tmp_path, "avx2 fma")) == frozenset({"avx2", "fma"})


def test_unknown_flags_say_nothing(tmp_path: Path) -> None:
    assert has_int8_units(_cpuinfo(tmp_path, None)) is None  # e.g. an ARM cpuinfo lists "Features"
    assert has_int8_units(tmp_path / "missing") is None
