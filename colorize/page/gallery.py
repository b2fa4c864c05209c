"""The sample gallery: a few public-domain / CC0 black-and-white photos for a one-click trial.

The photos live in the repository's samples/ folder; samples/CREDITS.md says where each came from.
Most are colour photos stored in black and white, their colour originals in samples/colour/ (the
lesson's "reveal the real colours"); one (camera.jpg) is a black-and-white photograph with no colour
original.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..decode import IMAGE_SUFFIXES

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"  # the sample video too (colorize.page.video)

TITLES = {
    "astronaut": "Astronaut",
    "camera": "Photographer",
    "chelsea": "Cat",
    "coffee": "Coffee",
    "rocket": "Rocket launch",
}

# Who made each sample, in words for the page (the full record, with checksums: samples/CREDITS.md).
CREDITS = [
    ("Astronaut", "Eileen Collins, NASA astronaut, from NASA's Great Images database. Public domain."),
    ("Photographer", "A photographer with his camera, by Lav Varshney: black and white, no colour original. CC0."),
    ("Cat", "Chelsea the cat, by Stefan van der Walt. CC0."),
    ("Coffee", "Coffee cup, courtesy of Pikolo Espresso Bar, by Rachel Michetti. CC0."),
    ("Rocket launch", "Launch of DSCOVR on Falcon 9, by SpaceX. Public domain."),
    (
        "Sample video",
        "A slow pan and zoom across the rocket launch photo above (SpaceX, public domain), with a "
        "short tune synthesised for it (so you can hear that the sound is kept), made by "
        "samples/make_sample_video.py.",
    ),
    (
        "",
        "All samples come from the scikit-image project's data folder; the colour ones were turned to "
        "black and white here (How it works can reveal their real colours).",
    ),
]


@dataclass
class Sample:
    name: str  # file name, used like an uploaded file's name
    path: Path
    title: str  # short label for a button

    def read(self):
        return self.path.read_bytes()

    @property
    def colour_path(self) -> Path | None:
        """The colour original this black-and-white sample was made from (samples/colour/), if any."""
        path = self.path.parent / "colour" / self.path.name
        return path if path.is_file() else None


def real_colours(sample, size):
    """A sample's colour original as uint8 RGB of `size` (width, height), or None if it has none."""
    path = sample.colour_path
    if path is None:
        return None
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        if rgb.size != tuple(size):
            rgb = rgb.resize(tuple(size), Image.Resampling.LANCZOS)
        return np.asarray(rgb)


def list_samples(folder=None):
    """The sample photos in `folder` (default: samples/), sorted by name; none if it is missing."""
    folder = Path(folder) if folder else SAMPLES_DIR
    if not folder.is_dir():
        return []
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [Sample(p.name, p, TITLES.get(p.stem, p.stem.replace("_", " ").capitalize())) for p in paths]


def thumbnail(path, width=320, height=240):
    """A photo cropped to one shape (so a row of them lines up), as uint8 RGB."""
    with Image.open(path) as im:
        return np.asarray(ImageOps.fit(im.convert("RGB"), (width, height), Image.Resampling.LANCZOS))
