"""decode -> Lab -> model -> recombine -> encode, for photos and batches of frames.

`predict` runs the network once per image and returns what `render` needs to produce the colour
image at any vividness; the result always keeps the input's own full-resolution L.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from .lab import recombine_planes, rgb_to_lab
from .upsample import resize, upsample_ab, upsample_planes


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
    return predict_L(model, [cv2.extractChannel(rgb_to_lab(rgb), 0) for rgb in rgbs])  # contiguous: frees a/b


def render_ab(model, prediction, vividness=None, upsample="guided"):
    """Full-resolution a/b (H x W x 2) for one prediction."""
    ab_low = model.to_ab(prediction.raw[None], vividness)[0]
    return upsample_ab(ab_low, prediction.L, upsample)


def render(model, prediction, vividness=None, upsample="guided"):
    """Prediction -> RGB float32 [0, 1] at full resolution with the input's own L."""
    ab_low = model.to_ab(prediction.raw[None], vividness)[0]
    return recombine_planes(prediction.L, *upsample_planes(ab_low, prediction.L, upsample))


def colorize(model, rgb, vividness=None, upsample="guided"):
    """One RGB image -> colorized RGB, same size."""
    return render(model, predict(model, [rgb])[0], vividness, upsample)
