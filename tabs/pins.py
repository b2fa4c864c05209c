"""Colour pins on the photo that is open (Photos tab and How it works).

A click on the photo marks a point; nothing changes until its colour is chosen, from the network's
own likely colours there or a few common ones (each swatch shown at that point's lightness, as the
pin will look), or any colour from the picker. Pins can then be recoloured, moved and removed; a
removal can be undone (`Undo`, shared with the Photos tab's Clear all and ✕).
"""

from dataclasses import dataclass, field

import streamlit as st

from colorize.hints import parse_colour, to_hex
from colorize.page import photo as pp

from .server import my_shelf, page_memory
from .state import page_state
from .widgets import checked_click, checked_colour, widget_value

SWATCH_CSS = ".st-key-{key} button{{background:{shown};color:{text};border-left:14px solid {picked}}}"


def handle_click(photo, look, key):
    """A new click on the photo marks a point for a new pin (its colour still to choose) or moves the
    armed pin there. True when something changed."""
    state = page_state()
    click = widget_value(key, checked_click)
    if not click or click.get("unix_time") == state.clicks_done.get(key):
        return False
    state.clicks_done[key] = click.get("unix_time")
    point = pp.click_to_photo(click, look.size)
    if point is None:
        return False
    moving = photo.pin(state.moving_pin.pop(photo.id, None))
    if moving is not None:
        moving.x, moving.y = point
    else:
        state.pending_pin[photo.id] = point
    return True


# --- undo: Clear all, ✕ on a photo, ✕ on a pin and Clear pins can be put back ----------------------


@dataclass
class Undo:
    """What one removal took away, to put back: whole photos (with their pins) or some pins."""

    what: str  # e.g. "Cleared 5 photos"
    where: str  # "photos" or "pins": where the offer to undo is shown
    photos: list = field(default_factory=list)  # the ShelfPhotos removed
    order: list = field(default_factory=list)  # photo ids in shelf order before
    selected: str | None = None
    pins: dict = field(default_factory=dict)  # photo id -> (its pins before, its next pin number)
    known: frozenset = frozenset()  # photo ids on the shelf just after: another one means an upload came


def remember(undo):
    page_state().undo = undo


def undo_last():
    """Put back what the last removal took (photos through the shelf's budget, as an upload)."""
    state, shelves, shelf = page_state(), page_memory().shelves, my_shelf()
    undo, state.undo = state.undo, None
    if undo is None:
        return
    if undo.photos:
        state.scroll_to = "st-key-shelf" if len(shelf.photos) + len(undo.photos) > 1 else "st-key-result"
    for old in undo.photos:
        try:
            photo = shelves.add(shelf, old.id, old.name, old.data)
        except Exception:  # noqa: BLE001 - over the budget now: that photo stays removed
            continue
        photo.pins, photo.next_pin, photo.thumb, photo.size = old.pins, old.next_pin, old.thumb, old.size
    with shelf.lock:
        for photo_id in undo.order:
            if photo_id in shelf.photos:
                shelf.photos.move_to_end(photo_id)
        for photo_id in [i for i in shelf.photos if i not in undo.order]:
            shelf.photos.move_to_end(photo_id)
    for photo_id, (pins, next_pin) in undo.pins.items():
        photo = pinned_photo(photo_id)
        if photo is not None:
            photo.pins, photo.next_pin = list(pins), max(photo.next_pin, next_pin)
    if undo.selected in shelf.photos:
        shelf.selected = undo.selected


def undo_bar(where):
    """The offer to undo the last removal, if it was made here (and no upload came since)."""
    state, shelf = page_state(), my_shelf()
    undo = state.undo
    if undo is None or undo.where != where:
        return
    held = sum(len(p.data) for p in undo.photos)
    if (
        set(shelf.photos) - undo.known
        or shelf.upload_bytes + held > page_memory().shelves.budget.upload_bytes_per_session
    ):
        state.undo = None  # photos came since: putting these back could go over the memory budget
        return
    with st.container(horizontal=True, vertical_alignment="center", key=f"undo-{where}", border=True):
        st.markdown(f":material/delete: {undo.what}.")
        st.button("Undo", key=f"undo-button-{where}", on_click=undo_last, icon=":material/undo:", type="primary")
        st.button("Dismiss", key=f"undo-dismiss-{where}", on_click=remember, args=(None,), type="tertiary")


def pins_undo(photo, what):
    remember(
        Undo(what, "pins", pins={photo.id: (list(photo.pins), photo.next_pin)}, known=frozenset(my_shelf().photos))
    )


# --- choosing a pin's colour ---------------------------------------------------------------------


def pinned_photo(photo_id):
    """The photo of this id with pins: on the shelf, or a sample pinned in How it works."""
    return my_shelf().photos.get(photo_id) or page_state().lesson_photos.get(photo_id)


def choose_colour(photo_id, point, rgb):
    """The pending point becomes a pin of colour `rgb`."""
    state = page_state()
    photo = pinned_photo(photo_id)
    if photo is None or state.pending_pin.get(photo_id) != point:
        return
    del state.pending_pin[photo_id]
    photo.add_pin(*point, rgb)


def choose_picked(photo_id, point, key):
    colour = widget_value(key, checked_colour)
    if colour:
        choose_colour(photo_id, point, parse_colour(colour))


def cancel_pending(photo_id):
    page_state().pending_pin.pop(photo_id, None)


