"""A photo on the page, without Streamlit: looked at once, previewed, pinned, downloaded.

`analyse_photo` decodes a photo and runs the network once (the expensive step). The page keeps a
`Look` of that: the network's input and raw output, the lightness at preview size, and the
original's colours only when it has any. A look is the same size (a few MB) for a 1 MP photo or a
50 MP scan, so the shared cache (colorize.page.memory) holds many, and everything after it is cheap
and repeatable at any vividness: `preview` renders at screen size. A download (`full_size`) decodes
the photo's bytes again and renders it at full size, in strips (colorize.strips) straight into
8 bits; no full-size image is kept between clicks.

Pins are colour hints (colorize.hints) in the photo's own pixels; a hint-taking model runs again
with them (milliseconds: `pinned_for`), and the same hints go into every download.

Taking turns: so that a small shared server never holds many photos' worth of working memory at
once, four throttles bound what runs together.

- `_decode_turns`: DECODES_AT_ONCE photos decode into their L and preview at a time (one per core
  of a small server: more would only share the same CPU); freed memory goes back to the OS after each.
- `_full_size_turn`: one full-size render and encode (a download) at a time; freed memory goes
  back to the OS after each.
- `_network_turns`: NETWORK_RUNS_AT_ONCE photos at a time are analysed (decoded and run through
  the network, for a look or a download) or run again with their pins (ONNX Runtime's memory arena
  keeps its largest concurrent need).
- `_big_turn`: a photo of BIG_PIXELS or more (decoding takes 12 bytes a pixel for a moment) is
  looked at or downloaded one at a time, so two 50 MP decodes never add up; smaller photos go on
  meanwhile.

A decode and a full-size render never wait for each other: a photo that is slow to decode never
makes another visitor's download wait (decoding's cost is bounded anyway: see colorize.precheck).
"""

import contextlib
import dataclasses
import io
import threading
import zipfile
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from .. import strips
from ..decode import DEFAULT_MAX_PIXELS, PIL_FORMATS, PhotoMeta, load_image
from ..encode import DEEP_FORMATS, FORMATS, encode_image, render_16_bits
from ..hints import Hint, check_hints
from ..lab import gray_rgb, lightness, recombine, to_uint8, unit_float, unit_rgb
from ..pipeline import Pinned, Prediction, network_input, pin_effect, predict_L, render
from ..upsample import fit, shrink
from .memory import give_back_memory
from .names import output_name, unique_names
from .teaching import colour_word, likely_colours
from .vividness import for_vividness

PAGE_MAX_PIXELS = DEFAULT_MAX_PIXELS  # the command line's default too: 50 MP (a 600-dpi 8x10" scan is 29 MP)
PREVIEW_SIDE = 1200  # long side of the pictures sent to the browser
THUMB_SIDE = 240  # long side of a grid thumbnail
GREY_TOLERANCE = 3  # an 8-bit photo whose channels differ by at most this is black-and-white

DECODES_AT_ONCE = 2
NETWORK_RUNS_AT_ONCE = 2
BIG_PIXELS = 16_000_000
_decode_turns = threading.BoundedSemaphore(DECODES_AT_ONCE)
_full_size_turn = threading.Lock()
_network_turns = threading.BoundedSemaphore(NETWORK_RUNS_AT_ONCE)
_big_turn = threading.Lock()


@dataclass
class AnalysedPhoto:
    """What the network made of one photo: enough to render it again at any vividness."""

    name: str
    prediction: Prediction  # full-resolution L and the raw network output
    alpha: np.ndarray | None  # transparency (uint8), put back into PNG downloads
    note: str  # e.g. "first frame of 12 used"
    original: np.ndarray  # the photo as uploaded, uint8 at preview size: H x W if grey, else H x W x 3
    meta: PhotoMeta = field(default_factory=PhotoMeta)  # the original's dates and dpi, for downloads


