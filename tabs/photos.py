"""The Photos tab: upload or pick photos, a grid of a batch's results, and the photo that is open with
its vividness, downloads, colour pins and before/after slider."""

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from colorize import ColorizeError
from colorize.decode import IMAGE_SUFFIXES
from colorize.encode import FORMATS
from colorize.page import photo as pp
from colorize.page.compare import comparison_html
from colorize.page.memory import (
    MB,
    OverBudget,
    content_id,
    gave_way_line,
    give_back_memory,
    intake_summary,
    refusal_line,
    work_bytes,
)
from colorize.page.names import display_name, markdown_literal, output_name

from .pins import Undo, handle_click, pin_chooser, pins_panel, remember, undo_bar
from .server import (
    live_uploads,
    load_model,
    look_for,
    my_shelf,
    page_memory,
    pinned_for,
    release_upload,
    sample_thumbnail,
    session_id,
    visitor_id,
)
from .state import page_state
from .widgets import friendly, scroll_into_view, vividness_now, vividness_slider

PHOTO_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]
NOTE_KEY = "st-key-upload-note"  # the one line about the last upload, above the result
VIEWS = ["Colorized", "Before and after"]
DOWNLOADS = [
    (fmt, label, mime)
    for fmt, label, mime in (("png", "PNG", "image/png"), ("jpg", "JPEG", "image/jpeg"), ("tiff", "TIFF", "image/tiff"))
    if fmt in FORMATS
]


def take_uploads(key):
    """The uploader's new files go onto this visitor's shelf (and out of Streamlit's upload store). What
    was not added, and why, is one line for the whole batch, brought into view with the result."""
    state, shelves, shelf = page_state(), page_memory().shelves, my_shelf()
    state.undo = None  # what a removal kept for Undo goes first: no budget check while it is still held
    files = live_uploads(st.session_state.get(key))
    names = [markdown_literal(f.name) for f in files]
    added, already, refused = [], [], []
    for p in [p for p in shelf.photos.values() if p.problem]:
        shelf.remove(p.id)
    for f, name in zip(files, names, strict=True):
        data = f.getvalue()
        try:
            before = len(shelf.photos)
            photo = shelves.add(shelf, content_id(data), f.name, data, upload_id=f.file_id)
            if len(shelf.photos) == before:
                already.append(name)
            else:
                added.append(photo.id)
        except OverBudget as e:
            refused.append((name, e))
        del data
    for f in files:
        release_upload(f)
        with shelf.lock:
            spooled = shelf.spooled.pop(f.file_id, None)  # a clip sent to the photo uploader: not a photo
        if spooled is not None:
            spooled.unlink(missing_ok=True)
    note = intake_summary(names, len(added), already, refused)
    state.upload_notes = [note] if note else []
    state.uploader += 1
    if added:
        shelf.selected = added[0]
        state.scroll_to = "st-key-result" if len(added) == 1 else "st-key-shelf"
    if note:
        state.scroll_to = NOTE_KEY  # the line, and right below it the result


def pick_sample(sample):
    state, shelves, shelf = page_state(), page_memory().shelves, my_shelf()
    state.undo = None  # a photo comes: what was removed is let go (it is outside the memory budget)
    data = sample.read()
    try:
        photo = shelves.add(shelf, content_id(data), sample.name, data)
    except OverBudget as e:
        state.upload_notes = [refusal_line(markdown_literal(sample.name), e)]
        state.scroll_to = NOTE_KEY
        return
    state.upload_notes = []
    shelf.selected = photo.id
    state.scroll_to = "st-key-result"


def select_photo(photo_id):
    my_shelf().selected = photo_id
    page_state().scroll_to = "st-key-result"


