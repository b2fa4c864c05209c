"""The Streamlit page (app.py) driven by Streamlit's AppTest, and the page's helper modules.

The page runs the tiny test models (COLORIZE_MODELS: the plain one, or the hint-taking one for pins)
so each flow takes a moment. Downloads are made on click (deferred callables); the tests capture
those callables and run them like a click would. A click on the photo is what the click component
would send: its value set in the session state.
"""

import ast
import base64
import io
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorize import ColorModel
from colorize.encode import FORMATS
from colorize.hints import check_hints
from colorize.lab import rgb_to_lab, to_uint8
from colorize.page import memory, names, photo, teaching, vividness
from colorize.page import video as page_video
from colorize.page.compare import comparison_html
from colorize.page.gallery import CREDITS, list_samples
from colorize.pipeline import predict, predict_L, render
from helpers import ROOT, gradient_photo, make_video, mean_chroma, video_info
from tiny_model import build_tiny_hint_model, build_tiny_model

APP = str(ROOT / "app.py")
TIMEOUT = 120


def png_bytes(h, w, seed=0, grey=True):
    """A generated photo as PNG bytes (black and white unless grey=False)."""
    rgb = gradient_photo(h, w, seed)
    if grey:
        rgb = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    buf = io.BytesIO()
    Image.fromarray(to_uint8(rgb)).save(buf, "PNG")
    return buf.getvalue()


def as_read(text):
    """Page text as a reader sees it: Markdown escapes and invisible word joiners removed."""
    return text.replace("\\", "").replace("\u2060", "")


def delta_e(x, y):
    """Mean CIE76 colour difference of two uint8 RGB images (or regions)."""
    lab = [rgb_to_lab(np.asarray(v, np.float32) / 255.0) for v in (x, y)]
    return float(np.linalg.norm(lab[0] - lab[1], axis=-1).mean())


# ---------------------------------------------------------------- layers: app.py, tabs/, colorize.page, colorize


