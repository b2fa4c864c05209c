"""What the page does with a photo, without Streamlit: look at it once, show it, pin colours, download.

A `Look` is what the network made of a photo at screen size: the network's input and raw output,
the lightness at preview size, and the original's colours only when it has any. It is the same
size (a few MB) for a 1 MP or a 50 MP scan, so the shared cache (colorize.page_memory) holds many.
Downloads decode the photo's bytes again and render at full size one at a time; no full-size
image is kept between clicks.

Pins are colour hints (colorize.hints) in the photo's own pixels; a hint-taking model runs again
with them (milliseconds), and the same hints go into every download.
"""

import dataclasses
import html
import io
import re
import threading
import zipfile
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from . import results
from .decode import PIL_FORMATS
from .hints import check_hints, hint_maps
from .lab import gray_rgb, to_uint8
from .pipeline import Prediction, network_input, predict_L, render
from .upsample import shrink

PAGE_MAX_PIXELS = 50_000_000  # a 600-dpi scan of an 8x10" print is 29 MP; the network's input is small anyway
PREVIEW_SIDE = 1200  # long side of the pictures sent to the browser
THUMB_SIDE = 240  # long side of a grid thumbnail
GREY_RAMP = 0.25  # vividness from 0 to this fades colour in from plain grey
GREY_TOLERANCE = 3  # an 8-bit photo whose channels differ by at most this is black-and-white


@dataclass
class Look:
    """One photo as the page shows it (see the module docstring); all arrays at screen size or smaller."""

    name: str
    size: tuple  # (width, height) of the photo itself
    note: str  # e.g. "first frame of 12 used"
    net_L: np.ndarray  # the network's input (L resized), for runs with hints
    raw: np.ndarray  # the network's output without hints
    preview_L: np.ndarray  # L at preview size, 0..100
    original: np.ndarray | None  # the photo at preview size (uint8 RGB), only when it has colour


BIG_PIXELS = 16_000_000  # decoding a photo this big takes 12 bytes a pixel for a moment: one at a time
NETWORK_RUNS_AT_ONCE = 2  # ONNX Runtime's memory arena keeps its largest concurrent need: bound it
_big_turn = threading.Lock()
_network_turns = threading.BoundedSemaphore(NETWORK_RUNS_AT_ONCE)


def pixel_count(data):
    """Width x height from an image's header (0 when it cannot be read: decoding will say why)."""
    try:
        with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as im:
            return im.size[0] * im.size[1]
    except Exception:  # noqa: BLE001 - a bad header is reported by the decoder itself
        return 0


def analysed_photo(model, name, data, max_pixels=PAGE_MAX_PIXELS):
    """colorize.results.analyse_photo, with big photos taking turns so that two 50 MP decodes never
    add up on a small server (smaller photos go on meanwhile)."""
    if pixel_count(data) < BIG_PIXELS:
        with _network_turns:
            return results.analyse_photo(model, name, data, max_pixels=max_pixels)
    with _big_turn, _network_turns:
        return results.analyse_photo(model, name, data, max_pixels=max_pixels)


def look_at(model, name, data, max_pixels=PAGE_MAX_PIXELS):
    """Decode and run the network once; keep only what the page shows. ColorizeError for a bad file."""
    analysed = analysed_photo(model, name, data, max_pixels=max_pixels)
    L = analysed.prediction.L
    original = analysed.original
    grey = original.ndim == 2 or int(np.ptp(original.astype(np.int16), axis=2).max(initial=0)) <= GREY_TOLERANCE
    look = Look(
        name=name,
        size=(L.shape[1], L.shape[0]),
        note=analysed.note,
        net_L=network_input(model, L),
        raw=analysed.prediction.raw,
        preview_L=shrink(L, PREVIEW_SIDE),
        original=None if grey else original,
    )
    del analysed, L
    return look


class FadedModel:
    """A model whose predicted colours are scaled by `amount` (0: plain grey); all else is the model's."""

    def __init__(self, model, amount):
        self.model, self.amount = model, float(amount)

    def to_ab(self, raw, vividness=None):
        return self.model.to_ab(raw, vividness) * np.float32(self.amount)

    def __getattr__(self, name):
        return getattr(self.model, name)


def for_vividness(model, vividness):
    """(model to render with, engine vividness) for the page's vividness (0..2).

    A model that is plain grey at vividness 0 (ModelInfo.grey_at_zero: the bundled one) renders as it
    is. For an annealed-mean model the lowest vividness is its most cautious colour, not grey, so the
    page's first GREY_RAMP fades that colour in from plain grey: either way a class can slide from no
    colour to bold."""
    v = float(vividness)
    amount = 1.0 if model.info.grey_at_zero else min(1.0, max(0.0, v / GREY_RAMP))
    return (model if amount >= 1.0 else FadedModel(model, amount)), v


