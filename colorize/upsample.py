"""Bring the network's low-resolution a/b to full resolution.

"guided" is fast guided upsampling (He et al.): at low resolution, a/b is fitted locally as a
linear function of L; those coefficients are upsampled and applied to the full-resolution L, so
colour edges follow the photo's own edges instead of bleeding across them. "bilinear" is the plain
baseline. benchmarks/quality.py measures both.

Full-resolution a/b is made strip by strip (`Upsampler.rows`), never as whole-image float planes.
"""

import cv2
import numpy as np

from .strips import row_strips

METHODS = ("guided", "bilinear")


def resize(x, width, height):
    """Area averaging along an axis that shrinks (no aliasing), linear along one that grows."""
    h, w = x.shape[:2]
    if width <= w and height <= h:
        return cv2.resize(x, (width, height), interpolation=cv2.INTER_AREA)
    if width >= w and height >= h:
        return cv2.resize(x, (width, height), interpolation=cv2.INTER_LINEAR)
    # One axis shrinks, the other grows (a very thin photo): average along the first, then stretch.
    if width < w:
        x = cv2.resize(x, (width, h), interpolation=cv2.INTER_AREA)
    else:
        x = cv2.resize(x, (w, height), interpolation=cv2.INTER_AREA)
    return cv2.resize(x, (width, height), interpolation=cv2.INTER_LINEAR)


def fit(width, height, max_side):
    """(w, h) scaled down (never up) so the long side is at most max_side."""
    s = min(1.0, max_side / max(width, height))
    return max(1, round(width * s)), max(1, round(height * s))


def shrink(image, max_side):
    """The image scaled down (area averaging, never up) so its long side is at most max_side."""
    h, w = image.shape[:2]
    tw, th = fit(w, h, max_side)
    if (tw, th) == (w, h):
        return image
    return cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)


def guided_maps(ab_low, L_low, radius=1, eps=25.0):
    """Per a/b channel, the low-resolution (A, B) with a/b ~ A * L + B locally (box-smoothed)."""
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.blur(x, k, borderType=cv2.BORDER_REFLECT)

    mean_L = box(L_low)
    var_L = box(L_low * L_low) - mean_L * mean_L
    maps = []
    for c in ab_low:
        mean_c = box(c)
        A = (box(L_low * c) - mean_L * mean_c) / (var_L + eps)
        B = mean_c - A * mean_L
        maps += [box(A), box(B)]
    return maps


class Upsampler:
    """Low-resolution a/b, ready to give any rows of the full-resolution a/b.

    What is stretched to full size is a few low-resolution maps (guided: A and B per channel;
    bilinear: a and b). cv2's linear resize is separable, so each map is first stretched to full
    height only (H x w: small), and each strip of rows is then stretched to full width: strips join
    seamlessly and equal a whole-image resize to float rounding (~1e-5)."""

    def __init__(self, ab_low, L_full, method="guided", radius=1, eps=25.0):
        if method not in METHODS:
            raise ValueError(f"unknown upsampling method {method!r} (choose from {', '.join(METHODS)})")
        self.L = np.ascontiguousarray(L_full, np.float32)
        H = self.L.shape[0]
        planes = [np.ascontiguousarray(c, np.float32) for c in ab_low]
        h, w = planes[0].shape
        self.guided = method == "guided"
        self.low_maps = guided_maps(planes, resize(self.L, w, h), radius, eps) if self.guided else planes
        self.tall = [cv2.resize(m, (w, H), interpolation=cv2.INTER_LINEAR) for m in self.low_maps]

    @property
    def shape(self):
        return self.L.shape

    def strips(self):
        return row_strips(*self.shape)

    def rows(self, rows):
        """Full-resolution (a, b) for a slice of rows: two contiguous float32 planes."""
        W, parts = self.shape[1], [m[rows] for m in self.tall]
        maps = [cv2.resize(p, (W, p.shape[0]), interpolation=cv2.INTER_LINEAR) for p in parts]
        if not self.guided:
            return maps[0], maps[1]
        L = self.L[rows]
        out = []
        for A, B in ((maps[0], maps[1]), (maps[2], maps[3])):
            A *= L
            A += B
            out.append(A)
        return tuple(out)


def upsample_ab(ab_low, L_full, method="guided", radius=1, eps=25.0):
    """ab_low (2 x h x w), L_full (H x W, 0..100) -> a/b (H x W x 2) float32."""
    up = Upsampler(ab_low, L_full, method, radius, eps)
    out = np.empty(up.shape + (2,), np.float32)
    for rows in up.strips():
        out[rows] = cv2.merge(up.rows(rows))
    return out
