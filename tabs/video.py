"""The Video tab: one short clip (uploaded or the sample), a preview of its first seconds or the
whole clip colorized, with a progress bar and Cancel, then played and offered as MP4.

Clips live on disk (an upload is written there as it arrives) and count in the page's budget. Jobs take
turns: the page colorizes one or two clips at a time, and a visitor whose clip waits sees their place
in line. Cancel, or a page that closes, ends the job at once, its ffmpeg processes and files included.
"""

import shutil
import tempfile
from pathlib import Path

import streamlit as st

from colorize.page.memory import GENTLE_STEP, OverBudget, lower_priority, refusal_line
from colorize.page.names import markdown_literal
from colorize.page.video import (
    PREVIEW_SECONDS,
    VIDEO_SUFFIXES,
    JobControl,
    ShelfVideo,
    clip_suffix,
    colorize_clip,
    describe_limits,
    describe_video,
    job_bytes,
    page_limits,
    sample_video,
)
from colorize.video import VideoCancelled, probe_video

from .server import live_uploads, my_shelf, page_memory, release_upload, session_alive, session_id, visitor_id
from .state import page_state
from .widgets import friendly, scroll_into_view, vividness_slider

VIDEO_TYPES = list(VIDEO_SUFFIXES)


def put_clip(shelf, name, size, path, owned=True):
    """The clip at `path` becomes the tab's clip (the one before it and its files go)."""
    old, shelf.video = shelf.video, ShelfVideo(name, path, size, owned=owned)
    if old is not None and not old.busy:
        old.discard()


def take_video(key):
    """A chosen clip goes onto the shelf (one at a time): written to disk as it arrived, and out of
    Streamlit's upload store. One that does not fit the page's budget gets its line."""
    state, memory, shelf = page_state(), page_memory(), my_shelf()
    uploads = live_uploads(st.session_state.get(key))
    state.video_uploader += 1
    if not uploads:
        return
    upload = uploads[0]
    with shelf.lock:
        path = shelf.spooled.pop(upload.file_id, None)
    try:
        memory.shelves.keep_clip(shelf, upload.size if path is None else path.stat().st_size, upload.file_id)
    except OverBudget as e:
        state.video_note = refusal_line(markdown_literal(upload.name), e)
        if path is not None:
            path.unlink(missing_ok=True)
    else:
        if path is None:  # not written on arrival (no running server's store to watch): written now
            handle, name = tempfile.mkstemp(dir=memory.tab_folder(session_id()), suffix=clip_suffix(upload.name))
            with open(handle, "wb") as out:
                out.write(upload.getvalue())
            path = Path(name)
        put_clip(shelf, upload.name, path.stat().st_size, path)
        state.video_note = None
    release_upload(upload)


def pick_sample_video():
    """The sample clip, copied into the tab's folder (every file a job touches is there: Cancel ends
    every ffmpeg process that names it)."""
    memory, shelf, source = page_memory(), my_shelf(), sample_video()
    copy = memory.tab_folder(session_id()) / f"sample-{source.name}"
    shutil.copyfile(source, copy)
    size = copy.stat().st_size
    try:
        memory.shelves.keep_clip(shelf, size)
    except OverBudget as e:
        page_state().video_note = refusal_line(source.name, e)
        copy.unlink(missing_ok=True)
        return
    put_clip(shelf, source.name, size, copy)


def clear_video():
    shelf = my_shelf()
    page_memory().stop_job(session_id())
    if shelf.video is not None:
        shelf.video.discard()
    shelf.video = None


def stop_video(sid):
    """Cancel: the running job stops now, its ffmpeg processes first (this runs in the new run
    Streamlit starts at once on a click, while the old one is still in the job)."""
    page_memory().stop_job(sid)


