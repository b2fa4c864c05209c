"""decode -> Lab -> model -> recombine -> encode, for photos and batches of frames.

`predict` runs the network once per image and returns what `render` needs to produce the colour
image at any vividness; the result always keeps the input's own full-resolution L. Full-resolution
steps go strip by strip (colorize.strips): besides its input and output, rendering a 12 MP photo
needs a few tens of MB, not several full-size float images.

Colour hints (colorize.hints) go into a second network run, kept beside the hint-free output with
the map of where it may change the colour (colorize.reach: a hint of the network's own colour
changes nothing, and a hint stops at its object's edges); rendering it again at another vividness
still does not re-run the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, overload

import numpy as np
from numpy.typing import NDArray

from .errors import ColorizeError
from .hints import Hint, HintLike, check_hints, hint_maps, hint_square
from .lab import lightness, recombine_strip, to_uint8
from .reach import BlendUpsampler, reach_map, strength
from .upsample import Upsampler, resize, shrink

if TYPE_CHECKING:
    from .model import ColorModel

# `hints=` of several images: None, or one entry per image, its hints (None or [] for none).
HintsPerImage: TypeAlias = Sequence[Sequence[HintLike] | None] | None


@dataclass(frozen=True)
class Pinned:
    """The network's output with colour hints, and where it may change the hint-free output."""

    raw: NDArray[np.float32]  # C x h x w network output with the hints that count
    reach: NDArray[np.float32]  # network-input size, 0..1: how much of `raw` replaces the plain output


@dataclass
class Prediction:
    L: NDArray[np.float32]  # H x W full-resolution lightness of the input, 0..100
    raw: NDArray[np.float32]  # C x h x w network output without hints (logits over a/b bins, or a/b)
    hints: tuple[Hint, ...] = ()  # the colour hints given, in photo pixels
    pinned: Pinned | None = None  # their effect; None when there are none, or none that changes anything


class ToAb(Protocol):
    """What rendering needs of a model: its raw output -> a/b at a vividness (a ColorModel, or a
    wrapper of one such as the page's faded model)."""

    def to_ab(self, raw: NDArray[np.floating], vividness: float | None = None) -> NDArray[np.float32]: ...


def network_input(model: ColorModel, L: NDArray[np.float32]) -> NDArray[np.float32]:
    h, w = model.network_size(*L.shape)
    return resize(L, w, h)


def checked_hints(model: ColorModel, Ls: Sequence[NDArray[np.float32]], hints: HintsPerImage) -> list[tuple[Hint, ...]]:
    """One tuple of checked Hints per image (empty: none); ColorizeError for bad hints or a model
    that takes none."""
    if hints is None:
        return [()] * len(Ls)
    hints = [h if h is None or isinstance(h, (list, tuple, str, Hint)) else list(h) for h in hints]
    if len(hints) != len(Ls):
        raise ValueError(f"hints must hold one list (or None) per image: {len(Ls)} images, {len(hints)} lists")
    if any(h for h in hints) and not getattr(model, "takes_hints", False):
        raise ColorizeError("hints", f"model {model.name} does not take colour hints")
    return [check_hints(h, L.shape[1], L.shape[0]) for L, h in zip(Ls, hints, strict=True)]


def run_network(
    model: ColorModel,
    inputs: Sequence[NDArray[np.float32]],
    hints: Sequence[Sequence[Hint]],
    photo_shapes: Sequence[tuple[int, ...]],
) -> NDArray[np.float32]:
    """One network run on network inputs of one size (L, resized), each with its photo's checked
    hints (in the pixels of a photo of that (height, width)): the raw output, one per input."""
    x = np.stack(inputs)
    if not any(hints):
        return model.run(x)  # a hint model gets zeros: no hints
    maps = [hint_maps(h, shape, x.shape[1:], model.hint_patch) for h, shape in zip(hints, photo_shapes, strict=True)]
    return model.run(x, np.stack([m[0] for m in maps]), np.stack([m[1] for m in maps]))


def pin_effect(
    model: ColorModel,
    net_L: NDArray[np.float32],
    plain_raw: NDArray[np.float32],
    hints: Sequence[Hint],
    photo_shape: tuple[int, ...],
    L: NDArray[np.float32] | None = None,
) -> Pinned | None:
    """The effect of checked hints (in the pixels of a photo of photo_shape) on one photo whose
    network input is net_L and hint-free output plain_raw; None if no hint asks for a colour other
    than the one the photo shows there. L: the photo's lightness at any size (full, or the page's
    preview), where that colour is read; net_L if not given."""
    if not hints:
        return None
    L = net_L if L is None else L
    up = Upsampler(model.to_ab(plain_raw[None])[0], L)
    (lh, lw), (h, w) = L.shape, photo_shape[:2]
    squares, strengths = [], []
    for hint in hints:
        y, x = min(lh - 1, int((hint.y + 0.5) * lh / h)), min(lw - 1, int((hint.x + 0.5) * lw / w))
        rows = slice(max(0, min(y, lh - 2)), max(0, min(y, lh - 2)) + 2)
        shown = to_uint8(recombine_strip(L[rows], *up.rows(rows)))[y - rows.start, x]
        squares.append(hint_square(hint, photo_shape, net_L.shape, model.hint_patch))
        strengths.append(strength(hint.ab, Hint(0, 0, (int(shown[0]), int(shown[1]), int(shown[2]))).ab))
    counted = [hint for hint, s in zip(hints, strengths, strict=True) if s > 0]
    if not counted:
        return None
    raw = run_network(model, [net_L], [counted], [photo_shape])[0]
    return Pinned(raw, reach_map(net_L, squares, strengths))


