"""Encode results to PNG, JPEG or TIFF, in memory (colorize.atomic writes them to disk whole).

Every output carries the sRGB ICC profile (its pixels are sRGB: colorize.decode converts photos
with other profiles) and a record that its colours were added by this program (colorize.provenance:
EXIF Software and XMP with the IPTC digital source type for media edited by a trained model, naming
the model), and, when given the original's PhotoMeta, its EXIF dates, resolution and descriptive
fields (title, description, artist, copyright, keywords, comment): PNG as eXIf, pHYs and iTXt XMP
chunks, JPEG as EXIF, XMP and JFIF density, TIFF as tags with an EXIF sub-directory.

Depth: PNG and TIFF are 16 bits per channel when the pixels given are uint16, or float from an
original of more than 8 bits (PhotoMeta.bits); JPEG is always 8 bits. TIFFs are written here (deflate
with horizontal differencing), since Pillow has no 16-bit colour.

That sRGB profile is this package's own (its date pinned, colorize.profiles), so `made_by_colorize`
tells an output from a photo by reading a few kilobytes: a batch over a folder that holds an earlier
run's outputs does not take them for photos.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image

from . import provenance as md
from .errors import ColorizeError
from .files import open_regular
from .lab import to_uint8
from .profiles import srgb_icc
from .strips import row_strips

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .decode import PhotoMeta

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF"}
DEEP_FORMATS = ("PNG", "TIFF")  # the formats that keep 16 bits per channel
# PNG encoding is the largest single cost of a photo end to end. zlib level 1 with the "Up" row
# filter (through OpenCV's libpng) is ~2x faster than PIL's level 3 with adaptive filters, and
# photos come out only a few percent larger.
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
TIFF_STRIP_BYTES = 1 << 18  # uncompressed bytes per TIFF strip
TIFF_DEFLATE_LEVEL = 6


def as_uint8(x):
    """uint8 as it is, uint16 scaled down, float [0, 1] through to_uint8: encoders take any."""
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.uint16:
        out = np.empty(x.shape, np.uint8)
        for rows in row_strips(x.shape[0], x[0].size):
            out[rows] = ((x[rows].astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
        return out
    return to_uint8(x)


def to_uint16(x):
    """uint16 as it is, uint8 scaled up (x 257), float [0, 1] rounded to 0..65535; in strips."""
    if x.dtype == np.uint16:
        return x
    out = np.empty(x.shape, np.uint16)
    for rows in row_strips(x.shape[0], x[0].size):
        part = x[rows]
        if part.dtype == np.uint8:
            out[rows] = part.astype(np.uint16) * 257
        else:
            out[rows] = np.clip(part * np.float32(65535) + np.float32(0.5), 0, 65535).astype(np.uint16)
    return out


def render_16_bits(model, prediction, vividness=None, upsample="guided"):
    """colorize.pipeline.render straight into 16 bits per channel (uint16), strip by strip: the
    result of an original deeper than 8 bits, with no full-size float image."""
    from .lab import recombine_strip
    from .pipeline import upsampler

    up = upsampler(model, prediction, vividness, upsample)
    out = np.empty((*prediction.L.shape, 3), np.uint16)
    for rows in up.strips():
        out[rows] = to_uint16(recombine_strip(prediction.L[rows], *up.rows(rows)))
    return out


def over_white(rgb, alpha):
    """RGB (float [0, 1] or uint8) composited over white by alpha (float [0, 1] or uint8) -> uint8."""
    out = np.empty(rgb.shape, np.uint8)
    for rows in row_strips(*rgb.shape[:2]):
        colour, a = rgb[rows], alpha[rows]
        colour = colour * np.float32(1 / 255) if colour.dtype == np.uint8 else colour
        colour = colour * np.float32(1 / 65535) if colour.dtype == np.uint16 else colour
        a = a * np.float32(1 / 255) if a.dtype == np.uint8 else np.clip(a, 0, 1)
        a = a[..., None]
        out[rows] = to_uint8(colour * a + (1.0 - a))
    return out


def wants_16_bits(rgb, meta=None) -> bool:
    """Whether an output of these pixels keeps 16 bits per channel (in PNG and TIFF)."""
    return rgb.dtype == np.uint16 or (rgb.dtype.kind == "f" and getattr(meta, "bits", 8) > 8)


def encode_image(
    rgb: NDArray[Any],
    alpha: NDArray[Any] | None = None,
    fmt: str = "png",
    quality: int = 95,
    meta: PhotoMeta | None = None,
    reuse_rgb: bool = False,
    model: Any = None,
) -> bytes:
    """RGB (float [0, 1], uint8 or uint16) (+ optional alpha, float [0, 1] or uint8) -> encoded
    bytes, with the sRGB profile, the colourisation record (naming `model`, a ColorModel or its
    label, when given) and, from `meta` (a decode.PhotoMeta, optional), the original's dates, dpi,
    descriptive fields and depth (see the module docstring).

    JPEG has no alpha channel: transparent areas are composited over white, as viewers show them.
    reuse_rgb: the caller hands over a uint8 `rgb` it will not use again, so PNG encoding may turn
    it into BGR in place rather than copy it (a 40 MP photo: 120 MB less at the peak)."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ColorizeError(fmt, f"unknown output format (choose from {', '.join(sorted(FORMATS))})")
    kind = FORMATS[fmt]
    dpi = getattr(meta, "dpi", None)
    rec = md.record(model)
    deep = kind in DEEP_FORMATS and wants_16_bits(rgb, meta)
    if kind == "PNG":
        return _encode_png(rgb, alpha, dpi, meta, rec, reuse_rgb, deep)
    if kind == "JPEG":
        rgb = as_uint8(rgb) if alpha is None else over_white(rgb, alpha)
        buf = io.BytesIO()
        extra = {"dpi": _rounded(dpi)} if dpi else {}
        Image.fromarray(rgb, "RGB").save(
            buf,
            "JPEG",
            quality=quality,
            subsampling=0,
            optimize=True,
            icc_profile=srgb_icc(),
            exif=md.exif_block(meta, rec),
            xmp=md.xmp_packet(meta, rec),
            **extra,
        )
        return buf.getvalue()
    return _encode_tiff(rgb, alpha, meta, rec, deep)


