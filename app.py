"""Colorize's web page: `streamlit run app.py`.

Widgets and layout only; the work lives in colorize/ (page_photos: what is shown and downloaded,
page_memory: what a visitor's session keeps and when it is released, page_video: the page's
video limits and preview, teaching: the How it works pictures). The network runs once per photo
(and again, in milliseconds, when a pin is placed); vividness only re-renders. Full-size results
are made when a download button is pressed. No error reaches the page as a traceback: each photo
is handled on its own, and a bad one gets one line.
"""

import dataclasses
import hashlib
import logging
import tempfile
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit_image_coordinates import streamlit_image_coordinates

from colorize import ColorizeError, ColorModel, list_models, models_dir, teaching
from colorize import page_photos as pp
from colorize.compare import comparison_html
from colorize.decode import IMAGE_SUFFIXES
from colorize.encode import FORMATS
from colorize.gallery import CREDITS, list_samples, thumbnail
from colorize.hints import check_hints, parse_colour
from colorize.page_memory import (
    MB,
    LookCache,
    OverBudget,
    PageBudget,
    Reaper,
    ShelfPhoto,
    Shelves,
    give_back_memory,
    tune_malloc,
)
from colorize.page_video import PREVIEW_SECONDS, describe_limits, page_limits, preview_clip, sample_video
from colorize.pipeline import Prediction
from colorize.results import output_name
from colorize.video import VideoCancelled, colorize_video, probe_video

PHOTO_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]
VIDEO_TYPES = ["mp4", "mov", "m4v", "avi", "mkv", "webm"]
DOWNLOADS = [
    (fmt, label, mime)
    for fmt, label, mime in (("png", "PNG", "image/png"), ("jpg", "JPEG", "image/jpeg"), ("tiff", "TIFF", "image/tiff"))
    if fmt in FORMATS
]
PRIVACY = (
    "**Privacy.** Your photos and videos go to the server that runs this page, are processed in its "
    "memory (a video briefly in a temporary file) and are never stored: they are dropped when you "
    "remove them or close the page."
)

log = logging.getLogger("colorize.app")

st.set_page_config(
    page_title="Colorize: black and white to colour",
    page_icon="🎨",
    layout="wide",
    menu_items={"About": "Colorize: black-and-white photos and videos to colour, on a CPU, offline."},
)


# ------------------------------------------------------------------ what the server keeps


def session_alive(session_id):
    from streamlit import runtime

    return not runtime.exists() or runtime.get_instance().is_active_session(session_id)


def release_session(session_id):
    """What Streamlit keeps of a page closed for good (its uploads and media files): Streamlit frees
    them only when it shuts a session down, which it never does for a page that just closed."""
    from streamlit import runtime

    if runtime.exists():
        rt = runtime.get_instance()
        rt.uploaded_file_mgr.remove_session_files(session_id)
        rt.media_file_mgr.clear_session_refs(session_id)
        rt.media_file_mgr.remove_orphaned_files()


@st.cache_resource(show_spinner=False, on_release=lambda memory: memory[2].stop())
def page_memory():
    """The process's shelves (each visitor's photos) and look cache, with the thread that releases them
    (a closed page's after Streamlit's own reconnection window, so it can never come back to find them gone)."""
    tune_malloc()
    budget = PageBudget.from_env()
    budget = dataclasses.replace(
        budget, grace_seconds=max(budget.grace_seconds, float(st.get_option("server.disconnectedSessionTTL")))
    )
    shelves, looks = Shelves(budget), LookCache(budget.look_cache_bytes)
    return shelves, looks, Reaper(shelves, looks, session_alive, on_drop=release_session)


def session_id():
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "local"