def imports_of(path, package):
    """The modules a Python file imports (relative imports resolved against `package`), as dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # `from . import name` may be a module
    return found


LAYERS = {"app": 3, "tabs": 2, "colorize.page": 1}  # and 0: the rest of colorize


def layer(module):
    return next((n for top, n in LAYERS.items() if module == top or module.startswith(top + ".")), 0)


def layer_modules():
    """{dotted module name: the names it imports} of app.py, tabs/ and colorize/."""
    modules = {"app": imports_of(ROOT / "app.py", "")}
    for top in ("tabs", "colorize"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
                modules[".".join(parts)] = imports_of(path, ".".join(parts))
            else:
                modules[".".join(parts)] = imports_of(path, ".".join(parts[:-1]))
    return modules


def test_layers_import_only_downwards_and_the_library_never_imports_streamlit():
    """app.py -> tabs/ -> colorize.page -> the rest of colorize: nothing imports a layer above its own,
    only app.py and tabs/ import Streamlit, and no modules import each other in a circle."""
    modules = layer_modules()
    ours = set(modules)
    for name, imported in modules.items():
        for other in imported & ours:
            assert layer(other) <= layer(name), f"{name} imports {other}, a layer above it"
        if layer(name) < 2:
            assert not any(i == "streamlit" or i.startswith("streamlit.") for i in imported), (
                f"{name} imports Streamlit"
            )
    graph = {name: imported & ours - {name} for name, imported in modules.items()}

    def visit(name, path):
        assert name not in path, "import circle: " + " -> ".join([*path, name])
        for other in graph[name]:
            # a package importing its own modules, or a module its own package (Python imports that
            # first anyway), is no circle
            if not other.startswith(name + ".") and not name.startswith(other + "."):
                visit(other, [*path, name])

    for name in graph:
        visit(name, [])
    code = (  # the library and every page module, in a fresh interpreter
        "import importlib, pkgutil, sys, colorize, colorize.page\n"
        "for m in pkgutil.iter_modules(colorize.page.__path__, 'colorize.page.'): importlib.import_module(m.name)\n"
        "print('streamlit' in sys.modules)"
    )
    fresh = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert fresh.stdout.strip() == "False", fresh.stderr


# ---------------------------------------------------------------- helpers behind the page


def test_full_resolution_download_matches_the_pipeline_render(tiny_model):
    rgb = gradient_photo(300, 200, seed=3)  # more rows than one strip, so the strips are stitched
    analysed = photo.analyse_photo(tiny_model, "x.png", png_bytes(300, 200, seed=3, grey=False))
    expected = to_uint8(render(tiny_model, predict(tiny_model, [to_uint8(rgb) / np.float32(255)])[0], 1.5))
    got = np.asarray(Image.open(io.BytesIO(photo.full_resolution(tiny_model, analysed, 1.5, "png"))))
    assert got.shape == (300, 200, 3)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    jpg = Image.open(io.BytesIO(photo.full_resolution(tiny_model, analysed, 1.5, "jpg")))
    assert jpg.format == "JPEG" and jpg.size == (200, 300)


def test_png_download_keeps_transparency(tiny_model):
    rgba = np.dstack([to_uint8(gradient_photo(40, 60)), np.full((40, 60), 128, np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    analysed = photo.analyse_photo(tiny_model, "t.png", buf.getvalue())
    out = Image.open(io.BytesIO(photo.full_resolution(tiny_model, analysed)))
    assert out.mode == "RGBA" and np.asarray(out)[..., 3].max() == 128


def test_previews_are_screen_sized_and_the_analysis_full_sized(tiny_model):
    data = png_bytes(900, 1600)
    analysed = photo.analyse_photo(tiny_model, "big.png", data)
    assert analysed.prediction.L.shape == (900, 1600)
    assert analysed.original.shape[1] <= photo.PREVIEW_SIDE
    look = photo.look_at(tiny_model, "big.png", data)
    assert look.size == (1600, 900)
    assert photo.preview(tiny_model, look, 1.0, side=400).shape == (225, 400, 3)
    assert photo.grey_preview(look, 400).shape == (225, 400, 3)


def test_analysis_works_from_the_pixels_as_decoded_with_the_same_results(tiny_model, monkeypatch):
    """A photo is analysed from its pixels as decoded (one 8-bit plane for black and white), never
    its whole float RGB, and gets the very L and preview that float RGB gives."""
    from colorize.decode import Photo, load_image
    from colorize.lab import lightness
    from colorize.upsample import shrink

    for data, grey in ((png_bytes(700, 1300), True), (png_bytes(700, 1300, grey=False), False)):
        decoded = load_image("p.png", data)
        assert decoded.is_grey == grey
        L, original = lightness(decoded.rgb), to_uint8(shrink(decoded.rgb, 500))
        with monkeypatch.context() as m:
            m.setattr(Photo, "rgb", property(lambda self: pytest.fail("analyse_photo made the whole float RGB")))
            analysed = photo.analyse_photo(tiny_model, "p.png", data, preview_side=500)
        np.testing.assert_array_equal(analysed.prediction.L, L)
        np.testing.assert_array_equal(analysed.original, original[..., 0] if grey else original)


def test_page_refuses_photos_over_its_pixel_limit(tiny_model):
    from colorize import ColorizeError

    with pytest.raises(ColorizeError, match="over the limit"):
        photo.look_at(tiny_model, "huge.png", png_bytes(100, 100), max_pixels=5000)


def test_output_names_are_unique_in_a_zip():
    assert names.output_name("holiday/beach.photo.JPG") == "beach.photo_colorized.png"
    assert names.output_name("C:\\scans\\gran.tif", "jpg") == "gran_colorized.jpg"
    assert names.unique_names(["a.png", "A.png", "a.png", "b.png"]) == ["a.png", "A-2.png", "a-3.png", "b.png"]


def test_channel_images_show_a_and_b_as_colour():
    L = np.full((8, 8), 50, np.float32)
    ab = np.zeros((8, 8, 2), np.float32)
    ab[..., 0], ab[..., 1] = 30, -30
    a_img, b_img = teaching.channel_image(L, ab, 0), teaching.channel_image(L, ab, 1)
    assert a_img[0, 0, 0] > a_img[0, 0, 1]  # +a: redder than green
    assert b_img[0, 0, 2] > b_img[0, 0, 0]  # -b: bluer than red
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
    assert page.count("data:image/png;base64,") == 1 and page.count("data:image/jpeg;base64,") == 1  # before lossless
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
    assert cfg["server"]["maxUploadSize"] * memory.MB == memory.PageBudget().upload_bytes_per_session
    assert cfg["server"]["headless"] is True  # no e-mail prompt on the first `streamlit run`
    assert cfg["server"]["disconnectedSessionTTL"] <= 60


def test_samples_include_a_short_credited_sample_video(tmp_path):
    clip = page_video.sample_video()
    assert clip is not None and clip.stat().st_size < 400_000
    credits = (ROOT / "samples" / "CREDITS.md").read_text()
    assert clip.name in credits and "make_sample_video.py" in credits
    assert any("Sample video" == title for title, _ in CREDITS)
    codec, frame = video_info(clip.read_bytes(), tmp_path)
    assert codec.startswith("h264") and frame.shape == (320, 480, 3)
    assert np.abs(frame.astype(int) - frame.mean(axis=2, keepdims=True)).max() <= 6  # black and white


# ---------------------------------------------------------------- the page's own modules


@pytest.mark.slow
def test_a_look_is_screen_sized_whatever_the_photo(tiny_model):
    look = photo.look_at(tiny_model, "big.png", png_bytes(1800, 2400, seed=12))
    assert look.size == (2400, 1800)
    assert max(look.preview_L.shape) == photo.PREVIEW_SIDE
    assert look.grey and look.original.shape == (900, 1200)  # black and white: one plane, for the compare view
    assert memory.footprint(look) < 12 * memory.MB
    colour = photo.look_at(tiny_model, "colour.png", png_bytes(60, 80, seed=1, grey=False))
    assert not colour.grey and colour.original.shape == (60, 80, 3)


def test_vividness_zero_is_plain_grey_and_fades_in(tiny_model):
    look = photo.look_at(tiny_model, "v.png", png_bytes(96, 128, seed=3))
    grey, faint, full = (photo.preview(tiny_model, look, v) for v in (0.0, vividness.GREY_RAMP / 2, 1.0))
    assert mean_chroma(grey) < 0.5
    assert 0.5 < mean_chroma(faint) < mean_chroma(full)
    L = rgb_to_lab(grey.astype(np.float32) / 255)[..., 0]
    assert np.abs(L - look.preview_L).mean() < 1.0  # grey, but the photo's own lightness


def test_a_scaled_mean_model_is_plain_grey_at_zero_without_the_ramp(tmp_path):
    model = ColorModel(build_tiny_model(tmp_path / "m", scaled_mean=(1.0, 1.5)))
    look = photo.look_at(model, "v.png", png_bytes(96, 128, seed=3))
    grey, tenth, full = (photo.preview(model, look, v) for v in (0.0, 0.1, 1.0))
    assert mean_chroma(grey) < 0.5
    assert vividness.for_vividness(model, 0.1) == (model, 0.1)  # the engine's own 0.1, not faded
    assert 0.5 < mean_chroma(tenth) < mean_chroma(full) / 5


def test_pins_change_the_colour_near_them_and_the_download_holds_them(tiny_model, tmp_path):
    hint_model = ColorModel(build_tiny_hint_model(tmp_path / "hints"))
    data = png_bytes(240, 320, seed=5)
    shelf_photo = memory.ShelfPhoto("id", "p.png", data)
    look = photo.look_at(hint_model, "p.png", data)
    plain = photo.preview(hint_model, look, 1.0)
    shelf_photo.add_pin(40, 120, (32, 128, 192))
    effect = photo.pinned_for(hint_model, look, shelf_photo.hints())
    # The same network output and reach as the library's, which works from the full-size photo.
    L = photo.analyse_photo(hint_model, "p.png", data).prediction.L
    library = predict_L(hint_model, [L], hints=[shelf_photo.hints()])[0].pinned
    assert np.allclose(effect.raw, library.raw, atol=1e-5) and np.allclose(effect.reach, library.reach, atol=1e-5)
    pinned = photo.preview(hint_model, look, 1.0, effect)
    assert delta_e(pinned[100:140, 20:60], plain[100:140, 20:60]) > 10
    assert delta_e(pinned[:60, 200:], plain[:60, 200:]) < 0.5
    full = np.asarray(Image.open(io.BytesIO(photo.full_size(hint_model, shelf_photo, 1.0, "png"))))
    assert full.shape == (240, 320, 3)
    blue = rgb_to_lab(full[114:126, 34:46].astype(np.float32) / 255)
    assert blue[..., 2].mean() < -15  # b < 0: blue around the pin
    assert delta_e(full[:60, 200:], plain[:60, 200:]) < 3


def test_clicks_map_to_photo_pixels_and_pins_are_drawn():
    assert photo.click_to_photo({"x": 50, "y": 25, "width": 100, "height": 50}, (4000, 2000)) == (2000, 1000)
    assert photo.click_to_photo({"x": 100, "y": 50, "width": 100, "height": 50}, (40, 20)) == (39, 19)
    assert photo.click_to_photo({"x": 1}, (40, 20)) is None
    picture = np.zeros((50, 100, 3), np.uint8)
    pin = memory.Pin(1, 2000, 1000, (0, 0, 255))
    drawn = photo.draw_pins(picture, [pin], (4000, 2000))
    assert tuple(drawn[25, 50]) == (0, 0, 255) and picture.max() == 0
    assert photo.colour_at(drawn, 2000, 1000, (4000, 2000), radius=0) == (0, 0, 255)


@pytest.mark.parametrize(
    "name, shown",
    [
        ("holiday\u202egnp.exe", "holidaygnp.exe"),  # a right-to-left override cannot spoof the extension
        ("two\nlines\tand  gaps.png", "two lines and gaps.png"),
        ("a" * 300 + ".png", None),
    ],
)
def test_display_names_are_one_safe_line(name, shown):
    text = names.display_name(name)
    assert len(text) <= names.MAX_SHOWN and "\n" not in text
    if shown:
        assert text == shown
    else:
        assert text.endswith(".png") and "…" in text


def test_markdown_names_cannot_link_or_format():
    md = names.markdown_literal("see www.example.com or https://x.example *now* [a](b).png")
    assert "www.example.com" not in md and "https://" not in md
    assert as_read(md) == "see www.example.com or https://x.example *now* [a](b).png"


def test_look_cache_is_bounded_by_measured_bytes():
    cache = memory.LookCache(10 * memory.MB)
    for i in range(5):
        cache.put((f"p{i}", "m"), np.zeros(3 * memory.MB, np.uint8))
    assert cache.nbytes <= 10 * memory.MB and len(cache) == 3
    assert cache.get(("p0", "m")) is None and cache.get(("p4", "m")) is not None
    assert cache.put(("huge", "m"), np.zeros(11 * memory.MB, np.uint8)) is not None  # given back, not kept
    assert cache.get(("huge", "m")) is None
    cache.keep_only({"p4"})
    assert len(cache) == 1 and cache.nbytes == 3 * memory.MB


def test_shelves_refuse_past_the_budget_and_release_closed_pages():
    budget = memory.PageBudget(
        photos_per_session=2, upload_bytes_per_session=100, upload_bytes_all_sessions=150, grace_seconds=30
    )
    shelves = memory.Shelves(budget)
    mine, yours = shelves.get("mine"), shelves.get("yours")
    shelves.add(mine, "a", "a.png", b"x" * 40)
    assert shelves.add(mine, "a", "again.png", b"x" * 40).name == "a.png"  # a duplicate is not added twice
    shelves.add(mine, "b", "b.png", b"x" * 40)
    with pytest.raises(memory.OverBudget, match="at most 2 photos"):
        shelves.add(mine, "c", "c.png", b"x")
    with pytest.raises(memory.OverBudget, match="at most 0 MB"):
        shelves.add(yours, "d", "d.png", b"x" * 101)
    shelves.add(yours, "e", "e.png", b"x" * 60)
    with pytest.raises(memory.OverBudget, match="other visitors"):
        shelves.add(yours, "f", "f.png", b"x" * 20)
    looks = memory.LookCache(1 << 20)
    for pid in "abe":
        looks.put((pid, "m"), np.zeros(10, np.uint8))
    reaper = memory.Reaper(shelves, looks, alive=lambda sid: sid == "yours", every=3600)
    reaper.stop()
    assert shelves.reap(lambda sid: sid == "yours", now=100.0) == []  # gone, but within the grace period
    assert shelves.reap(lambda sid: sid == "yours", now=129.0) == []
    assert shelves.reap(lambda sid: sid == "yours", now=131.0) == ["mine"]
    assert set(shelves.sessions()) == {"yours"} and shelves.upload_bytes() == 60
    looks.keep_only(shelves.photo_ids())
    assert len(looks) == 1  # only the open page's look is kept


def test_budget_and_video_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("COLORIZE_PAGE_PHOTOS", "7")
    monkeypatch.setenv("COLORIZE_PAGE_CACHE_MB", "not a number")
    monkeypatch.setenv("COLORIZE_VIDEO_SECONDS", "12")
    monkeypatch.setenv("COLORIZE_VIDEO_MEGAPIXELS", "2.0736")
    budget = memory.PageBudget.from_env()
    assert budget.photos_per_session == 7 and budget.look_cache_bytes == memory.PageBudget().look_cache_bytes
    limits = page_video.page_limits()
    assert limits.max_seconds == 12 and limits.max_pixels == 1920 * 1080
    assert page_video.describe_limits(limits) == ("12 seconds", "1920×1080")


def test_preview_clip_is_the_first_seconds(tmp_path):
    clip = make_video(tmp_path / "long.mp4", frames=40, fps=10)
    out = page_video.preview_clip(clip, tmp_path / "preview.mp4", seconds=1.5)
    from colorize.video import probe_video

    info = probe_video(out)
    assert abs(info.duration - 1.5) < 0.25 and (info.width, info.height) == (96, 64)
    from colorize import ColorizeError

    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(ColorizeError, match="bad.mp4"):
        page_video.preview_clip(tmp_path / "bad.mp4", tmp_path / "x.mp4")


def test_hint_map_and_change_show_where_a_pin_acted(tmp_path):
    hint_model = ColorModel(build_tiny_hint_model(tmp_path / "hints"))
    look = photo.look_at(hint_model, "t.png", png_bytes(240, 320, seed=5))
    hints = check_hints([(40, 120, (32, 128, 192))], *look.size)
    picture = teaching.hint_map(look.preview_L, hints, look.size, look.net_L.shape, hint_model.hint_patch)
    assert picture.shape == look.preview_L.shape + (3,)
    painted = rgb_to_lab(picture[115:125, 35:45].astype(np.float32) / 255)
    assert painted[..., 2].mean() < -20 and mean_chroma(picture[:40, 200:]) < 1
    changed, share = teaching.pin_change(hint_model, look, photo.pinned_for(hint_model, look, hints), 1.0)
    assert 0 < share < 0.3
    assert mean_chroma(changed[114:126, 34:46]) > 15 and mean_chroma(changed[:40, 200:]) < 1


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


def start(models, monkeypatch, **env):
    """The page on the models in `models`, with a fresh page memory (budget read from `env`)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COLORIZE_MODELS", str(models))
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    st.cache_resource.clear()
    made, init = [], memory.Shelves.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(memory.Shelves, "__init__", record)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.page_memory = made
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app(tiny_model_dir, monkeypatch):
    return start(tiny_model_dir, monkeypatch)