def remove_photos(ids, what):
    """Take photos off the shelf, remembering them so that Undo can put them back."""
    shelf = my_shelf()
    with shelf.lock:
        order, selected = list(shelf.photos), shelf.selected
        gone = [shelf.photos[i] for i in ids if i in shelf.photos]
        for photo in gone:
            shelf.remove(photo.id)
    remember(Undo(what, "photos", gone, order, selected, known=frozenset(shelf.photos)))
    page_state().scroll_to = "st-key-undo-photos"  # the offer to undo, where the person is looking
    give_back_memory()


def remove_photo(photo_id):
    photo = my_shelf().photos.get(photo_id)
    if photo is not None:
        remove_photos([photo_id], f"Removed {markdown_literal(photo.name, 40)}")


def clear_photos():
    shelf = my_shelf()
    remove_photos(list(shelf.photos), f"Cleared {len(shelf.photos)} photo{'s' if len(shelf.photos) != 1 else ''}")
    page_state().upload_notes = []


def uploader():
    state, budget = page_state(), page_memory().shelves.budget
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
            "network only uses their light and dark. The page keeps up to "
            f"{budget.photos_per_session} photos ({budget.upload_bytes_per_session / MB:.0f} MB) per visitor; "
            "the command line (`python -m colorize image`) takes any number.",
        )
    notes = [gave_way_line([markdown_literal(n) for n in my_shelf().take_gave_way()])] + state.upload_notes
    state.upload_notes = [n for n in notes if n]
    if state.upload_notes:
        with st.container(key=NOTE_KEY.removeprefix("st-key-")):
            for note in state.upload_notes:
                st.warning(note, icon=":material/info:")


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
            with st.container(width=170, gap="small", key=f"tile-sample-{sample.name}"):
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


def full_size_turn(visitor):
    """A full-size download's turn for the page's work memory (colorize.page.memory.WorkTurns), for
    `visitor` (found when the button was made: a download runs with no script context)."""

    def turn(photo):
        return page_memory().work.turn(visitor, work_bytes(photo.data, full_size=True))

    return turn


def download_callable(model_folder, photo_id, vividness, fmt):
    """What a download button runs when pressed: holds ids only, so a closed page keeps nothing alive."""
    sid, turn = session_id(), full_size_turn(visitor_id())

    def make():
        shelf = page_memory().shelves.sessions().get(sid)
        photo = shelf.photos.get(photo_id) if shelf else None
        if photo is None:
            raise ColorizeError(photo_id, "this photo is no longer on the page")
        with turn(photo):
            return pp.full_size(load_model(model_folder), photo, vividness, fmt)

    return make


def zip_callable(model_folder, vividness, fmt="png"):
    sid, turn = session_id(), full_size_turn(visitor_id())

    def make():
        shelf = page_memory().shelves.sessions().get(sid)
        photos = [p for p in shelf.photos.values() if p.problem is None] if shelf else []
        return pp.zip_full_size(load_model(model_folder), photos, vividness, fmt, turn)

    return make


def shelf_bar(model_folder, good, vividness):
    """Download all (in any of the single downloads' formats) and Clear all, at the top of a batch."""
    with st.container(horizontal=True, vertical_alignment="center", key="shelf-bar"):
        if len(good) > 1:
            labels = {label: fmt for fmt, label, _ in DOWNLOADS}
            label = st.segmented_control(
                "Format of Download all",
                list(labels),
                default="PNG",
                key="zip-format",
                label_visibility="collapsed",
                help="The same formats as a single download: PNG and TIFF keep 16 bits where a photo had them.",
            )
            label = label if label in labels else "PNG"
            st.download_button(
                f"Download all {len(good)} (zip of {label}s)",
                key="download-zip",
                type="primary",
                data=zip_callable(model_folder, vividness, labels[label]),
                file_name="colorized_photos.zip",
                mime="application/zip",
                on_click="ignore",
                icon=":material/folder_zip:",
            )
        st.button(
            "Clear all",
            key="clear-all",
            on_click=clear_photos,
            icon=":material/delete_sweep:",
            help="Removes every photo and its pins from this page (you can undo it).",
        )