def video_tab(model, info):
    limits = page_limits()
    seconds, size = describe_limits(limits)
    st.markdown(
        f"Short clips only: up to **{seconds}** and up to **{size}** per frame. MP4, MOV, AVI, "
        "MKV or WebM. The sound is kept, and colours are steadied from frame to frame so they do not "
        f"flicker. Try a **{PREVIEW_SECONDS:g}-second preview** first; a progress bar shows the "
        "frames done and the time left, and you can cancel."
    )
    state, shelf = page_state(), my_shelf()
    key = f"video-{state.video_uploader}"
    with st.container(key="video"):
        st.file_uploader("A short video", type=VIDEO_TYPES, key=key, on_change=take_video, args=(key,))
    if state.video_note:
        st.warning(state.video_note)
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
    try:
        clip = source.info or probe_video(source.path, max_pixels=limits.max_pixels)
        source.info = clip
        limits.check(clip)
    except Exception as e:  # noqa: BLE001 - a bad clip is one line for the visitor
        st.error(friendly(source.name, e))
        st.button("Remove clip", key="clear-video", on_click=clear_video, icon=":material/close:")
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"**{markdown_literal(source.name)}**: {describe_video(clip)}")
        st.button("Remove clip", key="clear-video", on_click=clear_video, icon=":material/close:", type="tertiary")
    vividness = vividness_slider("vividness-video", info)
    with st.container(horizontal=True):
        preview = st.button(f"Preview {PREVIEW_SECONDS:g} seconds", key="preview-video", icon=":material/preview:")
        whole = st.button("Colorize video", type="primary", key="colorize-video", icon=":material/movie:")
    if st.session_state.get("cancel-video"):
        st.info("Cancelled: nothing was kept.")
    if preview or whole:
        run_video(source, model, vividness, limits, preview)
    made = source.result
    if made and made.path.is_file():
        with st.container(key="video-result"):
            player, side = st.columns([3, 1])
        player.video(str(made.path))
        if preview or whole:  # just made: bring the player and its download into view
            scroll_into_view("st-key-video-result")
        with side:
            label = "Preview (MP4)" if made.preview else "Colorized video (MP4)"
            st.download_button(
                label,
                data=made.read,  # read when pressed: the file stays on disk meanwhile
                file_name=made.file_name,
                mime="video/mp4",
                key="download-video",
                type="primary",
                on_click="ignore",
                icon=":material/download:",
            )
            what = f"the first {PREVIEW_SECONDS:g} seconds" if made.preview else "the whole clip"
            st.caption(
                f"H.264 MP4 of {what}, made at vividness {made.vividness:.2f}. To try another "
                "vividness, move the slider and press a button again."
            )


def in_line(turns, ticket, status, job, sid, waiting_for):
    """Wait for the ticket's turn, showing the place in line; False if the job was stopped or the page
    closed meanwhile."""
    while not turns.wait(ticket, 0.5):
        if job.stopped.is_set() or not session_alive(sid):
            return False
        place = turns.place(ticket)
        where = "you are next" if place <= 1 else f"you are number {place} in line"
        status.info(f"Waiting for {waiting_for}: {where}. Your clip starts by itself.", icon=":material/schedule:")
    status.empty()
    return True


def run_video(source, model, vividness, limits, preview):
    """Colorize the clip (or its first seconds) in a folder removed whatever happens, after waiting
    its turn. Pressing Cancel stops it at once (`stop_video`); so does closing the page."""
    memory, sid, visitor = page_memory(), session_id(), visitor_id()
    source.set_result(None)
    status = st.empty()
    cancel = st.empty()
    cancel.button("Cancel", key="cancel-video", icon=":material/cancel:", on_click=stop_video, args=(sid,))
    folder = memory.tab_folder(sid)
    job = memory.jobs[sid] = JobControl(folder)  # every ffmpeg process of this tab's job names this folder
    clip_turn = memory.videos.join(visitor)
    work = memory.work.join(visitor, job_bytes(source.info))
    bar, restore = st.empty(), lambda: None

    def on_progress(p):
        bar.progress(p.fraction, text=f"{p.done} of {p.total} frames, about {p.seconds_left:.0f} s left")
        return job.go_on() and session_alive(sid)

    try:
        if not in_line(memory.videos, clip_turn, status, job, sid, "other visitors' videos"):
            return
        if not in_line(memory.work, work, status, job, sid, "memory (other visitors' photos are being colorized)"):
            return
        source.busy = True
        restore = lower_priority(GENTLE_STEP)  # a clip is long work: photos beside it keep most of the CPU
        bar.progress(0.0, text="Reading the video…")
        with tempfile.TemporaryDirectory(prefix="colorize-video-", dir=folder) as work_folder:
            result = colorize_clip(source, work_folder, model, vividness, limits, preview, on_progress, folder)
    except VideoCancelled:
        st.info("Cancelled: nothing was kept.")
    except Exception as e:  # noqa: BLE001 - one line for the user, details in the log
        if job.stopped.is_set():
            st.info("Cancelled: nothing was kept.")
        else:
            st.error(friendly(source.name, e))
    else:
        source.set_result(result)
    finally:
        restore()
        source.busy = False
        memory.work.leave(work)
        memory.videos.leave(clip_turn)
        if memory.jobs.get(sid) is job:
            del memory.jobs[sid]
        for shown in (bar, status, cancel):
            shown.empty()
