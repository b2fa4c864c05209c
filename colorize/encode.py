"""Encode results to PNG or JPEG, in memory or atomically on disk (never a half-written file)."""
import io
import os
import secrets

import cv2
import numpy as np
from PIL import Image

from .errors import ColorizeError
from .strips import row_strips

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}
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


def encode_image(rgb, alpha=None, fmt="png", quality=95):
    """RGB (float [0, 1] or uint8) (+ optional alpha, float [0, 1] or uint8) -> encoded bytes
    (no metadata).

    JPEG has no alpha channel: transparent areas are composited over white, as viewers show them."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ColorizeError(fmt, f"unknown output format (choose from {', '.join(sorted(FORMATS))})")
    if FORMATS[fmt] == "PNG":
        if alpha is not None:
            bgr = cv2.cvtColor(as_uint8(rgb), cv2.COLOR_RGB2BGRA)
            bgr[..., 3] = as_uint8(alpha)
        else:
            bgr = cv2.cvtColor(as_uint8(rgb), cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".png", bgr, PNG_PARAMS)
        if not ok:
            raise ColorizeError("png", "the image could not be encoded")
        return buf.tobytes()
    rgb = as_uint8(rgb) if alpha is None else over_white(rgb, alpha)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=quality, subsampling=0, optimize=True)
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


def write_atomic(path, data):
    """Write bytes to path through a temporary file in the same folder, then rename.

    Readers see either the old file or the complete new one, and an interrupted write leaves
    nothing behind."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = open_temp(folder)
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