def release_upload(upload):
    """Drop an uploaded file from Streamlit's upload store once its bytes are on the shelf. Only the
    in-memory store Streamlit runs with has remove_file (its base class does not promise one); any
    other store lets the file go with the session."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    remove = getattr(ctx.uploaded_file_mgr, "remove_file", None)
    if remove is not None:
        remove(ctx.session_id, upload.file_id)


def live_uploads(value):
    """The uploaded files an uploader's value still holds. A callback can see a file that
    release_upload already dropped from the store (a `DeletedFile`, which has no bytes): skipped."""
    files = value if isinstance(value, list) else [value] if value is not None else []
    return [f for f in files if hasattr(f, "getvalue")]


def my_shelf():
    return page_memory()[0].get(session_id())


@st.cache_resource(show_spinner="Loading the colorization model…")
def load_model(folder: str) -> ColorModel:
    return ColorModel(folder)


@st.cache_data(show_spinner=False, max_entries=32)
def sample_thumbnail(path: str):
    return thumbnail(path)


def look_for(model, model_folder, photo):
    """What the network made of a shelf photo (from the shared cache, or made now)."""
    looks = page_memory()[1]
    key = (photo.id, model_folder)
    look = looks.get(key)
    if look is None:
        look = looks.put(key, pp.look_at(model, photo.name, photo.data))
    return look


def raw_for(model, model_folder, photo, look):
    """The network's output for the photo with its pins (cached like looks; plain output without pins)."""
    if not photo.pins or not model.takes_hints:
        return look.raw
    looks = page_memory()[1]
    key = (photo.id, model_folder, "pins", tuple((p.x, p.y, p.rgb) for p in photo.pins))
    raw = looks.get(key)
    if raw is None:
        raw = looks.put(key, pp.hinted_raw(model, look, photo.hints()))
    return raw


# ------------------------------------------------------------------ small helpers


def friendly(name, error):
    """One line for the page; the details of unexpected errors go to the server log only."""
    name = pp.markdown_literal(name)
    if isinstance(error, ColorizeError):
        return f"{name}: {error.problem}"
    if isinstance(error, MemoryError):
        return f"{name}: not enough memory on this server to colorize it; try a smaller photo."
    log.exception("unexpected error with %s", pp.display_name(name))
    return f"{name}: something went wrong while colorizing it (the details are in the server log)."


def digest(data):
    return hashlib.sha256(data).hexdigest()[:24]


def vividness_slider(key, info, container=None):
    """A vividness slider; every tab's slider shows (and sets) the same value."""
    if st.session_state.get("vividness-model") != info.name:
        st.session_state["vividness-model"] = info.name
        st.session_state["vividness-value"] = float(info.default_vividness)
    st.session_state[key] = st.session_state["vividness-value"]

    def sync():
        st.session_state["vividness-value"] = st.session_state[key]

    return (container or st).slider(
        "Vividness",
        0.0,
        2.0,
        step=0.05,
        key=key,
        on_change=sync,
        help="How boldly to colour. 0: no colour at all (plain grey). Low: cautious, muted colours. "
        "High: bold colours, and bolder mistakes. Moving it does not run the network again.",
    )


def scroll_into_view(css_class):
    """Bring an element of this page into view (once: each call renders a new script), below the
    page's top bar."""
    token = st.session_state.get("scroll-token", 0) + 1
    st.session_state["scroll-token"] = token
    st.html(
        f"""<style>.{css_class}{{scroll-margin-top:3.75rem}}</style><span data-scroll="{token}"></span><script>
(() => {{ const go = () => {{ const el = document.querySelector('.{css_class}');
  if (el) el.scrollIntoView({{block: 'start', behavior: 'instant'}}); }};
  [0, 150, 500, 1200].forEach(t => setTimeout(go, t)); }})();
</script>""",
        unsafe_allow_javascript=True,
    )


# ------------------------------------------------------------------ sidebar


