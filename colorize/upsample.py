"""Bring the network's low-resolution a/b to full resolution.

"guided" is fast guided upsampling (He et al.): at low resolution, a/b is fitted locally as a
linear function of L; those coefficients are upsampled and applied to the full-resolution L, so
colour edges follow the photo's own edges instead of bleeding across them. "bilinear" is the plain
baseline. benchmarks/quality.py measures both.
"""
import cv2
import numpy as np

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


def upsample_ab(ab_low, L_full, method="guided", radius=1, eps=25.0):
    """ab_low (2 x h x w), L_full (H x W, 0..100) -> a/b (H x W x 2) float32."""
    return cv2.merge(upsample_planes(ab_low, L_full, method, radius, eps))


def upsample_planes(ab_low, L_full, method="guided", radius=1, eps=25.0):
    """ab_low (2 x h x w), L_full (H x W, 0..100) -> full-resolution (a, b), two H x W float32 planes.

    Works channel by channel on contiguous planes: full-resolution work is only two resizes and
    one multiply-add per channel, so this stays a few milliseconds per megapixel."""
    if method not in METHODS:
        raise ValueError(f"unknown upsampling method {method!r} (choose from {', '.join(METHODS)})")
    H, W = L_full.shape
    planes = [np.ascontiguousarray(c, np.float32) for c in ab_low]
    if method == "bilinear":
        return tuple(cv2.resize(c, (W, H), interpolation=cv2.INTER_LINEAR) for c in planes)
    h, w = planes[0].shape
    L_full = np.ascontiguousarray(L_full, np.float32)
    L_low = resize(L_full, w, h)
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.blur(x, k, borderType=cv2.BORDER_REFLECT)

    mean_L = box(L_low)
    var_L = box(L_low * L_low) - mean_L * mean_L
    out = []
    for c in planes:
        mean_c = box(c)
        A = (box(L_low * c) - mean_L * mean_c) / (var_L + eps)
        B = mean_c - A * mean_L
        full = cv2.resize(box(A), (W, H), interpolation=cv2.INTER_LINEAR)
        full *= L_full
        full += cv2.resize(box(B), (W, H), interpolation=cv2.INTER_LINEAR)
        out.append(full)
    return tuple(out)
