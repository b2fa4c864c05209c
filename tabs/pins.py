"""Colour pins on the photo that is open (Photos tab): a click pins the colour shown there, the
panel beside the photo changes, moves and removes pins."""

import streamlit as st

from colorize.hints import parse_colour
from colorize.page import photo as pp

from .server import my_shelf
from .state import page_state


def handle_click(photo, look, picture, key):
    """A new click on the photo adds a pin there (in the colour shown there) or moves the armed pin."""
    state = page_state()
    click = st.session_state.get(key)
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
        photo.add_pin(*point, pp.colour_at(picture, *point, look.size))
    return True


def set_pin_colour(photo_id, pin_id, key):
    photo = my_shelf().photos.get(photo_id)
    pin = photo.pin(pin_id) if photo else None
    if pin is not None:
        pin.rgb = parse_colour(st.session_state[key])


def arm_move(photo_id, pin_id):
    page_state().moving_pin[photo_id] = pin_id


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
    moving = page_state().moving_pin.get(photo.id)
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
