"""Compose: pick a morphology along the GZ2 tree, weight its tags, see it live, generate."""

from __future__ import annotations

import secrets

import streamlit as st

from galaxysd_core.diffusion import SCHEDULERS, compose, generate
from galaxysd_core.diffusion.history import batch_folder
from galaxysd_core.paths import guide_for
from pages import _cache
from pages import _common as common
from pages import _compose_form as ui
from pages import _compose_view as view
from pages._common import Keys

MODE_LABELS = {
    "none": "text only",
    "random with the same tags": "random real galaxy with these tags",
    "pick one": "pick a real galaxy",
    "sent image": "image sent from History",
}


def _roll() -> None:
    st.session_state["compose_seed"] = secrets.randbelow(10**6)


ui.apply_preset()
st.title("Compose")
st.caption(
    f"Model: {common.label_for(common.active_model())}. Only valid GZ2 combinations are offered."
)
pool = _cache.real_pool(common.active_dataset())
left, right = st.columns(2)
with left:
    tags, weights = ui.picker()
    ui.png_info()
    live_slot = st.container()  # filled once every widget is read
with right:
    prompt = ui.prompt_box(compose.prompt_for_choice(tags, weights))
    negative = st.text_input("Negative prompt", key="compose_negative_prompt")
    matches = compose.same_tag_images(pool, tags)
    sent = st.session_state.get(Keys.COMPOSE_REFERENCE)
    modes = [m for m in compose.REFERENCE_MODES if (m != "sent image" or sent)]
    if st.session_state.get("compose_ref") not in modes:
        st.session_state["compose_ref"] = "none"
    mode = st.radio(
        "Start from", modes, horizontal=True, key="compose_ref", format_func=MODE_LABELS.get
    )
    picked = common.confine(sent) if mode == "sent image" else None
    if mode == "pick one" and matches:
        picked = st.selectbox("Reference", matches[:200], format_func=lambda p: p.name)
    elif mode in ("pick one", "random with the same tags") and not matches:
        st.caption("No real image carries these tags; starting from noise.")
    if mode == "pick one" and picked is not None:
        st.image(str(picked), width=96, caption=picked.name)
    elif picked is not None:  # shown beside the result (read only when generating)
        st.caption(f"Reference sent from History: {picked.name}")
    ui.recommended_button(common.active_model())
    c1, c2, c3 = st.columns(3)
    scheduler = c1.selectbox("Sampler", SCHEDULERS, key="compose_scheduler")
    steps = c2.slider("Steps", *ui.RANGES["steps"], key="compose_steps")
    guidance = c3.slider("Guidance", *ui.RANGES["guidance"], step=0.5, key="compose_guidance")
    guide_below = st.slider(
        "Guide only while t ≤",
        *ui.RANGES["guide_below"],
        step=50,
        key="compose_guide_below",
        help="Classifier-free guidance on the late, low-noise steps only (1000: every "
        "step); the early steps follow the prompt unguided, which keeps more of the "
        "sky's variety (Kynkäänniemi et al. 2024). From a reference only the last "
        "steps (strength) run.",
    )
    interval = None if guide_below >= 1000 else (0, int(guide_below))
    eps_scale = st.number_input(
        "Divide the predicted noise by",
        *ui.RANGES["eps_scale"],
        step=0.001,
        format="%.3f",
        key="compose_eps_scale",
        help="Epsilon scaling against exposure bias (Ning et al. 2024): from the second "
        "step on, the model's noise estimate is divided by this (1: off). On the demo "
        "model 1.05-1.1 lowers the Fréchet distance a little (README).",
    )
    guide = guide_for(common.active_model())
    guide_weight = st.slider(
        "Autoguide weight",
        *ui.RANGES["guide_weight"],
        step=0.25,
        key="compose_guide_weight",
        disabled=guide is None,
        help="Steer every step away from the model's weaker partner, a narrower UNet "
        "trained briefly on the same sky (Karras et al. 2024; `galaxysd demo guide`). "
        "1: off. On the demo model 2 with guidance on t ≤ 400 lowers the Fréchet "
        "distance (README)."
        + ("" if guide else " This model has no `<model>-guide` folder beside it."),
    )
    guide_weight = float(guide_weight) if guide is not None else 1.0
    p1, p2 = st.columns(2)
    pag_scale = p1.slider(
        "Perturbed-attention guidance",
        *ui.RANGES["pag_scale"],
        step=0.25,
        key="compose_pag_scale",
        help="Steer away from the model's prediction with its self-attention maps made "
        "the identity (Ahn et al. 2024): strengthens structure. 0: off. On the demo model "
        "1 on the steps t ≥ 400, with guidance on t ≤ 400, gives its best figures (README); "
        "2 and more draw grid artefacts.",
    )
    pag_above = p2.slider(
        "... only while t ≥",
        *ui.RANGES["pag_above"],
        step=50,
        key="compose_pag_above",
        disabled=pag_scale == 0,
        help="Perturbed-attention guidance on the early, high-noise steps only (0: every step).",
    )
    pag_interval = None if pag_above == 0 else (int(pag_above), 1000)
    strength = st.slider(
        "Strength (noise on the reference)",
        *ui.RANGES["strength"],
        step=0.05,
        key="compose_strength",
        disabled=mode == "none",
    )
    c4, c5, c6 = st.columns([2, 1, 2])
    seed = c4.number_input("Seed", *ui.RANGES["seed"], key="compose_seed")
    c5.button(":material/casino:", on_click=_roll, help="Random seed", key="compose_dice")
    batch = c6.slider("Images", 1, 8, key="compose_batch")
    live = st.toggle(
        "Live",
        key="compose_live",
        help="Redraw one quick image (a few DPM++ steps, same "
        "seed) on every change; Generate makes the full-quality batch.",
    )
    go = st.button("Generate", type="primary", disabled=prompt is None)

