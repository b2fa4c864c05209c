"""The How it works tab: one photo (the visitor's or a sample) taken apart into L, a and b; a click on
it shows the network's distribution over its a/b bins there and the colour each decode picks; the
samples can reveal their real colours; pins can be placed here; where its colours sit in the a/b
plane, and, with pins, the hint map and where the pins changed the colour. A projector layout shows
two pictures to a row, and every picture downloads as PNG for slides."""

import io

import streamlit as st
from PIL import Image
from streamlit_image_coordinates import streamlit_image_coordinates

from colorize.page import photo as pp
from colorize.page import teaching
from colorize.page.gallery import real_colours
from colorize.page.memory import ShelfPhoto, content_id
from colorize.page.names import display_name, markdown_literal

from .pins import handle_click, pin_chooser, pins_panel
from .server import look_for, my_shelf, pinned_for
from .state import page_state
from .widgets import checked_choice, checked_click, friendly, vividness_slider, widget_value

CLICK_MODES = ["See the network's guess", "Pin a colour"]
PROJECTOR_CSS = """<style>
.st-key-lesson [data-testid="stCaptionContainer"], .st-key-lesson [data-testid="stImageCaption"]{font-size:1.3rem}
.st-key-lesson [data-testid="stMarkdownContainer"] p{font-size:1.3rem}
</style>"""


def png(picture):
    """A picture (uint8 RGB) as PNG bytes, made when its download button is pressed."""

    def make():
        buf = io.BytesIO()
        Image.fromarray(picture).save(buf, "PNG")
        return buf.getvalue()

    return make


def picture(where, image, caption, file_stem, name):
    """A teaching picture with its caption and a button that downloads it as PNG."""
    where.image(image, caption=caption, width="stretch")
    png_button(where, image, file_stem, name)


def png_button(where, image, file_stem, name):
    where.download_button(
        "PNG",
        data=png(image),
        file_name=f"{file_stem}-{name}.png",
        mime="image/png",
        key=f"lesson-png-{name}",
        on_click="ignore",
        icon=":material/download:",
        type="tertiary",
        help="This picture as a PNG file, for slides",
    )


def lesson_photo(chosen, mine, samples):
    """The photo to take apart: the visitor's own, or a sample (kept in the session, with its pins);
    and the sample it is, if it is one (a sample tapped in the Photos tab too)."""
    sample = samples.get(chosen)
    if chosen in mine:
        return mine[chosen], sample
    held = page_state().lesson_photos
    if chosen not in held:
        held[chosen] = ShelfPhoto(chosen, sample.name, sample.read())
    return held[chosen], sample


def lesson_tab(model, model_folder, info, samples):
    st.markdown(teaching.EXPLANATION)
    shelf, state = my_shelf(), page_state()
    mine = {p.id: p for p in shelf.photos.values() if p.problem is None}
    sample_ids = {content_id(s.read()): s for s in samples}
    ids = list(mine) + [i for i in sample_ids if i not in mine]
    labels = {i: display_name(f"Sample: {s.title}") for i, s in sample_ids.items()}
    labels |= {i: display_name(p.name) for i, p in mine.items()}  # the visitor's own name first
    if not ids:
        st.info("Upload a photo in the Photos tab to see it taken apart here.")
        return
    default = shelf.selected if shelf.selected in ids else ids[0]
    if widget_value("lesson-photo", checked_choice(ids)) is None:
        st.session_state["lesson-photo"] = default
    pick, slider = st.columns([2, 3])
    chosen = pick.selectbox("Photo to take apart", ids, format_func=lambda i: labels[i], key="lesson-photo")
    vividness = vividness_slider("vividness-lesson", info, slider)
    photo, sample = lesson_photo(chosen, mine, sample_ids)
    has_real = sample is not None and sample.colour_path is not None
    with st.container(horizontal=True, gap="medium"):
        reveal = st.toggle(
            "Reveal the real colours",
            key="lesson-reveal",
            disabled=not has_real,
            help="The samples are colour photos stored in black and white: show the colour original beside "
            "the network's guess."
            if has_real
            else "Only the samples made from colour photos have real colours to reveal.",
        )
        projector = st.toggle("Projector layout", key="lesson-projector", help="Two big pictures to a row.")
    reveal = reveal and has_real
    try:
        look = look_for(model, model_folder, photo)
        pinned = pinned_for(model, model_folder, photo, look)
        lesson = teaching.photo_lesson(model, look, pinned, vividness, side=1000 if projector else 640)
    except Exception as e:  # noqa: BLE001 - one bad photo must not break the teaching tab
        st.error(friendly(photo.name, e))
        return
    stem = display_name(photo.name).rsplit(".", 1)[0] or "photo"
    with st.container(key="lesson"):
        if projector:
            st.html(PROJECTOR_CSS)
        st.subheader(f"Taking apart {markdown_literal(photo.name)}", divider="gray", anchor=False)
        mode = CLICK_MODES[0]
        if model.info.bins is not None or model.takes_hints:
            options = [m for m in CLICK_MODES if m != CLICK_MODES[1] or model.takes_hints]
            if model.info.bins is None:
                options = options[1:]
            picked = st.segmented_control("Click the photo to", options, default=options[0], key="lesson-click-mode")
            mode = picked if picked in options else options[0]
        click_key = f"lesson-click-{photo.id}"
        new_point(photo, look, click_key, mode)
        point = state.lesson_point.get(photo.id)
        shown = teaching.mark_point(lesson.result, point, look.size) if mode == CLICK_MODES[0] else lesson.result
        if mode == CLICK_MODES[1]:
            shown = pp.draw_pins(shown, photo.pins, look.size, state.pending_pin.get(photo.id))
        pictures = [
            (lesson.L, "L, lightness: the only thing the network is given", "L"),
            (lesson.a, "a, predicted: green (−) to red (+), exaggerated 2×", "a"),
            (lesson.b, "b, predicted: blue (−) to yellow (+), exaggerated 2×", "b"),
        ]
        if reveal:
            real = real_colours(sample, (lesson.result.shape[1], lesson.result.shape[0]))
            pictures.append((real, "The real colours: the photo before it was made black and white", "real"))
        per_row = 2 if projector else len(pictures) + 1
        cells = [c for _ in range(0, len(pictures) + 1, per_row) for c in st.columns(per_row)]
        for cell, (image, caption, name) in zip(cells, pictures, strict=False):
            picture(cell, image, caption, stem, name)
        with cells[len(pictures)]:
            streamlit_image_coordinates(shown, key=click_key, width="stretch", image_format="JPEG", cursor="crosshair")
            st.caption("L + a + b: the colorized photo. Click it to " + mode[0].lower() + mode[1:] + ".")
            png_button(st, lesson.result, stem, "colorized")
        if mode == CLICK_MODES[1]:
            pin_chooser(model, photo, look, lesson.result, prefix="lesson-")
            pins_panel(photo, look, prefix="lesson-")
        elif point is not None and model.info.bins is not None:
            point_lesson(model, look, pinned, vividness, point, stem, projector)
        if model.takes_hints:
            pins_lesson(model, photo, look, pinned, vividness, stem)
        plane(lesson, stem, projector)
        st.markdown(teaching.WHY_BROWN)


