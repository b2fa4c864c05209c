"""sRGB <-> CIE Lab in float32 (OpenCV's float path: 8-bit Lab would lose up to 27 levels)."""
import cv2
import numpy as np


def rgb_to_lab(rgb):
    """float32 RGB in [0, 1] (H x W x 3) -> Lab with L in 0..100, a/b roughly -128..127."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab):
    """Lab (H x W x 3, float32) -> RGB float32 clipped to [0, 1]."""
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def lightness(rgb):
    """The L channel (0..100) of an RGB image."""
    return rgb_to_lab(rgb)[..., 0]


def gray_rgb(L):
    """L (0..100) -> the neutral RGB image with that lightness (a = b = 0)."""
    lab = np.zeros(L.shape + (3,), np.float32)
    lab[..., 0] = L
    return lab_to_rgb(lab)


def recombine(L, ab, iterations=6):
    """L (H x W) + a/b (H x W x 2) -> RGB [0, 1] whose lightness is L.

    Colours outside the sRGB gamut would be clipped, which shifts their lightness; instead their
    chroma is reduced step by step until the lightness holds, so the photo's own L survives."""
    ab = ab.astype(np.float32, copy=True)
    lab = np.dstack([L.astype(np.float32), ab])
    rgb = lab_to_rgb(lab)
    bad = np.abs(lightness(rgb) - L) > 0.5
    for _ in range(iterations):
        if not bad.any():
            break
        ys, xs = np.nonzero(bad)
        lab[ys, xs, 1:] *= 0.7
        patch = lab_to_rgb(lab[ys, xs][None])[0]
        rgb[ys, xs] = patch
        still = np.abs(rgb_to_lab(patch[None])[0, :, 0] - L[ys, xs]) > 0.5
        bad = np.zeros_like(bad)
        bad[ys[still], xs[still]] = True
    return rgb
