"""Colour hints: "this point is this colour", turned into the two extra inputs of a hint-taking network.

A hint is (x, y, colour) in the photo's own pixel coordinates (x right, y down, 0-based) with the
colour as 0..255 sRGB, e.g. (120, 45, (51, 102, 204)) or (120, 45, "#3366cc"); on the command line
"120,45,#3366cc". Only the colour's Lab a/b reaches the network: the photo keeps its own lightness.

`hint_maps` paints each hint as a `patch` x `patch` square into the network-size maps the model
contract asks for (hint_ab: N x 2 x H x W Lab a/b, hint_mask: N x 1 x H x W, 1 where a hint is).
This module knows nothing of models or pipelines; colorize.pipeline passes it the sizes.
"""

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from .errors import ColorizeError
from .lab import rgb_to_lab

HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
HINT_ARG = "X,Y,#RRGGBB"


def to_hex(rgb: Sequence[int]) -> str:
    """(r, g, b) 0..255 -> '#rrggbb' (what st.color_picker and --hint speak)."""
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


@dataclass(frozen=True)
class Hint:
    """One colour hint at a pixel of the photo: x, y (0-based ints) and rgb (three 0..255 ints)."""

    x: int
    y: int
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        """The colour as '#rrggbb'."""
        return to_hex(self.rgb)

    @property
    def ab(self) -> tuple[float, float]:
        """The colour's CIE Lab (a, b) as floats: what the network is given."""
        lab = rgb_to_lab(np.array([[self.rgb]], np.float32) / np.float32(255))[0, 0]
        return float(lab[1]), float(lab[2])

    def __str__(self) -> str:
        return f"{self.x},{self.y},{self.hex}"


Colour: TypeAlias = str | Sequence[int]
"""A hint's colour: '#RRGGBB' (or 'RRGGBB'), or three whole numbers 0..255 (r, g, b)."""
HintLike: TypeAlias = Hint | str | tuple[float, float, Colour]
"""What `hints=` takes: a Hint, 'X,Y,#RRGGBB', or (x, y, colour) in the photo's pixels."""


def parse_colour(colour: Colour, source: str = "hint") -> tuple[int, int, int]:
    """'#RRGGBB' (or 'RRGGBB') or three whole numbers 0..255 -> (r, g, b) ints; ColorizeError otherwise."""
    if isinstance(colour, str):
        m = HEX_COLOUR.fullmatch(colour.strip())
        if m:
            digits = m.group(1)
            return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    else:
        try:
            parts = list(colour)
        except TypeError:
            parts = None
        if parts is not None and len(parts) == 3 and all(_whole(c) and 0 <= c <= 255 for c in parts):
            return int(parts[0]), int(parts[1]), int(parts[2])
    raise ColorizeError(source, f"colour {colour!r} is neither #RRGGBB nor three whole numbers from 0 to 255")


def _whole(v: object) -> bool:
    """An integer, or a float with no fractional part (not a bool, not NaN)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return False
    return isinstance(v, numbers.Integral) or (math.isfinite(v) and float(v).is_integer())


def parse_hint_arg(text: str, source: str = "--hint") -> Hint:
    """The command line's 'X,Y,#RRGGBB' -> Hint (not yet checked against a photo's size)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 3:
        raise ColorizeError(source, f"{text!r} is not {HINT_ARG} (for example 120,45,#3366cc)")
    try:
        x, y = int(parts[0]), int(parts[1])
    except ValueError:
        raise ColorizeError(source, f"{text!r}: X and Y must be whole numbers of pixels") from None
    return Hint(x, y, parse_colour(parts[2], source))


def to_hint(item: HintLike, source: str = "hint") -> Hint:
    """A Hint, an (x, y, colour) sequence or an 'X,Y,#RRGGBB' string -> Hint (size not checked).

    Coordinates may be any finite real numbers >= 0: a fractional point belongs to the pixel it
    falls in (x = 12.7 is pixel 12), as when a click on a scaled-down preview is scaled back."""
    if isinstance(item, Hint):
        return item
    if isinstance(item, str):
        return parse_hint_arg(item, source)
    try:
        x, y, colour = item
    except (TypeError, ValueError):
        raise ColorizeError(source, f"{item!r} is not a hint; give (x, y, (r, g, b)) or (x, y, '#RRGGBB')") from None
    coords: list[int] = []
    for name, v in (("x", x), ("y", y)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ColorizeError(source, f"hint {name} must be a number of pixels, not {v!r}")
        coords.append(int(math.floor(v)))
    return Hint(coords[0], coords[1], parse_colour(colour, source))


def check_hints(hints: Sequence[HintLike] | None, width: int, height: int, source: str = "hints") -> tuple[Hint, ...]:
    """Hints for a width x height photo -> tuple of Hints, in order; ColorizeError (one line, saying
    which hint) for a malformed one or one outside the photo. None or [] -> ()."""
    if hints is None:
        return ()
    if isinstance(hints, (str, Hint)) or (
        isinstance(hints, tuple) and len(hints) == 3 and isinstance(hints[0], numbers.Real)
    ):
        raise ColorizeError(source, "give a list of hints, e.g. [(x, y, '#RRGGBB')], not a single hint")
    out = []
    for item in hints:
        hint = to_hint(item, source)
        if not (0 <= hint.x < width and 0 <= hint.y < height):
            raise ColorizeError(
                source,
                f"hint {hint} is outside the {width}x{height} photo (x must be 0..{width - 1}, y 0..{height - 1})",
            )
        out.append(hint)
    return tuple(out)


def network_point(x, y, image_size, network_size):
    """Photo pixel (x, y) -> the network-input pixel (col, row) holding that pixel's centre.

    image_size and network_size are (height, width). Same pixel-centre alignment as cv2.resize,
    so the hint lands where the network sees that part of the photo; clipped to the network's edge."""
    (h, w), (nh, nw) = image_size, network_size
    col = min(max(int((x + 0.5) * nw / w), 0), nw - 1)
    row = min(max(int((y + 0.5) * nh / h), 0), nh - 1)
    return col, row


def hint_square(hint, image_size, network_size, patch):
    """(rows, cols) slices of the patch x patch square a hint paints at the network's input size,
    centred on its network pixel and clipped at the borders."""
    nh, nw = network_size
    col, row = network_point(hint.x, hint.y, image_size, network_size)
    half = int(patch) // 2
    return slice(max(row - half, 0), min(row + half + 1, nh)), slice(max(col - half, 0), min(col + half + 1, nw))


def hint_maps(hints, image_size, network_size, patch):
    """Checked Hints for one photo -> (hint_ab 2 x nh x nw, hint_mask 1 x nh x nw), float32.

    Each hint paints a patch x patch square (clipped at the borders) around its network pixel with
    its a/b, and 1 into the mask; later hints overwrite earlier ones where squares overlap.
    No hints: all zeros, which a hint-taking model reads as "no hints"."""
    nh, nw = network_size
    ab = np.zeros((2, nh, nw), np.float32)
    mask = np.zeros((1, nh, nw), np.float32)
    for hint in hints:
        rows, cols = hint_square(hint, image_size, network_size, patch)
        a, b = hint.ab
        ab[0, rows, cols], ab[1, rows, cols] = a, b
        mask[0, rows, cols] = 1.0
    return ab, mask