@pytest.fixture(scope="session")
def hint_model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hint-models")
    build_tiny_hint_model(root / "tiny-hints")
    return root


@pytest.fixture
def hint_app(hint_model_dir, monkeypatch):
    return start(hint_model_dir, monkeypatch)


@pytest.fixture
def network_calls(monkeypatch):
    """Count how often the network runs."""
    calls = []
    original = ColorModel.run

    def run(self, L_batch, *hints):
        calls.append(L_batch.shape)
        return original(self, L_batch, *hints)

    monkeypatch.setattr(ColorModel, "run", run)
    return calls


def upload(at, files):
    """Choose files in the photo uploader (whose key changes after each upload) and run the page."""
    uploader = next(u for u in at.get("file_uploader") if u.key.startswith("photos-"))
    return uploader.set_value(files).run()


def open_tab(at, label):
    at.session_state["tab"] = label
    return at.run()


def download(at, captured, key, file_name=None):
    """Click a deferred download button: the bytes it would send (checking its file name)."""
    data_callable, name, _ = captured[at.get_by_key(key).proto.deferred_file_id]
    if file_name is not None:
        assert name == file_name
    return data_callable()


def no_traceback(at):
    assert not at.exception, [e.value for e in at.exception]


def captions(at):
    return [c for img in at.image for c in img.captions] + [c.value for c in at.caption]