reference = compose.choose_reference(mode, matches, picked=picked, seed=int(seed))
if live and prompt is not None:
    with live_slot:
        view.live_preview(
            {
                "prompt": prompt,
                "negative_prompt": negative,
                "seed": int(seed),
                "guidance": float(guidance),
                "guidance_interval": interval,
                "eps_scale": float(eps_scale),
                "guide_weight": guide_weight,
                "pag_scale": float(pag_scale),
                "pag_interval": pag_interval,
                "strength": float(strength),
                "reference": None if reference is None else str(reference),
            },
            reference,
            guide=guide,
        )
if go and prompt is not None:
    st.session_state[Keys.COMPOSE_LAST] = None  # an error must not leave the last batch up
    with common.user_errors("generate"):
        made = generate(
            _cache.pipeline(),
            prompt,
            n=int(batch),
            seed=int(seed),
            steps=int(steps),
            guidance=float(guidance),
            guidance_interval=interval,
            eps_scale=float(eps_scale),
            guide=None if guide_weight == 1.0 else _cache.pipeline(guide),
            guide_weight=guide_weight,
            pag_scale=float(pag_scale),
            pag_interval=pag_interval,
            scheduler=scheduler,
            strength=float(strength),
            negative_prompt=negative,
            reference=reference,
            out=batch_folder(common.get_workspace()),
            names=[compose.slug(prompt)],
            model_name=common.label_for(common.active_model()),
            progress=common.ProgressBar("Generating..."),
        )
        real = compose.same_tag_images(pool, tags, limit=4, seed=int(seed))
        st.session_state[Keys.COMPOSE_LAST] = {
            "paths": [str(p) for p in made.paths],
            "seeds": [m["seed"] for m in made.metadata],
            "prompt": prompt,
            "reference": None if reference is None else str(reference),
            "real": [str(p) for p in real],
        }
view.show_batch()
