"""Issue 24, the page's third round, without a browser: files an archive can trust (descriptive fields,
the colourisation record, 16 bits), colour pins people understand (suggestions, as they will look),
undo, the lesson (a pixel's distribution, the real colours, PNGs), and the samples.

Every file here is generated; the browser tests (tests/test_browser.py) check the same on the page.
"""

import io
import re
import zipfile

import cv2
import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from colorize import ColorizeError, ColorModel
from colorize.decode import PhotoMeta, load_image
from colorize.encode import encode_image, made_by_colorize
from colorize.hints import Hint
from colorize.lab import rgb_to_lab
from colorize.page import memory, teaching
from colorize.page import photo as pp
from colorize.page.gallery import list_samples, real_colours
from colorize.provenance import COLOURISED, Descriptive, descriptive_fields
from helpers import gradient_photo, huge_png_patched, run_cli
from test_app import (  # noqa: F401 - fixtures used by name
    captions,
    click,
    deferred_downloads,
    download,
    hint_app,
    hint_model_dir,
    no_traceback,
    open_tab,
    png_bytes,
    start,
    the_shelf,
    upload,
)
from tiny_model import BINS, build_tiny_hint_model

ARTIST, COPYRIGHT, DESCRIPTION = "José Pérez", "© 1931 the Pérez family", "Wedding, Seville"
TAKEN = "1931:05:04 10:00:00"


def archive_scan(kind="tiff", bits=16, h=60, w=80):
    """A generated black-and-white scan as an archive would keep it: 16-bit (or 8-bit) grey, 300 dpi,
    with Artist, Copyright, ImageDescription and the date it was taken."""
    ramp = gradient_photo(h, w, seed=4).mean(axis=2)
    exif = Image.Exif()  # text as UTF-8 bytes, as cameras and exiftool write it (Pillow would write '?')
    exif[0x013B], exif[0x8298], exif[0x010E] = ARTIST.encode(), COPYRIGHT.encode(), DESCRIPTION.encode()
    exif[0x0132] = "2003:01:02 03:04:05"
    exif.get_ifd(0x8769)[0x9003] = TAKEN
    buf = io.BytesIO()
    if bits == 16:
        im = Image.fromarray((ramp * 65535).astype(np.uint16))  # I;16
    else:
        im = Image.fromarray((ramp * 255).astype(np.uint8), "L")
    if kind == "tiff":
        tags = TiffImagePlugin.ImageFileDirectory_v2()
        for tag in (0x013B, 0x8298, 0x010E, 0x0132):
            tags[tag] = exif[tag]
        im.save(buf, "TIFF", tiffinfo=tags, dpi=(300, 300))
    else:
        im.save(buf, "PNG", exif=exif.tobytes(), dpi=(300, 300))
    return buf.getvalue()


def xmp_of(data):
    """The XMP packet of an image file (PNG iTXt, JPEG APP1, TIFF tag 700) as text."""
    match = re.search(rb"<x:xmpmeta.*?</x:xmpmeta>", data, re.S)
    assert match, "no XMP packet"
    return match.group(0).decode("utf-8")


def depth_of(data):
    """Bits per channel as OpenCV decodes the file (8 or 16)."""
    return 16 if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint16 else 8


# ---------------------------------------------------------------- files an archive can trust