def predict_L(model: ColorModel, Ls: Sequence[NDArray[np.float32]], hints: HintsPerImage = None) -> list[Prediction]:
    """Run the network on several L images; images sharing a network input size go in one call.

    hints: None, or one list per image (None or [] for an image without hints) of colour hints in
    that image's pixel coordinates: (x, y, (r, g, b)) or (x, y, '#RRGGBB') or colorize.hints.Hint.
    An image with hints has the network run on it once more, with them (see `pin_effect`)."""
    per_image = checked_hints(model, Ls, hints)
    inputs = [network_input(model, L) for L in Ls]
    raws: list[Any] = [None] * len(Ls)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(inputs):
        groups.setdefault(x.shape, []).append(i)
    for idx in groups.values():
        out = run_network(model, [inputs[i] for i in idx], [()] * len(idx), [Ls[i].shape for i in idx])
        for j, i in enumerate(idx):
            raws[i] = out[j]
    return [
        Prediction(L, raw, h, pin_effect(model, x, raw, h, L.shape, L))
        for L, x, raw, h in zip(Ls, inputs, raws, per_image, strict=True)
    ]


def predict(model: ColorModel, rgbs: Sequence[NDArray[Any]], hints: HintsPerImage = None) -> list[Prediction]:
    """RGB images (H x W x 3, [0, 1]) -> Predictions. Colour inputs are colorized from L alone.

    hints: None, or one list per image of colour hints (x, y, (r, g, b) or '#RRGGBB') in that
    image's own pixels (x right, y down, 0-based); the model must take hints (model.takes_hints)."""
    return predict_L(model, [lightness(rgb) for rgb in rgbs], hints)


def upsampler(
    model: ToAb, prediction: Prediction, vividness: float | None = None, upsample: str = "guided"
) -> Upsampler | BlendUpsampler:
    """What gives a prediction's full-resolution a/b, strip by strip, at a vividness."""
    up = Upsampler(model.to_ab(prediction.raw[None], vividness)[0], prediction.L, upsample)
    if prediction.pinned is None:
        return up
    hinted = Upsampler(model.to_ab(prediction.pinned.raw[None], vividness)[0], prediction.L, upsample)
    return BlendUpsampler(up, hinted, prediction.pinned.reach)


def render_ab(
    model: ToAb, prediction: Prediction, vividness: float | None = None, upsample: str = "guided"
) -> NDArray[np.float32]:
    """Full-resolution a/b (H x W x 2) for one prediction."""
    up = upsampler(model, prediction, vividness, upsample)
    out = np.empty((*prediction.L.shape, 2), np.float32)
    for rows in up.strips():
        out[rows] = np.stack(up.rows(rows), axis=-1)
    return out


def preview_prediction(prediction: Prediction, max_side: int) -> Prediction:
    """The same network output with L at most `max_side` on its long side (screen size): renders in
    milliseconds, and the network does not run again."""
    return Prediction(shrink(prediction.L, max_side), prediction.raw, prediction.hints, prediction.pinned)


@overload
def render(
    model: ToAb,
    prediction: Prediction,
    vividness: float | None = None,
    upsample: str = "guided",
    dtype: type[np.float32] = np.float32,
) -> NDArray[np.float32]: ...
@overload
def render(
    model: ToAb,
    prediction: Prediction,
    vividness: float | None = None,
    upsample: str = "guided",
    *,
    dtype: type[np.uint8],
) -> NDArray[np.uint8]: ...
def render(
    model: ToAb,
    prediction: Prediction,
    vividness: float | None = None,
    upsample: str = "guided",
    dtype: type[np.float32] | type[np.uint8] = np.float32,
) -> NDArray[np.float32] | NDArray[np.uint8]:
    """Prediction -> RGB at full resolution with the input's own L: float32 in [0, 1], or with
    dtype=np.uint8 the 8-bit image (rounded as lab.to_uint8), with no full-size float at all."""
    if np.dtype(dtype) not in (np.float32, np.uint8):
        raise ValueError(f"render makes float32 or uint8 images, not {np.dtype(dtype)}")
    up = upsampler(model, prediction, vividness, upsample)
    out: NDArray[Any] = np.empty((*prediction.L.shape, 3), dtype)
    for rows in up.strips():
        rgb = recombine_strip(prediction.L[rows], *up.rows(rows))
        out[rows] = rgb if out.dtype == np.float32 else to_uint8(rgb)
    return out


def colorize(
    model: ColorModel,
    rgb: NDArray[Any],
    vividness: float | None = None,
    upsample: str = "guided",
    hints: Sequence[HintLike] | None = None,
) -> NDArray[np.float32]:
    """One RGB image -> colorized RGB, same size.

    hints: optional list of colour hints for this image, e.g. [(120, 45, (51, 102, 204)),
    (10, 200, '#aa3300')], at pixel (x, y) of the image; for models that take hints."""
    return render(model, predict(model, [rgb], None if hints is None else [hints])[0], vividness, upsample)
