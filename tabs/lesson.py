"""The How it works tab: one photo (the visitor's or a sample) taken apart into L, a and b, where its
colours sit in the a/b plane, and, with pins, the hint map and where the pins changed the colour."""

import streamlit as st

from colorize.page import teaching
from colorize.page.memory import ShelfPhoto, content_id
from colorize.page.names import display_name, markdown_literal

from .server import look_for, my_shelf, raw_for
from .widgets import friendly, vividness_slider


def lesson_tab(model, model_folder, info, samples):
    st.markdown(teaching.EXPLANATION)
    shelf = my_shelf()
    mine = {p.id: p for p in shelf.photos.values() if p.problem is None}
    sample_ids = {content_id(s.read()): s for s in samples}
    ids = list(mine) + [i for i in sample_ids if i not in mine]
    labels = {i: display_name(f"Sample: {s.title}") for i, s in sample_ids.items()}
    labels |= {i: display_name(p.name) for i, p in mine.items()}  # the visitor's own name first
    if not ids:
        st.info("Upload a photo in the Photos tab to see it taken apart here.")
        return
    default = shelf.selected if shelf.selected in ids else ids[0]
    if st.session_state.get("lesson-photo") not in ids:
        st.session_state["lesson-photo"] = default
    pick, slider = st.columns([2, 3])
    chosen = pick.selectbox("Photo to take apart", ids, format_func=lambda i: labels[i], key="lesson-photo")
    vividness = vividness_slider("vividness-lesson", info, slider)
    photo = mine.get(chosen)
    if photo is None:
        sample = sample_ids[chosen]
        photo = ShelfPhoto(chosen, sample.name, sample.read())
    try:
        look = look_for(model, model_folder, photo)
        raw = raw_for(model, model_folder, photo, look)
        lesson = teaching.photo_lesson(model, look, raw, vividness)
    except Exception as e:  # noqa: BLE001 - one bad photo must not break the teaching tab
        st.error(friendly(photo.name, e))
        return
    st.subheader(f"Taking apart {markdown_literal(photo.name)}", divider="gray", anchor=False)
    c1, c2, c3, c4 = st.columns(4)
    c1.image(lesson.L, caption="L, lightness: the only thing the network is given", width="stretch")
    c2.image(lesson.a, caption="a, predicted: green (−) to red (+), exaggerated 2×", width="stretch")
    c3.image(lesson.b, caption="b, predicted: blue (−) to yellow (+), exaggerated 2×", width="stretch")
    c4.image(lesson.result, caption="L + a + b: the colorized photo", width="stretch")
    if model.takes_hints:
        pins_lesson(model, photo, look, raw, vividness)
    plane, words = st.columns([1, 1])
    plane.image(
        lesson.plane,
        caption=f"Where this photo's predicted colours sit in the a/b plane "
        f"(shown at lightness {teaching.PLANE_LIGHTNESS:.0f}). The dark outline holds "
        f"half of the pixels, the grey one nine tenths.",
        width="stretch",
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


def pins_lesson(model, photo, look, raw, vividness):
    st.markdown(
        "**Colour pins.** Besides L, this network can be given a few dots of colour. It spreads each "
        "one across the object it falls on, as far as the photo's light and dark suggest."
    )
    if not photo.pins:
        st.caption("Pin a colour on this photo in the Photos tab, then come back to watch it spread.")
        return
    hint_map, hints = teaching.pin_map(model, look, photo.hints())
    left, right = st.columns(2)
    left.image(
        hint_map,
        width="stretch",
        caption=f"The hint map: what the network is given besides L ({len(hints)} "
        f"pin{'s' if len(hints) > 1 else ''}, a {model.hint_patch}×{model.hint_patch} square "
        "of its own input each)",
    )
    changed, share = teaching.pin_change(model, look, raw, vividness)
    right.image(
        changed, width="stretch", caption=f"Where the pins changed the colour (outlined): {share:.0%} of the photo"
    )
