"""Encode results to PNG or JPEG, in memory or atomically on disk (never a half-written file)."""
import io
import os
import tempfile

import numpy as np
from PIL import Image

from .errors import ColorizeError

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}


def to_uint8(x):
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def encode_image(rgb, alpha=None, fmt="png", quality=95):
    """RGB float [0, 1] (+ optional alpha) -> encoded bytes. JPEG has no alpha: it is dropped."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ColorizeError(fmt, f"unknown output format (choose from {', '.join(sorted(FORMATS))})")
    if alpha is not None and FORMATS[fmt] == "PNG":
        im = Image.fromarray(np.dstack([to_uint8(rgb), to_uint8(alpha)]), "RGBA")
    else:
        im = Image.fromarray(to_uint8(rgb), "RGB")
    buf = io.BytesIO()
    if FORMATS[fmt] == "JPEG":
        im.save(buf, "JPEG", quality=quality, subsampling=0, optimize=True)
    else:
        im.save(buf, "PNG", compress_level=3)
    return buf.getvalue()


def write_atomic(path, data):
    """Write bytes to path through a temporary file in the same folder, then rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".colorize-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