@pytest.mark.parametrize("kind", ["tiff", "png"])
@pytest.mark.parametrize("fmt", ["png", "tif", "jpg"])
def test_downloads_keep_the_descriptive_fields_and_say_colorize_added_the_colours(tiny_model, kind, fmt):
    original = archive_scan(kind)
    analysed = pp.analyse_photo(tiny_model, f"scan.{kind}", original)
    assert analysed.meta.bits == 16 and analysed.meta.descriptive.artist == ARTIST
    data = pp.full_resolution(tiny_model, analysed, 1.0, fmt)
    back = Image.open(io.BytesIO(data))
    exif = back.getexif()
    assert descriptive_fields(exif).artist == ARTIST  # written as UTF-8, as exiftool reads it
    assert descriptive_fields(exif).copyright == COPYRIGHT
    assert descriptive_fields(exif).description == DESCRIPTION
    assert exif.get(0x0132) == "2003:01:02 03:04:05"
    taken = TAKEN if kind == "png" else "2003:01:02 03:04:05"  # a scanner's TIFF has only DateTime
    assert exif.get_ifd(0x8769).get(0x9003) == (TAKEN if kind == "png" else None)
    assert exif.get(0x0131).startswith("Colorize ") and "tiny-test (weights SHA-256" in exif.get(0x0131)
    assert tuple(round(v) for v in back.info["dpi"]) == (300, 300)
    assert b"sRGB" in back.info["icc_profile"][:200] or b"s\0R\0G\0B" in back.info["icc_profile"]
    xmp = xmp_of(data)
    assert f"<Iptc4xmpExt:DigitalSourceType>{COLOURISED}</Iptc4xmpExt:DigitalSourceType>" in xmp
    assert "tiny-test" in xmp and ARTIST in xmp and COPYRIGHT in xmp
    assert depth_of(data) == (8 if fmt == "jpg" else 16)  # 16 bits kept where the format can hold them
    again = load_image("again." + fmt, data)
    assert again.meta.descriptive.artist == ARTIST and again.meta.exif_date == taken
    assert made_by_colorize_bytes(data, fmt)


def made_by_colorize_bytes(data, fmt, folder=None):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"out.{fmt}"
        path.write_bytes(data)
        return made_by_colorize(path)


def test_sixteen_bits_are_real_sixteen_bits_and_eight_bit_originals_stay_eight(tiny_model):
    deep = pp.full_resolution(tiny_model, pp.analyse_photo(tiny_model, "s.tif", archive_scan("tiff")), 1.0, "tif")
    pixels = cv2.imdecode(np.frombuffer(deep, np.uint8), cv2.IMREAD_UNCHANGED)
    assert pixels.dtype == np.uint16 and len(np.unique(pixels[..., 1])) > 256  # not 8 bits scaled up
    assert (pixels % 257 != 0).mean() > 0.5
    shallow = pp.analyse_photo(tiny_model, "s8.png", archive_scan("png", bits=8))
    assert shallow.meta.bits == 8
    assert depth_of(pp.full_resolution(tiny_model, shallow, 1.0, "png")) == 8
    assert depth_of(pp.full_resolution(tiny_model, shallow, 1.0, "tif")) == 8


def test_a_sixteen_bit_download_matches_the_eight_bit_one(tiny_model):
    analysed = pp.analyse_photo(tiny_model, "s.tif", archive_scan("tiff"))
    deep = cv2.imdecode(np.frombuffer(pp.full_resolution(tiny_model, analysed, 1.0, "png"), np.uint8), -1)
    jpeg_free = pp.render(tiny_model, analysed.prediction, 1.0, dtype=np.uint8)
    assert np.abs(deep[..., ::-1] / 257.0 - jpeg_free).max() <= 0.51  # the same colours, finer steps


def test_an_original_without_fields_still_gets_the_record_and_no_invented_resolution():
    data = encode_image(np.full((8, 8, 3), 0.5, np.float32), fmt="tif")
    back = Image.open(io.BytesIO(data))
    assert "Colours added by Colorize" in back.getexif().get(0x010E)
    assert load_image("t.tif", data).meta.dpi is None  # 1:1 with no unit: an aspect ratio, not 1 dpi
    for fmt in ("png", "jpg"):
        assert COLOURISED in xmp_of(encode_image(np.zeros((4, 4, 3), np.uint8), fmt=fmt))


