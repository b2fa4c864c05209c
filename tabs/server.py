"""What the server keeps for the page: the process's page memory (every visitor's shelf and the look
cache, released when a page closes), the model, and Streamlit's own upload store."""

import dataclasses

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from colorize import ColorModel
from colorize.page import photo as pp
from colorize.page.gallery import thumbnail
from colorize.page.memory import LookCache, PageBudget, Reaper, Shelves, tune_malloc


@dataclasses.dataclass
class PageMemory:
    shelves: Shelves  # each visitor's photos and clip, by session id
    looks: LookCache  # what the network made of them at screen size, all visitors together
    reaper: Reaper  # the thread that releases a closed page's shelf and looks


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


@st.cache_resource(show_spinner=False, on_release=lambda memory: memory.reaper.stop())
def page_memory() -> PageMemory:
    """The process's shelves and look cache, with the thread that releases them (a closed page's after
    Streamlit's own reconnection window, so it can never come back to find them gone)."""
    tune_malloc()
    budget = PageBudget.from_env()
    budget = dataclasses.replace(
        budget, grace_seconds=max(budget.grace_seconds, float(st.get_option("server.disconnectedSessionTTL")))
    )
    shelves, looks = Shelves(budget), LookCache(budget.look_cache_bytes)
    return PageMemory(shelves, looks, Reaper(shelves, looks, session_alive, on_drop=release_session))


def session_id():
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "local"


def my_shelf():
    return page_memory().shelves.get(session_id())


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


@st.cache_resource(show_spinner="Loading the colorization model…")
def load_model(folder: str) -> ColorModel:
    return ColorModel(folder)


@st.cache_data(show_spinner=False, max_entries=32)
def sample_thumbnail(path: str):
    return thumbnail(path)


def look_for(model, model_folder, photo):
    """What the network made of a shelf photo (from the shared cache, or made now)."""
    looks = page_memory().looks
    key = (photo.id, model_folder)
    look = looks.get(key)
    if look is None:
        look = looks.put(key, pp.look_at(model, photo.name, photo.data))
    return look


def raw_for(model, model_folder, photo, look):
    """The network's output for the photo with its pins (cached like looks; plain output without pins)."""
    if not photo.pins or not model.takes_hints:
        return look.raw
    looks = page_memory().looks
    key = (photo.id, model_folder, "pins", tuple((p.x, p.y, p.rgb) for p in photo.pins))
    raw = looks.get(key)
    if raw is None:
        raw = looks.put(key, pp.hinted_raw(model, look, photo.hints()))
    return raw
