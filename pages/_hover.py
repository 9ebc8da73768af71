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
``MAX_THUMBNAILS`` per chart (about 1.5 kB each), made by
:mod:`galaxysd_core.thumbnails`.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from galaxysd_core.thumbnails import THUMB_SIZE

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


def hover_thumbnails(chart_key: str, thumbs: Mapping[str, str]) -> None:
    """Show ``thumbs`` beside the cursor when hovering the ``st.plotly_chart`` keyed ``chart_key``.

    Call it next to the chart (before or after); it draws nothing in the page's flow.
    """
    _component(
        key=f"{chart_key}_hover",
        data={"chart": chart_key, "thumbs": dict(thumbs), "id": THUMB_ID, "size": THUMB_SIZE},
    )