def the_shelf(at):
    """The page's memory (colorize.page.memory.Shelves) made for this test's page."""
    assert len(at.page_memory) == 1
    return at.page_memory[0]


def click(at, photo_id, x, y, width, height, when):
    """What the click component sends when the picture shown at width x height is clicked at (x, y)."""
    at.session_state[f"click-{photo_id}"] = {"x": x, "y": y, "width": width, "height": height, "unix_time": when}
    return at.run()


def test_page_starts_with_gallery_tabs_words_and_privacy(app):
    no_traceback(app)
    assert [t.label for t in app.tabs] == ["Photos", "How it works", "Video"]
    assert {b.label for b in app.button} >= {s.title for s in list_samples()}
    assert len(app.get("selectbox")) == 0 or all(s.key != "model" for s in app.selectbox)  # one model: no picker
    sidebar = " ".join(m.value for m in app.sidebar.markdown)
    assert "never stored" in sidebar and "not sent anywhere" not in sidebar
    assert "bins" not in sidebar and "quantized" not in sidebar and "CREDITS.md" not in sidebar
    assert "Stefan van der Walt" in sidebar and "SpaceX" in sidebar
    uploader = next(u for u in app.get("file_uploader") if u.key.startswith("photos-"))
    assert "up to 50 megapixels" in uploader.label
    assert not app.error


