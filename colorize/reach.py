"""How far a colour hint may change a photo: its strength and its reach.

The network spreads a hint by what it learnt, and that alone surprises people twice: a pin that
carries the colour the network already gives there still shifts colours around it, and one pin on
a cardigan can recolour the people beside it. So the hinted a/b is blended into the hint-free a/b
by a map that is, for each hint, its

- strength: 0 when the hint's a/b is within STILL of the network's own a/b at that point (the pin
  says "yes, that colour": nothing changes), rising to 1 at FULL and beyond;
- reach: exp(-(E / EDGE)^2), where E is the least lightness a path from the pin must cross to get
  to a pixel (a geodesic distance on L, smoothed with its edges kept, in which steps smaller than
  FLAT cost nothing, so shading and texture inside an object are free and its edges are walls).

Where a hint does not reach, the change it brings is clipped to OUTSIDE (a/b units): the network's
gentle corrections elsewhere (the tint of a sky, a cast) stay, a pin's colour does not leak.

The map is made at the network's input size, where the hint squares are painted, and stretched to
full size with the photo, strip by strip (`BlendUpsampler`), like the a/b it blends.
benchmarks/pins.py measured the constants (own-colour pins and pins in human-segmented objects).
"""

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .upsample import Upsampler

STILL, FULL = 3.0, 10.0  # a/b distance (CIE76 on a/b) from the network's own colour: no effect .. full
EDGE = 6.0  # lightness (L units) crossed where a hint's reach has fallen to 1/e
FLAT = 0.75  # steps of lightness smaller than this cost nothing (texture, shading, noise)
SMOOTH = 1.5  # spatial sigma (network pixels) of the edge-keeping smoothing of L before measuring steps
TEXTURE = 6.0  # its sigma in lightness: differences well below this are texture, smoothed away
TEXTURE_PASSES = 2
OUTSIDE = 4.0  # a/b change let through where a hint does not reach: just visible, never a leak of its colour
SWEEPS = 2  # rounds of the four directional sweeps


def strength(hint_ab: ArrayLike, own_ab: ArrayLike) -> float:
    """How much a hint should change: 0 if its a/b is the network's own there, 1 if clearly not."""
    d = float(np.hypot(*(np.asarray(hint_ab, np.float64) - np.asarray(own_ab, np.float64))))
    return float(np.clip((d - STILL) / (FULL - STILL), 0.0, 1.0))


def _step_costs(L: NDArray[np.floating], dy: int, dx: int) -> NDArray[np.float32]:
    """Cost of stepping from pixel p - (dy, dx) to p, for every p (inf where p - (dy, dx) is outside)."""
    h, w = L.shape
    cost = np.full((h, w), np.inf, np.float32)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    cost[yd, xd] = np.maximum(np.abs(L[yd, xd] - L[ys, xs]) - np.float32(FLAT), 0)
    return cost


def crossed_lightness(L: NDArray[np.floating], seeds: NDArray[np.bool_]) -> NDArray[np.float32]:
    """For every pixel, the least lightness crossed on a path from any seed pixel (0 at the seeds).

    Repeated raster sweeps down, up, right and left (each vectorised across the other axis) relax
    8-connected steps; two rounds reach the paths that turn a few times, which is what matters for
    a hint's object."""
    Ls: NDArray[np.float32] = np.ascontiguousarray(L, np.float32)
    for _ in range(TEXTURE_PASSES):
        Ls = np.asarray(cv2.bilateralFilter(Ls, 0, TEXTURE, SMOOTH), np.float32)
    h, w = Ls.shape
    dist = np.where(seeds, np.float32(0), np.float32(np.inf)).astype(np.float32)
    down = [(_step_costs(Ls, 1, dx), dx) for dx in (-1, 0, 1)]
    up = [(_step_costs(Ls, -1, dx), dx) for dx in (-1, 0, 1)]
    right = [(_step_costs(Ls, dy, 1), dy) for dy in (-1, 0, 1)]
    left = [(_step_costs(Ls, dy, -1), dy) for dy in (-1, 0, 1)]
    inf_col = np.full(1, np.inf, np.float32)

    def shifted(line: NDArray[np.float32], k: int) -> NDArray[np.float32]:
        """line[i - k] at position i (inf off the end)."""
        if k == 0:
            return line
        if k > 0:
            return np.concatenate([np.repeat(inf_col, k), line[:-k]])
        return np.concatenate([line[-k:], np.repeat(inf_col, -k)])

    for _ in range(SWEEPS):
        for y in range(1, h):
            prev = dist[y - 1]
            for cost, dx in down:
                np.minimum(dist[y], shifted(prev, dx) + cost[y], out=dist[y])
        for y in range(h - 2, -1, -1):
            prev = dist[y + 1]
            for cost, dx in up:
                np.minimum(dist[y], shifted(prev, dx) + cost[y], out=dist[y])
        for x in range(1, w):
            prev = dist[:, x - 1]
            for cost, dy in right:
                dist[:, x] = np.minimum(dist[:, x], shifted(prev, dy) + cost[:, x])
        for x in range(w - 2, -1, -1):
            prev = dist[:, x + 1]
            for cost, dy in left:
                dist[:, x] = np.minimum(dist[:, x], shifted(prev, dy) + cost[:, x])
    return dist


def reach_map(
    L_net: NDArray[np.floating], hint_squares: list[tuple[slice, slice]], strengths: list[float]
) -> NDArray[np.float32]:
    """The blend map at the network's input size: for each pixel, the largest strength x reach of
    any hint (hint_squares: each hint's painted square as (rows, cols) slices)."""
    out = np.zeros(np.shape(L_net), np.float32)
    for square, s in zip(hint_squares, strengths, strict=True):
        if s <= 0:
            continue
        seeds = np.zeros(out.shape, bool)
        seeds[square] = True
        e = crossed_lightness(L_net, seeds)
        np.maximum(out, np.float32(s) * np.exp(-((e / np.float32(EDGE)) ** 2)), out=out)
    return out


class BlendUpsampler:
    """Full-resolution a/b of the hint-free output blended with the hinted one by the reach map:
    a/b = plain + reach x (hinted - plain), strip by strip, like colorize.upsample.Upsampler."""

    def __init__(self, plain: Upsampler, hinted: Upsampler, reach: NDArray[np.float32]):
        self.plain, self.hinted = plain, hinted
        H = plain.shape[0]
        self.tall = cv2.resize(
            np.ascontiguousarray(reach, np.float32), (reach.shape[1], H), interpolation=cv2.INTER_LINEAR
        )

    @property
    def shape(self):
        return self.plain.shape

    def strips(self):
        return self.plain.strips()

    def rows(self, rows):
        W = self.shape[1]
        part = self.tall[rows]
        m = cv2.resize(part, (W, part.shape[0]), interpolation=cv2.INTER_LINEAR)
        (pa, pb), (ha, hb) = self.plain.rows(rows), self.hinted.rows(rows)
        ha -= pa
        hb -= pb
        # Outside the reach a change keeps at most OUTSIDE of its size: the network's gentle
        # corrections across the photo stay, a hint's colour does not leak.
        size = np.hypot(ha, hb)
        np.maximum(size, np.float32(1e-6), out=size)
        keep = np.minimum(np.float32(OUTSIDE) / size, np.float32(1))
        keep *= np.float32(1) - m
        keep += m
        return pa + ha * keep, pb + hb * keep
