"""Colorize's web page: `streamlit run app.py`.

Widgets and layout only; the work lives in colorize/. The network runs once per photo (cached on the
photo's bytes and the model); the vividness slider only re-renders. Full-size results are made when
a download button is pressed, never on every slider move. No error reaches the page as a traceback:
each photo is handled on its own, and a bad one gets one line.
"""
import logging
import re
import tempfile
from pathlib import Path

import streamlit as st

from colorize import ColorizeError, ColorModel, list_models, models_dir, results, teaching
from colorize.compare import comparison_html
from colorize.gallery import list_samples, thumbnail

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
VIDEO_TYPES = ["mp4", "mov", "m4v", "avi", "mkv", "webm"]
COLUMN_SIDE = 800     # long side of the three side-by-side pictures
COMPARE_SIDE = 1200   # long side of the before/after slider's pictures

log = logging.getLogger("colorize.app")

st.set_page_config(page_title="Colorize: black and white to colour", page_icon="🎨", layout="wide",
                   menu_items={"About": "Colorize: black-and-white photos and videos to colour, on a CPU, offline."})


@st.cache_resource(show_spinner="Loading the colorization model…")
def load_model(folder: str) -> ColorModel:
    return ColorModel(folder)


@st.cache_data(max_size="256MB", max_entries=64, show_spinner=False)
def analyse(data: bytes, name: str, model_folder: str) -> results.AnalysedPhoto:
    """The network's output for one photo: runs once per (photo bytes, name, model)."""
    return results.analyse_photo(load_model(model_folder), name, data)


@st.cache_data(show_spinner=False)
def sample_thumbnail(path: str):
    return thumbnail(path)


def plain(text):
    """A file name shown literally, not read as Markdown (a name may hold * _ $ [ ] ...)."""
    return re.sub(r"([\\`*_\[\]$~|<>#])", r"\\\1", text)


def friendly(name, error):
    """One line for the page; the details of unexpected errors go to the server log only."""
    name = plain(name)
    if isinstance(error, ColorizeError):
        return f"{name}: {error.problem}"
    if isinstance(error, MemoryError):
        return f"{name}: not enough memory on this server to colorize it; try a smaller photo."
    log.exception("unexpected error with %s", name)
    return f"{name}: something went wrong while colorizing it (the details are in the server log)."


def sidebar():
    """Model picker (only with several models) and the vividness slider; returns (model info, vividness)."""
    infos, problems = list_models()
    for p in problems:
        log.warning("unusable model: %s", p)
    if not infos:
        st.error(f"No colorization model found in {models_dir()}. Put a model folder there "
                 "(see the README) and reload this page.")
        st.stop()
    with st.sidebar:
        st.header("Settings")
        info = infos[0]
        if len(infos) > 1:
            names = [i.name for i in infos]
            picked = st.selectbox("Model", names, key="model", help="Different networks can give different colours.")
            info = infos[names.index(picked)]
        vividness = st.slider("Vividness", 0.0, 2.0, float(info.default_vividness), 0.05, key="vividness",
                              help="Low: cautious, muted colours. High: bold colours (and bolder mistakes). "
                                   "Changing it does not run the network again.")
        st.divider()
        st.caption(f"Model **{info.name}**. {info.meta.get('description', '')}")
        if info.meta.get("license"):
            st.caption(f"Licence: {info.meta['license']}")
        st.caption("Runs on this server's CPU; your photos are not stored or sent anywhere. "
                   "Sample photos: public domain / CC0 (see samples/CREDITS.md).")
    return info, vividness


def chosen_photos(samples):
    """The uploaded photos, or else the sample picked from the gallery: [(name, bytes)]."""
    uploads = st.file_uploader("Black-and-white photos (one or many)", type=PHOTO_TYPES,
                               accept_multiple_files=True, key="photos",
                               on_change=lambda: st.session_state.pop("sample", None),
                               help=f"JPEG, PNG, WebP, BMP or TIFF, up to "
                                    f"{results.PAGE_MAX_PIXELS / 1e6:.0f} megapixels each.")
    if samples:
        st.caption("No photo at hand? Try one of these:")
        for column, sample in zip(st.columns(max(6, len(samples))), samples):
            with column:
                st.image(sample_thumbnail(str(sample.path)), width="stretch")
                if st.button(sample.title, key=f"sample-{sample.name}", width="stretch"):
                    st.session_state["sample"] = sample.name
    if uploads:
        return [(u.name, u.getvalue()) for u in uploads]
    picked = [s for s in samples if s.name == st.session_state.get("sample")]
    return [(s.name, s.read()) for s in picked]


