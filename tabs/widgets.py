"""What several tabs show: the vividness slider they share, a problem's one line, scrolling into view,
and the checks every widget value passes before use.

A widget's value comes from the browser, and a visitor can send any value for any widget key (a
crafted WebSocket message): a click that is not a click, a colour that is not a colour, a number out
of range or not a number. `widget_value` reads a value through its check, so a crafted one is simply
no value (the widget's default), never an exception.
"""

import logging
import math
import re

import streamlit as st

from colorize import ColorizeError
from colorize.page.names import display_name, markdown_literal

from .state import page_state

log = logging.getLogger("colorize.app")

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
CLICK_FIELDS = ("x", "y", "width", "height")


def finite_number(value):
    """A real number (not bool, NaN or infinite) as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def checked_click(value):
    """A click component's value ({x, y, width, height, unix_time}: numbers, the shown size positive)
    as a dict of floats, else None."""
    if not isinstance(value, dict):
        return None
    click = {k: finite_number(value.get(k)) for k in (*CLICK_FIELDS, "unix_time")}
    if any(v is None for v in click.values()) or click["width"] <= 0 or click["height"] <= 0:
        return None
    return click


def checked_colour(value):
    """A colour picker's value ('#rrggbb') as it is, else None."""
    return value if isinstance(value, str) and HEX_COLOUR.fullmatch(value) else None


def checked_between(low, high):
    """A check for a number within [low, high]."""

    def check(value):
        number = finite_number(value)
        return number if number is not None and low <= number <= high else None

    return check


def checked_choice(options):
    """A check for a value that must be one of `options` (a select box's, a radio's)."""
    options = list(options)

    def check(value):
        try:
            return value if value in options else None
        except TypeError:  # an unhashable or uncomparable value
            return None

    return check


def widget_value(key, check, default=None):
    """The widget `key`'s value in the session after `check` (one of the checked_* above), or
    `default` when it has none or the browser sent one that does not pass (logged, never raised)."""
    value = st.session_state.get(key)
    if value is None:
        return default
    good = check(value)
    if good is None:
        log.warning("ignored a malformed value for widget %r (%s)", key, type(value).__name__)
        return default
    return good


def friendly(name, error):
    """One line for the page; the details of unexpected errors go to the server log only."""
    name = markdown_literal(name)
    if isinstance(error, ColorizeError):
        return f"{name}: {error.problem}"
    if isinstance(error, MemoryError):
        return f"{name}: not enough memory on this server to colorize it; try a smaller photo."
    log.exception("unexpected error with %s", display_name(name))
    return f"{name}: something went wrong while colorizing it (the details are in the server log)."


def vividness_now(info):
    """The vividness every tab shows (the model's default until a slider moves)."""
    state = page_state()
    return info.default_vividness if state.vividness is None else state.vividness


def vividness_slider(key, info, container=None):
    """A vividness slider; every tab's slider shows (and sets) the same value."""
    state = page_state()
    if state.vividness_model != info.name:
        state.vividness_model = info.name
        state.vividness = float(info.default_vividness)
    st.session_state[key] = state.vividness

    def sync():
        state.vividness = widget_value(key, checked_between(0.0, 2.0), state.vividness)

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
    state = page_state()
    state.scroll_token += 1
    token = state.scroll_token
    st.html(
        f"""<style>.{css_class}{{scroll-margin-top:3.75rem}}</style><span data-scroll="{token}"></span><script>
(() => {{ const go = () => {{ const el = document.querySelector('.{css_class}');
  if (el) el.scrollIntoView({{block: 'start', behavior: 'instant'}}); }};
  [0, 150, 500, 1200].forEach(t => setTimeout(go, t)); }})();
</script>""",
        unsafe_allow_javascript=True,
    )