def test_upload_shows_the_result_comparison_and_full_size_downloads(app, deferred_downloads):
    upload(app, ("scan.png", png_bytes(120, 200, seed=1), "image/png"))
    no_traceback(app)
    assert not app.error
    assert app.slider(key="vividness").value == 1.0
    assert "Colorized (vividness 1.00), 200×120 pixels" in captions(app)
    assert not app.get("iframe")  # one picture: the before/after view takes its place when asked for
    app.session_state["view"] = "Before and after"
    app.run()
    iframes = app.get("iframe")
    assert len(iframes) == 1 and "data:image/png;base64," in iframes[0].proto.srcdoc
    app.session_state["view"] = "Colorized"
    app.run()
    png = Image.open(io.BytesIO(download(app, deferred_downloads, "download-png", "scan_colorized.png")))
    assert png.format == "PNG" and png.size == (200, 120)
    assert mean_chroma(png.convert("RGB")) > 10
    jpg = Image.open(io.BytesIO(download(app, deferred_downloads, "download-jpg", "scan_colorized.jpg")))
    assert jpg.format == "JPEG" and jpg.size == (200, 120)
    if "tiff" in FORMATS:
        tif = Image.open(io.BytesIO(download(app, deferred_downloads, "download-tiff", "scan_colorized.tif")))
        assert tif.format == "TIFF" and tif.size == (200, 120)
    assert "download-zip" not in {b.key for b in app.download_button}  # one photo: no zip
    assert not app.get("component_instance")  # the plain model takes no pins: a plain picture


