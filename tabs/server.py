"""What the server keeps for the page: the process's page memory (every visitor's shelf and the look
cache, released when a page closes; the turns work takes), the model, and Streamlit's own upload store,
which the page's budget watches as uploads arrive."""

import asyncio
import dataclasses
import logging
import shutil
import tempfile
import threading
from hashlib import sha256
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from colorize import ColorModel
from colorize.page import photo as pp
from colorize.page.gallery import list_samples, thumbnail
from colorize.page.memory import (
    GENTLE_STEP,
    MB,
    LookCache,
    PageBudget,
    Reaper,
    Shelves,
    WorkTurns,
    browser_token,
    content_id,
    held_bytes,
    lower_priority,
    tune_malloc,
    work_bytes,
)
from colorize.page.video import clip_suffix, is_video_name

log = logging.getLogger("colorize.app")

XSRF_COOKIE = "_streamlit_xsrf"  # Streamlit's own, one per browser (streamlit.web.server)
BIG_WORK = 64 * MB  # a photo of about 6 MP or more: such work leaves one of the two turns to smaller photos


@dataclasses.dataclass
class PageMemory:
    shelves: Shelves  # each tab's photos and clip, by session id, grouped by visitor
    looks: LookCache  # what the network made of them at screen size, all visitors together
    reaper: Reaper  # the thread that releases a closed page's shelf and looks
    work: WorkTurns  # photos being analysed (or rendered at full size) take turns for memory
    videos: WorkTurns  # video jobs take turns (a visible place in line)
    folder: Path  # uploaded clips and their results, one subfolder per tab, removed with it
    jobs: dict = dataclasses.field(default_factory=dict)  # session id -> its running JobControl

    def tab_folder(self, session_id, make=True):
        """The folder for a tab's clip files (made on first use)."""
        folder = self.folder / sha256(session_id.encode()).hexdigest()[:20]
        if make:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def stop_job(self, session_id):
        job = self.jobs.get(session_id)
        if job is not None:
            job.stop()

    def stop(self):
        self.reaper.stop()
        for job in list(self.jobs.values()):
            job.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def session_alive(session_id):
    from streamlit import runtime

    return not runtime.exists() or runtime.get_instance().is_active_session(session_id)


def release_session(memory, session_id):
    """What Streamlit keeps of a page closed for good (its uploads and media files): Streamlit frees
    them only when it shuts a session down, which it never does for a page that just closed. Also the
    tab's clip files, and its job if one still runs."""
    from streamlit import runtime

    memory.stop_job(session_id)
    shutil.rmtree(memory.tab_folder(session_id, make=False), ignore_errors=True)
    if runtime.exists():
        rt = runtime.get_instance()
        rt.uploaded_file_mgr.remove_session_files(session_id)
        rt.media_file_mgr.clear_session_refs(session_id)
        rt.media_file_mgr.remove_orphaned_files()


@st.cache_resource(show_spinner=False, on_release=lambda memory: memory.stop())
def page_memory() -> PageMemory:
    """The process's shelves and look cache, with the thread that releases them (a closed page's after
    Streamlit's own reconnection window, so it can never come back to find them gone), the turns work
    takes, and the watch on Streamlit's upload store."""
    tune_malloc()
    budget = PageBudget.from_env()
    budget = dataclasses.replace(
        budget, grace_seconds=max(budget.grace_seconds, float(st.get_option("server.disconnectedSessionTTL")))
    )
    shelves, looks = Shelves(budget), LookCache(budget.look_cache_bytes)
    holder: dict[str, PageMemory] = {}
    reaper = Reaper(
        shelves,
        looks,
        session_alive,
        on_drop=lambda sid: release_session(holder["memory"], sid),
        on_gone=lambda sid: holder["memory"].stop_job(sid),
        keep={content_id(sample.read()) for sample in list_samples()},
    )
    memory = holder["memory"] = PageMemory(
        shelves,
        looks,
        reaper,
        WorkTurns(slots=pp.NETWORK_RUNS_AT_ONCE, max_bytes=budget.work_bytes, big_bytes=BIG_WORK),
        WorkTurns(slots=budget.video_jobs, gentle=False),
        Path(tempfile.mkdtemp(prefix="colorize-page-")),
    )
    watch_upload_store(memory)
    return memory


