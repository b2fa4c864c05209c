"""Pictures that show what the network does, for a workshop projector, a slide or a notebook.

Everything here returns plain uint8 RGB arrays (numpy/OpenCV only, no Streamlit), so any front end
can show them: the page's "How it works" tab, a Jupyter notebook (`PIL.Image.fromarray(picture)`),
or a slide. A photo is first looked at once (`colorize.page.photo.look_at`: the network runs there,
a few hundred milliseconds); everything below is then cheap and can be redrawn at any vividness.

In a notebook::

    from colorize import load_default_model
    from colorize.page import photo, teaching
    from PIL import Image

    model = load_default_model()
    look = photo.look_at(model, "scan.jpg", open("scan.jpg", "rb").read())
    lesson = teaching.photo_lesson(model, look, None, vividness=1.0)  # None: no pins
    Image.fromarray(lesson.L)          # also .a, .b, .result, .plane; lesson.summary is a sentence
    at = teaching.point_lesson(model, look, x=200, y=150, vividness=1.0)
    Image.fromarray(at.picture)        # the 220 colours' probabilities there, and each decode's pick
    at.decodes, at.words               # {"mode": (a, b), "mean": ..., "annealed": ..., "shown": ...}
    pinned = photo.pinned_for(model, look, [(200, 150, "#2a63c4")])   # a colour pin
    hint_map, _ = teaching.pin_map(model, look, [(200, 150, "#2a63c4")])
    changed, share = teaching.pin_change(model, look, pinned, 1.0)

The pictures: `photo_lesson` / `lesson` (L, a, b, the result and the a/b plane of one photo),
`point_lesson` / `distribution` / `likely_colours` / `point_decodes` / `distribution_picture` (one
pixel: the network's probability for each a/b bin and what each decode picks), `pin_map` /
`hint_map` (what a hint-taking network is given besides L) and `pin_change` / `hint_change` (where
pins changed the colour); `lightness_image`, `channel_image`, `ab_plane`, `ab_plane_with_predictions`
and `mark_point` are the pieces. `lesson`, `hint_map` and `hint_change` work on any prediction
(colorize.pipeline.Prediction); the others on a photo as the page keeps it (colorize.page.photo.Look).
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
colour but how likely each of its possible colours is (the bundled network knows 220, spread over the
a/b plane): **click a point of the photo below to see them**. The colour it gives is the average of
those, weighted by how likely each is: clear where the network is sure, fading towards grey where it
is torn between several. The **vividness** slider scales that colour: 0 is plain grey, 1 the amount
measured to match real colour photos, 2 bold.

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


# --- one point: the network's distribution over the a/b bins, and what each decode picks --------

ANNEALED_T = 0.38  # Zhang et al. 2016's annealed mean
MERGE_AB = 15.0  # likely colours nearer than this in a/b count as one


def network_cell(raw_shape, size, x, y):
    """(row, column) of the network output cell (raw C x h x w) holding pixel (x, y) of a photo of
    `size` (width, height)."""
    _, h, w = raw_shape
    width, height = size
    return min(h - 1, max(0, int((y + 0.5) * h / height))), min(w - 1, max(0, int((x + 0.5) * w / width)))


def distribution(model, raw, size, x, y):
    """The network's probability for each of its a/b bins (model.info.bins) at photo pixel (x, y):
    the softmax of its raw output there, with the class rebalancing it was trained with divided out
    (its posterior: what "how likely each colour is" means). float64, sums to 1."""
    if model.info.bins is None:
        raise ValueError(f"model {model.name} gives a/b directly: it has no distribution to show")
    cy, cx = network_cell(raw.shape, size, x, y)
    z = raw[:, cy, cx].astype(np.float64)
    if model.info.prior_correction is not None:
        z = z - model.info.prior_correction
    z = np.exp(z - z.max())
    return z / z.sum()


def likely_colours(model, raw, size, x, y, k=4, merge=MERGE_AB):
    """The k most likely colours at photo pixel (x, y) as (a, b, probability), most likely first; bins
    nearer than `merge` to a likelier one are counted with it."""
    p = distribution(model, raw, size, x, y)
    bins = model.info.bins.astype(np.float64)
    picked: list[list[float]] = []
    for i in np.argsort(p)[::-1]:
        near = next((c for c in picked if np.hypot(c[0] - bins[i, 0], c[1] - bins[i, 1]) < merge), None)
        if near is not None:
            near[2] += float(p[i])
        elif len(picked) < k:
            picked.append([float(bins[i, 0]), float(bins[i, 1]), float(p[i])])
        if len(picked) >= k and p[i] < 1e-4:
            break
    return [tuple(c) for c in sorted(picked, key=lambda c: -c[2])]


HUES = ((20, "pink"), (55, "red"), (80, "orange"), (105, "yellow"), (165, "green"), (215, "teal"), (290, "blue"))


def colour_word(a, b):
    """A plain word for an a/b colour: 'grey' near the centre, else its hue ('red', 'blue'...)."""
    if np.hypot(a, b) < 8:
        return "grey"
    angle = float(np.degrees(np.arctan2(b, a))) % 360
    return next((word for limit, word in HUES if angle < limit), "purple" if angle < 340 else "pink")


@dataclass
class PointLesson:
    """What the network says at one pixel: its distribution, the colour each decode picks from it."""

    x: int
    y: int
    L: float  # the photo's lightness there
    probs: np.ndarray  # one per bin
    bins: np.ndarray  # Q x 2 a/b
    decodes: dict  # name -> (a, b): "mean", "shown", "annealed", "mode"
    picture: np.ndarray  # the a/b plane with the distribution and the decodes (uint8 RGB)
    words: str  # what to notice, in a sentence or two


DECODE_NAMES = {
    "mode": "most likely colour (mode)",
    "mean": "average of all (posterior mean)",
    "annealed": f"annealed mean (T = {ANNEALED_T})",
    "shown": "what the page shows",
}
DECODE_INK = {"mode": (200, 30, 30), "mean": (20, 20, 20), "annealed": (30, 90, 200), "shown": (255, 255, 255)}


def point_decodes(model, raw, size, x, y, vividness=None):
    """(probabilities, {decode: (a, b)}) at photo pixel (x, y): the mode, the posterior mean, the
    annealed mean and the colour the page renders there at this vividness (the model's own decode)."""
    p = distribution(model, raw, size, x, y)
    bins = model.info.bins.astype(np.float64)
    annealed = np.exp(np.log(np.maximum(p, 1e-300)) / ANNEALED_T)
    annealed /= annealed.sum()
    cy, cx = network_cell(raw.shape, size, x, y)
    render_model, v = for_vividness(model, model.info.default_vividness if vividness is None else vividness)
    shown = render_model.to_ab(raw[None, :, cy : cy + 1, cx : cx + 1], v)[0, :, 0, 0]
    return p, {
        "mode": tuple(bins[int(np.argmax(p))]),
        "mean": tuple(p @ bins),
        "annealed": tuple(annealed @ bins),
        "shown": (float(shown[0]), float(shown[1])),
    }


def distribution_picture(probs, bins, decodes, size=480, lightness=PLANE_LIGHTNESS):
    """The a/b plane (faded, zoomed to where the probability is) with a disc on each bin whose area
    is its probability (the likeliest full size), a cross for each decode and a legend."""
    top = float(probs.max()) or 1.0
    seen = bins[probs >= top * 0.003]
    limit = float(np.clip(np.abs(seen).max(initial=0) + 20, 40, AB_LIMIT))
    rgb, in_gamut = ab_plane(size, lightness, limit)
    canvas = to_uint8(rgb)
    out = (canvas.astype(np.float32) * 0.3 + 255 * 0.7).astype(np.uint8)
    out[~in_gamut] = 240
    scale = size / (2 * limit)
    step = _bin_step(bins) * scale

    def at(a, b):
        return int(round((a + limit) * scale)), int(round((limit - b) * scale))

    centre = size // 2
    cv2.line(out, (centre, 0), (centre, size - 1), (150, 150, 150), 1, cv2.LINE_AA)
    cv2.line(out, (0, centre), (size - 1, centre), (150, 150, 150), 1, cv2.LINE_AA)
    for (a, b), share in sorted(zip(bins.tolist(), probs.tolist(), strict=True), key=lambda t: t[1]):
        if share < top * 0.003:
            continue
        r = max(1, int(round(0.5 * step * np.sqrt(share / top))))
        c = at(a, b)
        ink = tuple(int(v) for v in canvas[min(size - 1, max(0, c[1])), min(size - 1, max(0, c[0]))])
        cv2.circle(out, c, r + 1, (60, 60, 60), -1, cv2.LINE_AA)
        cv2.circle(out, c, r, ink, -1, cv2.LINE_AA)
    font, fscale, arm = cv2.FONT_HERSHEY_SIMPLEX, size / 800, max(12, size // 24)
    for i, (name, (a, b)) in enumerate(decodes.items()):
        _cross(out, at(a, b), DECODE_INK[name], arm, size)
        y = size - 12 - int(26 * fscale * 1.4) * (len(decodes) - 1 - i)
        _cross(out, (14 + arm // 2, y - int(8 * fscale)), DECODE_INK[name], arm // 2, size)
        _label(out, DECODE_NAMES[name], (22 + arm, y), font, fscale, (20, 20, 20))
    pad = max(4, size // 60)
    _label(out, "+a red", (size - pad, centre - pad), font, fscale, (40, 40, 40), align="right")
    _label(out, "-a green", (pad, centre - pad), font, fscale, (40, 40, 40))
    _label(out, "+b yellow", (centre + pad, pad + int(22 * fscale)), font, fscale, (40, 40, 40))
    return out


def _cross(img, centre, ink, arm, size):
    width = max(2, size // 200)
    cv2.drawMarker(img, centre, (0, 0, 0), cv2.MARKER_CROSS, arm, width + 3, cv2.LINE_AA)
    cv2.drawMarker(img, centre, ink, cv2.MARKER_CROSS, arm, width, cv2.LINE_AA)


def _bin_step(bins):
    """The spacing of the a/b bin grid (10 for the bundled model's 220 bins)."""
    d = np.abs(bins[:, None, :] - bins[None, :, :]).max(axis=2)
    d[d == 0] = np.inf
    return float(np.min(d)) if np.isfinite(d).any() else 10.0


def point_lesson(model, look, x, y, vividness=None, pinned=None, side=480):
    """The lesson of one pixel of a photo on the page: the network's distribution over its a/b bins
    there (with its pins, if any change it), the colour each decode picks, and a picture of both."""
    raw = look.raw if pinned is None else pinned.raw
    probs, decodes = point_decodes(model, raw, look.size, x, y, vividness)
    bins = model.info.bins.astype(np.float64)
    L = float(look.preview_L[network_cell((1, *look.preview_L.shape), look.size, x, y)])
    spread = float(np.sum(probs * np.hypot(*(bins - np.array(decodes["mean"])).T)))
    warm = float(probs[(bins[:, 0] > 0) & (bins[:, 1] > 0)].sum())
    top = float(probs.max())
    words = (
        f"At this point the likeliest colour has {top:.0%} of the probability; the colours the network "
        f"considers lie on average {spread:.0f} units from their mean, and {warm:.0%} of the probability "
        "is in the warm quarter (red-yellow, upper right). "
        + (
            "The network is fairly sure here: the average sits near the likeliest colour."
            if top > 0.35
            else "The network is torn: the average of many colours sits near the grey centre, pulled "
            "towards the warm quarter where training photos had most of their colour (skin, wood, earth, "
            "indoor light). That is why unsure patches come out a muted brown."
        )
    )
    return PointLesson(x, y, L, probs, bins, decodes, distribution_picture(probs, bins, decodes, side), words)


WHY_BROWN = """\
**Why unsure colours lean brown.** Where the network cannot tell (a coat that could be red, blue or
green), its likely colours spread around the grey centre of the a/b plane, and their average lands
near the centre. Not exactly on it: the colours it saw most in its training photos (skin, wood,
earth, sand, indoor light) lie in the warm quarter, red-yellow, so the unsure average is pulled
there, and a pale warm colour at the photo's own lightness is a muted brown. Click a patch the
network got wrong and compare its "average" cross with its "most likely" one.
"""

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


def hint_change(model, prediction, vividness=None, threshold=CHANGE_THRESHOLD):
    """Where a prediction's hints changed the colour: the colorized photo where its a/b moved by more
    than `threshold`, plain grey elsewhere, with an outline; and the share of the photo that changed."""
    L = prediction.L
    before = render_ab(model, Prediction(L, prediction.raw), vividness)
    after = render_ab(model, prediction, vividness)
    moved = np.hypot(*(after - before).transpose(2, 0, 1)) > threshold
    out = to_uint8(gray_rgb(L))
    out[moved] = to_uint8(recombine(L, after))[moved]
    contours, _ = cv2.findContours(moved.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (217, 98, 43), max(1, max(L.shape) // 300), cv2.LINE_AA)
    return out, float(moved.mean())


def photo_lesson(model, look, pinned, vividness, side=640):
    """The lesson of a photo on the page (its look, and the effect of its pins) at the page's vividness,
    its pictures at most `side` pixels on their long side."""
    render_model, v = for_vividness(model, vividness)
    return lesson(render_model, Prediction(look.preview_L, look.raw, pinned=pinned), v, side)


def mark_point(picture, point, size):
    """The picture with photo pixel `point` (of a photo of `size`) marked by a ring (a copy; uint8 RGB);
    the picture itself when there is no point."""
    if point is None:
        return picture
    out = picture.copy()
    ph, pw = out.shape[:2]
    w, h = size
    c = (min(pw - 1, int((point[0] + 0.5) * pw / w)), min(ph - 1, int((point[1] + 0.5) * ph / h)))
    radius = max(6, round(max(ph, pw) / 60))
    cv2.circle(out, c, radius + 2, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.circle(out, c, radius, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def swatch(L, a, b):
    """A small HTML square of Lab colour (L, a, b) (for a table of colours in a notebook or a page)."""
    lab = np.array([[[L, a, b]]], np.float32)
    r, g, bl = (int(v) for v in to_uint8(recombine(lab[..., 0], lab[..., 1:]))[0, 0])
    return (
        f'<span style="display:inline-block;width:2.2em;height:1.2em;border:1px solid #777;'
        f'background:#{r:02x}{g:02x}{bl:02x}"></span>'
    )


def pin_map(model, look, hints):
    """(the hint map of a photo on the page with these hints, the hints as checked)."""
    checked = check_hints(hints, *look.size)
    return hint_map(look.preview_L, checked, look.size, look.net_L.shape, model.hint_patch), checked


def pin_change(model, look, pinned, vividness):
    """`hint_change` of a photo on the page with the effect of its pins, at the page's vividness
    (at least GREY_RAMP, so a change shows even at vividness 0)."""
    render_model, v = for_vividness(model, max(vividness, GREY_RAMP))
    return hint_change(render_model, Prediction(look.preview_L, look.raw, pinned=pinned), v)