def sidebar():
    """Model picker (only with several models), what the page does, privacy and credits."""
    infos, problems = list_models()
    for p in problems:
        log.warning("unusable model: %s", p)
    if not infos:
        st.error(
            f"No colorization model found in {models_dir()}. Put a model folder there "
            "(see the README) and reload this page."
        )
        st.stop()
    with st.sidebar:
        st.header("About this page")
        info = infos[0]
        if len(infos) > 1:
            names = [i.name for i in infos]
            picked = st.selectbox("Model", names, key="model", help="Different networks can give different colours.")
            info = infos[names.index(picked)]
        st.markdown(
            "A small neural network looks at the light and dark of a black-and-white photo and "
            "guesses its colours: skies blue, grass green, skin warm. The detail always comes from "
            "your photo; only the colour is a guess, and a guess can be wrong."
        )
        if info.takes_hints:
            st.markdown(
                "**Wrong colour?** Click the photo where you know the colour and pick it: "
                "the network spreads it across that object."
            )
        st.caption(
            f"Model: **{info.name}**"
            + (f", licence {info.meta['license']}" if info.meta.get("license") else "")
            + ". Runs on this server's processor; nothing is sent to any other service."
        )
        st.markdown(PRIVACY)
        with st.expander("Credits for the sample photos and video"):
            st.markdown("\n".join(f"- **{title}**: {text}" if title else f"\n{text}" for title, text in CREDITS))
    return info


# ------------------------------------------------------------------ photos tab


def take_uploads(key):
    """The uploader's new files go onto this visitor's shelf (and out of Streamlit's upload store)."""
    shelves = page_memory()[0]
    shelf = my_shelf()
    files = live_uploads(st.session_state.get(key))
    notes, added = [], []
    for p in [p for p in shelf.photos.values() if p.problem]:
        shelf.remove(p.id)
    for f in files:
        data = f.getvalue()
        try:
            before = len(shelf.photos)
            photo = shelves.add(shelf, digest(data), f.name, data)
            if len(shelf.photos) == before:
                notes.append(f"{pp.markdown_literal(f.name)}: already on the page.")
            added.append(photo.id)
        except OverBudget as e:
            notes.append(f"{pp.markdown_literal(f.name)}: not added, {e}.")
        del data
    for f in files:
        release_upload(f)
    st.session_state["upload-notes"] = notes
    st.session_state["uploader"] = st.session_state.get("uploader", 0) + 1
    if added:
        shelf.selected = added[0]
        st.session_state["scroll-to"] = "st-key-result" if len(added) == 1 else "st-key-shelf"


def pick_sample(sample):
    shelves, shelf = page_memory()[0], my_shelf()
    data = sample.read()
    try:
        photo = shelves.add(shelf, digest(data), sample.name, data)
    except OverBudget as e:
        st.session_state["upload-notes"] = [f"{sample.name}: not added, {e}."]
        return
    shelf.selected = photo.id
    st.session_state["scroll-to"] = "st-key-result"


def remove_photo(photo_id):
    my_shelf().remove(photo_id)
    give_back_memory()


def clear_photos():
    my_shelf().clear()
    st.session_state.pop("upload-notes", None)
    give_back_memory()


def uploader():
    key = f"photos-{st.session_state.get('uploader', 0)}"
    with st.container(key="photos"):
        st.file_uploader(
            f"Black-and-white photos: JPEG, PNG, WebP, BMP, TIFF or GIF, up to "
            f"{pp.PAGE_MAX_PIXELS / 1e6:.0f} megapixels each (one or many)",
            type=PHOTO_TYPES,
            accept_multiple_files=True,
            key=key,
            on_change=take_uploads,
            args=(key,),
            help=f"Scans and camera photos up to {pp.PAGE_MAX_PIXELS / 1e6:.0f} megapixels "
            "(a 600-dpi scan of an 8×10 inch print is 29). Colour photos work too: the "
            "network only uses their light and dark.",
        )
    for note in st.session_state.get("upload-notes", []):
        st.warning(note)


def gallery(samples, compact):
    if not samples:
        return
    if compact:
        with st.expander("Try a sample photo"):
            with st.container(horizontal=True, wrap=True):
                for sample in samples:
                    st.button(sample.title, key=f"sample-{sample.name}", on_click=pick_sample, args=(sample,))
        return
    st.caption("No photo at hand? Tap one of these:")
    with st.container(horizontal=True, wrap=True, key="gallery"):
        for sample in samples:
            with st.container(width=170, gap="small"):
                st.image(sample_thumbnail(str(sample.path)), width="stretch")
                st.button(
                    sample.title, key=f"sample-{sample.name}", on_click=pick_sample, args=(sample,), width="stretch"
                )


