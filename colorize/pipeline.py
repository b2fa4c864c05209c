"""decode -> Lab -> model -> recombine -> encode, for photos and batches of frames.

`predict` runs the network once per image and returns what `render` needs to produce the colour
image at any vividness; the result always keeps the input's own full-resolution L. Full-resolution
steps go strip by strip (colorize.strips): besides its input and output, rendering a 12 MP photo
needs a few tens of MB, not several full-size float images.
"""
from dataclasses import dataclass

import numpy as np

from .encode import to_uint8
from .lab import lightness, recombine_strip
from .upsample import Upsampler, resize, upsample_ab


@dataclass
class Prediction:
    L: np.ndarray    # H x W full-resolution lightness of the input, 0..100
    raw: np.ndarray  # C x h x w network output (logits over a/b bins, or a/b)


def network_input(model, L):
    h, w = model.network_size(*L.shape)
    return resize(L, w, h)


def predict_L(model, Ls):
    """Run the network on several L images; images sharing a network input size go in one call."""
    inputs = [network_input(model, L) for L in Ls]
    raws = [None] * len(Ls)
    groups = {}
    for i, x in enumerate(inputs):
        groups.setdefault(x.shape, []).append(i)
    for idx in groups.values():
        out = model.run(np.stack([inputs[i] for i in idx]))
        for j, i in enumerate(idx):
            raws[i] = out[j]
    return [Prediction(L, raw) for L, raw in zip(Ls, raws)]


def predict(model, rgbs):
    """RGB images (H x W x 3, [0, 1]) -> Predictions. Colour inputs are colorized from L alone."""
    return predict_L(model, [lightness(rgb) for rgb in rgbs])


def render_ab(model, prediction, vividness=None, upsample="guided"):
    """Full-resolution a/b (H x W x 2) for one prediction."""
    ab_low = model.to_ab(prediction.raw[None], vividness)[0]
    return upsample_ab(ab_low, prediction.L, upsample)


def render(model, prediction, vividness=None, upsample="guided", dtype=np.float32):
    """Prediction -> RGB at full resolution with the input's own L: float32 in [0, 1], or with
    dtype=np.uint8 the 8-bit image (rounded as encode.to_uint8), with no full-size float at all."""
    if np.dtype(dtype) not in (np.float32, np.uint8):
        raise ValueError(f"render makes float32 or uint8 images, not {np.dtype(dtype)}")
    ab_low = model.to_ab(prediction.raw[None], vividness)[0]
    up = Upsampler(ab_low, prediction.L, upsample)
    out = np.empty(prediction.L.shape + (3,), dtype)
    for rows in up.strips():
        rgb = recombine_strip(prediction.L[rows], *up.rows(rows))
        out[rows] = rgb if out.dtype == np.float32 else to_uint8(rgb)
    return out


def colorize(model, rgb, vividness=None, upsample="guided"):
    """One RGB image -> colorized RGB, same size."""
    return render(model, predict(model, [rgb])[0], vividness, upsample)
