"""Colorize's web page: `streamlit run app.py`.

The layout, the sidebar and the tabs; each tab is a module of tabs/ (photos, lesson, video), and the
work lives in colorize.page (a photo on the page, the memory budget, the video job, the How it works
pictures), which never imports Streamlit. The network runs once per photo (and again, in
milliseconds, when a pin is placed); vividness only re-renders. Full-size results are made when a
download button is pressed. No error reaches the page as a traceback: each photo is handled on its
own, and a bad one gets one line.
"""

import streamlit as st

from colorize import list_models, models_dir
from colorize.page.gallery import CREDITS, list_samples
from tabs.lesson import lesson_tab
from tabs.photos import photos_tab
from tabs.server import load_model
from tabs.video import video_tab
from tabs.widgets import friendly, log

PRIVACY = (
    "**Privacy.** Your photos and videos go to the server that runs this page, are processed in its "
    "memory (a video briefly in a temporary file) and are never stored: they are dropped when you "
    "remove them or close the page."
)

st.set_page_config(
    page_title="Colorize: black and white to colour",
    page_icon="🎨",
    layout="wide",
    menu_items={"About": "Colorize: black-and-white photos and videos to colour, on a CPU, offline."},
)


def sidebar():
    """Model picker (only with several models), what the page does, privacy and credits."""
    infos, problems = list_models()
    for p in problems:
        log.warning("unusable model: %s", p)
    if not infos:
        st.error(
            f"No colorization model found in {models_dir()}. Put a model folder there "
            "(see the README) and reload this page."
        )
        st.stop()
    with st.sidebar:
        st.header("About this page")
        info = infos[0]
        if len(infos) > 1:
            names = [i.name for i in infos]
            picked = st.selectbox("Model", names, key="model", help="Different networks can give different colours.")
            info = infos[names.index(picked)]
        st.markdown(
            "A small neural network looks at the light and dark of a black-and-white photo and "
            "guesses its colours: skies blue, grass green, skin warm. The detail always comes from "
            "your photo; only the colour is a guess, and a guess can be wrong."
        )
        if info.takes_hints:
            st.markdown(
                "**Wrong colour?** Click the photo where you know the colour and pick it: "
                "the network spreads it across that object."
            )
        st.caption(
            f"Model: **{info.name}**"
            + (f", licence {info.meta['license']}" if info.meta.get("license") else "")
            + ". Runs on this server's processor; nothing is sent to any other service."
        )
        st.markdown(PRIVACY)
        with st.expander("Credits for the sample photos and video"):
            st.markdown("\n".join(f"- **{title}**: {text}" if title else f"\n{text}" for title, text in CREDITS))
    return info


def main():
    st.title("Colorize")
    st.markdown(
        "Give black-and-white photos and short videos colour. A small neural network guesses the colours; "
        "everything runs on this server's own processor."
    )
    info = sidebar()
    model_folder = str(info.folder)
    try:
        model = load_model(model_folder)
    except Exception as e:  # noqa: BLE001 - the page still says which model failed
        st.error(friendly(info.name, e))
        st.stop()
    samples = list_samples()
    photos, how, video = st.tabs(["Photos", "How it works", "Video"], key="tab", on_change="rerun")
    if photos.open:
        with photos:
            photos_tab(model, model_folder, info, samples)
    if how.open:
        with how:
            lesson_tab(model, model_folder, info, samples)
    if video.open:
        with video:
            video_tab(model, info)


try:
    main()
except Exception:  # noqa: BLE001 - the last guard: a line for the visitor, the traceback for the log
    log.exception("page failed")
    st.error("Something went wrong on this page; reloading it usually helps (the details are in the server log).")