def analyse_new(model, model_folder, shelf, vividness):
    """Look at every photo not looked at yet (a batch shows its progress); bad ones get their line."""
    new = [p for p in shelf.photos.values() if p.size is None and p.problem is None]
    bar = st.progress(0.0, text=f"Colorizing {len(new)} photos…") if len(new) > 1 else None
    for i, photo in enumerate(new):
        try:
            look = look_for(model, model_folder, photo)
            photo.size = look.size
            photo.thumb = pp.preview(model, look, vividness, side=pp.THUMB_SIDE)
        except Exception as e:  # noqa: BLE001 - one bad photo must not break the page or the batch
            photo.problem = friendly(photo.name, e)
            photo.data = b""
            if shelf.selected == photo.id:
                shelf.selected = None
        if bar:
            bar.progress((i + 1) / len(new), text=f"Colorized {i + 1} of {len(new)} photos")
    if bar:
        bar.empty()
    good = [p for p in shelf.photos.values() if p.problem is None]
    if shelf.selected not in shelf.photos or shelf.photos[shelf.selected].problem:
        shelf.selected = good[0].id if good else None
    return good


def download_callable(model_folder, photo_id, vividness, fmt):
    """What a download button runs when pressed: holds ids only, so a closed page keeps nothing alive."""
    sid = session_id()

    def make():
        shelf = page_memory()[0].sessions().get(sid)
        photo = shelf.photos.get(photo_id) if shelf else None
        if photo is None:
            raise ColorizeError(photo_id, "this photo is no longer on the page")
        return pp.full_size(load_model(model_folder), photo, vividness, fmt)

    return make


def zip_callable(model_folder, vividness):
    sid = session_id()

    def make():
        shelf = page_memory()[0].sessions().get(sid)
        photos = [p for p in shelf.photos.values() if p.problem is None] if shelf else []
        return pp.zip_full_size(load_model(model_folder), photos, vividness)

    return make


def shelf_bar(model_folder, good, vividness):
    """Download all and clear all, at the top of a batch."""
    with st.container(horizontal=True, vertical_alignment="center", key="shelf-bar"):
        if len(good) > 1:
            st.download_button(
                f"Download all {len(good)} (zip of PNGs)",
                key="download-zip",
                type="primary",
                data=zip_callable(model_folder, vividness),
                file_name="colorized_photos.zip",
                mime="application/zip",
                on_click="ignore",
                icon=":material/folder_zip:",
            )
        st.button("Clear all", key="clear-all", on_click=clear_photos, icon=":material/delete_sweep:")


def photo_grid(model, model_folder, shelf, good, vividness):
    """A compact grid of every photo's result; one opens at a time below."""
    with st.container(horizontal=True, wrap=True, key="shelf", gap="small"):
        for photo in good:
            look = page_memory()[1].get((photo.id, model_folder))
            if look is not None:
                photo.thumb = pp.preview(
                    model, look, vividness, raw_for(model, model_folder, photo, look), side=pp.THUMB_SIDE
                )
            with st.container(width=150, gap=None, border=photo.id == shelf.selected):
                if photo.thumb is not None:
                    st.image(photo.thumb, width="stretch")
                with st.container(horizontal=True, gap=None):
                    st.button(
                        pp.markdown_literal(photo.name, 18),
                        key=f"open-{photo.id}",
                        type="tertiary",
                        on_click=select_photo,
                        args=(photo.id,),
                        help=pp.markdown_literal(photo.name, 200),
                    )
                    st.button(
                        ":material/close:",
                        key=f"remove-{photo.id}",
                        type="tertiary",
                        on_click=remove_photo,
                        args=(photo.id,),
                        help="Remove this photo",
                    )


def select_photo(photo_id):
    my_shelf().selected = photo_id
    st.session_state["scroll-to"] = "st-key-result"


# ---- pins (colour hints)


