"""The Video tab: one short clip (uploaded or the sample), a preview of its first seconds or the
whole clip colorized, with a progress bar and Cancel, then played and offered as MP4."""

import tempfile

import streamlit as st

from colorize.page.memory import MB, give_back_memory
from colorize.page.names import markdown_literal
from colorize.page.video import (
    PREVIEW_SECONDS,
    ShelfVideo,
    colorize_clip,
    describe_limits,
    describe_video,
    page_limits,
    sample_video,
    write_clip,
)
from colorize.video import VideoCancelled, probe_video

from .server import live_uploads, my_shelf, page_memory, release_upload
from .state import page_state
from .widgets import friendly, vividness_slider

VIDEO_TYPES = ["mp4", "mov", "m4v", "avi", "mkv", "webm"]


def take_video(key):
    """A chosen clip goes onto the shelf (one at a time) and out of Streamlit's upload store."""
    state, shelf, budget = page_state(), my_shelf(), page_memory().shelves.budget
    uploads = live_uploads(st.session_state.get(key))
    state.video_uploader += 1
    if not uploads:
        return
    upload = uploads[0]
    data = upload.getvalue()
    if len(data) > budget.upload_bytes_per_session:
        state.video_note = (
            f"{markdown_literal(upload.name)}: not added, this page takes clips of "
            f"at most {budget.upload_bytes_per_session / MB:.0f} MB."
        )
    else:
        shelf.video = ShelfVideo(upload.name, data)
        state.video_note = None
    release_upload(upload)


def pick_sample_video():
    path = sample_video()
    my_shelf().video = ShelfVideo(path.name, path.read_bytes())


def clear_video():
    my_shelf().video = None
    give_back_memory()


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
    with tempfile.TemporaryDirectory(prefix="colorize-video-") as folder:
        try:
            src = write_clip(source, folder)
            clip = source.info or probe_video(src)
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
            run_video(source, src, folder, model, vividness, limits, preview)
    made = source.result
    if made:
        player, side = st.columns([3, 1])
        player.video(made.data)
        with side:
            label = "Preview (MP4)" if made.preview else "Colorized video (MP4)"
            st.download_button(
                label,
                data=made.data,
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


def run_video(source, src, folder, model, vividness, limits, preview):
    """Colorize the clip (or its first seconds) inside `folder`, which the caller removes whatever happens.

    Pressing Cancel reruns the page, which stops this run at its next progress update."""
    source.result = None
    bar = st.progress(0.0, text="Reading the video…")
    cancel = st.empty()
    cancel.button("Cancel", key="cancel-video", icon=":material/cancel:")

    def on_progress(p):
        bar.progress(p.fraction, text=f"{p.done} of {p.total} frames, about {p.seconds_left:.0f} s left")
        return True

    try:
        result = colorize_clip(source, src, folder, model, vividness, limits, preview, on_progress)
    except VideoCancelled:
        bar.empty()
        cancel.empty()
        st.info("Cancelled: nothing was kept.")
    except Exception as e:  # noqa: BLE001 - one line for the user, details in the log
        bar.empty()
        cancel.empty()
        st.error(friendly(source.name, e))
    else:
        bar.empty()
        cancel.empty()
        source.result = result