def new_point(photo, look, key, mode):
    """A new click on the lesson's picture: the pixel to look at, or a pin (whose colour is chosen next)."""
    if mode == CLICK_MODES[1]:
        handle_click(photo, look, key)
        return
    state, clicked = page_state(), widget_value(key, checked_click)
    if not clicked or clicked.get("unix_time") == state.clicks_done.get(key):
        return
    state.clicks_done[key] = clicked.get("unix_time")
    point = pp.click_to_photo(clicked, look.size)
    if point is not None:
        state.lesson_point[photo.id] = point


def point_lesson(model, look, pinned, vividness, point, stem, projector):
    x, y = point
    at = teaching.point_lesson(model, look, x, y, vividness, pinned, side=720 if projector else 480)
    st.markdown(f"**What the network says at pixel {x}, {y}** (lightness {at.L:.0f}).")
    left, right = st.columns(2)
    picture(
        left,
        at.picture,
        f"Its {len(at.bins)} possible colours in the a/b plane: each disc's area is how likely the network "
        "finds that colour here (the likeliest full size). The crosses: the colour each way of reading the "
        "distribution picks.",
        stem,
        f"point-{x}-{y}",
    )
    with right:
        rows = [
            f"| {teaching.DECODE_NAMES[name]} | {a:+.0f} | {b:+.0f} | {teaching.swatch(at.L, a, b)} |"
            for name, (a, b) in at.decodes.items()
        ]
        st.markdown("| decode | a | b | colour |\n|---|---|---|---|\n" + "\n".join(rows), unsafe_allow_html=True)
        st.markdown(at.words)


def pins_lesson(model, photo, look, pinned, vividness, stem):
    st.markdown(
        "**Colour pins.** Besides L, this network can be given a few dots of colour. It spreads each "
        "one across the object it falls on and stops at its edges, where the light and dark change; a "
        "pin of the colour the network already chose there changes nothing."
    )
    if not photo.pins:
        st.caption("Choose “Pin a colour” above and click the photo, then watch the pin spread.")
        return
    hint_map, hints = teaching.pin_map(model, look, photo.hints())
    left, right = st.columns(2)
    picture(
        left,
        hint_map,
        f"The hint map: what the network is given besides L ({len(hints)} "
        f"pin{'s' if len(hints) > 1 else ''}, a {model.hint_patch}×{model.hint_patch} square "
        "of its own input each)",
        stem,
        "hint-map",
    )
    changed, share = teaching.pin_change(model, look, pinned, vividness)
    picture(right, changed, f"Where the pins changed the colour (outlined): {share:.0%} of the photo", stem, "changed")


def plane(lesson, stem, projector):
    left, words = st.columns([1, 1])
    picture(
        left,
        lesson.plane,
        f"Where this photo's predicted colours sit in the a/b plane "
        f"(shown at lightness {teaching.PLANE_LIGHTNESS:.0f}). The dark outline holds "
        f"half of the pixels, the grey one nine tenths.",
        stem,
        "plane",
    )
    with words:
        st.markdown(
            "**Reading the colour plane.** The centre is grey; the further out, the more colourful. "
            "The angle is the hue: right is red, up is yellow, left is green, down is blue. "
            "Colorized photos cluster near the centre: the network hedges when unsure. "
            "Move the vividness slider and watch the cloud spread out; at 0 it shrinks to the "
            "grey centre."
        )
        st.markdown(lesson.summary)