def handle_click(photo, look, picture, key):
    """A new click on the photo adds a pin there (in the colour shown there) or moves the armed pin."""
    click = st.session_state.get(key)
    if not click or click.get("unix_time") == st.session_state.get(f"{key}-done"):
        return False
    st.session_state[f"{key}-done"] = click.get("unix_time")
    point = pp.click_to_photo(click, look.size)
    if point is None:
        return False
    moving = photo.pin(st.session_state.pop(f"move-{photo.id}", None))
    if moving is not None:
        moving.x, moving.y = point
    else:
        photo.add_pin(*point, pp.colour_at(picture, *point, look.size))
    return True


def set_pin_colour(photo_id, pin_id, key):
    photo = my_shelf().photos.get(photo_id)
    pin = photo.pin(pin_id) if photo else None
    if pin is not None:
        pin.rgb = parse_colour(st.session_state[key])


def arm_move(photo_id, pin_id):
    st.session_state[f"move-{photo_id}"] = pin_id


def remove_pin(photo_id, pin_id):
    photo = my_shelf().photos.get(photo_id)
    if photo:
        photo.remove_pin(pin_id)


def clear_pins(photo_id):
    photo = my_shelf().photos.get(photo_id)
    if photo:
        photo.pins.clear()


def pins_panel(photo):
    st.markdown(
        "**Colour pins**",
        help="Click the photo where you know the colour, then pick it here. "
        "The network spreads it across that part of the photo. Pins stay with this photo and go "
        "into its downloads.",
    )
    moving = st.session_state.get(f"move-{photo.id}")
    if not photo.pins:
        st.caption("Click the photo to pin a colour.")
    for pin in photo.pins:
        with st.container(
            horizontal=True, vertical_alignment="bottom", gap="small", key=f"pin-row-{photo.id}-{pin.id}"
        ):
            key = f"pin-{photo.id}-{pin.id}"
            st.session_state[key] = pin.hex
            st.color_picker(f"Pin {pin.id}", key=key, on_change=set_pin_colour, args=(photo.id, pin.id, key))
            st.button(
                "Move",
                key=f"move-{photo.id}-{pin.id}",
                on_click=arm_move,
                args=(photo.id, pin.id),
                type="primary" if moving == pin.id else "secondary",
                icon=":material/open_with:",
            )
            st.button(
                ":material/close:",
                key=f"unpin-{photo.id}-{pin.id}",
                on_click=remove_pin,
                args=(photo.id, pin.id),
                help=f"Remove pin {pin.id}",
            )
    if moving is not None and photo.pin(moving):
        st.info(f"Click the photo where pin {moving} should go.")
    if photo.pins:
        st.button("Clear pins", key=f"clear-pins-{photo.id}", on_click=clear_pins, args=(photo.id,))


def show_photo(model, model_folder, info, photo):
    """The photo that is open: the colorized picture (clickable for pins), vividness, downloads."""
    look = look_for(model, model_folder, photo)
    w, h = look.size
    with st.container(key="result"):
        st.subheader(pp.markdown_literal(photo.name), divider="gray", anchor=False)
        picture, side = st.columns([3, 1], gap="medium")
        with side:
            vividness = vividness_slider("vividness", info)
        colour = pp.preview(model, look, vividness, raw_for(model, model_folder, photo, look))
        click_key = f"click-{photo.id}"
        if model.takes_hints and handle_click(photo, look, colour, click_key):
            colour = pp.preview(model, look, vividness, raw_for(model, model_folder, photo, look))
        caption = f"Colorized (vividness {vividness:.2f}), {w}×{h} pixels"
        with picture:
            if model.takes_hints:
                streamlit_image_coordinates(
                    pp.draw_pins(colour, photo.pins, look.size),
                    key=click_key,
                    width="stretch",
                    image_format="JPEG",
                    jpeg_quality=90,
                    cursor="crosshair",
                )
                st.caption(caption + ". Click the photo to pin a colour.")
            else:
                st.image(colour, caption=caption, width="stretch")
        with side:
            st.markdown(f"**Download** (full size, {w}×{h})")
            for fmt, label, mime in DOWNLOADS:
                st.download_button(
                    f"Colorized {label}",
                    key=f"download-{fmt}",
                    type="primary" if fmt == "png" else "secondary",
                    data=download_callable(model_folder, photo.id, vividness, fmt),
                    file_name=output_name(photo.name, fmt),
                    mime=mime,
                    on_click="ignore",
                    icon=":material/download:",
                )
            if look.note:
                st.caption(look.note)
            if model.takes_hints:
                pins_panel(photo)
        gray = pp.grey_preview(look)
        st.markdown("**Before and after.** Drag across the picture to compare.")
        st.iframe(
            comparison_html(gray, colour), height="content", alt=f"Before and after: {pp.display_name(photo.name)}"
        )
        if look.original is not None:
            left, right = st.columns(2)
            left.image(look.original, caption=f"Original ({w}×{h})", width="stretch")
            right.image(gray, caption="What the network sees: lightness only", width="stretch")
    return vividness


