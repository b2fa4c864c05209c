"""Decoding every kind of still image the app accepts, and refusing every kind of bad file in one line.

The image makers (tests/helpers.py) each build a tiny file in memory.
"""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from colorize import ColorizeError, load_image
from colorize import decode as decode_module
from helpers import (
    BAD_FILES,
    animated_gif,
    cmyk_jpeg,
    encoded,
    exif_block,
    exif_rotated_jpeg,
    gray16_png,
    huge_png_real,
    insert_png_chunk,
    la_png,
    marked_landscape,
    marker_side,
    noise_rgb8,
    palette_png_with_transparency,
    rgb16_png,
)


def check_one_line_error(excinfo, name, words):
    msg = str(excinfo.value)
    assert "\n" not in msg and "\r" not in msg
    assert msg.startswith(name + ": ")
    assert words in msg


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_refused_in_one_line_naming_it(name):
    data, words = BAD_FILES[name]
    with pytest.raises(ColorizeError) as excinfo:
        load_image(name, data)
    check_one_line_error(excinfo, name, words)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_on_disk_is_refused_the_same_way(tmp_path, name):
    data, words = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ColorizeError) as excinfo:
        load_image(path)
    check_one_line_error(excinfo, str(path), words)


def test_real_decompression_bomb_is_refused_from_its_header(monkeypatch):
    data = huge_png_real()
    assert len(data) < 200_000  # 400 MP in a small file: decoding it would cost ~400 MB

    def no_decoding(self, *a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    with pytest.raises(ColorizeError) as excinfo:
        load_image("bomb.png", data)
    check_one_line_error(excinfo, "bomb.png", "over the limit of 50 MP")
    assert "20000x20000 = 400 MP" in str(excinfo.value)


def test_pixel_limit_is_configurable():
    data = encoded(Image.fromarray(noise_rgb8(20, 30)), "PNG")
    assert load_image("ok.png", data, max_pixels=600).size == (30, 20)
    with pytest.raises(ColorizeError) as excinfo:
        load_image("big.png", data, max_pixels=599)
    check_one_line_error(excinfo, "big.png", "30x20 = 600 pixels, over the limit of 599 pixels")


def test_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(decode_module, "METADATA_ALLOWANCE", 0)
    path = tmp_path / "padded.png"
    path.write_bytes(encoded(Image.fromarray(noise_rgb8(20, 30)), "PNG") + bytes(5000))
    with pytest.raises(ColorizeError) as excinfo:
        load_image(path, max_pixels=600)  # 600 px x 8 bytes = 4800 bytes at most
    check_one_line_error(excinfo, str(path), "too large")


def test_folder_and_missing_file_are_refused(tmp_path):
    with pytest.raises(ColorizeError) as excinfo:
        load_image(tmp_path)
    check_one_line_error(excinfo, str(tmp_path), "folder")
    with pytest.raises(ColorizeError) as excinfo:
        load_image(tmp_path / "nope.jpg")
    check_one_line_error(excinfo, str(tmp_path / "nope.jpg"), "cannot be read")


# ---------------------------------------------------------------- input kinds


def test_rgb_png_decodes_exactly():
    rgb8 = noise_rgb8(9, 7)
    photo = load_image("x.png", encoded(Image.fromarray(rgb8), "PNG"))
    assert photo.rgb.dtype == np.float32 and photo.rgb.shape == (9, 7, 3)
    assert photo.alpha is None and photo.note == ""
    np.testing.assert_allclose(photo.rgb, rgb8 / 255.0, atol=1e-6)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "BMP", "TIFF"])
def test_other_formats_decode(fmt):
    rgb8 = np.zeros((10, 14, 3), np.uint8)
    rgb8[:, 7:] = 200
    photo = load_image("x." + fmt.lower(), encoded(Image.fromarray(rgb8), fmt))
    assert photo.rgb.shape == (10, 14, 3)
    assert photo.rgb[:, :5].mean() < 0.1 and photo.rgb[:, 9:].mean() > 0.7


@pytest.mark.parametrize("h,w", [(1, 1), (1, 5000), (5000, 1)])
def test_extreme_shapes_decode(h, w):
    photo = load_image("thin.png", encoded(Image.fromarray(noise_rgb8(h, w)), "PNG"))
    assert photo.rgb.shape == (h, w, 3)


def test_gray_and_bilevel_become_neutral_rgb():
    g = noise_rgb8(8, 8)[..., 0]
    for im in (Image.fromarray(g, "L"), Image.fromarray(g > 127)):
        photo = load_image("g.png", encoded(im, "PNG"))
        assert photo.rgb.shape == (8, 8, 3)
        assert np.array_equal(photo.rgb[..., 0], photo.rgb[..., 1]) and np.array_equal(
            photo.rgb[..., 1], photo.rgb[..., 2]
        )
    np.testing.assert_allclose(
        load_image("g.png", encoded(Image.fromarray(g, "L"), "PNG")).rgb[..., 0], g / 255.0, atol=1e-6
    )


