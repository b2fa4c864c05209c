"""The Streamlit page (app.py) driven by Streamlit's AppTest, and the page's helper modules.

The page runs the tiny test model (COLORIZE_MODELS) so each flow takes a moment. Downloads are made
on click (deferred callables); the tests capture those callables and run them like a click would.
"""
import io
import tempfile
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, gradient_photo
from colorize import ColorModel, results, teaching
from colorize.compare import comparison_html
from colorize.encode import to_uint8
from colorize.gallery import list_samples
from colorize.lab import rgb_to_lab
from colorize.pipeline import predict, render

APP = str(ROOT / "app.py")
TIMEOUT = 120


def png_bytes(h, w, seed=0, grey=True):
    rgb = gradient_photo(h, w, seed)
    if grey:
        rgb = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    buf = io.BytesIO()
    Image.fromarray(to_uint8(rgb)).save(buf, "PNG")
    return buf.getvalue()


def mean_chroma(rgb_uint8):
    lab = rgb_to_lab(np.asarray(rgb_uint8, np.float32) / 255.0)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


# ---------------------------------------------------------------- helpers behind the page

def test_full_resolution_download_matches_the_pipeline_render(tiny_model):
    rgb = gradient_photo(300, 200, seed=3)  # more rows than one strip, so the strips are stitched
    analysed = results.analyse_photo(tiny_model, "x.png", png_bytes(300, 200, seed=3, grey=False))
    expected = to_uint8(render(tiny_model, predict(tiny_model, [to_uint8(rgb) / np.float32(255)])[0], 1.5))
    got = np.asarray(Image.open(io.BytesIO(results.full_resolution(tiny_model, analysed, 1.5, "png"))))
    assert got.shape == (300, 200, 3)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    jpg = Image.open(io.BytesIO(results.full_resolution(tiny_model, analysed, 1.5, "jpg")))
    assert jpg.format == "JPEG" and jpg.size == (200, 300)