def photos_tab(model, model_folder, info, samples):
    shelf = my_shelf()
    uploader()
    vividness = st.session_state.get("vividness-value", info.default_vividness)
    good = analyse_new(model, model_folder, shelf, vividness)
    for photo in shelf.photos.values():
        if photo.problem:
            st.error(photo.problem)
    gallery(samples, compact=bool(good))
    if not good:
        return
    shelf_bar(model_folder, good, vividness)
    if len(good) > 1:
        photo_grid(model, model_folder, shelf, good, vividness)
    photo = shelf.photos[shelf.selected]
    try:
        show_photo(model, model_folder, info, photo)
    except Exception as e:  # noqa: BLE001 - one bad photo must not break the page
        st.error(friendly(photo.name, e))
    target = st.session_state.pop("scroll-to", None)
    if target:
        scroll_into_view(target)


# ------------------------------------------------------------------ how it works tab


def teaching_tab(model, model_folder, info, samples):
    st.markdown(teaching.EXPLANATION)
    shelf = my_shelf()
    choices = [(p.id, p.name, p) for p in shelf.photos.values() if p.problem is None]
    sample_choices = []
    for s in samples:
        data = s.read()
        sample_choices.append((digest(data), f"Sample: {s.title}", None))
    ids = [c[0] for c in choices] + [c[0] for c in sample_choices if c[0] not in {c[0] for c in choices}]
    labels = {c[0]: pp.display_name(c[1]) for c in sample_choices + choices}  # the visitor's own name first
    if not ids:
        st.info("Upload a photo in the Photos tab to see it taken apart here.")
        return
    default = shelf.selected if shelf.selected in ids else ids[0]
    if st.session_state.get("lesson-photo") not in ids:
        st.session_state["lesson-photo"] = default
    pick, slider = st.columns([2, 3])
    chosen = pick.selectbox("Photo to take apart", ids, format_func=lambda i: labels[i], key="lesson-photo")
    vividness = vividness_slider("vividness-lesson", info, slider)
    photo = next((c[2] for c in choices if c[0] == chosen), None)
    if photo is None:
        sample = samples[[c[0] for c in sample_choices].index(chosen)]
        photo = ShelfPhoto(chosen, sample.name, sample.read())
    try:
        look = look_for(model, model_folder, photo)
        raw = raw_for(model, model_folder, photo, look)
        render_model, v = pp.for_vividness(model, vividness)
        lesson = teaching.lesson(render_model, Prediction(look.preview_L, raw), v)
    except Exception as e:  # noqa: BLE001 - one bad photo must not break the teaching tab
        st.error(friendly(photo.name, e))
        return
    st.subheader(f"Taking apart {pp.markdown_literal(photo.name)}", divider="gray", anchor=False)
    c1, c2, c3, c4 = st.columns(4)
    c1.image(lesson.L, caption="L, lightness: the only thing the network is given", width="stretch")
    c2.image(lesson.a, caption="a, predicted: green (−) to red (+), exaggerated 2×", width="stretch")
    c3.image(lesson.b, caption="b, predicted: blue (−) to yellow (+), exaggerated 2×", width="stretch")
    c4.image(lesson.result, caption="L + a + b: the colorized photo", width="stretch")
    if model.takes_hints:
        hints_lesson(model, photo, look, raw, vividness)
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


