"""Encode results to PNG, JPEG or TIFF, in memory or atomically on disk (never a half-written file).

Every output carries the sRGB ICC profile (its pixels are sRGB: colorize.decode converts photos
with other profiles), and, when given the original's PhotoMeta, its EXIF dates and resolution:
PNG as eXIf and pHYs chunks, JPEG as EXIF and JFIF density, TIFF as tags (DateTime holds the date
the photo was taken, when known: libtiff cannot write an EXIF sub-directory next to compression).
"""
import io
import os
import secrets
import struct
import zlib
from functools import cache

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin

from .errors import ColorizeError
from .profiles import srgb_icc
from .strips import row_strips

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF"}
DATETIME_TAG, EXIF_IFD, DATETIME_ORIGINAL_TAG = 0x0132, 0x8769, 0x9003
TEMP_PREFIX = ".colorize-"
TEMP_SUFFIX = ".part"
# PNG encoding is the largest single cost of a photo end to end. zlib level 1 with the "Up" row
# filter (through OpenCV's libpng) is ~2x faster than PIL's level 3 with adaptive filters, and
# photos come out only a few percent larger.
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]


def to_uint8(x):
    """Float [0, 1] -> uint8, rounded; big images in strips (no full-size float temporaries)."""
    x = np.asarray(x)
    if x.ndim < 2:
        return _to_uint8(x)
    out = np.empty(x.shape, np.uint8)
    for rows in row_strips(x.shape[0], x[0].size):
        out[rows] = _to_uint8(x[rows])
    return out


def _to_uint8(x):
    out = np.clip(x, 0, 1) * np.float32(255)
    out += np.float32(0.5)
    return out.astype(np.uint8)


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
        out[rows] = _to_uint8(colour * a + (1.0 - a))
    return out


def encode_image(rgb, alpha=None, fmt="png", quality=95, meta=None):
    """RGB (float [0, 1] or uint8) (+ optional alpha, float [0, 1] or uint8) -> encoded bytes, with
    the sRGB profile and, from `meta` (a decode.PhotoMeta, optional), the original's dates and dpi.

    JPEG has no alpha channel: transparent areas are composited over white, as viewers show them."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ColorizeError(fmt, f"unknown output format (choose from {', '.join(sorted(FORMATS))})")
    kind = FORMATS[fmt]
    dpi = getattr(meta, "dpi", None)
    if kind == "PNG":
        return _encode_png(rgb, alpha, dpi, _exif_bytes(meta))
    if kind == "JPEG":
        rgb = as_uint8(rgb) if alpha is None else over_white(rgb, alpha)
        buf = io.BytesIO()
        extra = {"dpi": _rounded(dpi)} if dpi else {}
        exif = _exif_bytes(meta)
        if exif:
            extra["exif"] = exif
        Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=quality, subsampling=0, optimize=True,
                                         icc_profile=srgb_icc(), **extra)
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


def _encode_png(rgb, alpha, dpi, exif):
    if alpha is not None:
        bgr = cv2.cvtColor(as_uint8(rgb), cv2.COLOR_RGB2BGRA)
        bgr[..., 3] = as_uint8(alpha)
    else:
        bgr = cv2.cvtColor(as_uint8(rgb), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, PNG_PARAMS)
    if not ok:
        raise ColorizeError("png", "the image could not be encoded")
    # OpenCV writes no metadata: the chunks go right after IHDR (before IDAT, where they must be).
    chunks = _iccp_chunk()
    if dpi:
        per_metre = [max(1, round(v / 0.0254)) for v in dpi]
        chunks += _png_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1))
    if exif:
        chunks += _png_chunk(b"eXIf", exif.removeprefix(b"Exif\0\0"))
    data = buf.tobytes()
    end_of_ihdr = 8 + 8 + 13 + 4
    return data[:end_of_ihdr] + chunks + data[end_of_ihdr:]


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


def open_temp(folder, suffix=TEMP_SUFFIX):
    """(open file descriptor, path) of a new, empty hidden file in `folder`, for an output that is
    renamed into place when complete (same folder: same file system, so the rename is atomic).

    Created exclusively, with the usual permissions from the umask (mkstemp's would be 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(6)}{suffix}")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:  # 48 random bits: a clash is next to impossible, but is not an error
            continue


def write_atomic(path, data, temp_suffix=TEMP_SUFFIX):
    """Write bytes to path through a temporary file in the same folder, then rename.

    Readers see either the old file or the complete new one, and an interrupted write leaves
    nothing behind (a killed process leaves its hidden temporary file, never a partial output:
    colorize.batch tags its temporary files with host and process id to clear such leftovers)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = open_temp(folder, temp_suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