def _text_on(rgb):
    """Black or white, whichever reads on a background of `rgb`."""
    r, g, b = rgb
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def swatch_style(key, suggestion):
    """CSS for a suggestion's button: its body the colour as it will look there, its left edge the
    colour itself."""
    return SWATCH_CSS.format(
        key=key, shown=to_hex(suggestion.shown), text=_text_on(suggestion.shown), picked=to_hex(suggestion.rgb)
    )


def pin_chooser(model, photo, look, picture, prefix=""):
    """The colours to choose from for the point clicked last (nothing changes until one is chosen)."""
    point = page_state().pending_pin.get(photo.id)
    if point is None:
        return
    x, y = point
    if photo.pins_full:
        with st.container(key=f"{prefix}pin-chooser", border=True):
            st.warning(
                f"This photo has {len(photo.pins)} pins, the most one photo can take here: remove one to add another."
            )
            st.button("Cancel", key=f"{prefix}cancel-pin", on_click=cancel_pending, args=(photo.id,), type="tertiary")
        return
    suggestions = pp.pin_suggestions(model, look, x, y)
    keys = [f"{prefix}swatch-{i}" for i in range(len(suggestions))]
    with st.container(key=f"{prefix}pin-chooser", border=True):
        st.markdown(f"**New pin at {x}, {y}.** Tap its colour:")
        st.html("<style>" + "".join(swatch_style(k, s) for k, s in zip(keys, suggestions, strict=True)) + "</style>")
        with st.container(horizontal=True, wrap=True, gap="small"):
            for key, s in zip(keys, suggestions, strict=True):
                label = f"{s.name} · {s.share:.0%}" if s.share else s.name
                st.button(
                    label,
                    key=key,
                    on_click=choose_colour,
                    args=(photo.id, point, s.rgb),
                    help=f"{to_hex(s.rgb)}; at this point it looks like {to_hex(s.shown)}"
                    + (" (one of the network's own likely colours here)" if s.share else ""),
                )
        picked_key = f"{prefix}pending-{photo.id}-{x}-{y}"
        st.session_state.setdefault(picked_key, to_hex(pp.colour_at(picture, x, y, look.size)))
        with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
            st.color_picker("Any colour", key=picked_key, on_change=choose_picked, args=(photo.id, point, picked_key))
            st.button("Cancel", key=f"{prefix}cancel-pin", on_click=cancel_pending, args=(photo.id,), type="tertiary")
        st.caption(
            "The first swatches are the network's own likely colours here. Each swatch shows the colour "
            "at this point's lightness, as the pin will look (its left edge: the colour itself): the "
            "photo keeps its own light and dark, so navy on a light coat comes out pale blue."
        )


# --- the pins placed -----------------------------------------------------------------------------


def set_pin_colour(photo_id, pin_id, key):
    photo = pinned_photo(photo_id)
    pin = photo.pin(pin_id) if photo else None
    colour = widget_value(key, checked_colour)
    if pin is not None and colour:
        pin.rgb = parse_colour(colour)


def arm_move(photo_id, pin_id):
    page_state().moving_pin[photo_id] = pin_id


def remove_pin(photo_id, pin_id):
    photo = pinned_photo(photo_id)
    if photo:
        pins_undo(photo, f"Removed pin {pin_id}")
        photo.remove_pin(pin_id)


def clear_pins(photo_id):
    photo = pinned_photo(photo_id)
    if photo:
        pins_undo(photo, f"Removed {len(photo.pins)} pins")
        photo.pins.clear()


def pins_panel(photo, look, prefix=""):
    """The pins placed on the photo: each with how it looks there, its colour, Move and ✕."""
    st.markdown(
        "**Colour pins**",
        help="Click the photo where you know the colour, then choose it. The network spreads it "
        "across that part of the photo. Pins stay with this photo and go into its downloads.",
    )
    undo_bar("pins")
    moving = page_state().moving_pin.get(photo.id)
    if not photo.pins:
        st.caption("Click the photo to pin a colour.")
    for pin in photo.pins:
        shown = pp.as_it_will_look(pin.rgb, pp.lightness_at(look, pin.x, pin.y))
        with st.container(
            horizontal=True, vertical_alignment="bottom", gap="small", key=f"{prefix}pin-row-{photo.id}-{pin.id}"
        ):
            key = f"{prefix}pin-{photo.id}-{pin.id}"
            st.session_state[key] = pin.hex
            st.color_picker(f"Pin {pin.id}", key=key, on_change=set_pin_colour, args=(photo.id, pin.id, key))
            st.html(
                f'<div title="Pin {pin.id} as it looks at its point" style="width:2.4rem;height:2.4rem;'
                f'border-radius:6px;border:1px solid #888;background:{to_hex(shown)}"></div>'
            )
            st.button(
                "Move",
                key=f"{prefix}move-{photo.id}-{pin.id}",
                on_click=arm_move,
                args=(photo.id, pin.id),
                type="primary" if moving == pin.id else "secondary",
                icon=":material/open_with:",
            )
            st.button(
                ":material/close:",
                key=f"{prefix}unpin-{photo.id}-{pin.id}",
                on_click=remove_pin,
                args=(photo.id, pin.id),
                help=f"Remove pin {pin.id}",
            )
    if moving is not None and photo.pin(moving):
        st.info(f"Click the photo where pin {moving} should go.")
    if photo.pins:
        st.caption("Beside each colour: how it looks at its point (the photo keeps its own lightness).")
        st.button("Clear pins", key=f"{prefix}clear-pins-{photo.id}", on_click=clear_pins, args=(photo.id,))
