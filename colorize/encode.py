"""Encode results to PNG, JPEG or TIFF, in memory (colorize.atomic writes them to disk whole).

Every output carries the sRGB ICC profile (its pixels are sRGB: colorize.decode converts photos
with other profiles), and, when given the original's PhotoMeta, its EXIF dates and resolution:
PNG as eXIf and pHYs chunks, JPEG as EXIF and JFIF density, TIFF as tags (DateTime holds the date
the photo was taken, when known: libtiff cannot write an EXIF sub-directory next to compression).
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin

from .errors import ColorizeError
from .lab import to_uint8
from .profiles import srgb_icc
from .strips import row_strips

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .decode import PhotoMeta

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF"}
DATETIME_TAG, EXIF_IFD, DATETIME_ORIGINAL_TAG = 0x0132, 0x8769, 0x9003
# PNG encoding is the largest single cost of a photo end to end. zlib level 1 with the "Up" row
# filter (through OpenCV's libpng) is ~2x faster than PIL's level 3 with adaptive filters, and
# photos come out only a few percent larger.
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]


def as_uint8(x):
    """uint8 as it is, float [0, 1] through to_uint8: encoders take either."""
    return x if x.dtype == np.uint8 else to_uint8(x)


def over_white(rgb, alpha):
    """RGB (float [0, 1] or uint8) composited over white by alpha (float [0, 1] or uint8) -> uint8."""
    out = np.empty(rgb.shape, np.uint8)
    for rows in row_strips(*rgb.shape[:2]):
        colour, a = rgb[rows], alpha[rows]
        colour = colour * np.float32(1 / 255) if colour.dtype == np.uint8 else colour
        a = a * np.float32(1 / 255) if a.dtype == np.uint8 else np.clip(a, 0, 1)
        a = a[..., None]
        out[rows] = to_uint8(colour * a + (1.0 - a))
    return out


def encode_image(
    rgb: NDArray[Any],
    alpha: NDArray[Any] | None = None,
    fmt: str = "png",
    quality: int = 95,
    meta: PhotoMeta | None = None,
    reuse_rgb: bool = False,
) -> bytes:
    """RGB (float [0, 1] or uint8) (+ optional alpha, float [0, 1] or uint8) -> encoded bytes, with
    the sRGB profile and, from `meta` (a decode.PhotoMeta, optional), the original's dates and dpi.

    JPEG has no alpha channel: transparent areas are composited over white, as viewers show them.
    reuse_rgb: the caller hands over a uint8 `rgb` it will not use again, so PNG encoding may turn
    it into BGR in place rather than copy it (a 40 MP photo: 120 MB less at the peak)."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ColorizeError(fmt, f"unknown output format (choose from {', '.join(sorted(FORMATS))})")
    kind = FORMATS[fmt]
    dpi = getattr(meta, "dpi", None)
    if kind == "PNG":
        return _encode_png(rgb, alpha, dpi, _exif_bytes(meta), reuse_rgb)
    if kind == "JPEG":
        rgb = as_uint8(rgb) if alpha is None else over_white(rgb, alpha)
        buf = io.BytesIO()
        extra = {"dpi": _rounded(dpi)} if dpi else {}
        exif = _exif_bytes(meta)
        if exif:
            extra["exif"] = exif
        Image.fromarray(rgb, "RGB").save(
            buf, "JPEG", quality=quality, subsampling=0, optimize=True, icc_profile=srgb_icc(), **extra
        )
        return buf.getvalue()
    return _encode_tiff(rgb, alpha, dpi, getattr(meta, "exif_date", None))


def _rounded(dpi):
    return tuple(int(round(v)) for v in dpi)


def _exif_bytes(meta):
    """An EXIF block holding only the dates (DateTime in IFD0, DateTimeOriginal in the EXIF IFD)."""
    original, changed = getattr(meta, "date_original", None), getattr(meta, "date", None)
    if not (original or changed):
        return b""
    exif = Image.Exif()
    if changed:
        exif[DATETIME_TAG] = changed
    if original:
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL_TAG] = original
    return exif.tobytes()


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@cache
def _iccp_chunk():
    return _png_chunk(b"iCCP", b"sRGB\0\0" + zlib.compress(srgb_icc(), 9))


def _encode_png(rgb, alpha, dpi, exif, reuse_rgb=False):
    if alpha is not None:
        bgr = cv2.cvtColor(as_uint8(rgb), cv2.COLOR_RGB2BGRA)
        bgr[..., 3] = as_uint8(alpha)
    elif reuse_rgb and rgb.dtype == np.uint8 and rgb.flags.c_contiguous and rgb.flags.writeable:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=rgb)  # in place: no full-size copy
    else:
        bgr = cv2.cvtColor(as_uint8(rgb), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, PNG_PARAMS)
    del bgr
    if not ok:
        raise ColorizeError("png", "the image could not be encoded")
    # OpenCV writes no metadata: the chunks go right after IHDR (before IDAT, where they must be).
    chunks = _iccp_chunk()
    if dpi:
        per_metre = [max(1, round(v / 0.0254)) for v in dpi]
        chunks += _png_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1))
    if exif:
        chunks += _png_chunk(b"eXIf", exif.removeprefix(b"Exif\0\0"))
    data, end_of_ihdr = buf.reshape(-1).data, 8 + 8 + 13 + 4  # a memoryview: no copy
    return b"".join((data[:end_of_ihdr], chunks, data[end_of_ihdr:]))  # one copy of a big PNG, not three


def _encode_tiff(rgb, alpha, dpi, date):
    if alpha is not None:
        im = Image.fromarray(np.dstack([as_uint8(rgb), as_uint8(alpha)]), "RGBA")
    else:
        im = Image.fromarray(as_uint8(rgb), "RGB")
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    if date:
        tags[DATETIME_TAG] = date
    buf = io.BytesIO()
    extra = {"dpi": dpi} if dpi else {}
    im.save(buf, "TIFF", compression="tiff_adobe_deflate", icc_profile=srgb_icc(), tiffinfo=tags, **extra)
    return buf.getvalue()
