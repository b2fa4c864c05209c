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
    interp = cv2.INTER_AREA if width < x.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(x, (width, height), interpolation=interp)


def upsample_ab(ab_low, L_full, method="guided", radius=1, eps=25.0):
    """ab_low (2 x h x w), L_full (H x W, 0..100) -> a/b (H x W x 2) float32."""
    H, W = L_full.shape
    ab_low = np.ascontiguousarray(ab_low.transpose(1, 2, 0), np.float32)
    if method == "bilinear":
        return cv2.resize(ab_low, (W, H), interpolation=cv2.INTER_LINEAR).reshape(H, W, 2)
    if method != "guided":
        raise ValueError(f"unknown upsampling method {method!r}")
    h, w = ab_low.shape[:2]
    L_low = resize(L_full.astype(np.float32), w, h)
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.blur(x, k, borderType=cv2.BORDER_REFLECT)

    mean_L = box(L_low)
    var_L = box(L_low * L_low) - mean_L * mean_L
    mean_ab = box(ab_low)
    cov = box(L_low[..., None] * ab_low) - mean_L[..., None] * mean_ab
    A = cov / (var_L[..., None] + eps)
    B = mean_ab - A * mean_L[..., None]
    A = cv2.resize(box(A), (W, H), interpolation=cv2.INTER_LINEAR).reshape(H, W, 2)
    B = cv2.resize(box(B), (W, H), interpolation=cv2.INTER_LINEAR).reshape(H, W, 2)
    return A * L_full[..., None] + B