# ---------------------------------------------------------------- who is visiting


def session_id():
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "local"


def visitor_id():
    """Who this tab's visitor is, the same in all their tabs: the browser's Streamlit XSRF cookie
    (Streamlit sets one per browser and checks it on every connection and upload while XSRF
    protection is on, its default), else the tab itself. The client's address is not used: behind
    Community Cloud's proxy, or a school's router, many visitors share one."""
    try:
        token = browser_token(st.context.cookies.get(XSRF_COOKIE))
    except Exception:  # noqa: BLE001 - no context (a bare script run): the tab is its own visitor
        token = None
    return f"browser:{token}" if token else f"tab:{session_id()}"


_this_run = threading.local()


def my_shelf():
    """This tab's shelf, marked active (each run of the page is the visitor doing something). A visitor
    who has used clearly more of the page's work lately than another one has this run of the page
    (its previews and pictures too, not only its photos' work turns) at a lower CPU priority."""
    memory, visitor = page_memory(), visitor_id()
    if not getattr(_this_run, "gentle", False) and memory.work.heavy(visitor):
        _this_run.gentle = True  # the thread's own priority, once: it ends with this run
        lower_priority(GENTLE_STEP)
    return memory.shelves.get(session_id(), visitor)


# ---------------------------------------------------------------- Streamlit's upload store


def watch_upload_store(memory, store=None):
    """Count every upload in the page's budget the moment it arrives in Streamlit's upload store,
    before the page's script sees it: one that does not fit is dropped at once (kept as an empty file,
    so the page can say why), a clip is written to disk instead of being held, and a file that leaves
    the store stops counting. `store`: the running server's (none under AppTest)."""
    from streamlit import runtime

    if store is None:
        if not runtime.exists():
            return
        store = runtime.get_instance().uploaded_file_mgr
    store.colorize_memory = memory  # the newest page memory (a cleared cache makes a new one)
    memory.shelves.on_give_way = store.remove_file  # an upload not taken yet that gives way leaves the store
    if getattr(store, "colorize_watched", False):
        return
    add_file, remove_file, remove_session_files = store.add_file, store.remove_file, store.remove_session_files

    def arrived(session_id, file):
        try:
            file = intake(store.colorize_memory, session_id, file)
        except Exception:  # the page's own check failing must not stop an upload
            log.exception("upload intake failed")
        add_file(session_id, file)

    def removed(session_id, file_id):
        store.colorize_memory.shelves.forget_upload(session_id, file_id)
        remove_file(session_id, file_id)

    def session_gone(session_id):
        for file_id in list(getattr(store.colorize_memory.shelves.sessions().get(session_id), "pending", {})):
            store.colorize_memory.shelves.forget_upload(session_id, file_id)
        remove_session_files(session_id)

    store.add_file, store.remove_file, store.remove_session_files = arrived, removed, session_gone
    store.colorize_watched = True
    big_reads_take_turns()


BIG_READ = 8 * MB


def big_reads_take_turns():
    """Streamlit reads each uploaded file whole into memory (Starlette's UploadFile.read, from the disk
    file the upload was streamed to) right before handing it to its store, where the page's intake
    keeps or drops it; uploads that finish together would each hold their whole size at once. Reads of
    more than BIG_READ take turns: the intake has dealt with one before the next is read (both happen
    in the server's event loop with no pause between them)."""
    from starlette.datastructures import UploadFile

    if getattr(UploadFile, "colorize_turns", False):
        return
    original, turn = UploadFile.read, {}  # type: ignore[var-annotated]

    async def read(self, size=-1):
        if size != -1 or (self.size or 0) < BIG_READ:
            return await original(self, size)
        lock = turn.setdefault("lock", asyncio.Lock())
        async with lock:
            return await original(self, size)

    setattr(UploadFile, "read", read)  # noqa: B010 - a method replaced on purpose (see above)
    setattr(UploadFile, "colorize_turns", True)  # noqa: B010