def test_xmp_only_and_png_text_originals_keep_their_fields():
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>Ann Lee'
        "</rdf:li></rdf:Seq></dc:creator><dc:rights><rdf:Alt><rdf:li>CC BY 4.0</rdf:li></rdf:Alt></dc:rights>"
        "<dc:subject><rdf:Bag><rdf:li>harbour</rdf:li><rdf:li>1950s</rdf:li></rdf:Bag></dc:subject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    buf = io.BytesIO()
    Image.new("L", (8, 8), 100).save(buf, "JPEG", xmp=xmp.encode())
    fields = load_image("x.jpg", buf.getvalue()).meta.descriptive
    assert (fields.artist, fields.copyright, fields.keywords) == ("Ann Lee", "CC BY 4.0", ("harbour", "1950s"))
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Ben Ode")
    info.add_text("Title", "The pier")
    buf = io.BytesIO()
    Image.new("L", (8, 8), 100).save(buf, "PNG", pnginfo=info)
    fields = load_image("p.png", buf.getvalue()).meta.descriptive
    assert (fields.artist, fields.title) == ("Ben Ode", "The pier")


def test_hostile_metadata_is_ignored_or_cut_short():
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>'
    assert not descriptive_fields({}, {}, bomb)  # a document type is never parsed
    assert not descriptive_fields({}, {}, b"<x:xmpmeta not xml")
    long = descriptive_fields({0x013B: "A" * 100_000})
    assert len(long.artist) == 2000
    meta = PhotoMeta(descriptive=Descriptive(artist="x" * 2000, description="<script>&"))
    data = encode_image(np.zeros((4, 4, 3), np.uint8), fmt="png", meta=meta)
    assert "&lt;script&gt;&amp;" in xmp_of(data) and len(data) < 20_000


def test_download_all_offers_every_format_with_the_record(tiny_model):
    photos = [memory.ShelfPhoto(f"id{i}", f"p{i}.png", png_bytes(30, 40, seed=i)) for i in range(2)]
    for fmt, ext in (("png", "png"), ("jpg", "jpg"), ("tiff", "tif")):
        with zipfile.ZipFile(io.BytesIO(pp.zip_full_size(tiny_model, photos, 1.0, fmt))) as z:
            assert sorted(z.namelist()) == [f"p0_colorized.{ext}", f"p1_colorized.{ext}"]
            assert all(COLOURISED in xmp_of(z.read(n)) for n in z.namelist())


# ---------------------------------------------------------------- pins people understand


@pytest.fixture(scope="module")
def hint_model(tmp_path_factory):
    return ColorModel(build_tiny_hint_model(tmp_path_factory.mktemp("m") / "tiny-hints"))


def test_suggestions_are_the_networks_likely_colours_then_common_ones(hint_model):
    look = pp.look_at(hint_model, "p.png", png_bytes(120, 160, seed=5))
    suggestions = pp.pin_suggestions(hint_model, look, 20, 60)
    own = [s for s in suggestions if s.share]
    assert 1 <= len(own) <= pp.SUGGESTIONS
    assert [s.share for s in own] == sorted((s.share for s in own), reverse=True) and sum(s.share for s in own) <= 1
    p = teaching.distribution(hint_model, look.raw, look.size, 20, 60)
    best = BINS[int(np.argmax(p))]
    first = rgb_to_lab(np.array([[own[0].rgb]], np.float32) / 255)[0, 0]
    assert np.hypot(first[1] - best[0], first[2] - best[1]) < 12  # the likeliest bin's colour
    names = [s.name for s in suggestions if not s.share]
    assert names == [name for name, _ in pp.COMMON_COLOURS]


