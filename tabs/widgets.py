"""What several tabs show: the vividness slider they share, a problem's one line, scrolling into view."""

import logging

import streamlit as st

from colorize import ColorizeError
from colorize.page.names import display_name, markdown_literal

from .state import page_state

log = logging.getLogger("colorize.app")


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
        state.vividness = st.session_state[key]

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
