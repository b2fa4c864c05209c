"""Image metrics that more than one benchmark reports, defined once so that one name is one metric."""

import numpy as np
from numpy.typing import NDArray


def colourfulness(rgb: NDArray[np.uint8]) -> float:
    """Hasler and Suesstrunk (2003) colourfulness, "CF", of one 0..255 RGB image, as DDColor computes it:
    on |R - G| and |(R + G) / 2 - B| (absolute values), std and mean over the pixels."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = np.abs(r - g), np.abs(0.5 * (r + g) - b)
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