def test_the_before_and_after_view_shows_a_colour_photo_as_uploaded(app):
    data = png_bytes(60, 90, seed=2, grey=False)
    upload(app, ("colour.png", data, "image/png"))
    app.session_state["view"] = "Before and after"
    app.run()
    no_traceback(app)
    srcdoc = app.get("iframe")[0].proto.srcdoc
    before = srcdoc.split('class="before" src="data:image/png;base64,')[1].split('"')[0]
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(before))))
    np.testing.assert_array_equal(shown, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


def test_uploads_leave_streamlits_upload_store(app):
    upload(app, ("one.png", png_bytes(40, 50, seed=3), "image/png"))
    uploader = next(u for u in app.get("file_uploader") if u.key.startswith("photos-"))
    assert uploader.key == "photos-1" and not uploader.value  # an empty uploader, ready for more
    shelf = the_shelf(app)
    assert [p.name for s in shelf.sessions().values() for p in s.photos.values()] == ["one.png"]


def test_vividness_rerenders_without_running_the_network_and_reaches_grey(app, network_calls):
    calls = len(network_calls)
    upload(app, ("slider.png", png_bytes(96, 128, seed=11), "image/png"))
    assert len(network_calls) == calls + 1
    before = [img.value for img in app.image]
    app.slider(key="vividness").set_value(1.8).run()
    no_traceback(app)
    assert len(network_calls) == calls + 1
    assert "Colorized (vividness 1.80), 128×96 pixels" in captions(app)
    assert [img.value for img in app.image] != before
    app.slider(key="vividness").set_value(0.0).run()
    assert len(network_calls) == calls + 1
    assert "Colorized (vividness 0.00), 128×96 pixels" in captions(app)


def test_batch_is_a_grid_with_zip_and_clear_all_and_no_duplicates(app, deferred_downloads):
    files = [
        ("a.png", png_bytes(64, 80, seed=2), "image/png"),
        ("b.png", png_bytes(50, 70, seed=4), "image/png"),
        ("a.png", png_bytes(40, 30, seed=5), "image/png"),
        ("b-again.png", png_bytes(50, 70, seed=4), "image/png"),
    ]
    upload(app, files)
    no_traceback(app)
    assert any("1 already on the page (b-again.png)" in as_read(w.value) for w in app.warning)
    opened = [b for b in app.button if b.key.startswith("open-")]
    assert len(opened) == 3 and len([b for b in app.button if b.key.startswith("remove-")]) == 3
    data = download(app, deferred_downloads, "download-zip", "colorized_photos.zip")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sizes = {n: Image.open(io.BytesIO(z.read(n))).size for n in z.namelist()}
    assert sizes == {"a_colorized.png": (80, 64), "b_colorized.png": (70, 50), "a_colorized-2.png": (30, 40)}
    assert "80×64" in app.subheader[0].value or "Colorized (vividness 1.00), 80×64 pixels" in captions(app)
    opened[1].click().run()  # one photo opens at a time
    assert "Colorized (vividness 1.00), 70×50 pixels" in captions(app)
    app.button(key=[b.key for b in app.button if b.key.startswith("remove-")][0]).click().run()
    assert len([b for b in app.button if b.key.startswith("open-")]) == 2
    app.button(key="clear-all").click().run()
    no_traceback(app)
    assert not [b for b in app.button if b.key.startswith("open-")] and not app.get("iframe")
    assert all(not s.photos for s in the_shelf(app).sessions().values())
    assert {s.title for s in list_samples()} <= {b.label for b in app.button}  # the gallery is back


def test_bad_file_gets_one_line_and_the_rest_of_the_batch_still_works(app, deferred_downloads):
    files = [
        ("notes.jpg", b"this is not a photo", "image/jpeg"),
        ("good.png", png_bytes(60, 90, seed=6), "image/png"),
        ("empty.png", b"", "image/png"),
    ]
    upload(app, files)
    no_traceback(app)
    errors = [e.value for e in app.error]
    assert len(errors) == 2
    assert as_read(errors[0]).startswith("notes.jpg: ") and "not an image" in errors[0] and "\n" not in errors[0]
    assert as_read(errors[1]).startswith("empty.png: ") and "empty" in errors[1]
    assert Image.open(io.BytesIO(download(app, deferred_downloads, "download-png"))).size == (90, 60)
    assert "Traceback" not in " ".join(m.value for m in app.markdown)


def test_oversize_photo_is_refused_naming_the_real_limit(app):
    buf = io.BytesIO()
    Image.new("L", (7200, 7000), 128).save(buf, "PNG")  # 50.4 MP, a few kB
    upload(app, ("huge-scan.png", buf.getvalue(), "image/png"))
    no_traceback(app)
    assert len(app.error) == 1
    assert as_read(app.error[0].value).startswith("huge-scan.png: ")
    assert "over the limit of 50 MP" in app.error[0].value


def test_unexpected_failure_is_one_line_not_a_traceback(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail that users should not see")

    monkeypatch.setattr(photo, "preview", broken)
    upload(app, ("odd.png", png_bytes(40, 40, seed=7), "image/png"))
    no_traceback(app)
    assert len(app.error) == 1
    assert as_read(app.error[0].value).startswith("odd.png: something went wrong")
    assert "internal detail" not in app.error[0].value


def test_file_names_are_shown_as_plain_text(app):
    upload(app, ("see www.evil.example *now*\u202egnp.png", png_bytes(40, 40, seed=8), "image/png"))
    heading = app.subheader[0].value
    assert "\u202e" not in heading and "www.evil.example" not in heading and "*now*" not in heading
    assert as_read(heading) == "see www.evil.example *now*gnp.png"


def test_sample_gallery_button_colorizes_a_sample_and_steps_aside(app, deferred_downloads):
    sample = list_samples()[0]
    app.button(key=f"sample-{sample.name}").click().run()
    no_traceback(app)
    assert not app.error
    expected = Image.open(sample.path).size
    assert f"Colorized (vividness 1.00), {expected[0]}×{expected[1]} pixels" in captions(app)
    assert Image.open(io.BytesIO(download(app, deferred_downloads, "download-png"))).size == expected
    assert any(e.label == "Try a sample photo" for e in app.expander)  # the gallery folds away
    assert any("scrollIntoView" in h.proto.body for h in app.get("html"))  # the result comes into view


def test_teaching_view_takes_the_photo_apart_in_one_row(app):
    upload(app, ("lesson.png", png_bytes(80, 100, seed=8), "image/png"))
    open_tab(app, "How it works")
    no_traceback(app)
    shown = " ".join(captions(app))
    assert "L, lightness" in shown and "a, predicted" in shown and "b, predicted" in shown
    assert "L + a + b: the colorized photo" in shown and "a/b plane" in shown
    assert any("Lab colour" in m.value for m in app.markdown)
    assert any("Taking apart lesson.png" in as_read(h.value) for h in app.subheader)
    picker = app.selectbox(key="lesson-photo")
    assert len(picker.options) == 1 + len(list_samples())  # the teacher can pick a sample right here
    picker.select(picker.options[-1]).run()
    no_traceback(app)
    assert any("Taking apart" in h.value and list_samples()[-1].name.split(".")[0] in h.value for h in app.subheader)
    app.slider(key="vividness-lesson").set_value(0.0).run()
    no_traceback(app)
    app.session_state["tab"] = "Photos"
    app.run()
    assert "Colorized (vividness 0.00), 100×80 pixels" in captions(app)  # one vividness for every tab


def test_teaching_view_without_photos_offers_the_samples(app):
    open_tab(app, "How it works")
    no_traceback(app)
    assert app.selectbox(key="lesson-photo").value is not None
    assert any("Taking apart" in h.value for h in app.subheader)


def test_model_picker_appears_with_two_models_and_switches_the_network(tmp_path, monkeypatch, network_calls):
    from tiny_model import build_tiny_model

    build_tiny_model(tmp_path / "a-model", name="tiny-a")
    build_tiny_model(tmp_path / "b-model", name="tiny-b", vividness=0.5)
    at = start(tmp_path, monkeypatch)
    picker = at.sidebar.selectbox(key="model")
    assert picker.options == ["tiny-a", "tiny-b"] and picker.value == "tiny-a"
    upload(at, ("two.png", png_bytes(48, 64, seed=9), "image/png"))
    calls = len(network_calls)
    at.sidebar.selectbox(key="model").select("tiny-b").run()
    no_traceback(at)
    assert len(network_calls) == calls + 1  # the other model's output is not the first one's cache entry
    assert any("**tiny-b**" in c.value for c in at.sidebar.caption)
    assert at.slider(key="vividness").value == 0.5  # the new model's own default


def test_no_model_is_one_clear_line(tmp_path, monkeypatch):
    at = start(tmp_path, monkeypatch)
    no_traceback(at)
    assert len(at.error) == 1 and "No colorization model found" in at.error[0].value


def test_over_the_session_budget_is_a_clear_line(tiny_model_dir, monkeypatch):
    at = start(tiny_model_dir, monkeypatch, COLORIZE_PAGE_PHOTOS=2)
    upload(at, [(f"p{i}.png", png_bytes(30, 40, seed=20 + i), "image/png") for i in range(3)])
    no_traceback(at)
    assert [as_read(w.value) for w in at.warning] == [
        "2 of 3 photos added; 1 refused: the page holds at most 2 photos per visitor — remove some (or Clear all), "
        "or use the command line (`python -m colorize image`) for more."
    ]
    assert len([b for b in at.button if b.key.startswith("open-")]) == 2


# ---- colour pins


@pytest.mark.parametrize("takes_hints", [False, True])
def test_pin_ui_appears_only_for_a_model_that_takes_hints(takes_hints, tiny_model_dir, hint_model_dir, monkeypatch):
    at = start(hint_model_dir if takes_hints else tiny_model_dir, monkeypatch)
    upload(at, ("p.png", png_bytes(60, 80, seed=3), "image/png"))
    clickable = [e for e in at.get("component_instance") if str(e.key).startswith("click-")]
    assert bool(clickable) == takes_hints
    assert any("Click the photo to pin a colour" in c for c in captions(at)) == takes_hints
    assert any("Wrong colour?" in m.value for m in at.sidebar.markdown) == takes_hints


def test_pins_follow_clicks_colours_and_go_into_the_downloads(hint_app, deferred_downloads, network_calls):
    at = hint_app
    data = png_bytes(240, 320, seed=5)
    upload(at, ("pins.png", data, "image/png"))
    photo_id = next(iter(next(s for s in the_shelf(at).sessions().values() if s.photos).photos))
    plain_png = download(at, deferred_downloads, "download-png")
    plain = np.asarray(Image.open(io.BytesIO(plain_png)).convert("RGB"))
    click(at, photo_id, 20, 60, 160, 120, when=1)  # shown at half size: photo pixel (40, 120)
    no_traceback(at)
    pickers = at.color_picker
    assert len(pickers) == 1 and pickers[0].label == "Any colour"  # a point to colour: no pin yet
    predicted = tuple(int(pickers[0].value[i : i + 2], 16) for i in (1, 3, 5))
    assert delta_e(np.array([[predicted]], np.uint8), plain[115:125, 35:45]) < 6  # starts at the predicted colour
    assert download(at, deferred_downloads, "download-png") == plain_png  # nothing changed yet
    calls = len(network_calls)
    pickers[0].pick("#2080c0").run()  # a blue
    no_traceback(at)
    assert [c.label for c in at.color_picker] == ["Pin 1"]
    assert len(network_calls) == calls + 1  # the network runs again, with the pin
    pinned = np.asarray(Image.open(io.BytesIO(download(at, deferred_downloads, "download-png"))).convert("RGB"))
    assert rgb_to_lab(pinned[114:126, 34:46].astype(np.float32) / 255)[..., 2].mean() < -15  # blue near the pin
    assert delta_e(pinned[:60, 200:], plain[:60, 200:]) < 3  # unchanged far away
    at.slider(key="vividness").set_value(1.6).run()  # pins survive vividness changes and reruns
    assert at.color_picker[0].value == "#2080c0"
    at.run()
    assert at.color_picker[0].value == "#2080c0"
    for key in ("download-jpg",) + (("download-tiff",) if "tiff" in FORMATS else ()):
        other = np.asarray(Image.open(io.BytesIO(download(at, deferred_downloads, key))).convert("RGB"))
        assert rgb_to_lab(other[114:126, 34:46].astype(np.float32) / 255)[..., 2].mean() < -15
    at.button(key=f"move-{photo_id}-1").click().run()  # move the pin
    assert any("where pin 1 should go" in i.value for i in at.info)
    click(at, photo_id, 150, 10, 160, 120, when=2)
    assert len(at.color_picker) == 1
    shelf_photo = next(s for s in the_shelf(at).sessions().values() if s.photos).photos[photo_id]
    assert (shelf_photo.pins[0].x, shelf_photo.pins[0].y) == (300, 20)
    click(at, photo_id, 20, 60, 160, 120, when=3)  # a second pin, coloured with a suggestion
    at.button(key="swatch-0").click().run()
    assert [c.label for c in at.color_picker] == ["Pin 1", "Pin 2"]
    at.button(key=f"unpin-{photo_id}-1").click().run()
    assert [c.label for c in at.color_picker] == ["Pin 2"]
    at.button(key=f"clear-pins-{photo_id}").click().run()
    assert not at.color_picker
    at.slider(key="vividness").set_value(1.0).run()
    after = np.asarray(Image.open(io.BytesIO(download(at, deferred_downloads, "download-png"))).convert("RGB"))
    assert delta_e(after, plain) < 0.5  # no pins: the network's own colours again


def test_pins_belong_to_their_photo_and_reach_the_zip(hint_app, deferred_downloads):
    at = hint_app
    upload(
        at,
        [("one.png", png_bytes(240, 320, seed=5), "image/png"), ("two.png", png_bytes(240, 320, seed=6), "image/png")],
    )
    ids = [b.key[5:] for b in at.button if b.key.startswith("open-")]
    at.button(key=f"open-{ids[0]}").click().run()
    click(at, ids[0], 20, 60, 160, 120, when=1)
    at.color_picker[0].pick("#2080c0").run()  # the new point's "Any colour"
    at.button(key=f"open-{ids[1]}").click().run()
    assert not at.color_picker  # the other photo has no pins
    with zipfile.ZipFile(io.BytesIO(download(at, deferred_downloads, "download-zip"))) as z:
        one = np.asarray(Image.open(io.BytesIO(z.read("one_colorized.png"))).convert("RGB"))
        two = np.asarray(Image.open(io.BytesIO(z.read("two_colorized.png"))).convert("RGB"))

    def blue(img):  # mean Lab b of the pinned spot: negative is blue
        return rgb_to_lab(img[114:126, 34:46].astype(np.float32) / 255)[..., 2].mean()

    assert blue(one) < -15 and blue(two) > -15


def test_teaching_view_shows_the_hint_map_and_what_changed(hint_app):
    at = hint_app
    upload(at, ("lesson.png", png_bytes(240, 320, seed=5), "image/png"))
    photo_id = next(iter(next(s for s in the_shelf(at).sessions().values() if s.photos).photos))
    click(at, photo_id, 20, 60, 160, 120, when=1)
    at.color_picker[0].pick("#2080c0").run()
    open_tab(at, "How it works")
    no_traceback(at)
    shown = " ".join(captions(at))
    assert "The hint map" in shown and "Where the pins changed the colour" in shown


# ---- video


def video_uploader(at):
    return next(u for u in at.get("file_uploader") if u.key.startswith("video-"))


def video_result(at):
    made = [s.video for s in the_shelf(at).sessions().values() if s.video]
    return made[0].result if made else None


def test_video_tab_colorizes_plays_and_offers_the_mp4(app, tmp_path, monkeypatch):
    from streamlit.delta_generator import DeltaGenerator

    shown, original = [], DeltaGenerator.progress
    monkeypatch.setattr(
        DeltaGenerator,
        "progress",
        lambda self, value, text=None, **kw: (shown.append((value, text)), original(self, value, text, **kw))[1],
    )
    data = make_video(tmp_path / "clip.mp4").read_bytes()
    temp_root = Path(tempfile.gettempdir())
    temp_before = set(temp_root.glob("colorize-video-*"))
    open_tab(app, "Video")
    assert any("30 seconds" in m.value and "1280×720" in m.value for m in app.markdown)  # limits stated up front
    video_uploader(app).set_value(("clip.mp4", data, "video/mp4")).run()
    assert any("96×64, 10 frames per second, no sound" in m.value for m in app.markdown)
    assert not video_uploader(app).value  # the clip moved out of the upload store
    app.button(key="colorize-video").click().run()
    no_traceback(app)
    assert not app.error, [e.value for e in app.error]
    assert len(app.get("video")) == 1
    assert app.get_by_key("download-video").label == "Colorized video (MP4)"
    assert shown[-1][0] == 1.0 and shown[-1][1].startswith("12 of 12 frames")  # frames done and time left
    assert all(" s left" in text for _, text in shown[1:])
    made = video_result(app)
    assert made.file_name == "clip_colorized.mp4" and not made.preview
    codec, frame = video_info(made.data, tmp_path)
    assert codec.startswith("h264") and frame.shape == (64, 96, 3)
    assert mean_chroma(frame) > 5
    assert set(temp_root.glob("colorize-video-*")) == temp_before  # the uploaded copy is gone


@pytest.mark.slow
def test_sample_video_preview_is_a_few_seconds(app, tmp_path):
    open_tab(app, "Video")
    app.button(key="sample-video").click().run()
    no_traceback(app)
    assert any("480×320" in m.value for m in app.markdown)
    app.button(key="preview-video").click().run()
    no_traceback(app)
    assert not app.error, [e.value for e in app.error]
    made = video_result(app)
    assert made.preview and made.file_name == "rocket-pan_preview.mp4"
    from colorize.video import probe_video

    (tmp_path / "p.mp4").write_bytes(made.data)
    assert abs(probe_video(tmp_path / "p.mp4").duration - page_video.PREVIEW_SECONDS) < 0.3
    assert app.get_by_key("download-video").label == "Preview (MP4)"


def test_video_tab_bad_file_is_one_line(app):
    open_tab(app, "Video")
    video_uploader(app).set_value(("broken.mp4", b"not a video at all", "video/mp4")).run()
    no_traceback(app)
    assert len(app.error) == 1 and as_read(app.error[0].value).startswith("broken.mp4: ")
    assert "colorize-video-" not in app.error[0].value  # the temporary folder is not shown
    assert not app.get("video") and "colorize-video" not in {b.key for b in app.button}


def test_video_over_the_page_limits_is_refused_before_any_work(tiny_model_dir, tmp_path, monkeypatch):
    at = start(tiny_model_dir, monkeypatch, COLORIZE_VIDEO_SECONDS=0.5)
    open_tab(at, "Video")
    assert any("up to **0.5 seconds**" in m.value for m in at.markdown)
    data = make_video(tmp_path / "long.mp4", frames=12, fps=10).read_bytes()
    video_uploader(at).set_value(("long.mp4", data, "video/mp4")).run()
    no_traceback(at)
    assert len(at.error) == 1 and as_read(at.error[0].value).startswith("long.mp4: ") and "limit" in at.error[0].value
    assert "colorize-video" not in {b.key for b in at.button}
