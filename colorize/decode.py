"""Decode any common still image into float32 RGB in [0, 1], upright, with its alpha kept aside.

Every failure becomes a ColorizeError naming the file: empty, truncated, not an image, or too
large (checked from the header, before any pixel is decoded, so a decompression bomb costs nothing).
"""
import io
import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ColorizeError

DEFAULT_MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = None  # our own limit (max_pixels) is checked first, with a clearer message


@dataclass
class Photo:
    name: str             # where it came from, for messages and output names
    rgb: np.ndarray       # H x W x 3 float32 in [0, 1]
    alpha: np.ndarray | None = None  # H x W float32 in [0, 1], put back on output
    note: str = ""        # something the user should know (e.g. "first frame of 12")

    @property
    def size(self):
        return self.rgb.shape[1], self.rgb.shape[0]


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ColorizeError(path, f"cannot be read ({e.strerror or e})") from None


def load_image(source, data=None, max_pixels=DEFAULT_MAX_PIXELS):
    """Decode a file path (or `data` bytes, with `source` as the name) into a Photo."""
    name = os.fspath(source)
    if data is None:
        data = read_bytes(name)
    if len(data) == 0:
        raise ColorizeError(name, "the file is empty (0 bytes)")
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ColorizeError(name, "is not an image this app can read (supported: JPEG, PNG, WebP, BMP, TIFF, GIF)") from None
    except Exception as e:  # noqa: BLE001 - any header parse failure is a bad file
        raise ColorizeError(name, f"the image header is unreadable ({e})") from None
    w, h = im.size
    if w * h > max_pixels:
        raise ColorizeError(name, f"is {w}x{h} = {w * h / 1e6:.0f} MP, over the limit of {max_pixels / 1e6:.0f} MP")
    if w < 1 or h < 1:
        raise ColorizeError(name, f"has no pixels ({w}x{h})")
    note = ""
    try:
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            im.seek(0)
            note = f"first frame of {frames} used"
        deep = _decode_16bit(im, data)
        rgb, alpha = deep if deep is not None else _decode_8bit(im)
    except ColorizeError:
        raise
    except Exception as e:  # noqa: BLE001 - PIL raises many types for damaged data
        raise ColorizeError(name, f"the image data is damaged or truncated ({e})") from None
    return Photo(name, rgb, alpha, note)


def _decode_8bit(im):
    im.load()
    im = ImageOps.exif_transpose(im)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        scale = 65535.0 if im.mode.startswith("I") and arr.max(initial=0) > 255 else 255.0
        g = np.clip(arr / scale, 0, 1)
        return np.repeat(g[..., None], 3, axis=2), None
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        return np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0, None


def _decode_16bit(im, data):
    """16-bit-per-channel colour PNG/TIFF: PIL would truncate to 8 bits, OpenCV keeps them."""
    if im.format not in ("PNG", "TIFF") or im.mode not in ("RGB", "RGBA", "I;16", "I;16B", "I;16L", "I"):
        return None
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None or arr.dtype != np.uint16:
        return None
    arr = arr.astype(np.float32) / 65535.0
    if arr.ndim == 2:
        rgb, alpha = np.repeat(arr[..., None], 3, axis=2), None
    elif arr.shape[2] == 4:
        rgb, alpha = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)[..., :3], arr[..., 3]
    else:
        rgb, alpha = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), None
    orientation = im.getexif().get(0x0112, 1)
    rgb, alpha = _orient(rgb, orientation), None if alpha is None else _orient(alpha, orientation)
    return np.ascontiguousarray(rgb), alpha if alpha is None else np.ascontiguousarray(alpha)


def _orient(arr, orientation):
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
           7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.swapaxes(a, 0, 1)[::-1]}
    return ops[orientation](arr) if orientation in ops else arr
