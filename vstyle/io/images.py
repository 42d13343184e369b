"""Still images: read to uint8 RGB HWC, write atomically, resize for processing."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import VStyleError, exception_line
from .atomic import atomic_output

#: HEIC/HEIF (the iPhone's photo format) is read through the optional pillow-heif (``vstyle[heic]``).
HEIF_SUFFIXES = (".heic", ".heif")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".avif", *HEIF_SUFFIXES)
#: Image suffixes no video can be written under (WebP can hold an animation: ``--codec libwebp_anim``).
STILL_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".avif": "AVIF"}
#: Formats whose ``quality`` option sets the lossy compression.
_QUALITY_FORMATS = ("JPEG", "WEBP", "AVIF")


def read_image(path: str | Path, min_side: int = 2) -> np.ndarray:
    """Decode an image file to H×W×3 uint8 sRGB (EXIF rotation applied, an embedded colour profile
    converted to sRGB, alpha composited on white).

    Raises VStyleError (one line) for missing, unreadable, truncated or too-small files.
    """
    path = Path(path)
    if not path.exists():
        raise VStyleError(f"file not found: {path}")
    if path.is_dir():
        raise VStyleError(f"{path} is a folder, not an image")
    require_heif_reader(path)
    try:
        with Image.open(path) as im:
            im.load()  # decode now so truncated files fail here, not later
            im = ImageOps.exif_transpose(im)
            im = to_srgb(_to_8bit(im, path))
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            arr = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        from .video_source import VIDEO_SUFFIXES

        video = path.suffix.lower() in VIDEO_SUFFIXES
        raise VStyleError(f"{path} is not an image this tool can read"
                          + (f"; for a video use: vstyle run {path}" if video else "")) from None
    except PermissionError:
        raise VStyleError(f"cannot read {path}: permission denied") from None
    except Image.DecompressionBombError as exc:  # Pillow refuses to decode past its pixel limit
        raise VStyleError(f"cannot read {path}: {exception_line(exc)}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise VStyleError(f"cannot decode {path}: {exception_line(exc, empty='corrupt file')}") from None
    h, w = arr.shape[:2]
    if min(h, w) < min_side:
        raise VStyleError(f"{path} is {w}×{h}; images need at least {min_side} px per side")
    return np.array(arr, copy=True, order="C")  # PIL buffers are read-only


#: Formats whose extra frames are an animation (an MPO JPEG's second frame is a depth or gain map).
_ANIMATED_FORMATS = ("GIF", "WEBP", "PNG")


def frame_count(path: str | Path) -> int | None:
    """How many frames of an animation an image file holds (an animated GIF, WebP or PNG more than one;
    1 for any other picture); None when Pillow cannot open it (whoever reads it says why)."""
    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1)) if im.format in _ANIMATED_FORMATS else 1
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def _to_8bit(im: Image.Image, path: Path) -> Image.Image:
    """Scale high-depth greyscale images to 8-bit ``L`` (Pillow's own conversion clips them: 16-bit
    greys come out almost white and float greys black). 16- and 32-bit integers are read as 0–65535;
    floats as 0–1 (or 0–255 / 0–65535 when their values say so). Other modes pass through unchanged.
    """
    if not (im.mode.startswith("I") or im.mode == "F"):
        return im
    values = np.asarray(im).astype(np.float64)
    if values.size == 0:
        return im
    lo, hi = float(values.min()), float(values.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise VStyleError(f"{path} holds NaN or infinite pixel values")
    if im.mode == "F" and lo >= 0 and hi <= 1:
        top = 1.0
    elif im.mode == "F" and lo >= 0 and hi <= 255:
        top = 255.0
    elif lo >= 0 and hi <= 65535:
        top = 65535.0
    else:
        raise VStyleError(f"{path} is a {im.mode} image with values from {lo:g} to {hi:g}; "
                          "expected 0–1 (float) or 0–65535 (16-bit); convert it to 8-bit or 16-bit first")
    scaled = np.rint(values * (255.0 / top)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(scaled)  # 2-D uint8: mode L


def require_heif_reader(path: Path) -> None:
    """Let Pillow open HEIC/HEIF files (``path``'s suffix says so) through pillow-heif; one line naming
    the package when it is not installed. Other files: nothing to do."""
    if path.suffix.lower() in HEIF_SUFFIXES and not _heif_opener_registered():
        raise VStyleError(f"{path} is a HEIC/HEIF photo; reading it needs pillow-heif: "
                          'pip install "vstyle[heic]" (or pillow-heif)')


@functools.lru_cache(maxsize=1)
def _heif_opener_registered() -> bool:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def to_srgb(im: Image.Image) -> Image.Image:
    """Convert an image with an embedded ICC profile (Display P3 from phones, Adobe RGB from cameras, a
    printer's CMYK) to sRGB, as browsers and viewers do: read as sRGB numbers its colours come out dull
    or shifted, and the network would paint them so. sRGB profiles are skipped (no change, no cost); a
    profile Little CMS cannot use leaves the numbers as they are, which is what a viewer without colour
    management shows."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "L", "CMYK"):
        return im
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "sRGB" in ImageCms.getProfileDescription(profile):
            return im
        out = ImageCms.profileToProfile(im, profile, _srgb_profile(), renderingIntent=ImageCms.Intent.PERCEPTUAL,
                                        outputMode="RGBA" if im.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im
    return out if out is not None else im


@functools.lru_cache(maxsize=1)
def _srgb_profile() -> Any:
    from PIL import ImageCms

    return ImageCms.createProfile("sRGB")


def image_format(path: Path) -> str:
    """Pillow's format name for writing ``path`` (from its suffix); one line when it is not one we write."""
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise VStyleError(f"cannot write {path.suffix or 'files without an extension'}; use one of "
                          + ", ".join(sorted(WRITE_FORMATS)))
    return fmt


def write_image(path: str | Path, image: np.ndarray, overwrite: bool = False, quality: int = 95,
                metadata_from: Path | None = None) -> Path:
    """Save an H×W×3 uint8 RGB image atomically; format from the suffix. ``metadata_from``: the photo it
    was made from, whose capture metadata it keeps (:func:`capture_exif`; BMP holds none)."""
    path = Path(path)
    fmt = image_format(path)
    kwargs: dict[str, Any] = {"quality": quality} if fmt in _QUALITY_FORMATS else {}
    exif = capture_exif(metadata_from) if metadata_from is not None and fmt != "BMP" else None
    if exif:
        kwargs["exif"] = exif
    with atomic_output(path, overwrite=overwrite) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **kwargs)
    return path


#: IFD0 tags carried to outputs: who made the picture, with what, when. An allow-list, not a deny-list:
#: in a TIFF, IFD0 is the file's own layout (size, strips, compression, ICC profile), which must not be
#: written onto another image, and editors put large XMP blocks there.
_KEPT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)  # description, make, model, software,
#                                                                      date, artist, copyright
_EXIF_IFD = 0x8769
#: Exif sub-IFD tags left behind: the maker's private notes, the original's pixel size, the
#: interoperability pointer (they describe the original file).
_DROPPED_EXIF_TAGS = (0x927C, 0xA002, 0xA003, 0xA005)
#: JPEG holds at most 64 KiB of EXIF in its APP1 segment; anything larger is not carried.
_MAX_EXIF_BYTES = 65_000


def capture_exif(path: Path) -> bytes | None:
    """The EXIF of the photo ``path`` to carry to what is made from it: its date, camera, exposure and
    author (photo libraries sort and group by them), nothing else (:data:`_KEPT_TAGS`): not its layout,
    orientation (the pixels are upright now), GPS position (where a photo was taken should not travel
    with a picture made to be shared) or maker notes. None when it has none or it cannot be read."""
    require_heif_reader(path)
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            kept = Image.Exif()
            for tag in _KEPT_TAGS:
                if tag in exif:
                    kept[tag] = exif[tag]
            sub = {tag: value for tag, value in exif.get_ifd(_EXIF_IFD).items() if tag not in _DROPPED_EXIF_TAGS}
            if sub:
                kept[_EXIF_IFD] = sub
            data = kept.tobytes() if len(kept) else None
    except Exception:  # metadata is a courtesy: a tag Pillow cannot parse or write must not stop the picture
        return None
    return data if data is not None and len(data) <= _MAX_EXIF_BYTES else None


def fitted_size(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """(width, height) scaled down so the longer side is at most ``max_size``; never up."""
    if not max_size:
        return width, height
    scale = max_size / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_within(image: np.ndarray, max_size: int | None) -> np.ndarray:
    """Downscale (area filter) so the longer side is at most ``max_size``; never upscales."""
    h, w = image.shape[:2]
    return resize(image, *fitted_size(w, h, max_size))


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize H×W×3 uint8 to ``width``×``height`` (area when shrinking, bicubic when growing)."""
    import cv2

    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interp)