def test_a_suggestion_shows_as_it_will_look_at_that_lightness(hint_model):
    look = pp.look_at(hint_model, "p.png", png_bytes(120, 160, seed=5))
    light = max(((x, y) for x in range(0, 160, 8) for y in range(0, 120, 8)), key=lambda q: pp.lightness_at(look, *q))
    L = pp.lightness_at(look, *light)
    navy = next(s for s in pp.pin_suggestions(hint_model, look, *light) if s.name == "Navy")
    shown = rgb_to_lab(np.array([[navy.shown]], np.float32) / 255)[0, 0]
    picked = rgb_to_lab(np.array([[navy.rgb]], np.float32) / 255)[0, 0]
    assert abs(shown[0] - L) < 2 and L > 55  # the photo's lightness, not navy's
    assert picked[0] < 30 and shown[2] < -10  # navy is dark; here it shows as a pale blue
    a, b = Hint(0, 0, navy.rgb).ab
    assert np.hypot(shown[1] - a, shown[2] - b) < 6  # the same hue and chroma the network is given


# ---------------------------------------------------------------- the lesson


def test_a_pixels_distribution_and_what_each_decode_picks(hint_model):
    look = pp.look_at(hint_model, "p.png", png_bytes(120, 160, seed=5))
    at = teaching.point_lesson(hint_model, look, 20, 60, vividness=1.0)
    assert at.probs.shape == (len(BINS),) and abs(at.probs.sum() - 1) < 1e-9
    bins = np.array(BINS, np.float64)
    assert at.decodes["mode"] == tuple(bins[int(np.argmax(at.probs))])
    assert np.allclose(at.decodes["mean"], at.probs @ bins)
    cy, cx = teaching.network_cell(look.raw.shape, look.size, 20, 60)
    shown = hint_model.to_ab(look.raw[None, :, cy : cy + 1, cx : cx + 1], 1.0)[0, :, 0, 0]
    assert np.allclose(at.decodes["shown"], shown, atol=1e-4)  # what the page renders there
    assert at.picture.shape == (480, 480, 3) and at.picture.dtype == np.uint8
    assert "%" in at.words


def test_a_sample_reveals_its_real_colours_and_the_black_and_white_one_has_none():
    samples = {s.name: s for s in list_samples()}
    assert samples["camera.jpg"].colour_path is None  # a black-and-white photograph: nothing to reveal
    revealed = [s for s in samples.values() if s.colour_path is not None]
    assert len(revealed) >= 3
    for sample in revealed:
        grey = np.asarray(Image.open(sample.path))
        real = real_colours(sample, (grey.shape[1], grey.shape[0]))
        assert real.shape == (*grey.shape, 3) and real.std(axis=2).mean() > 3  # colour
        assert np.abs(real.astype(np.float32) @ [0.299, 0.587, 0.114] - grey).mean() < 3  # the same photo


def test_the_lesson_reveals_projects_exports_and_explains_a_pixel(hint_app, deferred_downloads):  # noqa: F811 - the fixtures imported from test_app
    at = open_tab(hint_app, "How it works")
    sample = next(s for s in list_samples() if s.colour_path is not None)
    at = at.selectbox(key="lesson-photo").select(memory.content_id(sample.read())).run()
    no_traceback(at)
    assert not any("The real colours" in c for c in captions(at))
    at.toggle(key="lesson-reveal").set_value(True).run()
    assert any("The real colours" in c for c in captions(at))
    pngs = [b for b in at.download_button if b.key.startswith("lesson-png-")]
    assert {"lesson-png-L", "lesson-png-a", "lesson-png-b", "lesson-png-real", "lesson-png-colorized"} <= {
        b.key for b in pngs
    }
    image = Image.open(io.BytesIO(download(at, deferred_downloads, "lesson-png-real")))
    assert image.format == "PNG" and image.size == Image.open(sample.path).size
    at.toggle(key="lesson-projector").set_value(True).run()
    no_traceback(at)
    assert any("font-size:1.3rem" in h.proto.body for h in at.get("html"))
    photo_id = at.selectbox(key="lesson-photo").value
    at.session_state[f"lesson-click-{photo_id}"] = {"x": 10, "y": 10, "width": 100, "height": 100, "unix_time": 1}
    at.run()
    no_traceback(at)
    assert any("What the network says at pixel" in m.value for m in at.markdown)
    assert any("Why unsure colours lean brown" in m.value for m in at.markdown)