def hints_lesson(model, photo, look, raw, vividness):
    st.markdown(
        "**Colour pins.** Besides L, this network can be given a few dots of colour. It spreads each "
        "one across the object it falls on, as far as the photo's light and dark suggest."
    )
    if not photo.pins:
        st.caption("Pin a colour on this photo in the Photos tab, then come back to watch it spread.")
        return
    small = look.preview_L
    hints = check_hints(photo.hints(), *look.size)
    left, right = st.columns(2)
    left.image(
        teaching.hint_map(small, hints, look.size, look.net_L.shape, model.hint_patch),
        width="stretch",
        caption=f"The hint map: what the network is given besides L ({len(hints)} "
        f"pin{'s' if len(hints) > 1 else ''}, a {model.hint_patch}×{model.hint_patch} square "
        "of its own input each)",
    )
    render_model, v = pp.for_vividness(model, max(vividness, pp.GREY_RAMP))
    changed, share = teaching.hint_change(render_model, small, look.raw, raw, v)
    right.image(
        changed, width="stretch", caption=f"Where the pins changed the colour (outlined): {share:.0%} of the photo"
    )


# ------------------------------------------------------------------ video tab


def take_video(key):
    """A chosen clip goes onto the shelf (one at a time) and out of Streamlit's upload store."""
    shelf, budget = my_shelf(), page_memory()[0].budget
    uploads = live_uploads(st.session_state.get(key))
    st.session_state["video-uploader"] = st.session_state.get("video-uploader", 0) + 1
    if not uploads:
        return
    upload = uploads[0]
    data = upload.getvalue()
    if len(data) > budget.upload_bytes_per_session:
        st.session_state["video-note"] = (
            f"{pp.markdown_literal(upload.name)}: not added, this page takes clips of "
            f"at most {budget.upload_bytes_per_session / MB:.0f} MB."
        )
    else:
        shelf.video = {"name": upload.name, "data": data, "id": digest(data)}
        st.session_state.pop("video-note", None)
    release_upload(upload)


def pick_sample_video():
    path = sample_video()
    data = path.read_bytes()
    my_shelf().video = {"name": path.name, "data": data, "id": digest(data)}


def clear_video():
    my_shelf().video = None
    give_back_memory()


def video_tab(model, info):
    limits = page_limits()
    seconds, size = describe_limits(limits)
    st.markdown(
        f"Short clips only: up to **{seconds}** and up to **{size}** per frame. MP4, MOV, AVI, "
        "MKV or WebM. The sound is kept, and colours are steadied from frame to frame so they do not "
        f"flicker. Try a **{PREVIEW_SECONDS:g}-second preview** first; a progress bar shows the "
        "frames done and the time left, and you can cancel."
    )
    shelf = my_shelf()
    key = f"video-{st.session_state.get('video-uploader', 0)}"
    with st.container(key="video"):
        st.file_uploader("A short video", type=VIDEO_TYPES, key=key, on_change=take_video, args=(key,))
    if st.session_state.get("video-note"):
        st.warning(st.session_state["video-note"])
    if sample_video() is not None and shelf.video is None:
        st.button(
            "Try the sample video (4 s)",
            key="sample-video",
            on_click=pick_sample_video,
            icon=":material/movie:",
            help="A slow pan across the public-domain photo of a rocket launch.",
        )
    source = shelf.video
    if source is None:
        return
    with tempfile.TemporaryDirectory(prefix="colorize-video-") as folder:
        try:
            src = write_clip(source, folder)
            clip = source.get("info") or probe_video(src)
            source["info"] = clip
            limits.check(clip)
        except Exception as e:  # noqa: BLE001 - a bad clip is one line for the visitor
            st.error(friendly(source["name"], e))
            st.button("Remove clip", key="clear-video", on_click=clear_video, icon=":material/close:")
            return
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"**{pp.markdown_literal(source['name'])}**: {describe_video(clip)}")
            st.button("Remove clip", key="clear-video", on_click=clear_video, icon=":material/close:", type="tertiary")
        vividness = vividness_slider("vividness-video", info)
        with st.container(horizontal=True):
            preview = st.button(f"Preview {PREVIEW_SECONDS:g} seconds", key="preview-video", icon=":material/preview:")
            whole = st.button("Colorize video", type="primary", key="colorize-video", icon=":material/movie:")
        if st.session_state.get("cancel-video"):
            st.info("Cancelled: nothing was kept.")
        if preview or whole:
            run_video(source, src, folder, model, vividness, limits, preview)
    made = source.get("result")
    if made:
        player, side = st.columns([3, 1])
        player.video(made["data"])
        with side:
            label = "Preview (MP4)" if made["preview"] else "Colorized video (MP4)"
            st.download_button(
                label,
                data=made["data"],
                file_name=made["file_name"],
                mime="video/mp4",
                key="download-video",
                type="primary",
                on_click="ignore",
                icon=":material/download:",
            )
            what = f"the first {PREVIEW_SECONDS:g} seconds" if made["preview"] else "the whole clip"
            st.caption(
                f"H.264 MP4 of {what}, made at vividness {made['vividness']:.2f}. To try another "
                "vividness, move the slider and press a button again."
            )