def hinted_raw(model, look, hints):
    """The network's output for this photo with colour hints (photo pixels); the plain output without."""
    w, h = look.size
    checked = check_hints(hints, w, h)
    if not checked:
        return look.raw
    ab, mask = hint_maps(checked, (h, w), look.net_L.shape, model.hint_patch)
    with _network_turns:
        return model.run(look.net_L[None], ab[None], mask[None])[0]


def preview(model, look, vividness, raw=None, side=PREVIEW_SIDE):
    """The colorized photo at screen size (uint8 RGB)."""
    model, v = for_vividness(model, vividness)
    L = shrink(look.preview_L, side)
    return render(model, Prediction(L, look.raw if raw is None else raw), v, dtype=np.uint8)


def grey_preview(look, side=PREVIEW_SIDE):
    """What the network sees: the photo's lightness as neutral grey (uint8 RGB)."""
    return to_uint8(gray_rgb(shrink(look.preview_L, side)))


def colour_at(picture, x, y, size, radius=2):
    """The mean colour (r, g, b ints) of a preview picture around photo pixel (x, y) of a photo of `size`."""
    w, h = size
    ph, pw = picture.shape[:2]
    cx, cy = min(pw - 1, int((x + 0.5) * pw / w)), min(ph - 1, int((y + 0.5) * ph / h))
    patch = picture[max(0, cy - radius) : cy + radius + 1, max(0, cx - radius) : cx + radius + 1]
    return tuple(int(round(c)) for c in patch.reshape(-1, 3).mean(axis=0))


def click_to_photo(click: dict, size: tuple[int, int]) -> tuple[int, int] | None:
    """A click on a picture shown at click['width'] x click['height'] -> photo pixel (x, y), or None."""
    try:
        shown_w, shown_h = float(click["width"]), float(click["height"])
        x, y = float(click["x"]), float(click["y"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (shown_w > 0 and shown_h > 0 and np.isfinite(x) and np.isfinite(y)):
        return None
    w, h = size
    return (min(w - 1, max(0, int(x * w / shown_w))), min(h - 1, max(0, int(y * h / shown_h))))


def draw_pins(picture, pins, size):
    """The picture with each pin drawn as a numbered dot in its colour (a copy; uint8 RGB)."""
    out = picture.copy()
    ph, pw = out.shape[:2]
    w, h = size
    radius = max(8, round(max(ph, pw) / 55))
    for pin in pins:
        c = (min(pw - 1, int((pin.x + 0.5) * pw / w)), min(ph - 1, int((pin.y + 0.5) * ph / h)))
        cv2.circle(out, c, radius + 3, (20, 20, 20), -1, cv2.LINE_AA)
        cv2.circle(out, c, radius + 1, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(out, c, radius - 1, tuple(int(v) for v in pin.rgb), -1, cv2.LINE_AA)
        label, scale = str(pin.id), radius / 16
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        org = (c[0] + radius + 4, c[1] - radius)
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 3, cv2.LINE_AA)
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA)
    return out


def full_size(model, photo, vividness, fmt="png", max_pixels=PAGE_MAX_PIXELS):
    """A shelf photo's download: decoded again, its pins applied, rendered and encoded at full size."""
    analysed = analysed_photo(model, photo.name, photo.data, max_pixels=max_pixels)
    if photo.pins:
        with _network_turns:
            prediction = predict_L(model, [analysed.prediction.L], hints=[photo.hints()])[0]
        analysed = dataclasses.replace(analysed, prediction=prediction)
    render_model, v = for_vividness(model, vividness)
    return results.full_resolution(render_model, analysed, v, fmt)


def zip_full_size(model, photos, vividness):
    """Every photo's full-size PNG in one zip, built one photo at a time (stored: PNG is compressed)."""
    names = results.unique_names([results.output_name(p.name, "png") for p in photos])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, photo in zip(names, photos, strict=True):
            z.writestr(name, full_size(model, photo, vividness, "png"))
    return buf.getvalue()


# ------------------------------------------------------------------ names shown in the page

MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark
MAX_SHOWN = results.MAX_SHOWN
display_name = results.display_name  # one line, no control or bidi characters, shortened in the middle


WORD_JOINER = "\u2060"  # invisible; inside 'www' and after '.', '@', ':' it keeps an address from matching


def markdown_literal(name, limit=MAX_SHOWN):
    """`display_name` escaped for Markdown: every punctuation mark backslashed, so nothing in a file
    name becomes formatting or maths; and an invisible word joiner after each '.', '@' and ':', since
    the page's Markdown turns bare web and e-mail addresses into links after escapes are resolved."""
    text = MARKDOWN_PUNCTUATION.sub(r"\\\1", display_name(name, limit))
    text = re.sub(r"(?i)(w)(ww)", r"\1" + WORD_JOINER + r"\2", text)  # 'www.' starts a link by itself
    return re.sub(r"(\\[.@:])", r"\1" + WORD_JOINER, text)


def html_literal(name, limit=MAX_SHOWN):
    """`display_name` escaped for HTML."""
    return html.escape(display_name(name, limit))
