"""Decode any common still image into sRGB pixels, upright, with its alpha kept aside.

Every failure becomes a ColorizeError naming the file: empty, truncated, not an image, too large,
or too costly to decode. Both are checked before any pixel is decoded: the size from the header
(so a decompression bomb costs nothing), the cost from the file's structure (colorize.precheck:
a progressive JPEG with thousands of scans, a JPEG far too short for its header's size, files made
of millions of tiny chunks). Pillow's process-wide settings (its own bomb limit) are left alone.

Colour: an embedded ICC profile is applied (colorize.profiles), so the pixels are sRGB. Float images
must hold finite numbers; outside [0, 1] they are stretched to it, with a note. Kept for the
outputs: the EXIF dates and the resolution (PhotoMeta); nothing else of the original's metadata.

Memory: pixels stay at the depth they were decoded at (8-bit, 16-bit or float), and a black-and-white
photo, whether its file is grey or colour with three equal channels (common for scans), is kept as
one plane. A 40 MP grey scan is then 40 MB where float RGB would be 480 MB; whoever needs float
RGB converts it strip by strip (colorize.lab.lightness) or asks Photo.rgb for the whole image.
"""

import io
import math
import os
import re
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .errors import ColorizeError
from .files import open_regular
from .lab import unit_float, unit_rgb
from .precheck import MAX_TIFF_PAGES, Refused, check_image_bytes
from .profiles import apply_grey_curve, open_input_profile
from .provenance import XMP_TAG, Descriptive, descriptive_fields
from .strips import row_strips

