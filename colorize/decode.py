"""Decode any common still image into float32 RGB in [0, 1], upright, with its alpha kept aside.

Every failure becomes a ColorizeError naming the file: empty, truncated, not an image, or too
large (checked from the header, before any pixel is decoded, so a decompression bomb costs nothing).
"""
import io
import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ColorizeError

DEFAULT_MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = None  # our own limit (max_pixels) is checked first, with a clearer message
SUPPORTED = "JPEG, PNG, WebP, BMP, TIFF, GIF"
# Only these PIL readers are tried: others (EPS runs Ghostscript, for one) are needless attack surface.
PIL_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "DIB", "TIFF", "GIF")  # JPEG also opens MPO
ORIENTATION_TAG = 0x0112
# A file far larger than its pixels could need is refused before it is read into memory:
# 8 bytes per pixel covers uncompressed 16-bit RGBA, plus room for metadata.
BYTES_PER_PIXEL_LIMIT = 8
METADATA_ALLOWANCE = 16 << 20


@dataclass
class Photo:
    name: str             # where it came from, for messages and output names
    rgb: np.ndarray       # H x W x 3 float32 in [0, 1]
    alpha: np.ndarray | None = None  # H x W float32 in [0, 1], put back on output
    note: str = ""        # something the user should know (e.g. "first frame of 12 used")

    @property
    def size(self):
        return self.rgb.shape[1], self.rgb.shape[0]


def describe_pixels(n):
    """A pixel count the way people say it: '400 MP', or '2,500 pixels' for small limits."""
    return f"{n / 1e6:.3g} MP" if n >= 1e5 else f"{int(n):,} pixels"


def read_bytes(path, max_pixels=DEFAULT_MAX_PIXELS):
    try:
        size = os.path.getsize(path)
        limit = max_pixels * BYTES_PER_PIXEL_LIMIT + METADATA_ALLOWANCE
        if size > limit:
            raise ColorizeError(path, f"the file is {size / 1e6:.0f} MB, too large for an image of at most "
                                      f"{describe_pixels(max_pixels)}")
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise ColorizeError(path, "is a folder, not an image file") from None
    except OSError as e:
        raise ColorizeError(path, f"cannot be read ({e.strerror or e})") from None


def one_line(e):
    """An exception's message on one line (messages from decoders sometimes span several)."""
    text = " ".join(str(e).split())
    return text or type(e).__name__


def load_image(source, data=None, max_pixels=DEFAULT_MAX_PIXELS):
    """Decode a file path (or `data` bytes, with `source` as the name) into a Photo."""
    name = os.fspath(source)
    if data is None:
        data = read_bytes(name, max_pixels)
    if len(data) == 0:
        raise ColorizeError(name, "the file is empty (0 bytes)")
    try:
        im = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
    except UnidentifiedImageError:
        raise ColorizeError(name, f"is not an image this app can read (supported: {SUPPORTED})") from None
    except Exception as e:  # noqa: BLE001 - any header parse failure is a bad file
        raise ColorizeError(name, f"the image header is unreadable ({one_line(e)})") from None
    w, h = im.size
    if w < 1 or h < 1:
        raise ColorizeError(name, f"has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ColorizeError(name, f"is {w}x{h} = {describe_pixels(w * h)}, over the limit of "
                                  f"{describe_pixels(max_pixels)}")
    note = ""
    try:
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            im.seek(0)
            if im.format != "MPO":  # a camera JPEG with extra views (stereo, depth) is just a photo
                note = f"first frame of {frames} used"
        deep = _is_deep_colour(im)
        im.load()  # decodes, and raises on truncated or damaged data before anything else reads it
        orientation = _orientation(im)
        rgb, alpha = _decode_16bit_colour(data) if deep else _decode_pil(im)
    except ColorizeError:
        raise
    except MemoryError:
        raise ColorizeError(name, f"not enough memory to decode this {w}x{h} image") from None
    except Exception as e:  # noqa: BLE001 - PIL raises many types for damaged data
        raise ColorizeError(name, f"the image data is damaged or truncated ({one_line(e)})") from None
    rgb = np.ascontiguousarray(_orient(rgb, orientation))
    if alpha is not None:
        alpha = np.ascontiguousarray(_orient(alpha, orientation))
    return Photo(name, rgb, alpha, note)


def _is_deep_colour(im):
    """True for 16-bit colour (or grey+alpha) PNG/TIFF, which PIL would truncate to 8 bits."""
    if im.format not in ("PNG", "TIFF") or not im.tile:
        return False
    rawmode = str(im.tile[0].args if hasattr(im.tile[0], "args") else im.tile[0][3])
    return im.mode in ("RGB", "RGBA", "LA") and ";16" in rawmode


def _orientation(im):
    """EXIF orientation 1..8; a damaged EXIF block is ignored rather than failing the photo."""
    try:
        value = int(im.getexif().get(ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001 - broken EXIF must not stop a good image
        return 1
    return value if 1 <= value <= 8 else 1


def _as_unit_float(arr, scale):
    out = arr.astype(np.float32)
    out *= np.float32(1.0 / scale)
    return out


def _grey_to_rgb(g):
    return np.repeat(g[..., None], 3, axis=2)


def _decode_pil(im):
    """8-bit (and 16-bit grey) images through PIL -> (rgb, alpha|None)."""
    mode = im.mode
    if mode.startswith("I;16"):
        return _grey_to_rgb(_as_unit_float(np.asarray(im), 65535.0)), None
    if mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        top = float(arr.max(initial=0))
        scale = 1.0 if mode == "F" and top <= 1.0 else 255.0 if top <= 255 else 65535.0
        return _grey_to_rgb(np.clip(arr / scale, 0, 1)), None
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        rgba = _as_unit_float(np.asarray(im.convert("RGBA")), 255.0)
        return rgba[..., :3], rgba[..., 3]
    if mode == "RGB":
        return _as_unit_float(np.asarray(im), 255.0), None
    if mode in ("L", "1"):
        return _grey_to_rgb(_as_unit_float(np.asarray(im.convert("L")), 255.0)), None
    try:
        rgb = im.convert("RGB")
    except ValueError:
        raise ValueError(f"its colour mode {mode} cannot be converted to RGB") from None
    return _as_unit_float(np.asarray(rgb), 255.0), None


def _decode_16bit_colour(data):
    """16-bit colour PNG/TIFF keeps its 16 bits through OpenCV (the data was already validated by PIL)."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None:
        raise ValueError("16-bit image could not be decoded")
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    arr = _as_unit_float(arr, scale)
    if arr.ndim == 2:
        return _grey_to_rgb(arr), None
    if arr.shape[2] == 4:
        return arr[..., 2::-1], arr[..., 3]
    return arr[..., 2::-1], None


def _orient(arr, orientation):
    """Apply EXIF orientation (as a view; the caller makes it contiguous)."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
           7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.swapaxes(a, 0, 1)[::-1]}
    return ops[orientation](arr) if orientation in ops else arr
