"""Widgets of the Compose page: presets (Metrics, History, PNG-info), the tag picker,
the prompt box with its live token count, the live preview and the batch tiles."""

from __future__ import annotations

import io
from pathlib import Path

import streamlit as st

from galaxysd_core.diffusion import SCHEDULERS, compose, read_png_settings
from galaxysd_core.diffusion.checks import recommended_settings
from galaxysd_core.diffusion.pnginfo import SETTINGS_KEYS
from galaxysd_core.errors import GalaxySDError
from galaxysd_core.gz2 import PHRASES
from galaxysd_core.prompts import parse_weighted
from pages import _common as common
from pages._common import Keys

# Widget ranges, so a preset (an A1111 PNG) is clamped into what the widgets take.
RANGES = {
    "steps": (5, 60),
    "guidance": (1.0, 12.0),
    "guide_below": (100, 1000),
    "eps_scale": (1.0, 1.1),
    "guide_weight": (1.0, 4.0),
    "pag_scale": (0.0, 3.0),
    "pag_above": (0, 900),
    "strength": (0.05, 1.0),
    "seed": (0, 2**31 - 1),
}


def apply_preset() -> None:
    """Defaults, then settings sent here once (Metrics' Pareto plot, History, PNG-info)."""
    state = st.session_state
    for key, value in compose.DEFAULT_SETTINGS.items():
        state.setdefault(f"compose_{key}", value)
    preset = state.pop(Keys.COMPOSE_PRESET, None)
    if not preset:
        return
    keys = ("prompt", "negative_prompt", "seed", "steps", "guidance", "strength", "scheduler")
    for key in (*keys, "eps_scale", "guide_weight", "pag_scale"):
        value = preset.get(key)  # None or NaN: the source does not say
        if value is None or value != value or (key == "scheduler" and value not in SCHEDULERS):
            continue
        if key in RANGES:
            lo, hi = RANGES[key]
            value = type(lo)(min(max(value, lo), hi))
        state[f"compose_{key}"] = value
    interval = preset.get("guidance_interval")  # ours: [LOW, HIGH] or None (every step)
    if "guidance_interval" in preset:
        # The slider holds only (0, HIGH) in steps of 50; any other interval reads as every step.
        lo, hi = RANGES["guide_below"]
        below = round(interval[1] / 50) * 50 if interval and interval[0] == 0 else hi
        state["compose_guide_below"] = int(min(max(below, lo), hi))
    if "pag_interval" in preset:
        # The slider holds only (LOW, 1000) in steps of 50; any other interval reads as every step.
        pag = preset["pag_interval"]
        lo, hi = RANGES["pag_above"]
        above = round(pag[0] / 50) * 50 if pag and pag[1] >= 1000 else lo
        state["compose_pag_above"] = int(min(max(above, lo), hi))
    if preset.get("reference"):
        state[Keys.COMPOSE_REFERENCE] = str(preset["reference"])
        state["compose_ref"] = "sent image"
    state["compose_built"] = None
    st.info(f"Settings from {preset.get('source', 'Metrics')}.")


def png_info() -> None:
    """Drop a PNG (ours or A1111's): its settings go into the form."""
    with st.expander("PNG info: load settings from an image"):
        dropped = st.file_uploader("PNG made here or by AUTOMATIC1111", type=["png"])
        if dropped is None:
            return
        try:
            settings = read_png_settings(io.BytesIO(dropped.getvalue()))
        except GalaxySDError as exc:
            st.error(f"{dropped.name}: {exc}")
            return
        st.json({k: settings.get(k) for k in (*SETTINGS_KEYS, "source")})
        if st.button("Load these settings", key="compose_png_load"):
            st.session_state[Keys.COMPOSE_PRESET] = {**settings, "source": dropped.name}
            st.rerun()


def recommended_button(model: Path) -> None:
    """Offer the sampler settings the active model's card recommends, if it names any."""
    try:
        settings = recommended_settings(model)
    except GalaxySDError as exc:
        st.warning(f"Model card ignored: {exc}")
        return
    if not settings:
        return
    shown = {k: v for k, v in settings.items() if k != "why"}
    if st.button(
        "Use this model's recommended settings",
        key="compose_recommended",
        help=f"{', '.join(f'{k} {v}' for k, v in shown.items())}. {settings.get('why', '')}",
    ):
        st.session_state[Keys.COMPOSE_PRESET] = {**shown, "source": "the model card"}
        st.rerun()


def picker() -> tuple[list[str], dict[str, float]]:
    """One select box per GZ2 task on the chosen path, one weight slider per phrase."""
    current = {t: st.session_state.get(f"compose_{t}") for t in compose.TASKS}
    choices = {}
    for task in compose.picker_tasks(current):
        choices[task] = st.selectbox(
            compose.task_question(task),
            [None, *compose.task_options(task)],
            key=f"compose_{task}",
            format_func=lambda t: "(any)" if t is None else PHRASES.get(t, t.replace("_", " ")),
        )
    tags = compose.chosen_tags(choices)
    weights = {
        t: st.slider(f"Weight of '{PHRASES[t]}'", 0.5, 2.0, 1.0, 0.05, key=f"compose_w_{t}")
        for t in tags
        if t in PHRASES
    }
    return tags, weights


@st.cache_resource(max_entries=2, show_spinner=False)
def _tokenizer(model: str):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(Path(model) / "tokenizer")


def prompt_box(built: str) -> str | None:
    """The editable prompt (rewritten when the picker changes), checked live: None if unusable."""
    state = st.session_state
    if state.get("compose_built") != built:
        # compose_built is None after a preset: its prompt stays until the picker changes.
        if state.get("compose_built") is not None or "compose_prompt" not in state:
            state["compose_prompt"] = built
        state["compose_built"] = built
    prompt = st.text_area(
        "Prompt (editable; {text:weight} emphasises a span)",
        key="compose_prompt",
    )
    try:
        used = compose.check_prompt(_tokenizer(str(common.active_model())), prompt)
    except GalaxySDError as exc:
        st.error(f"Prompt error: {exc}")
        return None
    st.caption(
        f"{compose.describe_spans(parse_weighted(prompt))} · {used}/{compose.MAX_TOKENS} tokens"
        " · `A AND B :0.6` guides each image by both prompts"
    )
    return prompt