def show_photo(index, name, data, model, model_folder, vividness):
    """One photo's results; returns its AnalysedPhoto, or None after showing a one-line error."""
    try:
        analysed = analyse(data, name, model_folder)
        colour = results.preview(model, analysed, vividness, COMPARE_SIDE)
        gray = results.gray_preview(analysed, COMPARE_SIDE)
        w, h = analysed.size
        st.subheader(plain(name), divider="gray")
        left, middle, right = st.columns(3)
        left.image(results.shrink(analysed.original, COLUMN_SIDE), caption=f"Original ({w}×{h})")
        middle.image(results.shrink(gray, COLUMN_SIDE), caption="What the network sees: lightness only")
        right.image(results.shrink(colour, COLUMN_SIDE), caption=f"Colorized (vividness {vividness:.2f})")
        slider, side = st.columns([3, 1])
        with slider:
            st.iframe(comparison_html(gray, colour), height="content", alt=f"Before and after: {name}")
        with side:
            st.markdown("**Download** (full size, "f"{w}×{h})")
            for fmt, label, mime in (("png", "PNG", "image/png"), ("jpg", "JPEG", "image/jpeg")):
                st.download_button(
                    f"Colorized {label}", key=f"download-{fmt}-{index}", type="primary" if fmt == "png" else "secondary",
                    data=lambda a=analysed, f=fmt: results.full_resolution(model, a, vividness, f),
                    file_name=results.output_name(name, fmt), mime=mime, on_click="ignore", icon=":material/download:")
            st.caption("Drag across the picture to compare.")
            if analysed.note:
                st.caption(analysed.note)
        return analysed
    except Exception as e:  # noqa: BLE001 - one bad photo must not break the page or the batch
        st.error(friendly(name, e))
        return None


def photos_tab(model, model_folder, vividness, samples):
    done = []
    for index, (name, data) in enumerate(chosen_photos(samples)):
        analysed = show_photo(index, name, data, model, model_folder, vividness)
        if analysed is not None:
            done.append(analysed)
    if len(done) > 1:
        st.download_button(
            f"Download all {len(done)} colorized photos (zip of PNGs)", key="download-zip", type="primary",
            data=lambda: results.zip_files([(results.output_name(a.name), results.full_resolution(model, a, vividness))
                                            for a in done]),
            file_name="colorized_photos.zip", mime="application/zip", on_click="ignore", icon=":material/folder_zip:")
    return done


def teaching_tab(model, model_folder, vividness, done, samples):
    st.markdown(teaching.EXPLANATION)
    if not done and samples:
        try:
            done = [analyse(samples[0].read(), samples[0].name, model_folder)]
        except Exception as e:  # noqa: BLE001
            st.error(friendly(samples[0].name, e))
    if not done:
        st.info("Upload a photo in the Photos tab to see it taken apart here.")
        return
    analysed = done[0]
    if len(done) > 1:
        analysed = done[st.selectbox("Photo", range(len(done)), format_func=lambda i: done[i].name,
                                     key="teaching-photo")]
    try:
        lesson = teaching.lesson(model, analysed.prediction, vividness)
    except Exception as e:  # noqa: BLE001
        st.error(friendly(analysed.name, e))
        return
    st.subheader(f"Taking apart {plain(analysed.name)}", divider="gray")
    c1, c2, c3 = st.columns(3)
    c1.image(lesson.L, caption="L, lightness: the only thing the network is given")
    c2.image(lesson.a, caption="a, predicted: green (−) to red (+), exaggerated 2×")
    c3.image(lesson.b, caption="b, predicted: blue (−) to yellow (+), exaggerated 2×")
    plane, words = st.columns([1, 1])
    plane.image(lesson.plane, caption=f"Where this photo's predicted colours sit in the a/b plane "
                                      f"(shown at lightness {teaching.PLANE_LIGHTNESS:.0f}). The dark outline holds "
                                      f"half of the pixels, the grey one nine tenths.")
    with words:
        st.markdown("**Reading the colour plane.** The centre is grey; the further out, the more colourful. "
                    "The angle is the hue: right is red, up is yellow, left is green, down is blue. "
                    "Colorized photos cluster near the centre: the network hedges when unsure. "
                    "Move the vividness slider and watch the cloud spread out.")
        st.markdown(lesson.summary)
        bins = model.info.bins
        if bins is not None:
            st.markdown(f"This model chooses among **{len(bins)}** a/b colours for every patch "
                        f"of 4×4 pixels of its {model.info.long_side}-pixel input.")


