"""Image thumbnails on hover for ``st.plotly_chart`` scatters.

Plotly's hover labels cannot show images, so a small ``st.components.v2``
component (its JavaScript runs in the app page, not an iframe) finds the chart
by its key, listens to Plotly's ``plotly_hover`` / ``plotly_unhover`` events and
shows the hovered point's thumbnail in a floating ``<img id="galaxysd-hover-thumb">``
beside the cursor. The chart stays an ordinary ``st.plotly_chart``, so box,
lasso and point selection keep working at the same time, and no second copy of
plotly.js is sent to the browser.

Points are matched through ``customdata[0]``: the caller passes
``{str(customdata[0]): data_uri}``. Thumbnails are small base64 JPEGs, at most
``MAX_THUMBNAILS`` per chart (about 1.5 kB each).
"""

from __future__ import annotations

import base64
import functools
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import streamlit as st

#: Most points per chart that get a thumbnail (~1.5 kB each in the page).
MAX_THUMBNAILS = 2000
#: Longest side of a thumbnail, in pixels.
THUMB_SIZE = 80
#: The floating image's id, for styling and for the browser test.
THUMB_ID = "galaxysd-hover-thumb"

_JS = """
export default function (component) {
  const { data } = component;
  const charts = (window.__galaxysdHover = window.__galaxysdHover || {});
  // Streamlit's class for a keyed element: st-key-<key, other characters as "-">
  const key = data.chart.replace(/[^a-zA-Z0-9_-]/g, "-");
  charts[key] = data.thumbs;  // the latest rerun's thumbnails win

  let img = document.getElementById(data.id);
  if (!img) {
    img = document.createElement("img");
    img.id = data.id;
    img.className = "galaxysd-hover-thumb";
    img.alt = "thumbnail of the hovered point";
    // pointer-events none: the image must not steal the hover from the plot
    Object.assign(img.style, {
      position: "fixed", display: "none", zIndex: 100000, pointerEvents: "none",
      width: data.size + "px", height: data.size + "px", objectFit: "contain",
      border: "1px solid #888", borderRadius: "4px", background: "#000",
      boxShadow: "0 2px 8px rgba(0,0,0,.4)",
    });
    document.body.appendChild(img);
  }

  const hide = () => { img.style.display = "none"; img.removeAttribute("src"); };
  const show = (ev) => {
    const thumbs = charts[key] || {};
    const point = (ev.points || []).find((p) => p.customdata != null);
    const id = point && (Array.isArray(point.customdata) ? point.customdata[0] : point.customdata);
    const uri = id == null ? undefined : thumbs[String(id)];
    const mouse = ev.event;
    if (!uri || !mouse) { hide(); return; }
    img.src = uri;
    img.dataset.point = String(id);
    const gap = 16;
    const left = mouse.clientX + gap + data.size > window.innerWidth
      ? mouse.clientX - gap - data.size : mouse.clientX + gap;
    const top = Math.max(0, Math.min(mouse.clientY + gap, window.innerHeight - data.size - 2));
    img.style.left = left + "px";
    img.style.top = top + "px";
    img.style.display = "block";
  };

  // The chart may render after this component, and is redrawn on reruns:
  // attach to every new graph div of the keyed chart, once.
  const attach = () => {
    document.querySelectorAll(".st-key-" + key + " .js-plotly-plot").forEach((gd) => {
      if (gd.__galaxysdHover || typeof gd.on !== "function") return;
      gd.__galaxysdHover = true;
      gd.on("plotly_hover", show);
      gd.on("plotly_unhover", hide);
    });
  };
  attach();
  const timer = setInterval(attach, 500);
  return () => { clearInterval(timer); delete charts[key]; hide(); };
}
"""

_component = st.components.v2.component("galaxysd.hover_thumbnails", js=_JS)


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


def hover_thumbnails(chart_key: str, thumbs: Mapping[str, str]) -> None:
    """Show ``thumbs`` beside the cursor when hovering the ``st.plotly_chart`` keyed ``chart_key``.

    Call it next to the chart (before or after); it draws nothing in the page's flow.
    """
    _component(
        key=f"{chart_key}_hover",
        data={"chart": chart_key, "thumbs": dict(thumbs), "id": THUMB_ID, "size": THUMB_SIZE},
    )
