"""decode -> Lab -> model -> upsample -> recombine -> encode: each stage and the whole chain."""

import io
import os
import stat

import cv2
import numpy as np
import pytest
from PIL import Image

from colorize import ColorizeError, atomic, colorize, encode_image, load_image, predict, render, strips, write_atomic
from colorize import encode as encode_module
from colorize.lab import gray_rgb, lab_to_rgb, lightness, recombine, recombine_strip, rgb_to_lab, to_uint8
from colorize.pipeline import predict_L, render_ab
from colorize.upsample import Upsampler, upsample_ab
from helpers import (
    animated_gif,
    encoded,
    exif_rotated_jpeg,
    gradient_photo,
    gray16_png,
    marker_side,
    palette_png_with_transparency,
)


def chroma(rgb):
    lab = rgb_to_lab(rgb)
    return np.hypot(lab[..., 1], lab[..., 2])


def roundtrip(rgb, alpha=None, fmt="png"):
    """Encode and decode again, as a user's file would be."""
    return load_image("out." + fmt, encode_image(rgb, alpha, fmt))


# ---------------------------------------------------------------- Lab and recombine


def test_lab_roundtrip_is_float_exact():
    rgb = gradient_photo(32, 32)
    np.testing.assert_allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=3e-3)  # 8-bit Lab would be ~10x worse
    L = rgb_to_lab(rgb)[..., 0]
    assert L.dtype == np.float32 and 0 <= L.min() and L.max() <= 100
    np.testing.assert_allclose(lightness(gray_rgb(L)), L, atol=0.3)
    assert np.abs(gray_rgb(L)[..., 0] - gray_rgb(L)[..., 2]).max() < 1e-3


def test_recombine_keeps_lightness_even_for_impossible_colours():
    rng = np.random.default_rng(0)
    L = rng.uniform(0, 100, (40, 50)).astype(np.float32)
    ab = rng.uniform(-120, 120, (40, 50, 2)).astype(np.float32)  # mostly outside sRGB
    naive = lab_to_rgb(np.dstack([L, ab]))
    assert np.percentile(np.abs(lightness(naive) - L), 90) > 5  # clipping alone would lose L
    out = recombine(L, ab)
    assert out.shape == (40, 50, 3) and out.dtype == np.float32
    assert np.abs(lightness(out) - L).max() <= 0.51


def test_recombine_leaves_in_gamut_colours_alone():
    L = np.full((4, 4), 60, np.float32)
    ab = np.zeros((4, 4, 2), np.float32)
    ab[..., 0], ab[..., 1] = 20, -15
    np.testing.assert_allclose(recombine(L, ab), lab_to_rgb(np.dstack([L, ab])), atol=1e-6)


def test_recombine_keeps_nearly_the_most_chroma_that_fits_and_the_hue():
    L = np.array([[30, 50, 70, 90]], np.float32)
    ab = np.array([[[90, 60], [-90, 80], [60, -100], [-60, 90]]], np.float32)
    out = recombine(L, ab)
    got = rgb_to_lab(out)[0]
    for i in range(4):  # brute force: the largest scale of (a, b) that sRGB shows faithfully
        best = 0.0
        for s in np.linspace(0, 1, 201):
            want = np.array([[[L[0, i], *(ab[0, i] * s)]]], np.float32)
            back = rgb_to_lab(lab_to_rgb(want))
            if abs(back[0, 0, 0] - want[0, 0, 0]) <= 0.5 and np.abs(back - want)[0, 0, 1:].max() <= 1.5:
                best = s
        kept = np.hypot(*got[i, 1:]) / np.hypot(*ab[0, i])
        assert 0.9 * best <= kept <= best + 0.02, (i, kept, best)
        hue_in, hue_out = np.arctan2(ab[0, i, 1], ab[0, i, 0]), np.arctan2(got[i, 2], got[i, 1])
        assert abs(np.angle(np.exp(1j * (hue_out - hue_in)))) < 0.05, i


# ---------------------------------------------------------------- upsampling


