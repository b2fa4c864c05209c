"""sRGB <-> CIE Lab in float32 (OpenCV's float path: 8-bit Lab would lose up to 27 levels), and float
RGB in [0, 1] to 8 bits, rounded, for the encoders and the screen."""

import cv2
import numpy as np

from .strips import row_strips


def rgb_to_lab(rgb):
    """float32 RGB in [0, 1] (H x W x 3) -> Lab with L in 0..100, a/b roughly -128..127."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab):
    """Lab (H x W x 3, float32) -> RGB float32 clipped to [0, 1]."""
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


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


def unit_float(pixels):
    """Decoded pixels (uint8 0..255, uint16 0..65535, or float 0..1) -> float32 in [0, 1], scaled
    as colorize.decode always has, so that a strip converted alone equals that strip of the whole."""
    if pixels.dtype.kind == "u" and pixels.dtype.itemsize <= 2:
        out = pixels.astype(np.float32)
        out *= np.float32(1.0 / (255.0 if pixels.dtype.itemsize == 1 else 65535.0))
        return out
    return np.asarray(pixels, np.float32)


def unit_rgb(pixels):
    """Decoded pixels, grey (H x W) or RGB (H x W x 3), any depth unit_float takes -> float32 RGB in
    [0, 1] (grey as R = G = B)."""
    rgb = unit_float(pixels)
    return np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb


def lightness(image):
    """The L channel (0..100) of an image, contiguous: float RGB in [0, 1], or a photo's pixels as
    decoded (colorize.decode.Photo.pixels: one grey plane or RGB, 8-bit, 16-bit or float). Made in
    strips, each made float RGB for its own rows only: a 40 MP grey scan's whole float RGB and Lab
    would be 480 MB each, its L is 160 MB."""
    L = np.empty(image.shape[:2], np.float32)
    for rows in row_strips(*L.shape):
        L[rows] = cv2.extractChannel(rgb_to_lab(unit_rgb(image[rows])), 0)
    return L


def gray_rgb(L):
    """L (0..100) -> the neutral RGB image with that lightness (a = b = 0)."""
    lab = np.zeros(L.shape + (3,), np.float32)
    lab[..., 0] = L
    return lab_to_rgb(lab)


# Chroma scales tried, largest first, for pixels whose colour is outside the sRGB gamut: most are
# only slightly outside, so after the first step few pixels remain to revisit.
CHROMA_STEPS = (0.85, 0.7, 0.5, 0.3, 0.15, 0.0)
# How far a colour may come back from sRGB and still count as representable: above OpenCV's own
# float round-trip error (up to ~0.25 in L and ~0.6 in a/b), far below a visible difference.
AB_TOLERANCE = 1.5


def recombine(L, ab, refine=2, tolerance=0.5):
    """L (H x W) + a/b (H x W x 2) -> RGB [0, 1] whose lightness is L (see recombine_strip)."""
    out = np.empty(L.shape + (3,), np.float32)
    for rows in row_strips(*L.shape):
        a, b = cv2.split(np.ascontiguousarray(ab[rows], np.float32))
        out[rows] = recombine_strip(L[rows], a, b, refine, tolerance)
    return out


def recombine_strip(L, a, b, refine=2, tolerance=0.5):
    """L, a, b (three h x W planes) -> RGB [0, 1] whose lightness is L, made at once (for a strip;
    recombine and the renderer work strip by strip so that no full-size float Lab is made).

    A colour outside the sRGB gamut would be clipped, which shifts its lightness and hue; instead
    its chroma is scaled down toward grey, per pixel, to (nearly) the most that sRGB can show at
    that lightness, so the photo's own L survives (within `tolerance`) and hues stay put. Only
    those pixels are revisited, gathered into one long row of separate channels (cv2 and numpy
    are slow on many short rows and on interleaved channels), which keeps this cheap on big photos."""
    L, a, b = (np.ascontiguousarray(x, np.float32) for x in (L, a, b))
    rgb = lab_to_rgb(cv2.merge([L, a, b]))
    # Only a pixel with a channel clipped to 0 or 1 can be off (cv2 clips exactly to 0 and 1).
    clipped = np.flatnonzero(cv2.inRange(rgb, (1e-6,) * 3, (1 - 1e-6,) * 3).ravel() == 0)
    if clipped.size == 0:
        return rgb
    Ls, As, Bs = (x.ravel()[clipped][None] for x in (L, a, b))  # 1 x N each

    def rgb_at(scale, cols=slice(None)):
        return lab_to_rgb(cv2.merge([Ls[:, cols], As[:, cols] * scale, Bs[:, cols] * scale]))

    def fits(scale, cols=slice(None)):
        """Whether sRGB shows L and the scaled a/b faithfully (what comes back is what went in)."""
        want = cv2.merge([Ls[:, cols], As[:, cols] * scale, Bs[:, cols] * scale])
        off = cv2.absdiff(rgb_to_lab(lab_to_rgb(want)), want)[0]
        return (off[:, 0] <= tolerance) & (np.maximum(off[:, 1], off[:, 2]) <= AB_TOLERANCE)

    pending = np.flatnonzero(~fits(np.float32(1)))
    if pending.size == 0:
        return rgb
    keep = np.ones(Ls.shape[1], np.float32)  # largest chroma scale known to fit
    drop = np.ones(Ls.shape[1], np.float32)  # smallest chroma scale known not to
    for step in CHROMA_STEPS:
        ok = fits(np.float32(step), pending) if step > 0 else np.ones(pending.size, bool)  # grey always fits
        keep[pending[ok]] = step
        drop[pending] = np.where(ok, drop[pending], step)
        pending = pending[~ok]
        if pending.size == 0:
            break
    fixed = np.flatnonzero(keep < 1)
    keep, drop = keep[fixed][None], drop[fixed][None]
    for _ in range(refine):  # bisection within the bracket each pixel ended in
        mid = (keep + drop) * np.float32(0.5)
        ok = fits(mid, fixed)[None]
        keep, drop = np.where(ok, mid, keep), np.where(ok, drop, mid)
    rgb.reshape(-1, 3)[clipped[fixed]] = rgb_at(keep, fixed)[0]
    return rgb