def test_pins_placed_in_the_lesson_colour_a_sample(hint_app):  # noqa: F811 - the fixtures imported from test_app
    at = open_tab(hint_app, "How it works")
    photo_id = at.selectbox(key="lesson-photo").value
    at.session_state["lesson-click-mode"] = "Pin a colour"
    at.run()
    at.session_state[f"lesson-click-{photo_id}"] = {"x": 30, "y": 30, "width": 100, "height": 100, "unix_time": 2}
    at.run()
    no_traceback(at)
    assert at.button(key="lesson-swatch-0") is not None
    at.button(key="lesson-swatch-0").click().run()
    no_traceback(at)
    assert [c.label for c in at.color_picker] == ["Pin 1"]
    assert any("The hint map" in c for c in captions(at))


# ---------------------------------------------------------------- undo


def test_clear_all_and_remove_can_be_undone_with_every_pin(hint_app):  # noqa: F811 - the fixtures imported from test_app
    at = hint_app
    upload(
        at, [("one.png", png_bytes(60, 80, seed=5), "image/png"), ("two.png", png_bytes(60, 80, seed=6), "image/png")]
    )
    shelf = next(s for s in the_shelf(at).sessions().values() if s.photos)
    ids = list(shelf.photos)
    for i, photo_id in enumerate(ids):
        at.button(key=f"open-{photo_id}").click().run()
        click(at, photo_id, 10 + i, 10, 80, 60, when=10 + i)
        at.button(key="swatch-0").click().run()
    pins = {i: [(p.x, p.y, p.rgb) for p in shelf.photos[i].pins] for i in ids}
    assert all(len(p) == 1 for p in pins.values())
    at.button(key="clear-all").click().run()
    assert not shelf.photos and any("Cleared 2 photos" in m.value for m in at.markdown)
    at.button(key="undo-button-photos").click().run()
    no_traceback(at)
    assert list(shelf.photos) == ids
    assert {i: [(p.x, p.y, p.rgb) for p in shelf.photos[i].pins] for i in ids} == pins
    at.button(key=f"remove-{ids[0]}").click().run()
    assert list(shelf.photos) == ids[1:]
    at.button(key="undo-button-photos").click().run()
    assert list(shelf.photos) == ids  # back in its place
    at.button(key=f"unpin-{shelf.selected}-1").click().run()
    assert not shelf.photos[shelf.selected].pins
    at.button(key="undo-button-pins").click().run()
    assert len(shelf.photos[shelf.selected].pins) == 1


def test_an_upload_after_clear_all_withdraws_the_undo(hint_app):  # noqa: F811 - the fixtures imported from test_app
    at = hint_app
    upload(at, ("one.png", png_bytes(60, 80, seed=5), "image/png"))
    at.button(key="clear-all").click().run()
    assert any(b.key == "undo-button-photos" for b in at.button)
    upload(at, ("two.png", png_bytes(60, 80, seed=6), "image/png"))
    assert not any(b.key == "undo-button-photos" for b in at.button)  # its bytes are let go


# ---------------------------------------------------------------- the command line agrees with the page


def test_the_command_line_and_the_page_share_the_limit_and_its_refusal(tiny_model, tiny_model_dir, tmp_path):
    from colorize.cli import build_parser
    from colorize.decode import DEFAULT_MAX_PIXELS

    image = build_parser().parse_args(["image", "x.png", "-o", "out"])
    assert pp.PAGE_MAX_PIXELS == DEFAULT_MAX_PIXELS == image.max_pixels == 50_000_000
    (tmp_path / "big.png").write_bytes(huge_png_patched(7000, 6500))  # 45.5 MP: both take it (header only here)
    (tmp_path / "huge.png").write_bytes(huge_png_patched(8200, 6200))  # 50.8 MP: both refuse it
    proc = run_cli(["image", "huge.png", "-o", "out"], tiny_model_dir, tmp_path)
    with pytest.raises(ColorizeError) as page:
        pp.look_at(tiny_model, "huge.png", (tmp_path / "huge.png").read_bytes())
    cli_line = next(line for line in proc.stderr.splitlines() if line.startswith("huge.png: "))
    assert cli_line == str(page.value)  # the same words on both
    assert "over the limit of 50 MP" in cli_line and "--max-pixels" in cli_line
    big = run_cli(["image", "big.png", "-o", "out"], tiny_model_dir, tmp_path)
    assert "over the limit" not in big.stderr  # 45 MP is not refused for its size (its data is damaged)