DEFAULT_MAX_PIXELS = 50_000_000  # the page's limit and the command line's default (a 600-dpi 8x10" scan is 29 MP)
LIMIT_OPTION = "the command line's --max-pixels sets it"  # said with every refusal for size, page and CLI alike
SUPPORTED = "JPEG, PNG, WebP, BMP, TIFF, GIF"
# Only these PIL readers are tried: others (EPS runs Ghostscript, for one) are needless attack surface.
PIL_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "DIB", "TIFF", "GIF")  # JPEG also opens MPO
# The file names taken as images (folders for the CLI, the page's uploader, the sample gallery).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
ORIENTATION_TAG = 0x0112
DATETIME_TAG, EXIF_IFD, DATETIME_ORIGINAL_TAG = 0x0132, 0x8769, 0x9003
EXIF_DATE = re.compile(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d")
# A file far larger than its pixels could need is refused before it is read into memory:
# 8 bytes per pixel covers uncompressed 16-bit RGBA, plus room for metadata.
BYTES_PER_PIXEL_LIMIT = 8
METADATA_ALLOWANCE = 16 << 20


def image_files(folder, skip=None, onerror=None):
    """Image files under folder, recursively and sorted; hidden files and the `skip` folder left out.

    Listed by name only: an entry may still be a pipe, a device or a broken link (colorize.files
    tells). onerror(OSError) hears of each folder that cannot be listed (os.walk's onerror)."""
    found = []
    for here, dirs, files in os.walk(folder, onerror=onerror):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (skip is None or Path(here, d).resolve() != skip))
        found += [Path(here, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found)


@dataclass(frozen=True)
class PhotoMeta:
    """What outputs keep of the original's metadata: when it was taken, its resolution, its depth and
    its descriptive fields (title, description, artist, copyright, keywords, comment:
    colorize.provenance). Nothing else (no GPS position, no camera serial number; no orientation:
    outputs are already upright)."""

    dpi: tuple[float, float] | None = None  # (x, y) dots per inch, of the upright image
    date_original: str | None = None  # EXIF DateTimeOriginal, "YYYY:MM:DD HH:MM:SS"
    date: str | None = None  # EXIF DateTime (when the file was last changed)
    bits: int = 8  # bits per channel of the decoded pixels: 16 for 16-bit and float images
    descriptive: Descriptive = Descriptive()

    @property
    def exif_date(self) -> str | None:
        """When the photo was taken, if the file says (else when it was last changed), or None."""
        return self.date_original or self.date


@dataclass
class Photo:
    """A decoded photo: `pixels` as decoded (see the module docstring), `rgb` as float32 sRGB."""

    name: str  # where it came from, for messages and output names
    pixels: np.ndarray  # H x W grey or H x W x 3 sRGB: uint8 (0..255), uint16 (0..65535) or float32 (0..1)
    alpha: np.ndarray | None = None  # H x W float32 in [0, 1], put back on output
    note: str = ""  # something the user should know (e.g. "first frame of 12 used")
    meta: PhotoMeta = field(default_factory=PhotoMeta)

    @cached_property
    def rgb(self) -> np.ndarray:
        """H x W x 3 float32 sRGB in [0, 1] (grey: R = G = B), made from `pixels` when first asked
        for: 12 bytes a pixel, so code that minds memory works from `pixels` instead."""
        return unit_rgb(self.pixels)

    @property
    def is_grey(self) -> bool:
        """Whether the photo is black-and-white (one plane of pixels)."""
        return self.pixels.ndim == 2

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def dpi(self) -> tuple[float, float] | None:
        return self.meta.dpi

    @property
    def exif_date(self) -> str | None:
        return self.meta.exif_date


class _BadPixels(ValueError):
    """Pixel values that cannot be turned into a picture (said to the user as they are)."""


def describe_pixels(n):
    """A pixel count the way people say it: '400 MP', or '2,500 pixels' for small limits."""
    return f"{n / 1e6:.3g} MP" if n >= 1e5 else f"{int(n):,} pixels"


def _check_file_size(name, size, max_pixels):
    limit = max_pixels * BYTES_PER_PIXEL_LIMIT + METADATA_ALLOWANCE
    if size > limit:
        raise ColorizeError(
            name,
            f"the file is {size / 1e6:.0f} MB, too large for an image of at most {describe_pixels(max_pixels)} "
            f"({LIMIT_OPTION})",
        )


def read_bytes(path, max_pixels=DEFAULT_MAX_PIXELS):
    """The bytes of an image file: a regular file only (not a pipe, a device, a socket), its size
    checked before a byte is read (colorize.files)."""
    with open_regular(path, "an image file") as (f, size):
        _check_file_size(path, size, max_pixels)
        try:
            return f.read(size + 1)  # one more: a file still growing is read as far as its size allows
        except OSError as e:
            raise ColorizeError(path, f"cannot be read ({e.strerror or e})") from None


def one_line(e):
    """An exception's message on one line (messages from decoders sometimes span several)."""
    text = " ".join(str(e).split())
    return text or type(e).__name__


def load_image(
    source: str | os.PathLike[str], data: bytes | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Photo:
    """Decode a file path (or `data` bytes, with `source` as the name) into a Photo."""
    name = os.fspath(source)
    if data is None:
        data = read_bytes(name, max_pixels)
    if len(data) == 0:
        raise ColorizeError(name, "the file is empty (0 bytes)")
    _check_file_size(name, len(data), max_pixels)
    try:
        counted_frames = check_image_bytes(data)
    except Refused as e:
        raise ColorizeError(name, str(e)) from None
    im = _open(name, data)
    w, h = im.size
    if w < 1 or h < 1:
        raise ColorizeError(name, f"has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ColorizeError(
            name,
            f"is {w}x{h} = {describe_pixels(w * h)}, over the limit of {describe_pixels(max_pixels)} ({LIMIT_OPTION})",
        )
    notes = []
    try:
        # GIF and TIFF frames were counted by check_image_bytes (Pillow would walk them all, slowly)
        frames = counted_frames or getattr(im, "n_frames", 1)
        if im.format == "TIFF" and frames > MAX_TIFF_PAGES:  # counting stopped there
            notes.append(f"first frame of more than {MAX_TIFF_PAGES:,} used")
        elif frames > 1 and im.format != "MPO":  # a camera JPEG with extra views (stereo, depth) is just a photo
            notes.append(f"first frame of {frames} used")
        deep = _is_deep_colour(im)
        im.load()  # decodes, and raises on truncated or damaged data before anything else reads it
        exif = _exif(im)
        orientation = _orientation(exif)
        profile, profile_note = open_input_profile(im.info.get("icc_profile"))
        if profile_note:
            notes.append(profile_note)
        if profile is not None and not _profile_fits(profile, im.mode):
            notes.append(f"its colour profile ({profile.space}) does not fit its {im.mode} pixels and was ignored")
            profile = None
        if deep and profile is None:
            pixels, alpha = _decode_16bit_colour(data)
        else:  # with a profile, 16-bit colour is colour-managed at 8 bits (Pillow has no 16-bit RGB)
            pixels, alpha = _decode_pil(im, profile, notes)
    except ColorizeError:
        raise
    except _BadPixels as e:
        raise ColorizeError(name, str(e)) from None
    except MemoryError:
        raise ColorizeError(name, f"not enough memory to decode this {w}x{h} image") from None
    except Exception as e:  # noqa: BLE001 - PIL raises many types for damaged data
        raise ColorizeError(name, f"the image data is damaged or truncated ({one_line(e)})") from None
    pixels = np.ascontiguousarray(_orient(pixels, orientation))
    if alpha is not None:
        alpha = np.ascontiguousarray(_orient(alpha, orientation))
    meta = _meta(im, exif, swap=orientation >= 5, bits=8 if pixels.dtype == np.uint8 else 16)
    return Photo(name, pixels, alpha, "; ".join(notes), meta)


def image_size(data):
    """(width, height) from an image's header, after the same cheap checks as load_image (so a file
    made to be slow to parse costs milliseconds here too); None when the file is refused or
    unreadable: load_image then says why. Nothing is decoded."""
    try:
        check_image_bytes(data)
        return _open("", data).size
    except Exception:  # noqa: BLE001 - any problem is reported by load_image itself
        return None


def _open(name, data):
    """Pillow's reader for the file's format, from the formats listed in PIL_FORMATS.

    The same as Image.open(..., formats=PIL_FORMATS) but without Pillow's decompression-bomb check,
    which depends on a process-wide setting: our own limit (max_pixels) is checked right after,
    with a clearer message, and any other code in the process keeps Pillow's default protection."""
    Image.init()
    fp, prefix = io.BytesIO(data), data[:16]
    for fmt in PIL_FORMATS:
        if fmt not in Image.OPEN:
            continue
        factory, accept = Image.OPEN[fmt]
        result = accept(prefix) if accept else True
        if isinstance(result, str) or not result:  # a string is Pillow's "almost, but no"
            continue
        fp.seek(0)
        try:
            return factory(fp, "")
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # as Image.open does: not this format after all
        except Exception as e:  # noqa: BLE001 - any header parse failure is a bad file
            raise ColorizeError(name, f"the image header is unreadable ({one_line(e)})") from None
    raise ColorizeError(name, f"is not an image Colorize can read (supported: {SUPPORTED})")


def _is_deep_colour(im):
    """True for 16-bit colour (or grey+alpha) PNG/TIFF, which PIL would truncate to 8 bits."""
    if im.format not in ("PNG", "TIFF") or not im.tile:
        return False
    rawmode = str(im.tile[0].args if hasattr(im.tile[0], "args") else im.tile[0][3])
    return im.mode in ("RGB", "RGBA", "LA") and ";16" in rawmode


def _exif(im):
    try:
        return im.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF must not stop a good image
        return {}


def _orientation(exif):
    """EXIF orientation 1..8; a damaged EXIF block is ignored rather than failing the photo."""
    try:
        value = int(exif.get(ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001
        return 1
    return value if 1 <= value <= 8 else 1


def _meta(im, exif, swap, bits=8):
    """The metadata outputs keep: EXIF dates (well-formed ones only), the resolution, the depth and
    the descriptive fields."""

    def date(value):
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        value = str(value or "").strip("\0 ")
        return value if EXIF_DATE.fullmatch(value) else None

    try:
        original = date(exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL_TAG)) if hasattr(exif, "get_ifd") else None
    except Exception:  # noqa: BLE001
        original = None
    try:
        changed = date(exif.get(DATETIME_TAG))
    except Exception:  # noqa: BLE001
        changed = None
    dpi = None
    try:
        x, y = (float(v) for v in im.info.get("dpi"))
        if all(math.isfinite(v) and 1 <= v <= 100_000 for v in (x, y)):
            dpi = (round(y, 2), round(x, 2)) if swap else (round(x, 2), round(y, 2))
    except Exception:  # noqa: BLE001 - no resolution, or a meaningless one
        pass
    try:
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or getattr(im, "tag_v2", {}).get(XMP_TAG)
    except Exception:  # noqa: BLE001 - a damaged XMP tag must not stop a good image
        xmp = None
    return PhotoMeta(dpi, original, changed, bits, descriptive_fields(exif, im.info, xmp))


def _as_unit_float(arr, scale):
    out = arr.astype(np.float32)
    out *= np.float32(1.0 / scale)
    return out


def _array(im):
    """A PIL image's pixels as a new numpy array, copied a strip of rows at a time (np.asarray(im)
    would hold the whole image twice more for a moment, as bytes)."""
    w, h = im.size
    out = None
    for rows in row_strips(h, w):
        part = np.asarray(im.crop((0, rows.start, w, rows.stop)))
        if out is None:
            out = np.empty((h, *part.shape[1:]), part.dtype)
        out[rows] = part
    return out


def _grey_if_equal(rgb):
    """One plane (a copy of the first channel) for an RGB array whose three channels are equal
    everywhere: a black-and-white photo saved in colour, as scans often are. Else `rgb` itself.
    Checked strip by strip; a colour photo usually shows itself in the first strip."""
    for rows in row_strips(*rgb.shape[:2]):
        strip = rgb[rows]
        if not (np.array_equal(strip[..., 0], strip[..., 1]) and np.array_equal(strip[..., 0], strip[..., 2])):
            return rgb
    return np.ascontiguousarray(rgb[..., 0])


GREY_MODES = ("L", "LA", "La", "1", "I", "F", "I;16", "I;16L", "I;16B", "I;16N")


def _profile_fits(profile, mode):
    """Whether an ICC profile can describe pixels of this mode (an RGB profile on a grey image
    can: grey is R = G = B in that space)."""
    if profile.space == "GRAY":
        return mode in GREY_MODES
    if profile.space == "RGB":
        return mode not in ("CMYK", "LAB", "HSV", "YCbCr")
    return profile.space == "CMYK" and mode == "CMYK"


def _decode_pil(im, profile, notes):
    """PIL image (8-bit, 16-bit grey, 32-bit int or float grey) -> (pixels, alpha|None), in sRGB
    (`profile`: the image's own ICC profile, one that fits its mode, or None for sRGB): one plane
    for black and white, 8-bit as uint8, 16-bit grey as uint16, others float32 (Photo.pixels)."""
    mode = im.mode
    if mode in GREY_MODES:
        curve = None if profile is None else profile.grey_curve()
        alpha = None
        if mode in ("L", "1"):
            grey = _array(im if mode == "L" else im.convert("L"))
        elif mode in ("LA", "La"):
            la = _array(im.convert("LA"))
            grey, alpha = np.ascontiguousarray(la[..., 0]), _as_unit_float(la[..., 1], 255.0)
        else:
            grey = _high_bit_grey(im, notes)
        return (grey if curve is None else apply_grey_curve(curve, grey)), alpha
    alpha = None
    if mode in ("RGBA", "PA", "RGBa") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        alpha = _as_unit_float(np.asarray(rgba.getchannel("A")), 255.0)
        im = rgba.convert("RGB")
    elif mode == "CMYK" and profile is not None:
        return _grey_if_equal(_array(profile.to_srgb(im))), None
    elif mode != "RGB":
        try:
            im = im.convert("RGB")
        except ValueError:
            raise ValueError(f"its colour mode {mode} cannot be converted to RGB") from None
    if profile is not None:
        im = profile.to_srgb(im)
    return _grey_if_equal(_array(im)), alpha


def _high_bit_grey(im, notes):
    """16-bit, 32-bit integer or float grey -> uint16 (16-bit: as it is) or float32 in [0, 1].

    32-bit integers: /255 or /65535 when they fit those ranges (8- or 16-bit data
    stored wide), else stretched. Float: as it is in [0, 1], the usual convention; outside it,
    stretched from its own range (from 0 when it has no negative values) to [0, 1], with a note:
    a float image up to 1000 is no longer nearly black. NaN or infinity is refused."""
    if im.mode.startswith("I;16"):
        return _array(im).astype(np.uint16, copy=False)  # in this machine's byte order
    arr = _array(im).astype(np.float32, copy=False)  # a new array: stretched in place below
    if im.mode == "F":
        bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise _BadPixels(
                f"has {bad:,} pixel{'s' * (bad != 1)} that {'are' if bad != 1 else 'is'} not a number "
                "(NaN or infinity); a float image needs finite values"
            )
    lo, hi = float(arr.min(initial=0)), float(arr.max(initial=0))
    if im.mode == "F" and lo >= 0 and hi <= 1:
        return arr
    if im.mode == "I" and lo >= 0 and hi <= 65535:
        return arr * np.float32(1 / (255.0 if hi <= 255 else 65535.0))
    lo = min(lo, 0.0)
    notes.append(f"its values ({lo:g} to {hi:g}) were stretched to black..white")
    if hi <= lo:
        return np.zeros_like(arr)
    arr -= np.float32(lo)
    arr *= np.float32(1 / (hi - lo))
    return arr


def _decode_16bit_colour(data):
    """16-bit colour PNG/TIFF keeps its 16 bits through OpenCV (the data was already validated by
    PIL): (uint16 pixels, one plane when the channels are equal; alpha as float32 or None)."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None:
        raise ValueError("16-bit image could not be decoded")
    if arr.dtype not in (np.uint8, np.uint16):  # not expected of a 16-bit PNG or TIFF: scaled as before
        arr = _as_unit_float(arr, 255.0)
    if arr.ndim == 2:
        return arr, None
    alpha = unit_float(arr[..., 3]) if arr.shape[2] == 4 else None
    rgb = np.ascontiguousarray(arr[..., 2::-1])
    del arr
    return _grey_if_equal(rgb), alpha


def _orient(arr, orientation):
    """Apply EXIF orientation (as a view; the caller makes it contiguous)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    return ops[orientation](arr) if orientation in ops else arr
