"""``vstyle image``: outputs of the input's exact size, one-line errors, no overwriting."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clitools import assert_one_line_error, run_vstyle
from vstyle.errors import VStyleError
from vstyle.models import build
from vstyle.weights import save_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random official-layout artistic model (test fixture, never shipped)."""
    torch.manual_seed(0)
    return save_model(build("sctnet", {"mode": "art"}), tmp_path_factory.mktemp("m") / "tiny.safetensors")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    out = {}
    for name, (w, h) in {"odd": (321, 241), "style": (64, 48), "tiny_style": (32, 40), "one": (1, 1)}.items():
        out[name] = d / f"{name}.png"
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(out[name])
    jpg = d / "photo.jpg"
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(jpg, quality=90)
    trunc = d / "truncated.jpg"
    trunc.write_bytes(jpg.read_bytes()[: len(jpg.read_bytes()) // 2])
    text = d / "notes.jpg"
    text.write_text("this is not an image\n")
    out.update(photo=jpg, truncated=trunc, text=text)
    return out


def test_odd_size_output_matches_input(tmp_path: Path, model_file: Path, images: dict[str, Path]) -> None:
    out = tmp_path / "out.png"
    proc = run_vstyle("image", images["odd"], "--style", images["style"], "--model", model_file, "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr
    res = np.asarray(Image.open(out))
    assert res.shape == (241, 321, 3)
    assert not np.array_equal(res, np.asarray(Image.open(images["odd"])))


def test_blend_alpha_preserve_color_folder_output(tmp_path: Path, model_file: Path, images: dict[str, Path]) -> None:
    out = tmp_path / "results"
    proc = run_vstyle("image", images["odd"], images["photo"], "--style", f"{images['style']}:0.7",
                      "--style", f"{images['photo']}:0.3", "--alpha", "0.5", "--preserve-color",
                      "--model", model_file, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["odd_style+photo.png", "photo_style+photo.jpg"]


def test_heic_photos_are_read_and_stylised_to_jpeg_and_avif_is_written(tmp_path: Path, model_file: Path,
                                                                        images: dict[str, Path]) -> None:
    """An iPhone's HEIC photo (through pillow-heif) comes out as a JPEG beside the other outputs; AVIF
    (Pillow's own) can be asked for with ``-o``."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    heic = tmp_path / "IMG_0001.HEIC"
    with Image.open(images["photo"]) as im:
        im.save(heic, quality=90)
    out = tmp_path / "results"
    proc = run_vstyle("image", heic, "--style", images["style"], "--model", model_file, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in out.iterdir()] == ["IMG_0001_style.jpg"]
    with Image.open(out / "IMG_0001_style.jpg") as im:
        assert im.format == "JPEG" and im.size == (160, 120)
    avif = tmp_path / "photo.avif"
    proc = run_vstyle("image", images["photo"], "--style", images["style"], "--model", model_file, "-o", avif)
    assert proc.returncode == 0, proc.stderr
    with Image.open(avif) as im:
        assert im.format == "AVIF" and im.size == (160, 120)


def test_a_photo_keeps_its_date_and_camera_but_not_its_position(tmp_path: Path, model_file: Path,
                                                                 images: dict[str, Path]) -> None:
    """Photo libraries sort by the capture date, so the output keeps the EXIF date and camera; the GPS
    position does not travel with a picture made to be shared, and the orientation tag goes (the
    pixels are upright already: a viewer would turn them again)."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "TestCam", 6  # Make; Orientation: rotate 90°
    exif[0x8769] = {0x9003: "2024:05:01 10:00:00"}  # DateTimeOriginal
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}  # GPS latitude
    src = tmp_path / "dated.jpg"
    with Image.open(images["photo"]) as im:
        im.save(src, exif=exif.tobytes())
    for out in (tmp_path / "out.jpg", tmp_path / "out.png"):
        proc = run_vstyle("image", src, "--style", images["style"], "--model", model_file, "-o", out)
        assert proc.returncode == 0, proc.stderr
        with Image.open(out) as im:
            kept = im.getexif()
            assert im.size == (120, 160)  # turned upright once, from the tag
            assert kept.get(0x010F) == "TestCam" and kept.get_ifd(0x8769).get(0x9003) == "2024:05:01 10:00:00"
            assert 0x0112 not in kept and not kept.get_ifd(0x8825)


def test_a_tiff_keeps_its_own_layout_and_large_metadata_is_left_out(tmp_path: Path, model_file: Path,
                                                                    images: dict[str, Path]) -> None:
    """A TIFF's IFD0 is its layout (size, strips, compression, profile): only who, what and when are
    carried, so a smaller TIFF output is whole; 70 KB of XMP does not fit a JPEG and is not carried."""
    src = tmp_path / "scan.tif"
    with Image.open(images["photo"]) as im:
        im.save(src, compression="tiff_lzw", tiffinfo={0x010F: "Scanner", 700: b"<x:xmpmeta>" + b" " * 70_000})
    for out in (tmp_path / "small.tif", tmp_path / "small.jpg"):
        proc = run_vstyle("image", src, "--style", images["style"], "--model", model_file, "--max-size", "64",
                          "-o", out)
        assert proc.returncode == 0, proc.stderr
        with Image.open(out) as im:
            im.load()
            assert im.size == (64, 48) and im.getexif().get(0x010F) == "Scanner"


def test_heic_without_pillow_heif_says_what_to_install(tmp_path: Path, model_file: Path,
                                                       images: dict[str, Path]) -> None:
    (tmp_path / "shadow").mkdir()
    (tmp_path / "shadow" / "pillow_heif.py").write_text("raise ImportError('not installed')\n")
    heic = tmp_path / "IMG_0002.heic"
    heic.write_bytes(b"\0\0\0\x18ftypheic")  # never opened: the suffix decides before any decoding
    proc = run_vstyle("image", heic, "--style", images["style"], "--model", model_file, "-o", tmp_path / "o.jpg",
                      env={"PYTHONPATH": str(tmp_path / "shadow")})
    line = assert_one_line_error(proc)
    assert "pillow-heif" in line and 'pip install "vstyle[heic]"' in line


@pytest.mark.parametrize("case", ["missing", "text", "truncated", "one", "tiny_style", "unwritable", "folder"])
def test_bad_input_one_line_exit_2(tmp_path: Path, model_file: Path, images: dict[str, Path], case: str) -> None:
    content, style, out = images["photo"], images["style"], tmp_path / "o.png"
    if case == "missing":
        content = tmp_path / "nope.jpg"
    elif case in ("text", "truncated", "one"):
        content = images[case]
    elif case == "tiny_style":
        style = images["tiny_style"]
    elif case == "unwritable":
        # root may write anywhere with chmod, so use a kernel filesystem where nobody can create files
        out = Path("/sys/vstyle-out.png") if os.geteuid() == 0 else tmp_path / "ro" / "o.png"
        if os.geteuid() != 0:
            out.parent.mkdir()
            out.parent.chmod(0o500)
    elif case == "folder":
        content = tmp_path
    proc = run_vstyle("image", content, "--style", style, "--model", model_file, "-o", out)
    line = assert_one_line_error(proc)
    assert line.startswith("vstyle: error:"), line
    assert not out.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_existing_output_not_overwritten(tmp_path: Path, model_file: Path, images: dict[str, Path]) -> None:
    out = tmp_path / "keep.png"
    out.write_bytes(b"precious")
    proc = run_vstyle("image", images["photo"], "--style", images["style"], "--model", model_file, "-o", out)
    assert "--overwrite" in assert_one_line_error(proc)
    assert out.read_bytes() == b"precious"
    proc = run_vstyle("image", images["photo"], "--style", images["style"], "--model", model_file, "-o", out,
                      "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert np.asarray(Image.open(out)).shape == (120, 160, 3)


def test_no_model_prints_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vstyle.weights as w

    monkeypatch.setattr(w.names, "PROJECT_WEIGHTS", tmp_path / "no-weights")  # the name lookup reads it
    monkeypatch.setenv("VSTYLE_HOME", str(tmp_path / "empty"))
    with pytest.raises(VStyleError) as err:
        w.load_model(None)
    assert "vstyle train" in str(err.value) and "weights import" in str(err.value)


def test_shipped_default_model_is_used_without_flags(tmp_path: Path, images: dict[str, Path]) -> None:
    from vstyle.weights import PROJECT_WEIGHTS

    if not (PROJECT_WEIGHTS / "default.safetensors").is_file():
        pytest.skip("no default model in weights/")
    out = tmp_path / "x.png"
    proc = run_vstyle("image", images["photo"], "--style", images["style"], "-o", out, "--json",
                      env={"VSTYLE_HOME": str(tmp_path / "empty")})
    assert proc.returncode == 0, proc.stderr
    assert str(PROJECT_WEIGHTS / "default.safetensors") in proc.stdout


def test_help_texts() -> None:
    for args in (["--help"], ["image", "--help"]):
        proc = run_vstyle(*args)
        assert proc.returncode == 0 and "Examples" in proc.stdout
    proc = run_vstyle("info", "--json")
    assert proc.returncode == 0 and '"versions"' in proc.stdout


def test_every_command_has_examples_and_fits_80_columns() -> None:
    """The README promises examples in every ``--help``; on an 80-column terminal the example lines are not
    rewrapped by click (they are verbatim blocks), so each must fit by itself."""
    import click
    from click.testing import CliRunner

    from vstyle.cli.main import cli

    def walk(command: click.Command, path: list[str]) -> list[list[str]]:
        found = [path]
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                found += walk(sub, [*path, name])
        return found

    paths = walk(cli, [])
    assert ["train", "export"] in paths and ["weights", "show"] in paths
    for path in paths:
        out = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80, prog_name="vstyle").output
        assert "Example" in out, path
        assert [line for line in out.splitlines() if len(line) > 80] == [], path