def preview_pixels(pixels, max_side=PREVIEW_SIDE):
    """A decoded photo's pixels (colorize.decode.Photo.pixels) at screen size, uint8: one plane for
    a grey photo, else RGB. The same values as to_uint8(shrink(photo.rgb)), without that whole
    float RGB: a photo shrunk by whole factors goes in strips of whole groups of rows (each strip
    shrinks exactly as the whole would), any other a plane at a time (OpenCV's area averaging by
    fractional factors treats each channel alike)."""
    h, w = pixels.shape[:2]
    tw, th = fit(w, h, max_side)
    if (tw, th) == (w, h):
        return to_uint8(unit_float(pixels))
    if (w / tw).is_integer() and (h / th).is_integer():
        group = h // th
        rows = group * max(1, strips.STRIP_PIXELS // (w * group))
        out = np.empty((th, tw, *pixels.shape[2:]), np.uint8)
        for top in range(0, h, rows):
            # as three channels even for grey: OpenCV's whole-factor path may round one plane
            # a float step differently from three, and these must be photo.rgb's values
            part = cv2.resize(
                unit_rgb(pixels[top : top + rows]), (tw, min(rows, h - top) // group), interpolation=cv2.INTER_AREA
            )
            out[top // group : (top + rows) // group] = to_uint8(part if pixels.ndim == 3 else part[..., 0])
        return out
    if pixels.ndim == 2:
        return to_uint8(shrink(unit_float(pixels), max_side))
    return np.dstack([to_uint8(shrink(unit_float(pixels[..., c]), max_side)) for c in range(pixels.shape[2])])


def analyse_photo(model, name, data, max_pixels=PAGE_MAX_PIXELS, preview_side=PREVIEW_SIDE):
    """Decode `data` (in a decode turn) and run the network once. Raises ColorizeError for a bad or
    oversized file.

    Works from the photo's pixels as decoded (one 8-bit plane for a grey scan), never its whole
    float RGB: a 40 MP grey scan needs its pixels (40 MB) and its L (160 MB) at most, not 640 MB."""
    with _decode_turns:
        try:
            photo = load_image(name, data=data, max_pixels=max_pixels)
            original = preview_pixels(photo.pixels, preview_side)
            L = lightness(photo.pixels)
            alpha = None if photo.alpha is None else to_uint8(photo.alpha)  # a quarter of the float's size
            note, meta = photo.note, photo.meta
            del photo
        finally:
            give_back_memory()
    prediction = predict_L(model, [L])[0]
    return AnalysedPhoto(name, prediction, alpha, note, original, meta)


def full_resolution(model, analysed, vividness=None, fmt="png", record_model=None):
    """The download (in the full-size turn): the colorized photo encoded at full size (PNG keeps
    transparency; PNG and TIFF keep 16 bits where the original had more than 8), its file saying
    that `record_model` (default: `model`) added the colours."""
    deep = analysed.meta.bits > 8 and FORMATS.get(fmt.lower()) in DEEP_FORMATS
    with _full_size_turn:
        try:
            pixels = (
                render_16_bits(model, analysed.prediction, vividness)
                if deep
                else render(model, analysed.prediction, vividness, dtype=np.uint8)
            )
            return encode_image(
                pixels, analysed.alpha, fmt, meta=analysed.meta, reuse_rgb=True, model=record_model or model
            )
        finally:
            give_back_memory()


def pixel_count(data):
    """Width x height from an image's header (0 when it cannot be read: decoding will say why)."""
    try:
        with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as im:
            return im.size[0] * im.size[1]
    except Exception:  # noqa: BLE001 - a bad header is reported by the decoder itself
        return 0


def analyse_taking_turns(model, name, data, max_pixels=PAGE_MAX_PIXELS):
    """`analyse_photo` in a network turn, and a big photo in the big turn as well."""
    if pixel_count(data) < BIG_PIXELS:
        with _network_turns:
            return analyse_photo(model, name, data, max_pixels=max_pixels)
    with _big_turn, _network_turns:
        return analyse_photo(model, name, data, max_pixels=max_pixels)


@dataclass
class Look:
    """One photo as the page shows it (see the module docstring); all arrays at screen size or smaller."""

    size: tuple  # (width, height) of the photo itself
    note: str  # e.g. "first frame of 12 used"
    net_L: np.ndarray  # the network's input (L resized), for runs with hints
    raw: np.ndarray  # the network's output without hints
    preview_L: np.ndarray  # L at preview size, 0..100
    original: np.ndarray  # the photo as uploaded at preview size, uint8: H x W if grey, else H x W x 3
    grey: bool = True  # whether the photo is black and white (an 8-bit photo's channels within GREY_TOLERANCE)
    deep: bool = False  # whether the original has more than 8 bits per channel (PNG and TIFF downloads keep 16)

    def original_rgb(self):
        """The photo as uploaded at preview size, as uint8 RGB (the compare view's 'before')."""
        return np.repeat(self.original[..., None], 3, axis=2) if self.original.ndim == 2 else self.original


def look_at(model, name, data, max_pixels=PAGE_MAX_PIXELS):
    """Decode and run the network once; keep only what the page shows. ColorizeError for a bad file."""
    analysed = analyse_taking_turns(model, name, data, max_pixels=max_pixels)
    L = analysed.prediction.L
    original = analysed.original
    grey = original.ndim == 2 or int(np.ptp(original.astype(np.int16), axis=2).max(initial=0)) <= GREY_TOLERANCE
    look = Look(
        size=(L.shape[1], L.shape[0]),
        note=analysed.note,
        net_L=network_input(model, L),
        raw=analysed.prediction.raw,
        preview_L=shrink(L, PREVIEW_SIDE),
        original=original,
        grey=grey,
        deep=analysed.meta.bits > 8,
    )
    del analysed, L
    return look


def pinned_for(model, look, hints) -> Pinned | None:
    """The effect of colour hints (photo pixels) on this photo: None if they change nothing."""
    w, h = look.size
    checked = check_hints(hints, w, h)
    if not checked:
        return None
    with _network_turns:
        return pin_effect(model, look.net_L, look.raw, checked, (h, w), look.preview_L)


def look_prediction(look, pinned=None, side=PREVIEW_SIDE) -> Prediction:
    """The photo's prediction at screen size (at most `side`), with the effect of its pins if any."""
    return Prediction(shrink(look.preview_L, side), look.raw, pinned=pinned)


def preview(model, look, vividness, pinned=None, side=PREVIEW_SIDE):
    """The colorized photo at screen size (uint8 RGB) at the page's vividness."""
    model, v = for_vividness(model, vividness)
    return render(model, look_prediction(look, pinned, side), v, dtype=np.uint8)


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


def draw_pins(picture, pins, size, pending=None):
    """The picture with each pin drawn as a numbered dot in its colour, and a point whose colour is
    not chosen yet (`pending`, photo pixels) as an empty ring marked '?' (a copy; uint8 RGB)."""
    out = picture.copy()
    ph, pw = out.shape[:2]
    w, h = size
    radius = max(8, round(max(ph, pw) / 55))

    def centre(x, y):
        return (min(pw - 1, int((x + 0.5) * pw / w)), min(ph - 1, int((y + 0.5) * ph / h)))

    def label(c, text):
        scale = radius / 16
        org = (c[0] + radius + 4, c[1] - radius)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 3, cv2.LINE_AA)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA)

    for pin in pins:
        c = centre(pin.x, pin.y)
        cv2.circle(out, c, radius + 3, (20, 20, 20), -1, cv2.LINE_AA)
        cv2.circle(out, c, radius + 1, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(out, c, radius - 1, tuple(int(v) for v in pin.rgb), -1, cv2.LINE_AA)
        label(c, str(pin.id))
    if pending is not None:
        c = centre(*pending)
        cv2.circle(out, c, radius + 2, (20, 20, 20), 4, cv2.LINE_AA)
        cv2.circle(out, c, radius + 2, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.circle(out, c, 2, (255, 255, 255), -1, cv2.LINE_AA)
        label(c, "?")
    return out


def full_size(model, photo, vividness, fmt="png", max_pixels=PAGE_MAX_PIXELS):
    """A shelf photo's download: decoded again, its pins applied, rendered and encoded at full size."""
    analysed = analyse_taking_turns(model, photo.name, photo.data, max_pixels=max_pixels)
    if photo.pins:
        with _network_turns:
            prediction = predict_L(model, [analysed.prediction.L], hints=[photo.hints()])[0]
        analysed = dataclasses.replace(analysed, prediction=prediction)
    render_model, v = for_vividness(model, vividness)
    return full_resolution(render_model, analysed, v, fmt, record_model=model)


def zip_full_size(model, photos, vividness, fmt="png", turn=None):
    """Every photo's full-size file (PNG, JPEG or TIFF) in one zip, built one photo at a time (stored:
    the files are compressed already), each inside `turn(photo)` (a context manager) if given."""
    names = unique_names([output_name(p.name, fmt) for p in photos])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, photo in zip(names, photos, strict=True):
            with turn(photo) if turn else contextlib.nullcontext():
                z.writestr(name, full_size(model, photo, vividness, fmt))
    return buf.getvalue()


# --- colour pins: what a pin will look like, and what to suggest ---------------------------------

COMMON_COLOURS = (  # one tap each, beside the network's own likely colours
    ("Skin", (224, 172, 138)),
    ("Sky", (110, 160, 220)),
    ("Grass", (88, 140, 60)),
    ("Khaki", (195, 176, 120)),
    ("Navy", (31, 42, 90)),
)
SUGGESTIONS = 4  # the network's likely colours offered at a point


def lightness_at(look, x, y, radius=2):
    """The photo's lightness (0..100) around photo pixel (x, y): where a pin's colour will sit."""
    w, h = look.size
    ph, pw = look.preview_L.shape
    cx, cy = min(pw - 1, int((x + 0.5) * pw / w)), min(ph - 1, int((y + 0.5) * ph / h))
    patch = look.preview_L[max(0, cy - radius) : cy + radius + 1, max(0, cx - radius) : cx + radius + 1]
    return float(patch.mean())


def as_it_will_look(rgb, L):
    """A colour (r, g, b 0..255) as a pin of it shows at lightness L: its a/b with the photo's own L
    (the way colour pins work: the photo keeps its light and dark)."""
    r, g, b = (int(c) for c in rgb)
    return as_it_will_look_ab(*Hint(0, 0, (r, g, b)).ab, L)


@dataclass(frozen=True)
class Suggestion:
    """A colour to offer for a pin: its name, the colour the pin gets, and how it looks there."""

    name: str
    rgb: tuple  # what the pin is given (only its a/b reaches the network)
    shown: tuple  # the colour at that point's lightness: what the photo will show
    share: float = 0.0  # the network's probability for it there (its own suggestions)


def pin_suggestions(model, look, x, y, k=SUGGESTIONS):
    """What to offer for a pin at photo pixel (x, y): the network's k most likely colours there (from
    its distribution over the a/b bins, close ones merged), then COMMON_COLOURS; each shown at the
    point's lightness."""
    L = lightness_at(look, x, y)
    out = []
    if model.info.bins is not None:
        for a, b, share in likely_colours(model, look.raw, look.size, x, y, k):
            shown = as_it_will_look_ab(a, b, L)
            out.append(Suggestion(colour_word(a, b), shown, shown, share))
    for name, rgb in COMMON_COLOURS:
        out.append(Suggestion(name, rgb, as_it_will_look(rgb, L)))
    return out


def as_it_will_look_ab(a, b, L):
    """The colour of a/b at lightness L, as (r, g, b) 0..255 (sRGB, chroma reduced to fit)."""
    ab = np.array([a, b], np.float32).reshape(1, 1, 2)
    return tuple(int(c) for c in to_uint8(recombine(np.full((1, 1), L, np.float32), ab))[0, 0])