def write_clip(source, folder):
    path = Path(folder) / "upload" / ("clip" + Path(pp.display_name(source["name"])).suffix.lower()[:6])
    path.parent.mkdir()
    path.write_bytes(source["data"])
    return path


def describe_video(info):
    length = "unknown length" if info.duration is None else f"{info.duration:.1f} s"
    sound = "with sound" if info.has_audio else "no sound"
    return f"{length}, {info.width}×{info.height}, {info.fps:.3g} frames per second, {sound}."


def run_video(source, src, folder, model, vividness, limits, preview):
    """Colorize the clip (or its first seconds) inside `folder`, which the caller removes whatever happens.

    Pressing Cancel reruns the page, which stops this run at its next progress update."""
    source.pop("result", None)
    bar = st.progress(0.0, text="Reading the video…")
    cancel = st.empty()
    cancel.button("Cancel", key="cancel-video", icon=":material/cancel:")

    def on_progress(p):
        bar.progress(p.fraction, text=f"{p.done} of {p.total} frames, about {p.seconds_left:.0f} s left")
        return True

    try:
        if preview:
            src = preview_clip(src, Path(folder) / "preview.mp4")
        dst = Path(folder) / "colorized.mp4"
        render_model, v = pp.for_vividness(model, vividness)
        colorize_video(src, dst, render_model, vividness=v, progress=on_progress, limits=limits)
        data = dst.read_bytes()
        bar.empty()
        cancel.empty()
        name = output_name(source["name"], "mp4")
        source["result"] = {
            "data": data,
            "vividness": vividness,
            "preview": preview,
            "file_name": name.replace("_colorized.", "_preview.") if preview else name,
        }
    except VideoCancelled:
        bar.empty()
        cancel.empty()
        st.info("Cancelled: nothing was kept.")
    except Exception as e:  # noqa: BLE001 - one line for the user, details in the log
        bar.empty()
        cancel.empty()
        st.error(friendly(source["name"], e))


# ------------------------------------------------------------------ the page


def main():
    st.title("Colorize")
    st.markdown(
        "Give black-and-white photos and short videos colour. A small neural network guesses the colours; "
        "everything runs on this server's own processor."
    )
    info = sidebar()
    model_folder = str(info.folder)
    try:
        model = load_model(model_folder)
    except Exception as e:  # noqa: BLE001 - the page still says which model failed
        st.error(friendly(info.name, e))
        st.stop()
    samples = list_samples()
    photos, how, video = st.tabs(["Photos", "How it works", "Video"], key="tab", on_change="rerun")
    if photos.open:
        with photos:
            photos_tab(model, model_folder, info, samples)
    if how.open:
        with how:
            teaching_tab(model, model_folder, info, samples)
    if video.open:
        with video:
            video_tab(model, info)


try:
    main()
except Exception:  # the last guard: a line for the visitor, the traceback for the log
    log.exception("page failed")
    st.error("Something went wrong on this page; reloading it usually helps (the details are in the server log).")
