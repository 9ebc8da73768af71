"""How a reviewer looks at a candidate: display stretch, contrast, invert, zoom, survey links.

A faint dust lane across a smooth galaxy sits a few counts above the sky; a
linear display of an 8-bit cutout hides it. An asinh stretch (Lupton et al.
2004, the SDSS colour images' own) lifts the faint parts while keeping the
core unsaturated; inverting and zooming help the eye further.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from galaxysd_core.errors import ConfigError

STRETCHES = ("linear", "asinh")
#: Survey viewers a candidate can be opened in, by RA/Dec (degrees).
SKYSERVER = "https://skyserver.sdss.org/dr18/VisualTools/navi"
LEGACY_SURVEY = "https://www.legacysurvey.org/viewer"


def adjust(
    image: Any,
    *,
    stretch: str = "linear",
    contrast: float = 1.0,
    invert: bool = False,
    zoom: float = 1.0,
) -> Any:
    """A display copy of a cutout; the file is never changed.

    Parameters
    ----------
    image : PIL.Image.Image or path
    stretch : {"linear", "asinh"}, default "linear"
        ``asinh`` maps ``x`` in [0, 1] to ``asinh(a x) / asinh(a)`` with
        ``a = 10 * contrast``; ``linear`` to ``contrast * x`` (clipped).
    contrast : float, default 1.0
        0.1-20.
    invert : bool, default False
        Dark galaxy on a light sky.
    zoom : float, default 1.0
        1-8: the central ``1 / zoom`` of the image, enlarged back to its size.

    Returns
    -------
    PIL.Image.Image
        RGB, the input's size.

    Raises
    ------
    ConfigError
        Unknown stretch, or contrast / zoom out of range (naming the value).
    """
    import numpy as np
    from PIL import Image

    if stretch not in STRETCHES:
        raise ConfigError(f"stretch must be one of {STRETCHES}, got {stretch!r}")
    if not (isinstance(contrast, int | float) and 0.1 <= contrast <= 20):
        raise ConfigError(f"contrast must be in 0.1-20, got {contrast!r}")
    if not (isinstance(zoom, int | float) and 1 <= zoom <= 8):
        raise ConfigError(f"zoom must be in 1-8, got {zoom!r}")
    if isinstance(image, str | Path):
        with Image.open(image) as img:
            image = img.convert("RGB")
    rgb = image.convert("RGB")
    width, height = rgb.size
    if zoom > 1:
        w, h = max(1, round(width / zoom)), max(1, round(height / zoom))
        left, top = (width - w) // 2, (height - h) // 2
        rgb = rgb.crop((left, top, left + w, top + h)).resize(
            (width, height), Image.Resampling.LANCZOS
        )
    x = np.asarray(rgb, dtype=np.float64) / 255.0
    if stretch == "asinh":
        a = 10.0 * contrast
        x = np.arcsinh(a * x) / math.asinh(a)
    else:
        x = np.clip(contrast * x, 0.0, 1.0)
    if invert:
        x = 1.0 - x
    return Image.fromarray(np.rint(x * 255).astype(np.uint8))


def survey_links(ra: float | None, dec: float | None) -> dict[str, str]:
    """Links to the SDSS SkyServer navigator and the Legacy Survey viewer at RA/Dec.

    Returns
    -------
    dict
        ``{"SDSS SkyServer": url, "Legacy Survey": url}``; empty when RA or Dec
        is missing or not a finite position on the sky.
    """
    try:
        ra, dec = float(ra), float(dec)
    except (TypeError, ValueError):
        return {}
    if not (math.isfinite(ra) and math.isfinite(dec) and 0 <= ra < 360 and -90 <= dec <= 90):
        return {}
    where = {"ra": f"{ra:.6f}", "dec": f"{dec:.6f}"}
    return {
        "SDSS SkyServer": f"{SKYSERVER}?{urlencode({**where, 'scale': '0.2'})}",
        "Legacy Survey": f"{LEGACY_SURVEY}?{urlencode({**where, 'layer': 'ls-dr10', 'zoom': 16})}",
    }