def test_png_download_keeps_transparency(tiny_model):
    rgba = np.dstack([to_uint8(gradient_photo(40, 60)), np.full((40, 60), 128, np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    analysed = results.analyse_photo(tiny_model, "t.png", buf.getvalue())
    out = Image.open(io.BytesIO(results.full_resolution(tiny_model, analysed)))
    assert out.mode == "RGBA" and np.asarray(out)[..., 3].max() == 128


def test_preview_is_screen_sized_and_the_download_full_sized(tiny_model):
    analysed = results.analyse_photo(tiny_model, "big.png", png_bytes(900, 1600))
    assert analysed.size == (1600, 900)
    assert results.preview(tiny_model, analysed, 1.0, max_side=400).shape == (225, 400, 3)
    assert results.gray_preview(analysed, 400).shape == (225, 400, 3)
    assert analysed.original.shape[1] <= results.PREVIEW_SIDE


def test_page_refuses_photos_over_its_pixel_limit(tiny_model):
    from colorize import ColorizeError
    with pytest.raises(ColorizeError, match="over the limit"):
        results.analyse_photo(tiny_model, "huge.png", png_bytes(100, 100), max_pixels=5000)


def test_output_names_and_zip():
    assert results.output_name("holiday/beach.photo.JPG") == "beach.photo_colorized.png"
    assert results.output_name("C:\\scans\\gran.tif", "jpg") == "gran_colorized.jpg"
    assert results.unique_names(["a.png", "A.png", "a.png", "b.png"]) == ["a.png", "A-2.png", "a-3.png", "b.png"]
    data = results.zip_files([("a.png", b"1"), ("a.png", b"22"), ("b.png", b"333")])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.filename: i.file_size for i in z.infolist()} == {"a.png": 1, "a-2.png": 2, "b.png": 3}


def test_channel_images_show_a_and_b_as_colour():
    L = np.full((8, 8), 50, np.float32)
    ab = np.zeros((8, 8, 2), np.float32)
    ab[..., 0], ab[..., 1] = 30, -30
    a_img, b_img = teaching.channel_image(L, ab, 0), teaching.channel_image(L, ab, 1)
    assert a_img[0, 0, 0] > a_img[0, 0, 1]   # +a: redder than green
    assert b_img[0, 0, 2] > b_img[0, 0, 0]   # -b: bluer than red
    assert teaching.lightness_image(L).shape == (8, 8, 3)


def test_ab_plane_highlights_where_the_predictions_are():
    rng = np.random.default_rng(0)
    ab = rng.normal([40, 50], [3, 3], (4000, 2)).astype(np.float32).reshape(-1, 1, 2)
    size, limit = 220, teaching.AB_LIMIT
    hist = teaching.ab_histogram(ab, size)
    assert hist.sum() == pytest.approx(1.0)
    img = teaching.ab_plane_with_predictions(ab, size)
    plane, _ = teaching.ab_plane(size)

    def cell(a, b):
        return int((limit - b) / (2 * limit) * size), int((a + limit) / (2 * limit) * size)

    inside, far = cell(40, 50), cell(-60, -60)
    assert np.abs(img[inside].astype(int) - to_uint8(plane)[inside].astype(int)).max() <= 2  # full strength
    assert mean_chroma(img[far][None, None]) < mean_chroma(to_uint8(plane)[far][None, None]) - 10  # faded


def test_comparison_slider_is_self_contained():
    a = np.zeros((30, 40, 3), np.uint8)
    page = comparison_html(a, a + 200, "Before <b>", "After")
    assert page.count("data:image/jpeg;base64,") == 2
    assert 'type="range"' in page and "<script src" not in page and "http" not in page
    assert "Before &lt;b&gt;" in page


def test_samples_are_small_grey_and_credited():
    samples = list_samples()
    assert len(samples) >= 3
    credits = (ROOT / "samples" / "CREDITS.md").read_text()
    for s in samples:
        assert s.path.stat().st_size < 200_000
        im = Image.open(s.path)
        assert im.mode == "L"
        assert s.name in credits


def test_streamlit_config_hides_errors_and_statistics():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["toolbarMode"] == "viewer"
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["maxUploadSize"] >= 200


# ---------------------------------------------------------------- the page itself

@pytest.fixture
def deferred_downloads(monkeypatch):
    """Capture the callables (and file names) behind download buttons: Streamlit runs one on a click."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    captured = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = original(self, data_callable, mimetype, coordinates, file_name, **kwargs)
        captured[file_id] = (data_callable, file_name, mimetype)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return captured


@pytest.fixture
def app(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODELS", str(tiny_model_dir))
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def network_calls(monkeypatch):
    """Count how often the network runs."""
    calls = []
    original = ColorModel.run

    def run(self, L_batch):
        calls.append(L_batch.shape)
        return original(self, L_batch)

    monkeypatch.setattr(ColorModel, "run", run)
    return calls


def download(at, captured, key, file_name=None):
    """Click a deferred download button: the bytes it would send (checking its file name)."""
    data_callable, name, _ = captured[at.get_by_key(key).proto.deferred_file_id]
    if file_name is not None:
        assert name == file_name
    return data_callable()


def no_traceback(at):
    assert not at.exception, [e.value for e in at.exception]


def test_page_starts_with_gallery_tabs_and_settings(app):
    no_traceback(app)
    assert [t.label for t in app.tabs] == ["Photos", "How it works", "Video"]
    assert app.sidebar.slider(key="vividness").value == 1.0
    assert len(app.get("selectbox")) == 0 or all(s.key != "model" for s in app.selectbox)  # one model: no picker
    assert {b.label for b in app.button} >= {s.title for s in list_samples()}
    assert not app.error


def test_upload_shows_three_pictures_comparison_and_full_size_downloads(app, deferred_downloads):
    app.file_uploader(key="photos").set_value(("scan.png", png_bytes(120, 200, seed=1), "image/png")).run()
    no_traceback(app)
    assert not app.error
    captions = [c for img in app.image for c in img.captions]
    assert "Original (200×120)" in captions
    assert "What the network sees: lightness only" in captions
    assert "Colorized (vividness 1.00)" in captions
    iframes = app.get("iframe")
    assert iframes and "data:image/jpeg;base64," in iframes[0].proto.srcdoc
    png = Image.open(io.BytesIO(download(app, deferred_downloads, "download-png-0", "scan_colorized.png")))
    assert png.format == "PNG" and png.size == (200, 120)
    assert mean_chroma(png.convert("RGB")) > 10
    jpg = Image.open(io.BytesIO(download(app, deferred_downloads, "download-jpg-0", "scan_colorized.jpg")))
    assert jpg.format == "JPEG" and jpg.size == (200, 120)
    assert "download-zip" not in {b.key for b in app.download_button}  # one photo: no zip


def test_vividness_slider_rerenders_without_running_the_network(app, network_calls):
    calls = len(network_calls)
    app.file_uploader(key="photos").set_value(("slider.png", png_bytes(96, 128, seed=11), "image/png")).run()
    assert len(network_calls) == calls + 1
    before = [img.value for img in app.image]
    app.sidebar.slider(key="vividness").set_value(1.8).run()
    no_traceback(app)
    assert len(network_calls) == calls + 1
    captions = [c for img in app.image for c in img.captions]
    assert "Colorized (vividness 1.80)" in captions
    assert [img.value for img in app.image] != before


def test_several_photos_give_one_zip_of_full_size_pngs(app, deferred_downloads):
    files = [("a.png", png_bytes(64, 80, seed=2), "image/png"), ("b.png", png_bytes(50, 70, seed=4), "image/png"),
             ("a.png", png_bytes(40, 30, seed=5), "image/png")]
    app.file_uploader(key="photos").set_value(files).run()
    no_traceback(app)
    data = download(app, deferred_downloads, "download-zip", "colorized_photos.zip")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sizes = {n: Image.open(io.BytesIO(z.read(n))).size for n in z.namelist()}
    assert sizes == {"a_colorized.png": (80, 64), "b_colorized.png": (70, 50), "a_colorized-2.png": (30, 40)}


def test_bad_file_gets_one_line_and_the_rest_of_the_batch_still_works(app, deferred_downloads):
    files = [("notes.jpg", b"this is not a photo", "image/jpeg"), ("good.png", png_bytes(60, 90, seed=6), "image/png"),
             ("empty.png", b"", "image/png")]
    app.file_uploader(key="photos").set_value(files).run()
    no_traceback(app)
    errors = [e.value for e in app.error]
    assert len(errors) == 2
    assert errors[0].startswith("notes.jpg: ") and "not an image" in errors[0] and "\n" not in errors[0]
    assert errors[1].startswith("empty.png: ") and "empty" in errors[1]
    assert Image.open(io.BytesIO(download(app, deferred_downloads, "download-png-1"))).size == (90, 60)
    assert "Traceback" not in " ".join(m.value for m in app.markdown)


def test_unexpected_failure_is_one_line_not_a_traceback(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail that users should not see")

    monkeypatch.setattr(results, "preview", broken)
    app.file_uploader(key="photos").set_value(("odd.png", png_bytes(40, 40, seed=7), "image/png")).run()
    no_traceback(app)
    assert len(app.error) == 1
    assert app.error[0].value.startswith("odd.png: something went wrong")
    assert "internal detail" not in app.error[0].value


def test_sample_gallery_button_colorizes_a_sample(app, deferred_downloads):
    sample = list_samples()[0]
    app.button(key=f"sample-{sample.name}").click().run()
    no_traceback(app)
    assert not app.error
    expected = Image.open(sample.path).size
    assert f"Original ({expected[0]}×{expected[1]})" in [c for img in app.image for c in img.captions]
    assert Image.open(io.BytesIO(download(app, deferred_downloads, "download-png-0"))).size == expected


def test_teaching_view_takes_the_photo_apart(app):
    app.file_uploader(key="photos").set_value(("lesson.png", png_bytes(80, 100, seed=8), "image/png")).run()
    no_traceback(app)
    captions = " ".join(c for img in app.image for c in img.captions)
    assert "L, lightness" in captions and "a, predicted" in captions and "b, predicted" in captions
    assert "a/b plane" in captions
    assert any("Lab colour" in m.value for m in app.markdown)
    assert any("Taking apart lesson.png" in h.value for h in app.subheader)


def test_model_picker_appears_with_two_models_and_switches_the_network(tmp_path, monkeypatch, network_calls):
    from streamlit.testing.v1 import AppTest
    from tiny_model import build_tiny_model
    build_tiny_model(tmp_path / "a-model", name="tiny-a")
    build_tiny_model(tmp_path / "b-model", name="tiny-b", vividness=0.5)
    monkeypatch.setenv("COLORIZE_MODELS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    picker = at.sidebar.selectbox(key="model")
    assert picker.options == ["tiny-a", "tiny-b"] and picker.value == "tiny-a"
    at.file_uploader(key="photos").set_value(("two.png", png_bytes(48, 64, seed=9), "image/png")).run()
    calls = len(network_calls)
    at.sidebar.selectbox(key="model").select("tiny-b").run()
    no_traceback(at)
    assert len(network_calls) == calls + 1  # the other model's output is not the first one's cache entry
    assert any("Model **tiny-b**" in c.value for c in at.sidebar.caption)


def test_no_model_is_one_clear_line(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("COLORIZE_MODELS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_traceback(at)
    assert len(at.error) == 1 and "No colorization model found" in at.error[0].value


def make_video(path, w=96, h=64, frames=12, fps=10):
    """A short grey H.264 clip with a moving bright disc, written with the bundled ffmpeg."""
    import imageio_ffmpeg
    writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=fps, codec="libx264", macro_block_size=1,
                                         ffmpeg_log_level="error")
    writer.send(None)
    y, x = np.mgrid[0:h, 0:w]
    for i in range(frames):
        g = (60 + 120 * y / h).astype(np.uint8)
        g[(x - 10 - 6 * i) ** 2 + (y - h // 2) ** 2 < (h // 5) ** 2] = 230
        writer.send(np.repeat(g[..., None], 3, axis=2).tobytes())
    writer.close()
    return path


def video_info(data, tmp_path):
    """(codec name, first frame as HxWx3 uint8) of mp4 bytes, decoded with the bundled ffmpeg."""
    import imageio_ffmpeg
    path = tmp_path / "check.mp4"
    path.write_bytes(data)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frame = np.frombuffer(next(reader), np.uint8).reshape(h, w, 3)
    reader.close()
    return meta["codec"], frame


def test_video_tab_colorizes_plays_and_offers_the_mp4(app, tmp_path, monkeypatch):
    pytest.importorskip("colorize.video", reason="colorize/video.py has not landed yet")
    from streamlit.delta_generator import DeltaGenerator
    shown, original = [], DeltaGenerator.progress
    monkeypatch.setattr(DeltaGenerator, "progress", lambda self, value, text=None, **kw: (
        shown.append((value, text)), original(self, value, text, **kw))[1])
    data = make_video(tmp_path / "clip.mp4").read_bytes()
    temp_root = Path(tempfile.gettempdir())
    temp_before = set(temp_root.glob("colorize-video-*"))
    assert any("seconds" in m.value and "1920×1080" in m.value for m in app.markdown)  # limits stated up front
    app.file_uploader(key="video").set_value(("clip.mp4", data, "video/mp4")).run()
    assert any("96×64, 10 frames per second, no sound" in c.value for c in app.caption)
    app.button(key="colorize-video").click().run()
    no_traceback(app)
    assert not app.error, [e.value for e in app.error]
    videos = app.get("video")
    assert len(videos) == 1
    assert app.get_by_key("download-video").label == "Colorized video (MP4)"
    assert shown[-1][0] == 1.0 and shown[-1][1].startswith("12 of 12 frames")  # frames done and time left
    assert all(" s left" in text for _, text in shown[1:])
    made = app.session_state["video-result"]
    assert made["file_name"] == "clip_colorized.mp4"
    made = made["data"]
    codec, frame = video_info(made, tmp_path)
    assert codec.startswith("h264") and frame.shape == (64, 96, 3)
    assert mean_chroma(frame) > 5
    assert set(temp_root.glob("colorize-video-*")) == temp_before  # the uploaded copy is gone


def test_video_tab_bad_file_is_one_line(app):
    pytest.importorskip("colorize.video", reason="colorize/video.py has not landed yet")
    app.file_uploader(key="video").set_value(("broken.mp4", b"not a video at all", "video/mp4")).run()
    no_traceback(app)
    assert len(app.error) == 1 and app.error[0].value.startswith("broken.mp4: ")
    assert "colorize-video-" not in app.error[0].value  # the temporary folder is not shown
    assert not app.get("video") and "colorize-video" not in {b.key for b in app.button}


def test_video_over_the_limits_is_refused_before_any_work(app, tmp_path, monkeypatch):
    video = pytest.importorskip("colorize.video", reason="colorize/video.py has not landed yet")
    real = video.VideoLimits
    monkeypatch.setattr(video, "VideoLimits", lambda: real(max_seconds=0.5))
    app.run()
    assert any("up to **0.5 seconds**" in m.value for m in app.markdown)
    data = make_video(tmp_path / "long.mp4", frames=12, fps=10).read_bytes()
    app.file_uploader(key="video").set_value(("long.mp4", data, "video/mp4")).run()
    no_traceback(app)
    assert len(app.error) == 1 and app.error[0].value.startswith("long.mp4: ") and "limit" in app.error[0].value
    assert "colorize-video" not in {b.key for b in app.button}
