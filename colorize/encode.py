"""Encode results to PNG or JPEG, in memory or atomically on disk (never a half-written file)."""
import io
import os
import secrets

import cv2
import numpy as np
from PIL import Image

from .errors import ColorizeError

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}
TEMP_PREFIX = ".colorize-"
TEMP_SUFFIX = ".part"
# PNG encoding is the largest single cost of a photo end to end. zlib level 1 with the "Up" row
# filter (through OpenCV's libpng) is ~2x faster than PIL's level 3 with adaptive filters, and
# photos come out only a few percent larger.
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]


def to_uint8(x):
    out = np.clip(x, 0, 1) * np.float32(255)
    out += np.float32(0.5)
    return out.astype(np.uint8)


def encode_image(rgb, alpha=None, fmt="png", quality=95):
    """RGB float [0, 1] (+ optional alpha) -> encoded bytes (no metadata).

    JPEG has no alpha channel: transparent areas are composited over white, as viewers show them."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ColorizeError(fmt, f"unknown output format (choose from {', '.join(sorted(FORMATS))})")
    if FORMATS[fmt] == "PNG":
        if alpha is not None:
            bgr = cv2.cvtColor(np.dstack([to_uint8(rgb), to_uint8(alpha)]), cv2.COLOR_RGBA2BGRA)
        else:
            bgr = cv2.cvtColor(to_uint8(rgb), cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".png", bgr, PNG_PARAMS)
        if not ok:
            raise ColorizeError("png", "the image could not be encoded")
        return buf.tobytes()
    if alpha is not None:
        a = np.clip(alpha, 0, 1)[..., None]
        rgb = rgb * a + (1.0 - a)
    buf = io.BytesIO()
    Image.fromarray(to_uint8(rgb), "RGB").save(buf, "JPEG", quality=quality, subsampling=0, optimize=True)
    return buf.getvalue()


def write_atomic(path, data):
    """Write bytes to path through a temporary file in the same folder, then rename.

    Readers see either the old file or the complete new one, and an interrupted write leaves
    nothing behind. The file gets the usual permissions (umask), unlike mkstemp's 0600."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
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
