"""Prompt switching in time: one prompt for the early (noisy) steps, another for the late ones.

The early steps of a sampler fix an image's layout and the late ones its
fine structure (``benchmarks/trajectory.py``: v6's one-step denoiser keeps a
lane at t = 200 and gives a smooth body at t = 600). So a D-ETG might be
drawn as a smooth round host for t >= T and a dust lane on top below T, the
"[from:to:when]" prompt editing of AUTOMATIC1111's web UI. This diagnosis
switches a prompt's text embedding for another's while t >= T, inside the
model's own sampling path (``generate()`` with its own loop; the UNet's
forward swaps the conditional rows), and judges the images as
``benchmarks/dust_lanes.py`` does: classifiers' smooth / dust lane calls,
centre R/B and the band through the centre (``lane_depth``). A prototype,
not a sampling option: see "Prompt switching in time" in docs/generator-v2.md.

    python benchmarks/prompt_switch.py --model assets/demo-model [--n 16] [--recommended]
        [--late-prompt P] [--sky SKY] [--sheet FILE]
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

import torch
from dust_lanes import NAMES, centre_colour, save_sheet, sky_detgs

from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.gz2 import DETG_PROMPTS
from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn
from galaxysd_core.metrics.morphology import lane_share
from galaxysd_core.prompts import encode_weighted

HOST = "sdss, smooth, completely round galaxy"  # a training caption: smooth bodies
SWITCHES = (None, 600, 400, 200)  # None: the late prompt on every step


@contextmanager
def early_prompt(pipe, late: str, early: str, switch_t: float):
    """Inside, the UNet sees ``early``'s embedding wherever ``late``'s is fed while t >= switch_t."""
    late_emb = encode_weighted(pipe.tokenizer, pipe.text_encoder, late)[0]
    early_emb = encode_weighted(pipe.tokenizer, pipe.text_encoder, early)[0]
    forward = pipe.unet.forward

    def switched(sample, timestep, encoder_hidden_states, *args, **kwargs):
        if float(timestep) >= switch_t:
            rows = encoder_hidden_states.clone()
            for i in range(rows.shape[0]):
                if torch.equal(rows[i], late_emb):
                    rows[i] = early_emb
            encoder_hidden_states = rows
        return forward(sample, timestep, encoder_hidden_states, *args, **kwargs)

    pipe.unet.forward = switched
    try:
        yield
    finally:
        del pipe.unet.forward  # back to the class's own forward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="diffusers folder")
    parser.add_argument("--n", type=int, default=16, help="images per row")
    parser.add_argument(
        "--recommended",
        action="store_true",
        help="40 steps, CFG on t <= 400, PAG 1 on t >= 400 (else 20 steps, CFG on every step)",
    )
    parser.add_argument(
        "--late-prompt", default=DETG_PROMPTS[0], help="the prompt below T (default: Fig. 7's)"
    )
    parser.add_argument("--sky", help="mock sky: its D-ETGs head the sheet")
    parser.add_argument("--sheet", help="PNG: the first 8 images of every row, centres enlarged")
    args = parser.parse_args()

    pipe = load_pipeline(args.model)
    classifiers = load_feature_cnn(DEFAULT_FOLDER)
    sampling = {"steps": 20, "guidance_interval": (0, 1000)}
    if args.recommended:
        sampling = {
            "steps": 40,
            "guidance_interval": (0, 400),
            "pag_scale": 1.0,
            "pag_interval": (400, 1000),
        }
    rows = [] if args.sky is None else [("sky D-ETGs", sky_detgs(args.sky))]
    late = args.late_prompt
    print(f"early prompt {HOST!r}, late prompt {late!r}, {sampling}")
    print("row                         centre R/B  band  both sides  dust lane  smooth  both")
    for label, prompt, switch in [("host alone", HOST, None)] + [
        (f"late prompt, t >= {t} host" if t else "late prompt alone", late, t) for t in SWITCHES
    ]:
        with torch.inference_mode():
            if switch is None:
                images = generate(pipe, prompt, n=args.n, seed=1000, batch_size=16, **sampling)
            else:
                with early_prompt(pipe, prompt, HOST, switch):
                    images = generate(pipe, prompt, n=args.n, seed=1000, batch_size=16, **sampling)
        images = images.images
        pred = classifiers.predict(images)
        dust = pred[:, NAMES.index("dust_lane")]
        smooth = ~pred[:, NAMES.index("features")]
        print(
            f"{label:28s}{centre_colour(images):10.2f}{lane_share(images):6.2f}"
            f"{lane_share(images, both_sides=True):12.2f}{dust.mean():11.2f}"
            f"{smooth.mean():8.2f}{(dust & smooth).mean():6.2f}"
        )
        rows.append((label, images))
    if args.sheet:
        save_sheet(rows, args.sheet)


if __name__ == "__main__":
    main()
