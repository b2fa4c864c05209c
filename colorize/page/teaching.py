"""Pictures that show what the network does, for a workshop projector: L in, a and b out.

Everything here returns plain uint8 RGB arrays (numpy/OpenCV only), so any front end can show
them: the Streamlit page's "How it works" tab, a notebook, or a slide. `lesson`, `hint_map` and
`hint_change` work on any prediction; `photo_lesson`, `pin_map` and `pin_change` on a photo as the
page keeps it (colorize.page.photo.Look) at the page's vividness.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from ..hints import check_hints, hint_maps
from ..lab import gray_rgb, lab_to_rgb, recombine, rgb_to_lab, to_uint8
from ..pipeline import Prediction, preview_prediction, render_ab
from .vividness import GREY_RAMP, for_vividness

AB_LIMIT = 110.0  # the a/b plane drawn spans -AB_LIMIT..AB_LIMIT on both axes
PLANE_LIGHTNESS = 60.0  # the plane's colours are shown at this lightness

EXPLANATION = """\
**Lab colour.** A photo can be stored as three numbers per pixel in the *Lab* colour space instead of
red, green and blue. **L** is lightness (0 = black, 100 = white): it is exactly what a black-and-white
photo records. **a** runs from green (negative) to red/magenta (positive), **b** from blue (negative)
to yellow (positive). Together a and b say *which colour* a pixel is; L says *how light* it is.

**What the network does.** It sees only L, the black-and-white photo, and guesses a and b for every
small patch. It learned those guesses from tens of thousands of colour photos that it was shown as
black-and-white: skies tend to be blue, grass green, skin warm. For each patch it outputs not one
colour but how likely each of a couple of hundred possible colours is. The colour it gives is the
average of those, weighted by how likely each is: clear where the network is sure, fading towards
grey where it is torn between several. The **vividness** slider scales that colour: 0 is plain grey,
1 the amount measured to match real colour photos, 2 bold.

**Putting it back together.** The guessed a and b are computed at a quarter of the photo's size,
then sharpened to full size along the photo's own edges, and recombined with the *original* L.
So the detail and the tones always come from your photo; only the colour is a guess, and a guess
can be wrong: a red car may come out grey or blue, because the photo holds no trace of its colour.
"""


def lightness_image(L):
    """L (0..100) as the neutral grey picture the network actually sees."""
    return to_uint8(gray_rgb(L))


def channel_image(L, ab, channel, gain=2.0, lightness=70.0):
    """One of a (channel 0) or b (channel 1) alone, as colour at a fixed lightness.

    The other channel is set to zero, so a shows as green <-> magenta and b as blue <-> yellow;
    `gain` exaggerates the usually modest values so a projector shows them (say so in a caption).
    """
    lab = np.zeros(L.shape + (3,), np.float32)
    lab[..., 0] = lightness
    lab[..., 1 + channel] = np.clip(ab[..., channel] * gain, -AB_LIMIT, AB_LIMIT)
    return to_uint8(lab_to_rgb(lab))


def ab_plane(size=360, lightness=PLANE_LIGHTNESS, limit=AB_LIMIT):
    """The a/b colour plane at one lightness (a to the right, b upwards), and its in-gamut mask."""
    step = 2 * limit / size
    a = -limit + (np.arange(size, dtype=np.float32) + 0.5) * step
    b = limit - (np.arange(size, dtype=np.float32) + 0.5) * step
    lab = np.empty((size, size, 3), np.float32)
    lab[..., 0] = lightness
    lab[..., 1] = a[None, :]
    lab[..., 2] = b[:, None]
    rgb = lab_to_rgb(lab)
    back = rgb_to_lab(rgb)
    in_gamut = np.abs(back - lab).max(axis=2) < 2.0
    return rgb, in_gamut


def ab_histogram(ab, size=360, limit=AB_LIMIT, max_samples=200_000):
    """Share of pixels in each cell of the size x size a/b grid (rows = b from +limit down)."""
    flat = ab.reshape(-1, 2)
    if len(flat) > max_samples:
        flat = flat[:: int(np.ceil(len(flat) / max_samples))]
    hist, _, _ = np.histogram2d(-flat[:, 1], flat[:, 0], bins=size, range=[[-limit, limit], [-limit, limit]])
    total = hist.sum()
    return (hist / total).astype(np.float32) if total else hist.astype(np.float32)


def ab_plane_with_predictions(ab, size=480, lightness=PLANE_LIGHTNESS, limit=AB_LIMIT):
    """Where a photo's predicted colours sit in the a/b plane, as a picture.

    The plane is drawn faded; the cells the photo's pixels fall in are drawn at full strength,
    with outlines around the areas holding half (dark) and nine tenths (grey) of the pixels, and
    labelled axes.
    """
    rgb, in_gamut = ab_plane(size, lightness, limit)
    canvas = to_uint8(rgb)
    faded = (canvas.astype(np.float32) * 0.35 + 255 * 0.65).astype(np.uint8)
    faded[~in_gamut] = 235
    hist = ab_histogram(ab, size, limit)
    density = cv2.GaussianBlur(hist, (0, 0), max(1.5, size / 100))
    shown = density > density.max() * 0.02 if density.max() > 0 else np.zeros_like(in_gamut)
    out = np.where(shown[..., None], canvas, faded)

    centre = size // 2
    cv2.line(out, (centre, 0), (centre, size - 1), (90, 90, 90), 1, cv2.LINE_AA)
    cv2.line(out, (0, centre), (size - 1, centre), (90, 90, 90), 1, cv2.LINE_AA)
    for share, ink in ((0.9, (110, 110, 110)), (0.5, (25, 25, 25))):
        mask = _densest_area(density, share)
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, ink, max(1, size // 400), cv2.LINE_AA)

    font, scale, ink = cv2.FONT_HERSHEY_SIMPLEX, size / 900, (40, 40, 40)
    pad = max(4, size // 60)
    _label(out, "+a red", (size - pad, centre - pad), font, scale, ink, align="right")
    _label(out, "-a green", (pad, centre - pad), font, scale, ink)
    _label(out, "+b yellow", (centre + pad, pad + int(22 * scale)), font, scale, ink)
    _label(out, "-b blue", (centre + pad, size - pad), font, scale, ink)
    return out


def _densest_area(density, share):
    """Mask of the highest-density cells that together hold `share` of all pixels."""
    flat = np.sort(density.ravel())[::-1]
    total = flat.sum()
    if total <= 0:
        return np.zeros(density.shape, bool)
    cut = flat[min(len(flat) - 1, int(np.searchsorted(np.cumsum(flat), share * total)))]
    return density >= max(cut, 1e-12)


def _label(img, text, org, font, scale, colour, align="left"):
    (w, _), _ = cv2.getTextSize(text, font, scale, 1)
    x = org[0] - w if align == "right" else org[0]
    cv2.putText(img, text, (x, org[1]), font, scale, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, org[1]), font, scale, colour, 1, cv2.LINE_AA)


def summary(ab):
    """A sentence about how colourful the prediction is (mean chroma, share of near-grey pixels)."""
    chroma = np.hypot(ab[..., 0], ab[..., 1])
    grey = float((chroma < 5).mean())
    return (
        f"Average colourfulness (chroma) {float(chroma.mean()):.1f}; "
        f"{grey:.0%} of the pixels are left nearly grey (chroma under 5)."
    )


def lesson(model, prediction, vividness=None, side=640):
    """Every teaching picture for one photo's prediction, at screen size (cheap: no network run)."""
    small = preview_prediction(prediction, side)
    ab = render_ab(model, small, vividness)
    return Lesson(
        L=lightness_image(small.L),
        a=channel_image(small.L, ab, 0),
        b=channel_image(small.L, ab, 1),
        result=to_uint8(recombine(small.L, ab)),
        plane=ab_plane_with_predictions(ab),
        summary=summary(ab),
    )