def _rounded(dpi):
    return tuple(int(round(v)) for v in dpi)


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@cache
def _iccp_chunk():
    return _png_chunk(b"iCCP", b"sRGB\0\0" + zlib.compress(srgb_icc(), 9))


def _encode_png(rgb, alpha, dpi, meta, rec, reuse_rgb=False, deep=False):
    depth = to_uint16 if deep else as_uint8
    if alpha is not None:
        bgr = cv2.cvtColor(depth(rgb), cv2.COLOR_RGB2BGRA)
        bgr[..., 3] = depth(alpha)
    elif reuse_rgb and not deep and rgb.dtype == np.uint8 and rgb.flags.c_contiguous and rgb.flags.writeable:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=rgb)  # in place: no full-size copy
    else:
        bgr = cv2.cvtColor(depth(rgb), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, PNG_PARAMS)
    del bgr
    if not ok:
        raise ColorizeError("png", "the image could not be encoded")
    # OpenCV writes no metadata: the chunks go right after IHDR (before IDAT, where they must be).
    chunks = _iccp_chunk()
    if dpi:
        per_metre = [max(1, round(v / 0.0254)) for v in dpi]
        chunks += _png_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1))
    chunks += _png_chunk(b"eXIf", md.exif_block(meta, rec).removeprefix(b"Exif\0\0"))
    chunks += _png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + md.xmp_packet(meta, rec))
    data, end_of_ihdr = buf.reshape(-1).data, 8 + 8 + 13 + 4  # a memoryview: no copy
    return b"".join((data[:end_of_ihdr], chunks, data[end_of_ihdr:]))  # one copy of a big PNG, not three


