"""What one visitor's page remembers between reruns, in one place with named fields.

Widgets keep their own values under their keys (the uploaders, sliders, pickers, buttons and the
tab bar); everything else the page remembers is a field of the one `PageState` in the session. The
photos, pins and clip themselves are on the visitor's shelf (colorize.page.memory), which the
server releases when the page closes.
"""

from dataclasses import dataclass, field
from typing import Any

import streamlit as st


@dataclass
class PageState:
    vividness: float | None = None  # what every tab's vividness slider shows (None: the model's default)
    vividness_model: str | None = None  # the model `vividness` belongs to: another model starts at its own
    uploader: int = 0  # the photo uploader's generation: a new key empties it after each upload
    upload_notes: list[str] = field(default_factory=list)  # one line on the last batch (and what gave way)
    video_uploader: int = 0  # the video uploader's generation
    video_note: str | None = None  # why a clip was not added
    scroll_to: str | None = None  # the CSS class of what to bring into view at the end of this run
    scroll_token: int = 0  # makes each scroll a new script, so it runs again
    moving_pin: dict[str, int] = field(default_factory=dict)  # photo id -> the pin the next click moves
    clicks_done: dict[str, float] = field(default_factory=dict)  # click widget key -> the last click handled
    pending_pin: dict[str, tuple[int, int]] = field(default_factory=dict)  # photo id -> a pin point, colour not chosen
    undo: Any = None  # what the last Clear all or remove can put back (tabs.pins.Undo)
    lesson_photos: dict[str, Any] = field(default_factory=dict)  # sample id -> its ShelfPhoto in How it works
    lesson_point: dict[str, tuple[int, int]] = field(default_factory=dict)  # photo id -> the pixel looked at


def page_state() -> PageState:
    """This visitor's PageState (made on the first run)."""
    state = st.session_state.get("page-state")
    if state is None:
        state = st.session_state["page-state"] = PageState()
    return state
