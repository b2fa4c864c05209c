"""Quantized a/b bins (grid 10, in the sRGB gamut) and the class-rebalancing weights of Zhang et al. 2016."""

import numpy as np

GRID = 10


def gamut_bins():
    """Bin centres (Q x 2, float32) whose colour is reachable in sRGB for some lightness."""
    r = np.arange(-110, 111, GRID, dtype=np.float32)
    a, b = np.meshgrid(r, r, indexing="ij")
    ab = np.stack([a.ravel(), b.ravel()], 1)
    keep = np.zeros(len(ab), bool)
    for L in np.linspace(5, 95, 37):
        keep |= np.all((lab_to_linear_rgb(L, ab) >= -1e-3) & (lab_to_linear_rgb(L, ab) <= 1 + 1e-3), axis=1)
    return ab[keep]


def lab_to_linear_rgb(L, ab):
    """Unclipped CIE Lab (D65) -> linear sRGB; cv2 clips, which would hide out-of-gamut colours."""
    fy = (L + 16) / 116
    fx, fz = fy + ab[:, 0] / 500, fy - ab[:, 1] / 200

    def finv(t):
        return np.where(t > 6 / 29, t**3, 3 * (6 / 29) ** 2 * (t - 4 / 29))

    xyz = np.stack([0.950456 * finv(fx), np.broadcast_to(finv(fy), fx.shape), 1.088754 * finv(fz)], 1)
    m = np.array(
        [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]]
    )
    return xyz @ m.T


def empirical_prior(ab_samples, bins, sigma=5.0):
    """Smoothed frequency of each bin over a/b samples (N x 2)."""
    d2 = ((ab_samples[:, None, :] - bins[None]) ** 2).sum(-1)
    counts = np.bincount(d2.argmin(1), minlength=len(bins)).astype(np.float64)
    p = counts / counts.sum()
    k = np.exp(-((bins[:, None, :] - bins[None]) ** 2).sum(-1) / (2 * sigma**2))
    p = k @ p
    return (p / p.sum()).astype(np.float32)


def rebalance_weights(prior, lam=0.5):
    w = 1.0 / ((1 - lam) * prior + lam / len(prior))
    w /= (prior * w).sum()
    return w.astype(np.float32)
