"""The Photos tab: upload or pick photos, a grid of a batch's results, and the photo that is open with
its vividness, downloads, colour pins and before/after slider."""

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from colorize import ColorizeError
from colorize.decode import IMAGE_SUFFIXES
from colorize.encode import FORMATS
from colorize.page import photo as pp
from colorize.page.compare import comparison_html
from colorize.page.memory import OverBudget, content_id, give_back_memory
from colorize.page.names import display_name, markdown_literal, output_name

from .pins import handle_click, pins_panel
from .server import (
    live_uploads,
    load_model,
    look_for,
    my_shelf,
    page_memory,
    raw_for,
    release_upload,
    sample_thumbnail,
    session_id,
)
from .state import page_state
from .widgets import friendly, scroll_into_view, vividness_now, vividness_slider

PHOTO_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]
DOWNLOADS = [
    (fmt, label, mime)
    for fmt, label, mime in (("png", "PNG", "image/png"), ("jpg", "JPEG", "image/jpeg"), ("tiff", "TIFF", "image/tiff"))
    if fmt in FORMATS
]


def take_uploads(key):
    """The uploader's new files go onto this visitor's shelf (and out of Streamlit's upload store)."""
    state, shelves, shelf = page_state(), page_memory().shelves, my_shelf()
    files = live_uploads(st.session_state.get(key))
    notes, added = [], []
    for p in [p for p in shelf.photos.values() if p.problem]:
        shelf.remove(p.id)
    for f in files:
        data = f.getvalue()
        try:
            before = len(shelf.photos)
            photo = shelves.add(shelf, content_id(data), f.name, data)
            if len(shelf.photos) == before:
                notes.append(f"{markdown_literal(f.name)}: already on the page.")
            added.append(photo.id)
        except OverBudget as e:
            notes.append(f"{markdown_literal(f.name)}: not added, {e}.")
        del data
    for f in files:
        release_upload(f)
    state.upload_notes = notes
    state.uploader += 1
    if added:
        shelf.selected = added[0]
        state.scroll_to = "st-key-result" if len(added) == 1 else "st-key-shelf"


def pick_sample(sample):
    state, shelves, shelf = page_state(), page_memory().shelves, my_shelf()
    data = sample.read()
    try:
        photo = shelves.add(shelf, content_id(data), sample.name, data)
    except OverBudget as e:
        state.upload_notes = [f"{sample.name}: not added, {e}."]
        return
    shelf.selected = photo.id
    state.scroll_to = "st-key-result"


def select_photo(photo_id):
    my_shelf().selected = photo_id
    page_state().scroll_to = "st-key-result"


def remove_photo(photo_id):
    my_shelf().remove(photo_id)
    give_back_memory()


def clear_photos():
    my_shelf().clear()
    page_state().upload_notes = []
    give_back_memory()


def uploader():
    state = page_state()
    key = f"photos-{state.uploader}"
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
    for note in state.upload_notes:
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
        shelf = page_memory().shelves.sessions().get(sid)
        photo = shelf.photos.get(photo_id) if shelf else None
        if photo is None:
            raise ColorizeError(photo_id, "this photo is no longer on the page")
        return pp.full_size(load_model(model_folder), photo, vividness, fmt)

    return make


def zip_callable(model_folder, vividness):
    sid = session_id()

    def make():
        shelf = page_memory().shelves.sessions().get(sid)
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
            look = page_memory().looks.get((photo.id, model_folder))
            if look is not None:
                photo.thumb = pp.preview(
                    model, look, vividness, raw_for(model, model_folder, photo, look), side=pp.THUMB_SIDE
                )
            with st.container(width=150, gap=None, border=photo.id == shelf.selected):
                if photo.thumb is not None:
                    st.image(photo.thumb, width="stretch")
                with st.container(horizontal=True, gap=None):
                    st.button(
                        markdown_literal(photo.name, 18),
                        key=f"open-{photo.id}",
                        type="tertiary",
                        on_click=select_photo,
                        args=(photo.id,),
                        help=markdown_literal(photo.name, 200),
                    )
                    st.button(
                        ":material/close:",
                        key=f"remove-{photo.id}",
                        type="tertiary",
                        on_click=remove_photo,
                        args=(photo.id,),
                        help="Remove this photo",
                    )


def show_photo(model, model_folder, info, photo):
    """The photo that is open: the colorized picture (clickable for pins), vividness, downloads."""
    look = look_for(model, model_folder, photo)
    w, h = look.size
    with st.container(key="result"):
        st.subheader(markdown_literal(photo.name), divider="gray", anchor=False)
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
        st.iframe(comparison_html(gray, colour), height="content", alt=f"Before and after: {display_name(photo.name)}")
        if look.original is not None:
            left, right = st.columns(2)
            left.image(look.original, caption=f"Original ({w}×{h})", width="stretch")
            right.image(gray, caption="What the network sees: lightness only", width="stretch")


def photos_tab(model, model_folder, info, samples):
    shelf = my_shelf()
    uploader()
    vividness = vividness_now(info)
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
    state = page_state()
    target, state.scroll_to = state.scroll_to, None
    if target:
        scroll_into_view(target)
