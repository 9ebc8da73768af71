"""Does a model draw the unseen class? Feature rates of images from the D-ETG prompts.

The paper's D-ETG prompts (``sdss, {completely round:1.2} galaxy, {dust lane:1.3}``
and ``sdss, in-between round galaxy, {dust lane:1.3}``) ask for a smooth early
type crossed by a dust lane, a combination kept out of diffusion training.
For each model, side by side in one run, ``--n`` images per prompt are
generated with the same seeds and judged by the shipped consistency
classifiers: the share called dust lane, smooth (not "features"), edge-on,
and both smooth and dusty (what a D-ETG needs). Edge-on disks carry most
training dust lanes, so "edge-on" shows a model that answers "dust lane" by
drawing a disk instead. A control prompt without the dust lane
(``sdss, smooth, in-between round galaxy``) gives the classifiers' false-alarm
rate on the same model.

    python benchmarks/dust_lanes.py --model assets/demo-model --model RUN/model [--n 32]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn
from galaxysd_core.metrics.features import FEATURES

PROMPTS = {
    "round + dust": "sdss, {completely round:1.2} galaxy, {dust lane:1.3}",
    "in-between + dust": "sdss, in-between round galaxy, {dust lane:1.3}",
    "control (no dust)": "sdss, smooth, in-between round galaxy",
}
NAMES = [f.name for f in FEATURES]


def rates(model: str, n: int, steps: int, classifiers) -> dict[str, dict[str, float]]:
    """Per prompt, the share of ``n`` images each judged feature is seen in."""
    pipe = load_pipeline(model)
    out = {}
    for label, prompt in PROMPTS.items():
        images = generate(pipe, prompt, n=n, seed=1000, steps=steps, batch_size=16).images
        pred = classifiers.predict(images)
        dust = pred[:, NAMES.index("dust_lane")]
        smooth = ~pred[:, NAMES.index("features")]
        out[label] = {
            "dust lane": float(dust.mean()),
            "smooth": float(smooth.mean()),
            "edge-on": float(pred[:, NAMES.index("edge_on")].mean()),
            "smooth and dust lane": float((dust & smooth).mean()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="diffusers folder")
    parser.add_argument("--n", type=int, default=32, help="images per prompt")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    classifiers = load_feature_cnn(DEFAULT_FOLDER)
    print(f"{args.n} images per prompt, {args.steps} Euler-a steps, CFG 7, seeds 1000+")
    for model in args.model:
        t0 = time.perf_counter()
        table = rates(model, args.n, args.steps, classifiers)
        print(f"\n{model}  ({time.perf_counter() - t0:.0f} s)")
        print(f"  {'prompt':<20}" + "".join(f"{k:>22}" for k in next(iter(table.values()))))
        for label, row in table.items():
            print(f"  {label:<20}" + "".join(f"{np.round(v, 3):>22}" for v in row.values()))


if __name__ == "__main__":
    main()
