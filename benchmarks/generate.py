"""Generation speed: our ``generate()`` vs a bare diffusers pipeline call, same components.

Demo model, batch 4, at the model's size, 30 Euler-ancestral steps, CFG 7
(issue 14: 4 images <= 3 s and ratio <= 1.05 on 2 cores). Then the fast path,
one image with a few DPM++ steps against the same bare call (goal <= 1.0 s),
and the levers, each on our path: a guidance interval (guidance on the steps
with t <= 400 only, the others at one UNet row; the own sampling loop it
needs is timed guiding every step too), autoguidance by the model's guide
(``galaxysd demo guide``: one more, narrower UNet pass per step), fewer
steps, channels-last, thread count.

    python benchmarks/generate.py [--model assets/demo-model] [--repeats 3]
        [--guide-model MODEL-guide]

Prints one line per measurement (median of ``--repeats`` after a warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from galaxysd_core.diffusion import generate, load_pipeline, make_scheduler
from galaxysd_core.paths import DEMO_MODEL, guide_for

PROMPT = "sdss, spiral galaxy, tightly wound spiral arms"


def timed(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations, lazy imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEMO_MODEL))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--fast-steps", type=int, default=8, help="DPM++ steps of the fast path")
    parser.add_argument(
        "--guide-model",
        help="autoguidance partner timed as a lever (default: the <model>-guide folder beside "
        "the model, if there is one)",
    )
    args = parser.parse_args()
    # Only a guide of the model's own latents can steer it: the default is the
    # model's partner, not the demo model's.
    args.guide_model = args.guide_model or guide_for(args.model)
    pipe = load_pipeline(args.model)
    bare = type(pipe)(**pipe.components, requires_safety_checker=False)
    bare.scheduler = make_scheduler("euler_a", pipe.scheduler.config)
    bare.set_progress_bar_config(disable=True)
    n, steps = 4, args.steps

    def ours(k: int = steps, **kw):
        return lambda: generate(pipe, PROMPT, n=n, seed=0, steps=k, batch_size=n, **kw)

    def bare_call():
        gens = [torch.Generator().manual_seed(i) for i in range(n)]
        bare([PROMPT] * n, num_inference_steps=steps, guidance_scale=7.0, generator=gens)

    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    print(f"threads={torch.get_num_threads()} batch={n} steps={steps} size={size}")
    t_bare = timed(bare_call, args.repeats)
    t_ours = timed(ours(), args.repeats)
    print(f"bare diffusers call      {t_bare:6.3f} s")
    print(f"ours generate()          {t_ours:6.3f} s   ratio {t_ours / t_bare:.3f}")
    fast = make_scheduler("dpmpp_2m", pipe.scheduler.config)

    def bare_fast():
        bare.scheduler = fast
        bare(
            PROMPT,
            num_inference_steps=args.fast_steps,
            guidance_scale=7.0,
            generator=torch.Generator().manual_seed(0),
        )

    t_bare_fast = timed(bare_fast, args.repeats)
    t_fast = timed(
        lambda: generate(pipe, PROMPT, n=1, steps=args.fast_steps, scheduler="dpmpp_2m"),
        args.repeats,
    )
    print(f"fast path: 1 image, dpmpp_2m {args.fast_steps} steps")
    print(f"  bare diffusers call    {t_bare_fast:6.3f} s")
    print(f"  ours generate()        {t_fast:6.3f} s   ratio {t_fast / t_bare_fast:.3f}")
    t_fast_interval = timed(
        lambda: generate(
            pipe,
            PROMPT,
            n=1,
            steps=args.fast_steps,
            scheduler="dpmpp_2m",
            guidance_interval=(0, 400),
        ),
        args.repeats,
    )
    print(
        f"  guidance on t <= 400   {t_fast_interval:6.3f} s   ratio {t_fast_interval / t_bare_fast:.3f}"
    )
    print("levers (ours):")
    t_loop = timed(ours(guidance_interval=(0, 1000)), args.repeats)
    print(f"  own loop, every step   {t_loop:6.3f} s   ratio {t_loop / t_bare:.3f}")
    t_interval = timed(ours(guidance_interval=(0, 400)), args.repeats)
    print(f"  guidance on t <= 400   {t_interval:6.3f} s   ratio {t_interval / t_bare:.3f}")
    if args.guide_model:
        guide = load_pipeline(args.guide_model)
        t_auto = timed(
            ours(guidance_interval=(0, 400), guide=guide, guide_weight=2.0), args.repeats
        )
        print(f"  + autoguidance, w 2    {t_auto:6.3f} s   ratio {t_auto / t_bare:.3f}")
    print(f"  dpmpp_2m, 15 steps     {timed(ours(15, scheduler='dpmpp_2m'), args.repeats):6.3f} s")
    print(f"  dpmpp_2m, 10 steps     {timed(ours(10, scheduler='dpmpp_2m'), args.repeats):6.3f} s")
    pipe.unet.to(memory_format=torch.channels_last)
    print(f"  channels-last UNet     {timed(ours(), args.repeats):6.3f} s")
    pipe.unet.to(memory_format=torch.contiguous_format)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        print(f"  {threads} thread(s)            {timed(ours(), args.repeats):6.3f} s")


if __name__ == "__main__":
    main()
