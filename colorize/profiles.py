"""ICC colour profiles: a photo's own profile applied on the way in, sRGB's written on the way out.

The Lab maths and the network assume sRGB. A photo tagged with another profile (a scanner's
linear-gamma grey, Adobe RGB, Display P3, a press CMYK) read as if it were sRGB comes out too dark
or too light (a linear-gamma grey scan: about 19 L* darker on average than a colour-managed viewer
shows it), so its pixels are converted to sRGB first, with LittleCMS through Pillow's ImageCms.
Every output then says what it is: it carries the sRGB profile.

Grey images (8- and 16-bit, integer or float) go through a 1-D curve sampled from the transform,
so they stay exactly neutral and keep their precision between the curve's 256 points; 8-bit colour
goes through LittleCMS directly; 16-bit colour is colour-managed at 8 bits (Pillow has no 16-bit RGB).
"""

import functools
import io

import numpy as np
from PIL import Image, ImageCms


@functools.cache
def _srgb():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def srgb_icc():
    """The sRGB profile as bytes, for embedding in outputs (588 bytes, made by LittleCMS).

    LittleCMS stamps the profile header with the time it was made; that date is pinned (and the
    optional profile ID, an MD5 over the header, cleared), so equal pixels give equal files in every
    process and on every day (colorize.batch relies on it: outputs are byte-identical however made)."""
    icc = bytearray(_srgb().tobytes())
    icc[24:36] = b"".join(v.to_bytes(2, "big") for v in (2000, 1, 1, 0, 0, 0))  # dateTimeNumber
    icc[84:100] = bytes(16)
    return bytes(icc)


class InputProfile:
    """A photo's embedded profile, opened; `space` is 'GRAY', 'RGB' or 'CMYK' (or another ICC space)."""

    def __init__(self, profile):
        self.profile = profile
        self.space = profile.profile.xcolor_space.strip()

    def grey_curve(self):
        """float32[256]: the sRGB value (0..1) of each 8-bit grey level of this profile's space."""
        ramp = np.arange(256, dtype=np.uint8)[None]
        # Unoptimised: LittleCMS's optimised grey transform is off by up to 7 levels in the shadows
        # (a linear-gamma 1 came out 6, not 13), and 256 pixels cost nothing either way.
        if self.space == "GRAY":
            out = _apply(Image.fromarray(ramp, "L"), self.profile, "L", exact=True)
        else:  # an RGB profile on a grey image: grey means R = G = B in that space
            out = _apply(Image.fromarray(np.repeat(ramp[..., None], 3, axis=2), "RGB"), self.profile, "RGB", exact=True)
        return np.asarray(out, np.float32).mean(axis=2)[0] * np.float32(1 / 255)

    def to_srgb(self, im):
        """An 8-bit RGB or CMYK PIL image in this profile's space -> 8-bit sRGB PIL image."""
        return _apply(im, self.profile, im.mode)


def _apply(im, profile, mode, exact=False):
    flags = ImageCms.Flags.NOOPTIMIZE if exact else ImageCms.Flags.NONE
    transform = ImageCms.buildTransform(profile, _srgb(), mode, "RGB", flags=flags)
    return ImageCms.applyTransform(im, transform)


def open_input_profile(icc):
    """(InputProfile or None, note). None when there is no profile or it already is sRGB (nothing to
    do); a profile LittleCMS cannot read is ignored with a note rather than failing the photo."""
    if not icc:
        return None, ""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = (profile.profile.profile_description or "").strip()
        space = profile.profile.xcolor_space.strip()
    except (OSError, ValueError, ImageCms.PyCMSError):  # LittleCMS refuses it; a garbled description
        return None, "its colour profile is damaged and was ignored (read as sRGB)"
    if description.lower().startswith("srgb") and space == "RGB":
        return None, ""
    return InputProfile(profile), ""


def apply_grey_curve(curve, grey):
    """Grey pixels (uint8, uint16, or float in [0, 1]) through a 256-point curve -> float32 (table
    look-ups: 8-bit exactly, anything deeper at 16 bits, linearly interpolated between the points)."""
    if grey.dtype == np.uint8:
        return curve[grey]
    table = np.interp(
        np.arange(65536, dtype=np.float32) * np.float32(255 / 65535), np.arange(256, dtype=np.float32), curve
    ).astype(np.float32)
    if grey.dtype != np.uint16:
        grey = (np.clip(grey, 0, 1) * np.float32(65535) + np.float32(0.5)).astype(np.uint16)
    return table[grey]