@dataclass
class Lesson:
    """The pictures of the teaching view (uint8 RGB) and a one-line summary."""

    L: np.ndarray
    a: np.ndarray
    b: np.ndarray
    result: np.ndarray  # L recombined with the predicted a and b: the colorized photo
    plane: np.ndarray
    summary: str


CHANGE_THRESHOLD = 3.0  # a colour difference (CIE76 on a/b) people can just about see side by side


def hint_map(L, hints, photo_size, network_shape, patch):
    """What the network is given besides L: each hint's square of a/b (at the network's resolution,
    blown up to L's size) over the dimmed photo, outlined so a projector shows even one dot."""
    w, h = photo_size
    ab, mask = hint_maps(hints, (h, w), network_shape, patch)
    size = (L.shape[1], L.shape[0])
    ab = np.stack([cv2.resize(ab[i], size, interpolation=cv2.INTER_NEAREST) for i in range(2)], axis=-1)
    mask = cv2.resize(mask[0], size, interpolation=cv2.INTER_NEAREST) > 0.5
    lab = np.zeros(L.shape + (3,), np.float32)
    lab[..., 0] = np.float32(62)
    lab[..., 1:] = ab
    out = to_uint8(gray_rgb(L * np.float32(0.45) + np.float32(50)))
    out[mask] = to_uint8(lab_to_rgb(lab))[mask]
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8), iterations=2).astype(bool) & ~mask
    out[ring] = (20, 20, 20)
    return out


def hint_change(model, L, plain_raw, hinted_raw, vividness=None, threshold=CHANGE_THRESHOLD):
    """Where the hints changed the colour: the colorized photo where its a/b moved by more than
    `threshold`, plain grey elsewhere, with an outline; and the share of the photo that changed."""
    before = render_ab(model, Prediction(L, plain_raw), vividness)
    after = render_ab(model, Prediction(L, hinted_raw), vividness)
    moved = np.hypot(*(after - before).transpose(2, 0, 1)) > threshold
    out = to_uint8(gray_rgb(L))
    out[moved] = to_uint8(recombine(L, after))[moved]
    contours, _ = cv2.findContours(moved.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (217, 98, 43), max(1, max(L.shape) // 300), cv2.LINE_AA)
    return out, float(moved.mean())


def photo_lesson(model, look, raw, vividness):
    """The lesson of a photo on the page (its look, and its raw output with its pins) at the page's vividness."""
    render_model, v = for_vividness(model, vividness)
    return lesson(render_model, Prediction(look.preview_L, raw), v)


def pin_map(model, look, hints):
    """(the hint map of a photo on the page with these hints, the hints as checked)."""
    checked = check_hints(hints, *look.size)
    return hint_map(look.preview_L, checked, look.size, look.net_L.shape, model.hint_patch), checked


def pin_change(model, look, raw, vividness):
    """`hint_change` of a photo on the page: its plain output against `raw`, its output with its pins,
    at the page's vividness (at least GREY_RAMP, so a change shows even at vividness 0)."""
    render_model, v = for_vividness(model, max(vividness, GREY_RAMP))
    return hint_change(render_model, look.preview_L, look.raw, raw, v)