def edge_scene(size=128, edge=66, blur=0.0):
    """Full-res L with a sharp vertical edge (dark left, bright right) and the low-res a/b a network
    at stride 4 would give for a colour step exactly on that edge: the edge falls inside a low-res
    pixel, so at low resolution the step is smeared across it."""
    L = np.full((size, size), 80, np.float32)
    L[:, :edge] = 20
    ab = np.zeros((size, size, 2), np.float32)
    ab[:, :edge] = (40, 30)
    ab_low = cv2.resize(ab, (size // 4, size // 4), interpolation=cv2.INTER_AREA)
    if blur:
        ab_low = cv2.GaussianBlur(ab_low, (0, 0), blur)
    return L, ab_low.transpose(2, 0, 1)


@pytest.mark.parametrize("blur", [0.0, 0.7])
def test_guided_upsampling_bleeds_less_colour_across_an_edge_than_bilinear(blur):
    edge = 66
    L, ab_low = edge_scene(edge=edge, blur=blur)
    leak = {}
    for method in ("guided", "bilinear"):
        up = upsample_ab(ab_low, L, method)
        assert up.shape == (128, 128, 2)
        c = np.hypot(up[..., 0], up[..., 1])
        leak[method] = float(c[:, edge : edge + 8].mean())  # bright side: should be grey
        assert abs(float(c[:, edge - 8 : edge].mean()) - 50) < 12  # dark side keeps its colour
        assert float(c[:, edge + 16 :].mean()) < 0.5  # far from the edge: no change
    assert leak["guided"] < 0.6 * leak["bilinear"], leak


def test_upsampling_keeps_flat_colour_flat():
    L = np.random.default_rng(0).uniform(10, 90, (40, 60)).astype(np.float32)
    ab_low = np.zeros((2, 10, 15), np.float32)
    ab_low[0], ab_low[1] = 12, -7
    for method in ("guided", "bilinear"):
        up = upsample_ab(ab_low, L, method)
        np.testing.assert_allclose(up[..., 0], 12, atol=0.05)
        np.testing.assert_allclose(up[..., 1], -7, atol=0.05)
    with pytest.raises(ValueError):
        upsample_ab(ab_low, L, "nearest")


# ---------------------------------------------------------------- full resolution in strips


def few_row_strips(monkeypatch, height, width, rows=5):
    """Make every full-resolution step work `rows` rows at a time, so there are seams everywhere."""
    monkeypatch.setattr(strips, "STRIP_PIXELS", rows * width)
    assert len(strips.row_strips(height, width)) >= height // rows


@pytest.mark.parametrize("method", ["guided", "bilinear"])
@pytest.mark.parametrize(
    "size,low",
    [
        ((203, 157), (13, 11)),  # upsampling, odd ratios
        ((50, 40), (64, 48)),  # a photo smaller than the network output
        ((97, 3001), (8, 64)),
    ],
)  # wide: few rows per strip
def test_upsampling_in_strips_equals_one_whole_image_resize(monkeypatch, method, size, low):
    rng = np.random.default_rng(sum(size))
    H, W = size
    L = cv2.GaussianBlur(rng.uniform(0, 100, size).astype(np.float32), (0, 0), 2)
    ab_low = rng.normal(0, 30, (2,) + low).astype(np.float32)
    # The whole-image path: each low-resolution map stretched in one cv2.resize, then applied to L.
    whole = [cv2.resize(m, (W, H), interpolation=cv2.INTER_LINEAR) for m in Upsampler(ab_low, L, method).low_maps]
    if method == "guided":
        expected = np.dstack([whole[0] * L + whole[1], whole[2] * L + whole[3]])
    else:
        expected = np.dstack(whole)
    few_row_strips(monkeypatch, H, W)
    got = upsample_ab(ab_low, L, method)
    assert got.shape == (H, W, 2) and got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-4


def test_lightness_and_recombine_in_strips_equal_the_whole_image(monkeypatch):
    rng = np.random.default_rng(4)
    rgb = gradient_photo(61, 47, seed=4)
    L = rng.uniform(0, 100, (61, 47)).astype(np.float32)
    ab = rng.uniform(-120, 120, (61, 47, 2)).astype(np.float32)  # many out-of-gamut pixels
    whole_L, whole_rgb = rgb_to_lab(rgb)[..., 0], recombine_strip(L, ab[..., 0], ab[..., 1])
    few_row_strips(monkeypatch, 61, 47, rows=4)
    np.testing.assert_allclose(lightness(rgb), whole_L, atol=1e-4)  # cv2's SIMD and scalar paths may differ
    np.testing.assert_allclose(recombine(L, ab), whole_rgb, atol=1e-4)  # in the last bit


def test_render_in_strips_equals_the_whole_image_also_as_uint8(tiny_model, monkeypatch):
    pred = predict(tiny_model, [gradient_photo(130, 90, seed=5)])[0]
    expected = recombine(pred.L, render_ab(tiny_model, pred, 1.5))  # one strip: the whole image
    assert len(strips.row_strips(130, 90)) == 1
    few_row_strips(monkeypatch, 130, 90, rows=7)
    got = render(tiny_model, pred, 1.5)
    assert got.dtype == np.float32 and np.abs(got - expected).max() <= 1e-4
    u8 = render(tiny_model, pred, 1.5, dtype=np.uint8)
    assert u8.dtype == np.uint8 and u8.shape == (130, 90, 3)
    diff = np.abs(u8.astype(int) - to_uint8(expected))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01  # only rounding ties may differ
    with pytest.raises(ValueError):
        render(tiny_model, pred, 1.5, dtype=np.float64)


# ---------------------------------------------------------------- the chain


def test_output_keeps_the_input_lightness_and_size(tiny_model, photo_rgb):
    out = colorize(tiny_model, photo_rgb)
    assert out.shape == photo_rgb.shape and out.dtype == np.float32
    assert np.abs(lightness(out) - lightness(photo_rgb)).max() <= 0.51
    assert chroma(out).mean() > 5  # the tiny model does add colour


def test_colour_input_is_colorized_from_its_lightness_alone(tiny_model, photo_rgb):
    pred = predict(tiny_model, [photo_rgb])[0]
    np.testing.assert_array_equal(pred.L, lightness(photo_rgb))
    np.testing.assert_array_equal(pred.raw, predict_L(tiny_model, [lightness(photo_rgb)])[0].raw)
    # A grey photo with (nearly, after float Lab round trip) the same L gets (nearly) the same colours.
    diff = np.abs(colorize(tiny_model, photo_rgb) - colorize(tiny_model, gray_rgb(lightness(photo_rgb))))
    assert np.percentile(diff, 99) < 0.03 and diff.max() < 0.1


def test_render_changes_vividness_without_rerunning_the_network(tiny_model, photo_rgb):
    pred = predict(tiny_model, [photo_rgb])[0]
    muted, vivid = render(tiny_model, pred, 0.0), render(tiny_model, pred, 2.0)
    assert chroma(vivid).mean() > chroma(muted).mean() + 3
    np.testing.assert_allclose(lightness(muted), lightness(vivid), atol=1.0)


@pytest.mark.parametrize("h,w", [(1, 1), (1, 5000), (5000, 1), (3, 2)])
def test_tiny_and_extreme_images_colorize_at_their_own_size(tiny_model, h, w):
    rgb = np.random.default_rng(h * w).random((h, w, 3)).astype(np.float32)
    photo = load_image("thin.png", encode_image(rgb))
    out = colorize(tiny_model, photo.rgb)
    assert out.shape == (h, w, 3) and np.isfinite(out).all()
    assert np.abs(lightness(out) - lightness(photo.rgb)).max() <= 0.51


def test_transparent_palette_png_gets_its_alpha_back(tiny_model):
    data, idx = palette_png_with_transparency()
    photo = load_image("pal.png", data)
    back = roundtrip(colorize(tiny_model, photo.rgb), photo.alpha)
    assert back.alpha is not None
    np.testing.assert_array_equal(back.alpha == 0, idx == 0)
    assert back.alpha[idx != 0].min() == 1.0


def test_16bit_input_goes_through(tiny_model):
    data, g = gray16_png(40, 30)
    out = colorize(tiny_model, load_image("g16.png", data).rgb)
    assert out.shape == (40, 30, 3)


def test_rotated_and_animated_inputs_go_through_upright(tiny_model):
    photo = load_image("rot.jpg", exif_rotated_jpeg(6))
    out = colorize(tiny_model, photo.rgb)
    assert out.shape == (40, 20, 3) and marker_side(lightness(out)) == "top"
    gif = load_image("anim.gif", animated_gif())
    assert colorize(tiny_model, gif.rgb).shape == gif.rgb.shape and gif.note


# ---------------------------------------------------------------- encoding and writing


def test_png_and_jpeg_encoding():
    rgb = gradient_photo(24, 32)
    png, jpg = encode_image(rgb, fmt="png"), encode_image(rgb, fmt="jpg")
    assert png.startswith(b"\x89PNG") and jpg.startswith(b"\xff\xd8")
    np.testing.assert_allclose(load_image("a.png", png).rgb, rgb, atol=0.5 / 255 + 1e-6)
    assert np.abs(load_image("a.jpg", jpg).rgb - rgb).mean() < 0.02
    assert Image.open(io.BytesIO(encode_image(rgb, fmt="jpeg"))).format == "JPEG"
    with pytest.raises(ColorizeError):
        encode_image(rgb, fmt="gif")


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_encoding_takes_uint8_as_well_as_float(fmt):
    rgb = gradient_photo(20, 30, seed=7)
    alpha = np.linspace(0, 1, 600, dtype=np.float32).reshape(20, 30)
    assert encode_image(to_uint8(rgb), fmt=fmt) == encode_image(rgb, fmt=fmt)
    from_uint8 = load_image("a." + fmt, encode_image(to_uint8(rgb), to_uint8(alpha), fmt))
    from_float = roundtrip(rgb, alpha, fmt)
    if fmt == "png":
        np.testing.assert_array_equal(from_uint8.rgb, from_float.rgb)
        np.testing.assert_array_equal(from_uint8.alpha, from_float.alpha)
    else:  # composited over white from 8-bit alpha: at most one level apart before compression
        assert (
            np.abs(
                encode_module.over_white(to_uint8(rgb), to_uint8(alpha)).astype(int)
                - encode_module.over_white(rgb, alpha)
            ).max()
            <= 1
        )
        assert np.abs(from_uint8.rgb - from_float.rgb).mean() < 2 / 255


def test_png_encoding_that_may_reuse_the_rgb_gives_the_same_file():
    rgb = to_uint8(gradient_photo(40, 60))
    assert encode_image(rgb.copy(), reuse_rgb=True) == encode_image(rgb) == encode_image(rgb.astype(np.float32) / 255)
    assert Image.open(io.BytesIO(encode_image(rgb.copy(), reuse_rgb=True))).getpixel((5, 7)) == tuple(rgb[7, 5])


def test_jpeg_composites_transparency_over_white():
    rgb = np.zeros((8, 8, 3), np.float32)
    alpha = np.zeros((8, 8), np.float32)
    alpha[:, 4:] = 1
    back = load_image("a.jpg", encode_image(rgb, alpha, "jpg"))
    assert back.alpha is None
    assert back.rgb[:, :3].mean() > 0.95 and back.rgb[:, 5:].mean() < 0.05


def test_write_atomic_replaces_whole_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "sub" / "out.png"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(os.listdir(target.parent)) == ["out.png"]
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "perm.png", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "perm.png").st_mode) == 0o644


def test_write_atomic_failure_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, b"new data")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.png"]


# ---------------------------------------------------------------- the bundled model


def test_bundled_model_colorizes_a_photo(bundled_model):
    rgb = gradient_photo(120, 160)
    grey = gray_rgb(lightness(rgb))
    out = colorize(bundled_model, grey)
    assert out.shape == grey.shape
    assert np.abs(lightness(out) - lightness(grey)).max() <= 0.51
    assert chroma(out).mean() > 2, "the bundled model adds no colour"
    assert chroma(render(bundled_model, predict(bundled_model, [grey])[0], 2.0)).mean() > chroma(out).mean()


def test_bundled_model_through_file_bytes(bundled_model):
    data = encoded(Image.fromarray((gradient_photo(90, 70) * 255).astype(np.uint8)).convert("L"), "JPEG")
    photo = load_image("g.jpg", data)
    back = roundtrip(colorize(bundled_model, photo.rgb))
    assert back.size == (70, 90)
    assert np.percentile(np.abs(lightness(back.rgb) - lightness(photo.rgb)), 99) <= 1.0