def photo_grid(model, model_folder, shelf, good, vividness):
    """A compact grid of every photo's result; one opens at a time below."""
    with st.container(horizontal=True, wrap=True, key="shelf", gap="small"):
        for photo in good:
            look = page_memory().looks.get((photo.id, model_folder))
            if look is not None:
                photo.thumb = pp.preview(
                    model, look, vividness, pinned_for(model, model_folder, photo, look), side=pp.THUMB_SIDE
                )
            with st.container(width=150, gap=None, border=photo.id == shelf.selected, key=f"tile-{photo.id}"):
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
    """The photo that is open: the colorized picture (clickable for pins) or the before/after view in
    its place, vividness, the chooser of a new pin's colour, downloads and the pins placed."""
    look = look_for(model, model_folder, photo)
    w, h = look.size
    state = page_state()
    with st.container(key="result"):
        st.subheader(markdown_literal(photo.name), divider="gray", anchor=False)
        picture, side = st.columns([3, 1], gap="medium")
        with picture:
            view = st.segmented_control(
                "View",
                VIEWS,
                default=VIEWS[0],
                key="view",
                label_visibility="collapsed",
                help="Before and after: drag across the picture to compare the photo as you uploaded it "
                "with its colours.",
            )
        comparing = view == VIEWS[1]
        click_key = f"click-{photo.id}"
        if model.takes_hints and not comparing:
            handle_click(photo, look, click_key)
        vividness = vividness_now(info)
        colour = pp.preview(model, look, vividness, pinned_for(model, model_folder, photo, look))
        with side:  # a new pin's colours first: on a phone, right below the photo
            if model.takes_hints and not comparing:
                pin_chooser(model, photo, look, colour)
            vividness = vividness_slider("vividness", info)
        if vividness != vividness_now(info):
            colour = pp.preview(model, look, vividness, pinned_for(model, model_folder, photo, look))
        caption = f"Colorized (vividness {vividness:.2f}), {w}×{h} pixels"
        with picture:
            if comparing:
                st.iframe(
                    comparison_html(look.original_rgb(), colour, "As uploaded", "Colorized"),
                    height="content",
                    alt=f"Before and after: {display_name(photo.name)}",
                )
                st.caption(caption + ". Drag across the picture: left of the line, the photo as uploaded.")
            elif model.takes_hints:
                streamlit_image_coordinates(
                    pp.draw_pins(colour, photo.pins, look.size, state.pending_pin.get(photo.id)),
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
            st.caption(
                ("PNG and TIFF keep the photo's 16 bits per channel. " if look.deep else "")
                + "Each file keeps the original's date, dpi, title, artist and copyright, and says that "
                "its colours were added by Colorize."
            )
            if look.note:
                st.caption(look.note)
            if model.takes_hints:
                pins_panel(photo, look)


TILE_CSS = """<style>
[class*="st-key-tile-"]{position:relative}
[class*="st-key-tile-"] img{cursor:pointer}
[class*="st-key-tile-"] [data-testid="stElementContainer"],[class*="st-key-tile-"] .stButton,
[class*="st-key-tile-"] [data-testid="stTooltipHoverTarget"]{position:static}
[class*="st-key-tile-"] [class*="st-key-open-"] button::after,
[class*="st-key-tile-sample-"] [class*="st-key-sample-"] button::after{content:"";position:absolute;inset:0;z-index:1}
[class*="st-key-tile-"] [class*="st-key-remove-"] button{position:relative;z-index:2}
[class*="st-key-tile-"]:hover img{filter:brightness(1.06)}
</style>"""


def photos_tab(model, model_folder, info, samples):
    shelf = my_shelf()
    uploader()
    vividness = vividness_now(info)
    good = analyse_new(model, model_folder, shelf, vividness)
    for photo in shelf.photos.values():
        if photo.problem:
            st.error(photo.problem)
    st.html(TILE_CSS)
    undo_bar("photos")
    gallery(samples, compact=bool(good))
    if good:
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
