"""Compose: pick a morphology along the GZ2 tree, weight its tags, generate galaxies."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import streamlit as st

from galaxysd_core.diffusion import SCHEDULERS, compose, generate
from galaxysd_core.gz2 import PHRASES
from galaxysd_core.prompts import parse_weighted
from pages import _common as common
from pages._common import Keys


def _roll() -> None:
    st.session_state["compose_seed"] = secrets.randbelow(10**6)


def _apply_preset() -> None:
    """Defaults, then settings sent from the Metrics page's Pareto plot (once)."""
    for key, value in compose.DEFAULT_SETTINGS.items():
        st.session_state.setdefault(f"compose_{key}", value)
    preset = st.session_state.pop(Keys.COMPOSE_PRESET, None)
    if preset:
        for key in ("prompt", "guidance", "strength", "steps", "scheduler"):
            st.session_state[f"compose_{key}"] = preset[key]
        st.session_state["compose_built"] = None
        st.info(f"Settings from {preset.get('source', 'Metrics')}.")


def _picker() -> tuple[list[str], dict[str, float]]:
    """One select box per GZ2 task on the chosen path, one weight slider per tag."""
    current = {t: st.session_state.get(f"compose_{t}") for t in compose.TASKS}
    choices = {
        task: st.selectbox(
            compose.task_question(task), [None, *compose.task_options(task)], key=f"compose_{task}",
            format_func=lambda t: "(any)" if t is None else PHRASES.get(t, t.replace("_", " ")),
        )
        for task in compose.picker_tasks(current)
    }  # fmt: skip
    tags = compose.chosen_tags(choices)
    weights = {
        t: st.slider(f"Weight of '{PHRASES[t]}'", 0.5, 2.0, 1.0, 0.05, key=f"compose_w_{t}")
        for t in tags
        if t in PHRASES
    }
    return tags, weights


def _prompt(built: str) -> str | None:
    """The editable prompt: rewritten when the picker changes, parsed live."""
    state = st.session_state
    if state.get("compose_built") != built:
        # compose_built is None after a preset: its prompt stays until the picker changes.
        if state.get("compose_built") is not None or "compose_prompt" not in state:
            state["compose_prompt"] = built
        state["compose_built"] = built
    prompt = st.text_area(
        "Prompt (editable; {text:weight} emphasises a span)", key="compose_prompt"
    )
    try:
        st.caption(compose.describe_spans(parse_weighted(prompt)))
    except ValueError as exc:
        st.error(f"Prompt error: {exc}")
        return None
    return prompt


def _show_last() -> None:
    paths, real = st.session_state.get(Keys.COMPOSE_LAST, ([], []))
    paths = [Path(p) for p in paths if Path(p).exists()]
    if not paths:
        return
    st.subheader("Generated")
    cols = st.columns(4)
    for i, path in enumerate(paths):
        with cols[i % 4]:
            st.image(str(path), caption=path.stem, width="stretch")
            st.download_button(
                "PNG",
                path.read_bytes(),
                path.name,
                "image/png",
                key=f"dl_{path}",
                on_click="ignore",
            )
    if real:
        st.subheader("Real galaxies with the same tags")
        st.image(real, width=128)


_apply_preset()
st.title("Compose")
st.caption(
    f"Model: {common.label_for(common.active_model())}. Only valid GZ2 combinations are offered."
)
pool = common.real_pool(common.active_dataset())
left, right = st.columns(2)
with left:
    tags, weights = _picker()
with right:
    prompt = _prompt(compose.prompt_for_choice(tags, weights))
    matches = compose.same_tag_images(pool, tags)
    modes = compose.REFERENCE_MODES if pool else ("none",)
    mode = st.radio("Start from a real image", modes, horizontal=True, key="compose_ref")
    picked = None
    if mode == "pick one" and matches:
        picked = st.selectbox("Reference", matches[:200], format_func=lambda p: p.name)
        st.image(str(picked), width=96)
    elif mode != "none" and not matches:
        st.caption("No real image carries these tags; starting from noise.")
    strength = st.slider(
        "Strength (noise on the reference)", 0.05, 1.0, step=0.05, key="compose_strength"
    )
    c1, c2, c3 = st.columns(3)
    scheduler = c1.selectbox("Sampler", SCHEDULERS, key="compose_scheduler")
    steps = c2.slider("Steps", 5, 60, key="compose_steps")
    guidance = c3.slider("Guidance", 1.0, 12.0, step=0.5, key="compose_guidance")
    c4, c5, c6 = st.columns([2, 1, 2])
    seed = c4.number_input("Seed", 0, 2**31 - 1, key="compose_seed")
    c5.button(":material/casino:", on_click=_roll, help="Random seed", key="compose_dice")
    batch = c6.slider("Images", 1, 8, key="compose_batch")
    go = st.button("Generate", type="primary", disabled=prompt is None)

if go and prompt is not None:
    reference = compose.choose_reference(mode, matches, picked=picked, seed=int(seed))
    out = common.get_workspace().cache / "compose" / time.strftime("%Y%m%d-%H%M%S")
    with common.user_errors("generate"):
        made = generate(
            common.pipeline(), prompt, n=int(batch), seed=int(seed), steps=int(steps),
            guidance=float(guidance), scheduler=scheduler, strength=float(strength),
            reference=reference, out=out, model_name=common.label_for(common.active_model()),
            progress=common.ProgressBar("Generating..."),
        )  # fmt: skip
        st.session_state.setdefault(Keys.COMPOSE_GALLERY, []).extend(str(p) for p in made.paths)
        real = compose.same_tag_images(pool, tags, limit=4, seed=int(seed))
        st.session_state[Keys.COMPOSE_LAST] = ([str(p) for p in made.paths], [str(p) for p in real])
_show_last()
gallery = [p for p in st.session_state.get(Keys.COMPOSE_GALLERY, []) if Path(p).exists()]
if gallery:
    with st.expander(f"Session gallery ({len(gallery)} images)"):
        st.image(gallery[::-1][:32], width=96)