def safe_file_name(name, default="video.mp4"):
    """An upload's name, reduced to characters that are safe in a temporary path."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._")
    return cleaned or default


def video_tab(model, vividness):
    try:
        from colorize.video import VideoLimits, colorize_video, probe_video
    except ImportError:
        st.info("Video colorization is not available in this installation.")
        return
    limits = VideoLimits()
    st.markdown(f"Short clips only: up to **{limits.max_seconds:g} seconds** and up to "
                f"**{limits.max_pixels / 1e6:.1f} megapixels** per frame (1920×1080). MP4, MOV, AVI, MKV or "
                "WebM. The sound is kept, and colours are steadied from frame to frame so they do not "
                "flicker. A progress bar shows the frames done and the time left.")
    upload = st.file_uploader("A short video", type=VIDEO_TYPES, key="video")
    if upload is None:
        return
    try:
        info = probed(upload, probe_video)
        limits.check(info)
    except Exception as e:  # noqa: BLE001
        st.error(friendly(upload.name, e))
        return
    st.caption(describe_video(info))
    if st.button("Colorize video", type="primary", key="colorize-video", icon=":material/movie:"):
        run_video(upload, model, vividness, limits, colorize_video)
    made = st.session_state.get("video-result")
    if made and made["upload"] == upload.file_id:
        player, side = st.columns([3, 1])
        player.video(made["data"])
        with side:
            st.download_button("Colorized video (MP4)", data=made["data"], file_name=made["file_name"],
                               mime="video/mp4", key="download-video", type="primary", on_click="ignore",
                               icon=":material/download:")
            st.caption(f"H.264 MP4, made at vividness {made['vividness']:.2f}. To try another vividness, "
                       "move the slider and press Colorize video again.")


def uploaded_copy(upload, folder):
    """Write an upload into `folder`/upload/ under a safe version of its own name; returns the path."""
    path = Path(folder) / "upload" / safe_file_name(upload.name)
    path.parent.mkdir()
    path.write_bytes(upload.getvalue())
    return path


def probed(upload, probe_video):
    """What ffmpeg says about an uploaded video (asked once per upload, in a temporary folder)."""
    key = ("video-info", upload.file_id)
    if key not in st.session_state:
        with tempfile.TemporaryDirectory(prefix="colorize-video-") as folder:
            st.session_state[key] = probe_video(uploaded_copy(upload, folder))
    return st.session_state[key]


def describe_video(info):
    length = "unknown length" if info.duration is None else f"{info.duration:.1f} s"
    sound = "with sound" if info.has_audio else "no sound"
    return f"{length}, {info.width}×{info.height}, {info.fps:.3g} frames per second, {sound}."


def run_video(upload, model, vividness, limits, colorize_video):
    """Colorize one uploaded video in a temporary folder that is removed afterwards, whatever happens."""
    st.session_state.pop("video-result", None)
    bar = st.progress(0.0, text="Reading the video…")

    def on_progress(p):
        bar.progress(p.fraction, text=f"{p.done} of {p.total} frames, about {p.seconds_left:.0f} s left")
        return True

    try:
        with tempfile.TemporaryDirectory(prefix="colorize-video-") as folder:
            src = uploaded_copy(upload, folder)
            dst = Path(folder) / "colorized.mp4"
            colorize_video(src, dst, model, vividness=vividness, progress=on_progress, limits=limits)
            data = dst.read_bytes()
        bar.empty()
        st.session_state["video-result"] = {"upload": upload.file_id, "data": data, "vividness": vividness,
                                            "file_name": results.output_name(upload.name, "mp4")}
    except Exception as e:  # noqa: BLE001 - one line for the user, details in the log
        bar.empty()
        st.error(friendly(upload.name, e))


def main():
    st.title("Colorize")
    st.markdown("Turn black-and-white photos and short videos into colour with a small neural network, "
                "running right here on this server's CPU.")
    info, vividness = sidebar()
    model_folder = str(info.folder)
    try:
        model = load_model(model_folder)
    except Exception as e:  # noqa: BLE001
        st.error(friendly(info.name, e))
        st.stop()
    samples = list_samples()
    photos, how, video = st.tabs(["Photos", "How it works", "Video"])
    with photos:
        done = photos_tab(model, model_folder, vividness, samples)
    with how:
        teaching_tab(model, model_folder, vividness, done, samples)
    with video:
        video_tab(model, vividness)


try:
    main()
except Exception:  # noqa: BLE001 - the last guard: a line for the visitor, the traceback for the log
    log.exception("page failed")
    st.error("Something went wrong on this page; reloading it usually helps (the details are in the server log).")