def test_16bit_gray_png_keeps_16_bits():
    data, g = gray16_png()
    photo = load_image("g16.png", data)
    assert photo.rgb.shape == g.shape + (3,)
    np.testing.assert_allclose(photo.rgb[..., 1], g / 65535.0, atol=1e-6)


@pytest.mark.parametrize("alpha", [False, True])
def test_16bit_rgb_png_keeps_16_bits_and_channel_order(alpha):
    data, arr = rgb16_png(alpha=alpha)
    photo = load_image("c16.png", data)
    np.testing.assert_allclose(photo.rgb, arr[..., :3] / 65535.0, atol=1e-6)
    if alpha:
        np.testing.assert_allclose(photo.alpha, arr[..., 3] / 65535.0, atol=1e-6)
    else:
        assert photo.alpha is None


def test_truncated_16bit_png_is_refused():
    data, _ = rgb16_png(40, 40)
    with pytest.raises(ColorizeError) as excinfo:
        load_image("c16.png", data[: len(data) // 2])
    check_one_line_error(excinfo, "c16.png", "truncated")


def test_cmyk_jpeg_becomes_rgb():
    photo = load_image("cmyk.jpg", cmyk_jpeg())
    assert photo.rgb.shape == (16, 24, 3)
    assert photo.rgb[:, :10].mean() > 0.9  # no ink: white
    assert photo.rgb[:, 14:].mean() < 0.1  # full black ink


def test_la_png_keeps_alpha_aside():
    data, lum, alpha = la_png()
    photo = load_image("la.png", data)
    np.testing.assert_allclose(photo.rgb[..., 0], lum / 255.0, atol=1e-6)
    np.testing.assert_allclose(photo.alpha, alpha / 255.0, atol=1e-6)


def test_palette_png_transparency_becomes_alpha():
    data, idx = palette_png_with_transparency()
    photo = load_image("pal.png", data)
    assert photo.alpha is not None
    np.testing.assert_array_equal(photo.alpha == 0, idx == 0)
    np.testing.assert_array_equal(photo.alpha == 1, idx != 0)
    assert abs(photo.rgb[-1, -1, 0] - 200 / 255) < 1e-6


def test_animated_gif_uses_first_frame_and_says_so():
    photo = load_image("anim.gif", animated_gif(frames=3))
    assert photo.note == "first frame of 3 used"
    assert abs(photo.rgb.mean() - 40 / 255) < 0.02  # first frame is the darkest


@pytest.mark.parametrize("orientation,side", [(1, "left"), (3, "right"), (6, "top"), (8, "bottom")])
def test_exif_rotated_jpeg_comes_out_upright(orientation, side):
    photo = load_image("rot.jpg", exif_rotated_jpeg(orientation))
    expected = (20, 40) if orientation in (1, 3) else (40, 20)  # (height, width) after rotation
    assert photo.rgb.shape[:2] == expected
    assert marker_side(photo.rgb[..., 0]) == side


@pytest.mark.parametrize("orientation,side", [(2, "right"), (4, "left"), (5, "top"), (7, "bottom")])
def test_exif_mirrored_orientations(orientation, side):
    data = encoded(Image.fromarray(marked_landscape()), "PNG", exif=exif_block(orientation))
    photo = load_image("m.png", data)
    assert photo.rgb.shape[:2] == ((20, 40) if orientation in (2, 4) else (40, 20))
    assert marker_side(photo.rgb[..., 0]) == side


def test_exif_orientation_applies_to_16bit_colour_png_and_its_alpha():
    data, arr = rgb16_png(20, 40, alpha=True)
    data = insert_png_chunk(data, b"eXIf", exif_block(6).removeprefix(b"Exif\x00\x00"))
    photo = load_image("r16.png", data)
    assert photo.rgb.shape == (40, 20, 3) and photo.alpha.shape == (40, 20)
    upright = np.rot90(arr, k=-1)  # orientation 6: rotate 90 degrees clockwise
    np.testing.assert_allclose(photo.rgb, upright[..., :3] / 65535.0, atol=1e-6)
    np.testing.assert_allclose(photo.alpha, upright[..., 3] / 65535.0, atol=1e-6)


@pytest.mark.parametrize("fmt", ["EPS", "PPM", "TGA"])
def test_formats_outside_the_supported_list_are_refused(fmt):
    # PIL could read these, but EPS would run Ghostscript: only the listed formats are tried.
    data = encoded(Image.new("RGB", (10, 10)), fmt)
    with pytest.raises(ColorizeError) as excinfo:
        load_image("x." + fmt.lower(), data)
    check_one_line_error(excinfo, "x." + fmt.lower(), "supported: JPEG, PNG, WebP, BMP, TIFF, GIF")


def test_multi_picture_camera_jpeg_is_just_a_photo():
    views = [Image.new("RGB", (10, 8), c) for c in ("red", "blue")]
    photo = load_image("stereo.jpg", encoded(views[0], "MPO", save_all=True, append_images=views[1:]))
    assert photo.size == (10, 8) and photo.note == ""
    assert photo.rgb[..., 0].mean() > 0.9 and photo.rgb[..., 2].mean() < 0.1


# ---------------------------------------------------------------- black and white as one plane


def old_float_rgb(grey, scale):
    """What the decoder used to return for a grey image: float32 RGB, R = G = B = grey / scale."""
    g = grey.astype(np.float32)
    g *= np.float32(1.0 / scale)
    return np.repeat(g[..., None], 3, axis=2)


def grey_scan(h, w, seed=3):
    """A generated black-and-white 'scan': smooth shapes and grain, uint8."""
    rng = np.random.default_rng(seed)
    small = rng.random((h // 8 + 2, w // 8 + 2)).astype(np.float32)
    g = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * 200 + 30 + rng.normal(0, 6, (h, w))
    return np.clip(g, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("saved_as", ["L-png", "L-jpeg", "RGB-png", "RGB-jpeg", "I16-png", "RGB16-png"])
def test_black_and_white_is_decoded_as_one_plane_with_the_same_values(saved_as):
    g8 = grey_scan(60, 90)
    g16 = g8.astype(np.uint16) * 257 + 3
    if saved_as == "I16-png":
        data, grey, scale = cv2.imencode(".png", g16)[1].tobytes(), g16, 65535.0
    elif saved_as == "RGB16-png":  # 16-bit colour PNG whose channels are equal
        data, grey, scale = cv2.imencode(".png", np.repeat(g16[..., None], 3, axis=2))[1].tobytes(), g16, 65535.0
    else:
        mode, fmt = saved_as.split("-")
        im = Image.fromarray(g8, "L").convert(mode)
        data = encoded(im, fmt.upper(), **({"quality": 90} if fmt == "jpeg" else {}))
        grey = np.asarray(Image.open(io.BytesIO(data)).convert("L")) if fmt == "jpeg" else g8
        scale = 255.0
    photo = load_image("scan." + saved_as.split("-")[1], data)
    assert photo.is_grey and photo.pixels.shape == (60, 90) and photo.size == (90, 60)
    assert photo.pixels.dtype == (np.uint16 if scale == 65535.0 else np.uint8)
    np.testing.assert_array_equal(photo.pixels, grey)
    np.testing.assert_array_equal(photo.rgb, old_float_rgb(grey, scale))  # photo.rgb: exactly as before


def test_colour_keeps_three_channels_at_its_own_depth():
    rgb8 = noise_rgb8(20, 30)
    rgb8[5, 7] = (90, 90, 90)  # one grey pixel does not make a grey photo
    photo = load_image("c.png", encoded(Image.fromarray(rgb8), "PNG"))
    assert not photo.is_grey and photo.pixels.dtype == np.uint8
    np.testing.assert_array_equal(photo.pixels, rgb8)
    nearly = np.repeat(grey_scan(20, 30)[..., None], 3, axis=2)
    nearly[-1, -1, 2] ^= 1  # channels equal but for one bit of one pixel, in the last strip
    assert load_image("n.png", encoded(Image.fromarray(nearly), "PNG")).pixels.shape == (20, 30, 3)


def test_lightness_of_the_pixels_equals_that_of_the_float_rgb_strip_by_strip(monkeypatch):
    from colorize import strips
    from colorize.lab import lightness

    monkeypatch.setattr(strips, "STRIP_PIXELS", 500)  # many strips on a small image
    for data in (
        encoded(Image.fromarray(grey_scan(70, 50), "L"), "PNG"),
        gray16_png(70, 50)[0],
        encoded(Image.fromarray(noise_rgb8(70, 50)), "PNG"),
        rgb16_png(70, 50)[0],
    ):
        photo = load_image("x.png", data)
        np.testing.assert_array_equal(lightness(photo.pixels), lightness(photo.rgb))


def test_grey_scan_rotated_by_exif_stays_one_plane():
    g = grey_scan(20, 40)
    g[:, :4] = 0  # a dark band on the left, as marked_landscape
    data = encoded(Image.fromarray(g, "L"), "JPEG", quality=95, exif=exif_block(6))
    photo = load_image("rot.jpg", data)
    assert photo.is_grey and photo.pixels.shape == (40, 20)
    assert photo.pixels[:4].mean() < 40 and photo.pixels[-4:].mean() > 60  # the band is now at the top