def test_the_command_line_names_outputs_as_the_page_does(tiny_model_dir, tmp_path):
    from colorize.page.names import output_name

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "Grandma 1931.jpg").write_bytes(archive_scan("png", bits=8))
    for fmt in ("png", "jpg", "tif"):
        proc = run_cli(["image", "in", "-o", "out", "--format", fmt], tiny_model_dir, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "out" / output_name("Grandma 1931.jpg", fmt)).is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "Grandma 1931_colorized.jpg",
        "Grandma 1931_colorized.png",
        "Grandma 1931_colorized.tif",
    ]


def test_command_line_outputs_keep_fields_sixteen_bits_and_the_record(tiny_model_dir, tmp_path):
    (tmp_path / "scan.tif").write_bytes(archive_scan("tiff"))
    for fmt in ("tif", "png"):
        proc = run_cli(["image", "scan.tif", "-o", "out", "--format", fmt], tiny_model_dir, tmp_path)
        assert proc.returncode == 0, proc.stderr
        data = (tmp_path / "out" / f"scan_colorized.{fmt}").read_bytes()
        assert depth_of(data) == 16
        fields = load_image("o", data).meta.descriptive
        assert (fields.artist, fields.copyright) == (ARTIST, COPYRIGHT)
        assert COLOURISED in xmp_of(data) and "tiny-test (weights SHA-256" in xmp_of(data)


def test_every_subcommand_explains_itself_and_no_message_says_app(tiny_model_dir, tmp_path):
    for command in ("image", "video", "models"):
        proc = run_cli([command, "--help"], tiny_model_dir, tmp_path)
        assert proc.returncode == 0
        description = proc.stdout.split("\n\n")[1]
        assert len(description) > 100 and not description.startswith(("positional", "options")), proc.stdout
    (tmp_path / "notes.jpg").write_bytes(b"not a photo at all")
    (tmp_path / "notes.mp4").write_bytes(b"not a video at all")
    lines = run_cli(["image", "notes.jpg", "-o", "out"], tiny_model_dir, tmp_path).stderr
    lines += run_cli(["video", "notes.mp4", "-o", "o.mp4"], tiny_model_dir, tmp_path).stderr
    assert "Colorize can read" in lines and not re.search(r"\bapp\b", lines), lines


def test_a_closed_pipe_ends_the_listing_quietly(tiny_model_dir, tmp_path):
    import os
    import subprocess
    import sys

    from helpers import cli_env

    read, write = os.pipe()
    os.close(read)  # `colorize models | head -0`: the reader is gone before the first line
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "colorize", "models"],
            stdout=write,
            stderr=subprocess.PIPE,
            env=cli_env(tiny_model_dir),
            cwd=tmp_path,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == ""  # as Unix tools end on SIGPIPE: no traceback, no line


# ---------------------------------------------------------------- the sample clip has a sound track


@pytest.mark.slow
def test_the_sample_clip_has_sound_and_its_colorized_copy_keeps_it(tiny_model, tmp_path):
    from colorize.page.video import sample_video
    from colorize.video import colorize_video, probe_video

    clip = sample_video()
    assert clip is not None and probe_video(clip).has_audio
    out = tmp_path / "rocket-pan_colorized.mp4"
    info = colorize_video(clip, out, tiny_model)
    assert info.has_audio and probe_video(out).has_audio
    assert abs(probe_video(out).duration - probe_video(clip).duration) < 0.2
