"""Pins that behave (colorize.reach): a hint of the network's own colour changes nothing, and a hint's
effect stops at an edge of lightness."""

import numpy as np
import pytest

from colorize import ColorModel, predict, render
from colorize.lab import rgb_to_lab
from colorize.pipeline import Pinned, Prediction, render_ab
from colorize.reach import EDGE, OUTSIDE, crossed_lightness, reach_map, strength
from tiny_model import build_tiny_hint_model

FAR = "#20c040"  # green: far from anything the tiny model gives a grey photo


@pytest.fixture(scope="module")
def hint_model(tmp_path_factory):
    return ColorModel(build_tiny_hint_model(tmp_path_factory.mktemp("hints")))


def two_halves(h=96, w=160, left=0.3, right=0.75):
    """A grey photo: a dark left half and a light right half, with a little noise."""
    rgb = np.full((h, w, 3), left, np.float32)
    rgb[:, w // 2 :] = right
    rgb += np.random.default_rng(0).normal(0, 0.004, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1)


def delta_e(a8, b8):
    lab = [rgb_to_lab(x.astype(np.float32) / 255) for x in (a8, b8)]
    return np.linalg.norm(lab[0] - lab[1], axis=-1)


def test_strength_is_zero_for_the_networks_own_colour_and_one_far_from_it():
    assert strength((10.0, 20.0), (10.0, 20.0)) == 0.0
    assert strength((12.0, 21.0), (10.0, 20.0)) == 0.0  # within STILL
    assert strength((40.0, 20.0), (10.0, 20.0)) == 1.0
    assert 0.0 < strength((16.0, 20.0), (10.0, 20.0)) < 1.0


def test_crossed_lightness_is_free_inside_a_region_and_costs_its_edge():
    L = np.full((40, 60), 30.0, np.float32)
    L[:, 30:] = 70.0
    L += np.linspace(0, 0.5, 60, dtype=np.float32)  # gentle shading: free
    seeds = np.zeros(L.shape, bool)
    seeds[18:21, 5:8] = True
    dist = crossed_lightness(L, seeds)
    assert dist[:, :26].max() < 0.5  # the whole dark half is reached, round corners too
    assert dist[:, 34:].min() > 25  # the light half lies past an edge of 40


def test_reach_map_is_one_at_the_hint_and_falls_away_past_an_edge():
    L = np.full((40, 60), 30.0, np.float32)
    L[:, 30:] = 30.0 + 5 * EDGE
    reach = reach_map(L, [(slice(18, 21), slice(5, 8))], [1.0])
    assert reach[:, :26].min() > 0.95 and reach[:, 34:].max() < 0.01
    half = reach_map(L, [(slice(18, 21), slice(5, 8))], [0.5])
    np.testing.assert_allclose(half, reach * 0.5, atol=1e-6)
    assert not reach_map(L, [(slice(18, 21), slice(5, 8))], [0.0]).any()


def test_a_pin_of_the_networks_own_colour_changes_nothing(hint_model):
    photo = two_halves()
    plain = render(hint_model, predict(hint_model, [photo])[0], dtype=np.uint8)
    for x, y in ((20, 40), (120, 70), (79, 10)):
        own = tuple(int(c) for c in plain[y, x])
        pred = predict(hint_model, [photo], [[(x, y, own)]])[0]
        assert pred.pinned is None and len(pred.hints) == 1
        np.testing.assert_array_equal(render(hint_model, pred, dtype=np.uint8), plain)


def test_a_far_pin_colours_its_side_and_stops_at_the_edge(hint_model):
    photo = two_halves()
    plain = render(hint_model, predict(hint_model, [photo])[0], dtype=np.uint8)
    pred = predict(hint_model, [photo], [[(30, 48, FAR)]])[0]
    assert isinstance(pred.pinned, Pinned)
    pinned = render(hint_model, pred, dtype=np.uint8)
    moved = delta_e(plain, pinned)
    assert moved[42:54, 24:36].mean() > 10  # around the pin
    assert moved[:, 90:].max() < 1.0  # past the edge: as without the pin


def test_reach_blends_the_plain_and_hinted_outputs_and_clips_what_it_does_not_reach(hint_model):
    photo = two_halves()
    pred = predict(hint_model, [photo], [[(30, 48, FAR)]])[0]
    plain = render_ab(hint_model, Prediction(pred.L, pred.raw))
    hinted = render_ab(hint_model, Prediction(pred.L, pred.pinned.raw))
    full = Pinned(pred.pinned.raw, np.ones_like(pred.pinned.reach))
    np.testing.assert_allclose(render_ab(hint_model, Prediction(pred.L, pred.raw, pinned=full)), hinted, atol=1e-4)
    none = Pinned(pred.pinned.raw, np.zeros_like(pred.pinned.reach))
    clipped = render_ab(hint_model, Prediction(pred.L, pred.raw, pinned=none))
    change, wanted = np.hypot(*(clipped - plain).transpose(2, 0, 1)), np.hypot(*(hinted - plain).transpose(2, 0, 1))
    assert wanted.max() > 3 * OUTSIDE  # the hint moves some colours a lot ...
    assert change.max() <= OUTSIDE + 1e-3  # ... but where it does not reach, no more than OUTSIDE
    small = wanted < OUTSIDE - 1e-3
    np.testing.assert_allclose(clipped[small], hinted[small], atol=1e-3)  # gentle changes pass