def _tiff_strips(pixels):
    """Deflate-compressed strips of horizontally differenced rows (TIFF predictor 2), and the rows
    per strip."""
    h, w, channels = pixels.shape
    rows = max(1, TIFF_STRIP_BYTES // (w * channels * pixels.itemsize))
    strips = []
    for top in range(0, h, rows):
        part = pixels[top : top + rows]
        diff = part.copy()
        diff[:, 1:] -= part[:, :-1]  # unsigned: wraps around, as the predictor does
        little = diff.astype(diff.dtype.newbyteorder("<"), copy=False)
        strips.append(zlib.compress(little.tobytes(), TIFF_DEFLATE_LEVEL))
    return strips, rows


def _encode_tiff(rgb, alpha, meta, rec, deep=False):
    depth = to_uint16 if deep else as_uint8
    pixels = depth(rgb) if alpha is None else np.dstack([depth(rgb), depth(alpha)])
    h, w, channels = pixels.shape
    strips, rows = _tiff_strips(pixels)
    del pixels
    ifd0, exif = md.exif_entries(meta, rec, windows_fields=False)
    bits = 16 if deep else 8
    ifd0 += [
        md.long_entry(256, w),
        md.long_entry(257, h),
        md.short_entry(258, *[bits] * channels),
        md.short_entry(259, 8),  # Adobe deflate
        md.short_entry(262, 2),  # RGB
        md.short_entry(277, channels),
        md.long_entry(278, rows),
        md.long_entry(279, *[len(s) for s in strips]),
        md.short_entry(284, 1),  # chunky
        md.short_entry(317, 2),  # horizontal differencing
        md.bytes_entry(md.XMP_TAG, md.xmp_packet(meta, rec)),
        md.bytes_entry(md.ICC_TAG, srgb_icc(), md.UNDEFINED),
    ]
    if alpha is not None:
        ifd0.append(md.short_entry(338, 2))  # unassociated alpha
    if not getattr(meta, "dpi", None):  # baseline TIFF needs a resolution: 1:1, no unit (aspect ratio only)
        ifd0 += [md.rational_entry(282, 1), md.rational_entry(283, 1), md.short_entry(296, 1)]
    offsets = md.long_entry(273, *[0] * len(strips))
    _, start = md.tiff_structure([*ifd0, offsets], exif)
    at = np.cumsum([start] + [len(s) for s in strips[:-1]]).tolist()
    head, _ = md.tiff_structure([*ifd0, md.long_entry(273, *at)], exif)
    return b"".join([head, *strips])


HEAD_BYTES = 1 << 16  # our outputs' profile: after IHDR, in APP2 (after EXIF and XMP) or after the TIFF IFD


def made_by_colorize(path) -> bool:
    """Whether the image file at `path` is an output of this package: it carries the sRGB profile
    exactly where encode_image puts it (PNG: right after IHDR, compressed as we compress it; JPEG:
    in its first segments; TIFF: beside its first directory). A few kilobytes are read; any problem
    reading them means no (whoever reads the file later says what is wrong)."""
    try:
        with open_regular(path) as (f, _):
            head = f.read(HEAD_BYTES)
            if head.startswith(b"\x89PNG\r\n\x1a\n"):
                iccp = _iccp_chunk()
                return head[33 : 33 + len(iccp)] == iccp
            if head.startswith(b"\xff\xd8"):
                return b"ICC_PROFILE\0\x01\x01" + srgb_icc() in head
            if head[:4] in (b"II*\0", b"MM\0*"):
                (directory,) = struct.unpack(("<" if head[:2] == b"II" else ">") + "I", head[4:8])
                f.seek(directory)
                return srgb_icc() in f.read(HEAD_BYTES)
    except (ColorizeError, OSError, ValueError, struct.error):
        return False
    return False
