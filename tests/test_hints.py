"""Colour hints: parsing, the network-size hint maps, both model kinds, and hints end to end (library and CLI)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image

from colorize import ColorizeError, ColorModel, Hint, colorize, load_image, predict, render
from colorize.hints import check_hints, hint_maps, network_point, parse_colour, parse_hint_arg
from colorize.lab import gray_rgb, lightness, rgb_to_lab, to_uint8
from colorize.pipeline import network_input, predict_L, render_ab, run_network
from colorize.video import colorize_video
from helpers import decode, edit_meta, encoded, ffmpeg, gradient_photo, loading_fails, run_cli
from tiny_model import BINS, HINT_PATCH, build_tiny_hint_model, build_tiny_model, nearest_bin

GREEN = (0, 255, 0)  # Lab a/b about (-86, 83): nearest tiny bin (-40, 40), far from the tiny model's own colours


@pytest.fixture(scope="module")
def hint_model_dir(tmp_path_factory):
    """A models/ folder with a hint-taking tiny model (a-hints) and the plain one (b-plain)."""
    root = tmp_path_factory.mktemp("hint-models")
    build_tiny_hint_model(root / "a-hints")
    build_tiny_model(root / "b-plain")
    return root


@pytest.fixture(scope="module")
def hint_model(hint_model_dir):
    return ColorModel(hint_model_dir / "a-hints")


def one_line(excinfo, starts, words):
    msg = str(excinfo.value)
    assert "\n" not in msg and msg.startswith(starts), msg
    assert words in msg, msg


def ab_of(rgb):
    return rgb_to_lab(rgb)[..., 1:]


def grey_photo(h, w, seed=0):
    """A grey photo with structure: what users colorize."""
    return gray_rgb(lightness(gradient_photo(h, w, seed)))


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "colour", ["#3366cc", "3366CC", " #3366Cc ", (51, 102, 204), [51.0, 102, 204], np.array([51, 102, 204], np.uint8)]
)
def test_colours_are_parsed(colour):
    assert parse_colour(colour) == (51, 102, 204)


@pytest.mark.parametrize(
    "colour",
    [
        "#12345",
        "#1234567",
        "red",
        "#ggg000",
        (1, 2),
        (256, 0, 0),
        (-1, 0, 0),
        (0.5, 0, 0),
        (True, 0, 0),
        (float("nan"), 0, 0),
        None,
        7,
    ],
)
def test_bad_colours_are_one_line_errors(colour):
    with pytest.raises(ColorizeError) as excinfo:
        parse_colour(colour)
    one_line(excinfo, "hint: ", "neither #RRGGBB nor three whole numbers from 0 to 255")


def test_cli_hint_argument_is_parsed():
    assert parse_hint_arg("120,45,#3366cc") == Hint(120, 45, (51, 102, 204))
    assert parse_hint_arg(" 0 , 7 , 000000") == Hint(0, 7, (0, 0, 0))
    assert str(Hint(120, 45, (51, 102, 204))) == "120,45,#3366cc"


@pytest.mark.parametrize(
    "text,words",
    [
        ("1,2", "is not X,Y,#RRGGBB"),
        ("1,2,3,4", "is not X,Y,#RRGGBB"),
        ("a,2,#000000", "whole numbers of pixels"),
        ("1.5,2,#000000", "whole numbers of pixels"),
        ("1,2,#zzzzzz", "neither #RRGGBB"),
    ],
)
def test_malformed_cli_hints_are_one_line_errors(text, words):
    with pytest.raises(ColorizeError) as excinfo:
        parse_hint_arg(text)
    one_line(excinfo, "--hint: ", words)


def test_hints_are_checked_against_the_photo_size():
    assert check_hints(None, 301, 97) == () and check_hints([], 301, 97) == ()
    got = check_hints(
        [(0, 0, "#ff0000"), (300, 96, (0, 0, 255)), Hint(5, 6, (1, 2, 3)), "7,8,#000000", (300.9, 96.2, GREEN)], 301, 97
    )
    assert got == (
        Hint(0, 0, (255, 0, 0)),
        Hint(300, 96, (0, 0, 255)),
        Hint(5, 6, (1, 2, 3)),
        Hint(7, 8, (0, 0, 0)),
        Hint(300, 96, GREEN),
    )  # a fractional point is in the pixel it falls in
    for bad in [(301, 0, "#ff0000"), (0, 97, "#ff0000"), (-1, 5, "#ff0000"), (5, -0.5, "#ff0000")]:
        with pytest.raises(ColorizeError) as excinfo:
            check_hints([(5, 5, "#000000"), bad], 301, 97)
        one_line(excinfo, "hints: hint ", "is outside the 301x97 photo (x must be 0..300, y 0..96)")
    for bad, words in [
        ([(1, 2)], "is not a hint"),
        ([(float("inf"), 2, "#000000")], "hint x must be a number"),
        ([("1", 2, "#000000")], "hint x must be a number"),
        ((1, 2, "#000000"), "not a single hint"),
        ([(1, 2, "blue")], "neither #RRGGBB"),
    ]:
        with pytest.raises(ColorizeError) as excinfo:
            check_hints(bad, 301, 97)
        one_line(excinfo, "hints: ", words)


def test_hint_colour_becomes_float_lab_ab():
    for rgb in [(255, 0, 0), GREEN, (51, 102, 204), (128, 128, 128)]:
        want = rgb_to_lab(np.array([[rgb]], np.float32) / 255)[0, 0, 1:]
        np.testing.assert_allclose(Hint(0, 0, rgb).ab, want, atol=1e-4)
    assert np.hypot(*Hint(0, 0, (128, 128, 128)).ab) < 0.01
    a, b = Hint(0, 0, GREEN).ab
    assert a < -80 and b > 80


# ---------------------------------------------------------------- network-size hint maps


def test_hint_maps_paint_clipped_squares_at_the_mapped_point(hint_model):
    size = (97, 301)  # odd and far from square
    net = hint_model.network_size(*size)
    assert net == (32, 64)
    right, corner = Hint(300, 48, GREEN), Hint(0, 0, (255, 0, 0))
    assert network_point(300, 48, size, net) == (63, 16)
    assert network_point(0, 0, size, net) == (0, 0)
    ab, mask = hint_maps([right, corner], size, net, HINT_PATCH)
    assert ab.shape == (2, 32, 64) and mask.shape == (1, 32, 64) and ab.dtype == mask.dtype == np.float32
    expected = np.zeros((32, 64), bool)
    expected[15:18, 62:64] = True  # 3x3 around (63, 16), clipped at the right edge
    expected[0:2, 0:2] = True  # clipped at the top-left corner
    np.testing.assert_array_equal(mask[0] == 1, expected)
    assert set(np.unique(mask)) == {0.0, 1.0}
    np.testing.assert_allclose(ab[:, 16, 63], right.ab, atol=1e-5)
    np.testing.assert_allclose(ab[:, 1, 1], corner.ab, atol=1e-5)
    assert not ab[:, ~expected].any()
    one, _ = hint_maps([Hint(150, 48, GREEN), Hint(151, 48, (255, 0, 0))], size, net, 5)
    np.testing.assert_allclose(one[:, 16, 32], Hint(0, 0, (255, 0, 0)).ab, atol=1e-5)  # the later hint wins
    zeros = hint_maps([], size, net, HINT_PATCH)
    assert not zeros[0].any() and not zeros[1].any()


@pytest.mark.parametrize("size,net", [((97, 301), (32, 64)), ((301, 97), (64, 32)), ((7, 5), (64, 32))])
def test_mapped_point_is_where_the_network_sees_the_pixel(size, net):
    """The network pixel a hint lands on is where cv2's resize of L to network size puts the photo pixel
    the hint names: it holds as much of it as any other (photo larger than the network input) or is in
    the middle of its footprint (photo smaller), across the whole of odd, non-square photos."""
    h, w = size
    shrinking = h > net[0]
    for y in range(0, h, max(1, h // 9)):
        for x in list(range(0, w, max(1, w // 13))) + [w - 1]:
            spot = np.zeros(size, np.float32)
            spot[y, x] = 1
            seen = cv2.resize(spot, net[::-1], interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
            col, row = network_point(x, y, size, net)
            if shrinking:
                assert seen[row, col] >= seen.max() - 1e-6, (x, y, col, row)
            else:
                assert seen[row, col] > 0.75, (x, y, col, row)


# ---------------------------------------------------------------- the model: loading and running


def test_hint_model_loads_and_says_so(hint_model, tiny_model):
    assert hint_model.takes_hints and hint_model.info.takes_hints
    assert hint_model.hint_patch == HINT_PATCH and hint_model.info.hints.ab_input == "hint_ab"
    assert "mask" in hint_model.info.hints.meaning
    assert not tiny_model.takes_hints and tiny_model.info.hints is None and tiny_model.hint_patch is None


def test_run_feeds_zeros_when_no_hints_are_given(hint_model, tiny_model):
    L = lightness(grey_photo(32, 64))[None]
    plain = tiny_model.run(L)
    np.testing.assert_array_equal(hint_model.run(L), plain)  # no hints: the plain tiny function
    zeros = hint_model.run(L, np.zeros((1, 2, 32, 64), np.float32), np.zeros((1, 1, 32, 64), np.float32))
    np.testing.assert_array_equal(zeros, plain)
    with pytest.raises(ValueError):
        hint_model.run(L, np.zeros((1, 2, 32, 64), np.float32))
    with pytest.raises(ValueError):
        hint_model.run(L, np.zeros((1, 2, 16, 64), np.float32), np.zeros((1, 1, 16, 64), np.float32))
    with pytest.raises(ColorizeError) as excinfo:
        tiny_model.run(L, np.zeros((1, 2, 32, 64), np.float32), np.zeros((1, 1, 32, 64), np.float32))
    assert str(excinfo.value) == "hints: model tiny-test does not take colour hints"


@pytest.mark.parametrize(
    "block,words",
    [
        ("yes", "hints must be an object"),
        ({"mask_input": "hint_mask", "patch": 3}, "hints.ab_input must name one of the network's inputs"),
        ({"ab_input": "", "mask_input": "hint_mask", "patch": 3}, "hints.ab_input must name"),
        ({"ab_input": "hint_ab", "mask_input": 5, "patch": 3}, "hints.mask_input must name"),
        ({"ab_input": "hint_ab", "mask_input": "hint_ab", "patch": 3}, "two different inputs"),
        ({"ab_input": "hint_ab", "mask_input": "hint_mask"}, "hints.patch must be an odd whole number"),
        ({"ab_input": "hint_ab", "mask_input": "hint_mask", "patch": 2}, "hints.patch must be an odd whole number"),
        ({"ab_input": "hint_ab", "mask_input": "hint_mask", "patch": 0}, "hints.patch must be an odd"),
        ({"ab_input": "hint_ab", "mask_input": "hint_mask", "patch": "3"}, "hints.patch must be an odd"),
        ({"ab_input": "hint_ab", "mask_input": "hint_mask", "patch": True}, "hints.patch must be an odd"),
        ({"ab_input": "hint_ab", "mask_input": "hint_mask", "patch": 3.0}, "hints.patch must be an odd"),
    ],
)
def test_bad_hints_block_in_model_json(tmp_path, block, words):
    folder = build_tiny_hint_model(tmp_path / "m")
    edit_meta(folder, hints=block)
    loading_fails(folder, folder / "model.json", words)


HINTS_BLOCK = {"ab_input": "hint_ab", "mask_input": "hint_mask", "patch": 3}


def test_onnx_inputs_must_match_model_json(tmp_path):
    plain = build_tiny_model(tmp_path / "plain")
    edit_meta(plain, hints=HINTS_BLOCK)  # says hints, network takes L only
    loading_fails(
        plain,
        plain / "model.onnx",
        "model.json describes hint inputs hint_ab and hint_mask besides L, but the network's inputs are L",
    )
    silent = build_tiny_hint_model(tmp_path / "silent")
    edit_meta(silent, hints=None)  # network takes hints, model.json says nothing
    loading_fails(
        silent,
        silent / "model.onnx",
        "the network takes 3 inputs (L, hint_ab, hint_mask) but model.json has no hints block",
    )
    renamed = build_tiny_hint_model(tmp_path / "renamed", input_names=("L", "colour", "where"))
    loading_fails(renamed, renamed / "model.onnx", "but the network's inputs are L, colour, where")
    swapped = build_tiny_hint_model(tmp_path / "swapped")
    edit_meta(swapped, hints={**HINTS_BLOCK, "ab_input": "hint_mask", "mask_input": "hint_ab"})
    loading_fails(swapped, swapped / "model.onnx", "the network's input hint_mask must be N x 2 x H x W")
    # The L input may have any name; model.json's hint names pick out the other two.
    other = ColorModel(build_tiny_hint_model(tmp_path / "other", input_names=("gray", "hint_ab", "hint_mask")))
    assert other.input_name == "gray" and other.takes_hints


# ---------------------------------------------------------------- hints through the pipeline


def test_hint_colours_its_neighbourhood_and_nothing_far_away(hint_model):
    """A green hint at the right edge of an odd, wide photo: green near it, the rest as without it."""
    photo = grey_photo(97, 301)
    bare = colorize(hint_model, photo)
    hinted = colorize(hint_model, photo, hints=[(300, 48, GREEN)])
    assert hinted.shape == photo.shape
    assert np.abs(lightness(hinted) - lightness(photo)).max() <= 0.51  # the photo's own L, always
    near, before = ab_of(hinted)[40:57, 285:], ab_of(bare)[40:57, 285:]
    assert near[..., 0].mean() < -25 and near[..., 1].mean() > 20, near.mean((0, 1))  # green-yellow: bin (-40, 40)
    assert before[..., 1].mean() < 0  # without the hint: blue there
    np.testing.assert_array_equal(hinted[:, :200], bare[:, :200])  # far away: exactly unchanged
    assert np.abs(hinted[:, 250:] - bare[:, 250:]).max() > 0.2


@pytest.mark.parametrize(
    "size,point",
    [
        ((97, 301), (0, 0)),
        ((97, 301), (300, 96)),
        ((97, 301), (150, 48)),
        ((301, 97), (96, 300)),
        ((301, 97), (3, 150)),
        ((33, 35), (34, 0)),
    ],
)
def test_colour_changes_where_the_hint_points(hint_model, size, point):
    """The changed area is centred near the hinted pixel, in photo coordinates, on odd non-square photos,
    and nothing changes beyond a third of the photo's diagonal from it (the tiny model's hint reach)."""
    photo = grey_photo(*size, seed=3)
    bare, hinted = (colorize(hint_model, photo, hints=h) for h in (None, [(*point, GREEN)]))
    change = np.abs(ab_of(hinted) - ab_of(bare)).sum(-1)
    assert change[point[1], point[0]] > 20
    ys, xs = np.nonzero(change > 5)
    diagonal = np.hypot(*size)
    cx, cy = np.average(xs, weights=change[ys, xs]), np.average(ys, weights=change[ys, xs])
    assert np.hypot(cx - point[0], cy - point[1]) < 0.25 * diagonal, (cx, cy)
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    far = np.hypot(x - point[0], y - point[1]) > diagonal / 3
    assert far.any() and not change[far].any()


def test_hinted_cells_turn_to_the_bin_nearest_the_hint(hint_model):
    """The hint's colour reaches the network as Lab a/b at the right place: each hinted output cell
    becomes the tiny model's bin nearest that colour."""
    size = (128, 256)
    net = hint_model.network_size(*size)
    colours = [(128, 128, 128), (255, 128, 0), (0, 255, 255), (0, 0, 255), GREEN]
    points = [(20, 20), (230, 20), (128, 64), (20, 110), (230, 110)]
    hints = [(x, y, c) for (x, y), c in zip(points, colours, strict=True)]
    wanted = [nearest_bin(Hint(0, 0, c).ab) for c in colours]
    assert sorted(wanted) == list(range(len(BINS)))  # every bin is somebody's nearest
    L = lightness(grey_photo(*size))
    raw = run_network(hint_model, [network_input(hint_model, L)], [check_hints(hints, size[1], size[0])], [size])[0]
    ab_low = hint_model.to_ab(raw[None], 1.0)[0]
    for (x, y), k in zip(points, wanted, strict=True):
        col, row = network_point(x, y, size, net)
        np.testing.assert_allclose(ab_low[:, row // 4, col // 4], BINS[k], atol=0.5)


def test_no_hints_on_a_hint_model_is_the_plain_model(hint_model, tiny_model):
    photo = grey_photo(70, 90)
    plain = colorize(tiny_model, photo)
    for hints in (None, []):
        np.testing.assert_array_equal(colorize(hint_model, photo, hints=hints), plain)
    pred = predict(hint_model, [photo, photo], [None, []])
    assert all(p.hints == () for p in pred)
    np.testing.assert_array_equal(pred[0].raw, predict(tiny_model, [photo])[0].raw)


def test_hints_on_a_model_without_hint_inputs_are_refused(tiny_model):
    photo = grey_photo(40, 50)
    with pytest.raises(ColorizeError) as excinfo:
        colorize(tiny_model, photo, hints=[(1, 2, "#ff0000")])
    assert str(excinfo.value) == "hints: model tiny-test does not take colour hints"
    with pytest.raises(ColorizeError):
        predict(tiny_model, [photo, photo], [None, [(1, 2, (0, 0, 0))]])
    np.testing.assert_array_equal(colorize(tiny_model, photo, hints=[]), colorize(tiny_model, photo))


def test_bad_hints_are_refused_before_the_network_runs(hint_model):
    photo = grey_photo(40, 50)
    with pytest.raises(ColorizeError) as excinfo:
        colorize(hint_model, photo, hints=[(50, 0, "#ff0000")])
    assert str(excinfo.value) == "hints: hint 50,0,#ff0000 is outside the 50x40 photo (x must be 0..49, y 0..39)"
    with pytest.raises(ColorizeError):
        colorize(hint_model, photo, hints=[(0, 0, "#ff00")])
    with pytest.raises(ValueError):
        predict(hint_model, [photo, photo], [[(0, 0, GREEN)]])  # one list per image


class CountingModel:
    """Wraps a ColorModel and counts network runs (with or without hint maps)."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def run(self, L_batch, hint_ab=None, hint_mask=None):
        self.calls.append((L_batch.shape, hint_ab is not None))
        return self.model.run(L_batch, hint_ab, hint_mask)


def test_same_size_images_share_one_plain_run_and_hinted_ones_run_once_more(hint_model):
    counting = CountingModel(hint_model)
    photos = [grey_photo(40, 64, seed=s) for s in range(3)] + [grey_photo(64, 40, seed=3)]
    hints = [None, [(10, 10, GREEN), (60, 30, "#3366cc")], [], [(39, 63, (255, 0, 0))]]
    preds = predict(counting, photos, hints)
    assert sorted(counting.calls) == [
        ((1, 32, 64), True),
        ((1, 64, 32), False),
        ((1, 64, 32), True),
        ((3, 32, 64), False),
    ]
    for photo, h, p in zip(photos, hints, preds, strict=True):
        alone = predict(hint_model, [photo], [h])[0]
        np.testing.assert_allclose(p.raw, alone.raw, atol=1e-5)
        assert (p.pinned is None) == (alone.pinned is None) == (not h)
        if h:
            np.testing.assert_allclose(p.pinned.raw, alone.pinned.raw, atol=1e-5)
        assert p.hints == check_hints(h, photo.shape[1], photo.shape[0])
    np.testing.assert_allclose(preds[1].raw, predict(hint_model, [photos[1]])[0].raw, atol=1e-5)
    assert not np.allclose(preds[1].pinned.raw, preds[1].raw)
    counting.calls.clear()
    predict(counting, photos[:3])
    assert counting.calls == [((3, 32, 64), False)]  # no hints: no hint maps built


@pytest.mark.parametrize("kind", ["plain", "hints"])
def test_render_at_any_vividness_without_rerunning_the_network(hint_model, tiny_model, kind):
    model = CountingModel(hint_model if kind == "hints" else tiny_model)
    photo = grey_photo(97, 301)
    hints = [[(300, 48, GREEN)]] if kind == "hints" else None
    pred = predict(model, [photo], hints)[0]
    runs = 2 if kind == "hints" else 1  # with hints: once without them, once with them
    assert len(model.calls) == runs
    outs = {v: render(model, pred, v) for v in (0.0, 1.0, 2.0)}
    assert len(model.calls) == runs
    chroma = {v: float(np.hypot(*ab_of(o)[:, :200].transpose(2, 0, 1)).mean()) for v, o in outs.items()}
    assert chroma[0.0] + 2 < chroma[1.0] < chroma[2.0] - 2, chroma
    np.testing.assert_allclose(lightness(outs[0.0]), lightness(outs[2.0]), atol=1.0)
    if kind == "hints":
        for out in outs.values():  # the hint holds at every vividness
            near = ab_of(out)[44:53, 292:]
            assert near[..., 0].mean() < -20 and near[..., 1].mean() > 15
    np.testing.assert_array_equal(outs[1.0], colorize(model.model, photo, 1.0, hints=hints and hints[0]))


def test_threads_sharing_a_hint_model_match_sequential_results(hint_model):
    photos = [grey_photo(40 + 8 * i, 56 + 4 * i, seed=i) for i in range(6)]
    hints = [[(i, 2 * i, GREEN), (50, 30, "#aa3300")] for i in range(6)]
    sequential = [colorize(hint_model, p, hints=h) for p, h in zip(photos, hints, strict=True)]
    results = [None] * 6
    start = threading.Barrier(3)

    def work(k):
        start.wait()
        for i in range(k, 6, 3):
            results[i] = colorize(hint_model, photos[i], hints=hints[i])

    with ThreadPoolExecutor(3) as pool:
        runs = [pool.submit(work, k) for k in range(3)]
    for run in runs:
        run.result()  # a thread's exception is raised here
    for got, want in zip(results, sequential, strict=True):
        np.testing.assert_array_equal(got, want)


def test_predict_L_takes_hints_too(hint_model):
    L = lightness(grey_photo(97, 301))
    a = predict_L(hint_model, [L], [[(300, 48, GREEN)]])[0]
    b = predict(hint_model, [gray_rgb(L)], [[(300, 48, GREEN)]])[0]
    assert a.hints == (Hint(300, 48, GREEN),)
    np.testing.assert_allclose(a.raw, b.raw, atol=1e-3)


def test_video_on_a_hint_model_is_colorized_without_hints(hint_model, tiny_model, tmp_path):
    src = tmp_path / "gray.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=96x64:rate=20",
        "-t",
        "0.5",
        "-vf",
        "format=gray",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        src,
    )
    colorize_video(src, tmp_path / "hints.mp4", hint_model)
    colorize_video(src, tmp_path / "plain.mp4", tiny_model)
    hinted, plain = decode(tmp_path / "hints.mp4"), decode(tmp_path / "plain.mp4")
    assert len(hinted) == 10
    np.testing.assert_array_equal(hinted, plain)


def test_bundled_model_follows_a_hint_if_it_takes_hints(bundled_model):
    """Runs once the bundled model is a hint-taking one: a hint pulls the predicted colour at its point
    toward the hint's colour, and far less so in the opposite corner."""
    if not bundled_model.takes_hints:
        pytest.skip("the bundled model takes no colour hints")
    photo, point, colour = grey_photo(120, 160), (60, 80), (30, 170, 30)
    want = np.array(Hint(0, 0, colour).ab, np.float32)
    bare, hinted = (
        render_ab(bundled_model, predict(bundled_model, [photo], h)[0], 1.0) for h in (None, [[(*point, colour)]])
    )
    here = (slice(point[1] - 3, point[1] + 4), slice(point[0] - 3, point[0] + 4))
    before, after = (np.linalg.norm(x[here].mean((0, 1)) - want) for x in (bare, hinted))
    assert after < before - 10, (before, after)
    far = np.abs(hinted[-10:, -10:] - bare[-10:, -10:]).mean()
    assert far < np.abs(hinted[here] - bare[here]).mean() / 3


# ---------------------------------------------------------------- the command line


def grey_png_file(path, h, w):
    path.write_bytes(encoded(Image.fromarray(to_uint8(grey_photo(h, w))), "PNG"))
    return path


def test_cli_hint_end_to_end(hint_model_dir, tmp_path):
    grey_png_file(tmp_path / "in.png", 97, 301)
    bare = run_cli(["image", "in.png", "-o", "bare.png", "--model", "tiny-hints"], hint_model_dir, tmp_path)
    proc = run_cli(
        [
            "image",
            "in.png",
            "-o",
            "hinted.png",
            "--model",
            "tiny-hints",
            "--hint",
            "300,48,#00ff00",
            "--hint",
            "0,0,#3366cc",
        ],
        hint_model_dir,
        tmp_path,
    )
    assert bare.returncode == 0 and proc.returncode == 0, proc.stderr
    hinted, plain = load_image(tmp_path / "hinted.png").rgb, load_image(tmp_path / "bare.png").rgb
    assert hinted.shape == (97, 301, 3)
    near = ab_of(hinted)[40:57, 285:]
    assert near[..., 0].mean() < -25 and near[..., 1].mean() > 20
    np.testing.assert_array_equal(hinted[60:, 40:200], plain[60:, 40:200])  # far from both hints
    assert np.abs(hinted[:10, :10] - plain[:10, :10]).max() > 0.05  # the second hint did something


@pytest.mark.parametrize(
    "args,words",
    [
        (["in.png", "--hint", "1,2"], "--hint: '1,2' is not X,Y,#RRGGBB (for example 120,45,#3366cc)"),
        (["in.png", "--hint", "5,5,#ff0000", "--hint", "5,5,orange"], "--hint: colour 'orange' is neither #RRGGBB"),
        (["in.png", "--hint", "301,5,#ff0000"], "in.png: hint 301,5,#ff0000 is outside the 301x97 photo"),
        (
            ["in.png", "--hint", "5,5,#ff0000", "--model", "tiny-test"],
            "--hint: model tiny-test does not take colour hints",
        ),
        (["in.png", "in2.png", "--hint", "5,5,#ff0000"], "--hint: hint coordinates belong to one image"),
        ([".", "--hint", "5,5,#ff0000"], "--hint: hint coordinates belong to one image"),
    ],
)
def test_cli_hint_errors_are_one_line_and_write_nothing(hint_model_dir, tmp_path, args, words):
    grey_png_file(tmp_path / "in.png", 97, 301)
    grey_png_file(tmp_path / "in2.png", 20, 30)
    proc = run_cli(["image", *args, "-o", "out"], hint_model_dir, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if words in line]) == 1, proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_models_says_which_take_hints(hint_model_dir, tmp_path):
    proc = run_cli(["models"], hint_model_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr
    hints_part, plain_part = proc.stdout.split("tiny-test")
    assert (
        "tiny-hints" in hints_part and "colour hints: yes (inputs hint_ab and hint_mask, 3x3 px per hint" in hints_part
    )
    assert "colour hints: no" in plain_part and "colour hints: yes" not in plain_part
    assert json.loads((hint_model_dir / "a-hints" / "model.json").read_text())["hints"]["patch"] == 3
