"""Training data: every photo decoded once into one uint8 array in RAM, batches cut from it.

Batches are random crops at several sizes (with random up-scaling, so the network sees objects at
the sizes it meets at 192-256 px inference) and flips, converted to float32 Lab.
"""

import os
import queue
import threading
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

STORE = 144


def load_folder(root, cache_file=None, limit=None):
    """Decode every image under root to RGB uint8 STORE x STORE (cached as .npy between runs)."""
    if cache_file and os.path.exists(cache_file):
        return np.load(cache_file, mmap_mode=None)
    paths = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in {".webp", ".jpg", ".jpeg", ".png"})
    if limit:
        paths = paths[:limit]
    out = np.empty((len(paths), STORE, STORE, 3), np.uint8)
    for i, p in enumerate(paths):
        rgb = np.asarray(Image.open(p).convert("RGB"))
        if rgb.shape[:2] != (STORE, STORE):
            h, w = rgb.shape[:2]
            s = STORE / min(h, w)
            rgb = cv2.resize(rgb, (max(STORE, round(w * s)), max(STORE, round(h * s))), interpolation=cv2.INTER_CUBIC)
            y, x = (rgb.shape[0] - STORE) // 2, (rgb.shape[1] - STORE) // 2
            rgb = rgb[y : y + STORE, x : x + STORE]
        out[i] = rgb
    if cache_file:
        tmp = cache_file + ".tmp.npy"
        np.save(tmp, out)
        os.replace(tmp, cache_file)
    return out


def rgb_to_lab(rgb_uint8):
    """uint8 RGB (..., H, W, 3) -> float32 Lab with L in 0..100 (cv2 float path: no 8-bit loss)."""
    shape = rgb_uint8.shape
    flat = rgb_uint8.reshape(-1, shape[-2], 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(shape)


# (crop side, probability): mostly 128, some larger context for 192-256 inference.
CROP_SIDES = ((112, 0.15), (128, 0.40), (144, 0.15), (160, 0.15), (192, 0.15))
PIXELS_PER_BATCH = 32 * 128 * 128


class WeightedSources:
    """Several uint8 photo arrays drawn from by weight, so no single source (or subject) dominates."""

    def __init__(self, arrays, weights):
        self.arrays = [a for a in arrays]
        w = np.asarray(weights, np.float64)
        self.p = w / w.sum()

    def __len__(self):
        return sum(len(a) for a in self.arrays)

    def draw(self, rng, n):
        src = rng.choice(len(self.arrays), n, p=self.p)
        return [self.arrays[s][rng.integers(0, len(self.arrays[s]))] for s in src]


# Colour hints (Zhang et al. 2017): no hints at all in this share of batches; in the others, each photo
# gets a geometric number of hints (mean 8, some photos none), each a small square of its true mean a/b.
NO_HINT_BATCHES = 0.35
HINT_P = 1 / 8
HINT_SIDES = (1, 3, 5)


def sample_hints(ab, rng):
    """True a/b (B x 2 x S x S) -> (hint_ab B x 2 x S x S, hint_mask B x 1 x S x S), float32."""
    bs, _, h, w = ab.shape
    hint_ab = np.zeros_like(ab)
    mask = np.zeros((bs, 1, h, w), np.float32)
    if rng.random() < NO_HINT_BATCHES:
        return hint_ab, mask
    for j in range(bs):
        n = 0 if rng.random() < 0.1 else min(int(rng.geometric(HINT_P)), 48)
        for _ in range(n):
            k = int(rng.choice(HINT_SIDES))
            y, x = int(rng.integers(0, h - k + 1)), int(rng.integers(0, w - k + 1))
            hint_ab[j, :, y : y + k, x : x + k] = ab[j, :, y : y + k, x : x + k].mean(axis=(1, 2), keepdims=True)
            mask[j, :, y : y + k, x : x + k] = 1.0
    return hint_ab, mask


def make_batch(images, rng, hints=False):
    sides, probs = zip(*CROP_SIDES, strict=False)
    side = int(rng.choice(sides, p=probs))
    bs = max(8, PIXELS_PER_BATCH // (side * side))
    if isinstance(images, WeightedSources):
        picked = images.draw(rng, bs)
    else:
        picked = [images[i] for i in rng.integers(0, len(images), bs)]
    out = np.empty((bs, side, side, 3), np.uint8)
    for j, img in enumerate(picked):
        min_scale = max(1.0, side / STORE)
        scale = min_scale * (rng.uniform(1.0, 1.5) if rng.random() < 0.5 else 1.0)
        if scale > 1.0:
            n = int(round(STORE * scale))
            img = cv2.resize(img, (n, n), interpolation=cv2.INTER_LINEAR)
        y = rng.integers(0, img.shape[0] - side + 1)
        x = rng.integers(0, img.shape[1] - side + 1)
        crop = img[y : y + side, x : x + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[j] = crop
    lab = rgb_to_lab(out)
    L = np.ascontiguousarray(lab[..., 0][:, None])
    ab = np.ascontiguousarray(lab[..., 1:].transpose(0, 3, 1, 2))
    if hints:
        return (L, ab) + sample_hints(ab, rng)
    return L, ab


class Prefetcher:
    """Builds batches in a background thread (cv2 releases the GIL) while torch trains."""

    def __init__(self, images, seed, depth=3, hints=False):
        self.q = queue.Queue(depth)
        self.rng = np.random.default_rng(seed)
        self.images = images
        self.hints = hints
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        cv2.setNumThreads(1)  # cv2's own pool fought torch's threads for the 2 cores (a batch: 40 -> 22 ms)
        while True:
            self.q.put(make_batch(self.images, self.rng, self.hints))

    def __next__(self):
        return self.q.get()