def intake(memory, session_id, file):
    """The record Streamlit's store keeps for an arriving upload (colorize.page.memory.Shelves.admit_upload)."""
    shelves, data = memory.shelves, file.data
    clip = is_video_name(file.name)
    shelf = shelves.sessions().get(session_id)
    replaces = held_bytes(shelf.video) if clip and shelf is not None else 0
    refusal = shelves.admit_upload(session_id, file.file_id, file.name, len(data), not clip, replaces)
    if refusal is None and not clip:
        return file
    if refusal is None:  # a clip goes to disk now; the store keeps an empty record pointing the page to it
        handle, path = tempfile.mkstemp(dir=memory.tab_folder(session_id), suffix=clip_suffix(file.name))
        with open(handle, "wb") as out:
            out.write(data)
        with shelves.sessions()[session_id].lock:
            shelves.sessions()[session_id].spooled[file.file_id] = Path(path)
    return file._replace(data=b"")


def release_upload(upload):
    """Drop an uploaded file from Streamlit's upload store once the page has taken it. Only the
    in-memory store Streamlit runs with has remove_file (its base class does not promise one); any
    other store lets the file go with the session."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    page_memory().shelves.forget_upload(ctx.session_id, upload.file_id)
    remove = getattr(ctx.uploaded_file_mgr, "remove_file", None)
    if remove is not None:
        remove(ctx.session_id, upload.file_id)


def live_uploads(value):
    """The uploaded files an uploader's value still holds. A callback can see a file that
    release_upload already dropped from the store (a `DeletedFile`, which has no bytes): skipped."""
    files = value if isinstance(value, list) else [value] if value is not None else []
    return [f for f in files if hasattr(f, "getvalue")]


# ---------------------------------------------------------------- the model, looks and pins


@st.cache_resource(show_spinner="Loading the colorization model…")
def load_model(folder: str) -> ColorModel:
    return ColorModel(folder)


@st.cache_data(show_spinner=False, max_entries=32)
def sample_thumbnail(path: str):
    return thumbnail(path)


def work_turn(photo, full_size=False):
    """A turn for memory-hungry work on a photo (analysing it, or a full-size download): waits while
    other visitors' photos are worked on past the page's work budget; the visitor served least
    recently goes first. Use as `with work_turn(photo): ...`."""
    return page_memory().work.turn(visitor_id(), work_bytes(photo.data, full_size))


def look_for(model, model_folder, photo):
    """What the network made of a shelf photo (from the shared cache, or made now in a work turn)."""
    looks = page_memory().looks
    key = (photo.id, model_folder)
    look = looks.get(key)
    if look is None:
        with work_turn(photo):
            look = looks.get(key)  # made meanwhile by another tab with the same photo
            if look is None:
                look = looks.put(key, pp.look_at(model, photo.name, photo.data))
    return look


def pinned_for(model, model_folder, photo, look):
    """The effect of the photo's pins, or None: no pins, or none that changes anything. The cache keeps
    one effect per photo (its latest pins), so pinning many times never adds up."""
    if not photo.pins or not model.takes_hints:
        return None
    looks = page_memory().looks
    key = (photo.id, model_folder, "pins")
    pins = tuple((p.x, p.y, p.rgb) for p in photo.pins)
    held = looks.get(key)
    if held is None or held[0] != pins:
        held = looks.put(key, (pins, pp.pinned_for(model, look, photo.hints())))
    return held[1]
