"""sRGB <-> CIE Lab in float32 (OpenCV's float path: 8-bit Lab would lose up to 27 levels)."""
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


def lightness(rgb):
    """The L channel (0..100) of an RGB image, contiguous; made in strips, as a big photo's whole
    float Lab would be three times the size of the L kept."""
    L = np.empty(rgb.shape[:2], np.float32)
    for rows in row_strips(*L.shape):
        L[rows] = cv2.extractChannel(rgb_to_lab(rgb[rows]), 0)
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
    keep = np.ones(Ls.shape[1], np.float32)      # largest chroma scale known to fit
    drop = np.ones(Ls.shape[1], np.float32)      # smallest chroma scale known not to
    for step in CHROMA_STEPS:
        ok = fits(np.float32(step), pending) if step > 0 else np.ones(pending.size, bool)  # grey always fits
        keep[pending[ok]] = step
        drop[pending] = np.where(ok, drop[pending], step)
        pending = pending[~ok]
        if pending.size == 0:
            break
    fixed = np.flatnonzero(keep < 1)
    keep, drop = keep[fixed][None], drop[fixed][None]
    for _ in range(refine):                      # bisection within the bracket each pixel ended in
        mid = (keep + drop) * np.float32(0.5)
        ok = fits(mid, fixed)[None]
        keep, drop = np.where(ok, mid, keep), np.where(ok, drop, mid)
    rgb.reshape(-1, 3)[clipped[fixed]] = rgb_at(keep, fixed)[0]
    return rgb
