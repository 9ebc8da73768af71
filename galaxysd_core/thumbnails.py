"""Small base64 JPEG thumbnails of image files, and which rows of a table get one.

The pages show them beside the cursor when a chart's point is hovered
(``pages/_hover.py``); nothing here knows the UI.
"""

from __future__ import annotations

import base64
import functools
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Most points per chart that get a thumbnail (~1.5 kB each in the page).
MAX_THUMBNAILS = 2000
#: Longest side of a thumbnail, in pixels.
THUMB_SIZE = 80


@functools.lru_cache(maxsize=8192)
def _encode(path: str, mtime_ns: int, size: int) -> str:  # mtime_ns: a rewritten file re-encodes
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (2 * size, 2 * size))  # JPEG: decode at reduced scale, much faster
        small = image.convert("RGB")
    small.thumbnail((size, size))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail_uri(path: str | os.PathLike[str], *, size: int = THUMB_SIZE) -> str | None:
    """A base64 JPEG data URI of the image at ``path``, at most ``size`` pixels a side.

    Cached per path and modification time. Returns None when the file is
    missing or not a readable image: a point without a preview is no error.
    """
    try:
        return _encode(str(path), Path(path).stat().st_mtime_ns, size)
    except OSError:  # missing file, or PIL cannot read it (UnidentifiedImageError)
        return None


def pick_rows(n: int, *, first: Sequence[int] = (), limit: int = MAX_THUMBNAILS) -> list[int]:
    """Which of ``n`` rows get a thumbnail: the ``first`` rows, then evenly spread others.

    Parameters
    ----------
    n : int
        Number of rows (points) in the chart.
    first : sequence of int
        Rows to prefer (e.g. generated galaxies on the map), in order.
    limit : int
        Most rows returned.
    """
    chosen = list(dict.fromkeys(int(r) for r in first if 0 <= int(r) < n))[:limit]
    taken = set(chosen)
    rest = [r for r in range(n) if r not in taken]
    room = limit - len(chosen)
    if room > 0 and rest:
        if len(rest) > room:
            # evenly spread over the table, so no region of the map is left bare
            rest = [rest[i] for i in np.linspace(0, len(rest) - 1, room).round().astype(int)]
        chosen += rest
    return sorted(chosen)


def thumbnails(ids: Sequence[object], paths: Sequence[str]) -> dict[str, str]:
    """``{str(id): data_uri}`` for the images that could be read (ids are ``customdata[0]``)."""
    uris = {str(i): thumbnail_uri(p) for i, p in zip(ids, paths, strict=True)}
    return {i: u for i, u in uris.items() if u is not None}
