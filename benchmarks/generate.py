"""Generation speed: our ``generate()`` vs a bare diffusers pipeline call, same components.

Demo model, batch 4, 64x64, 30 Euler-ancestral steps, CFG 7 (issue 4: goal
ratio <= 1.05 and <= 1.0 s on 2 cores). Then the levers, each on our path:
fewer steps with a better sampler, channels-last, thread count.

    python benchmarks/generate.py [--model assets/demo-model] [--repeats 3]

Prints one line per measurement (median of ``--repeats`` after a warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from galaxysd_core.diffusion import generate, load_pipeline, make_scheduler
from galaxysd_core.paths import DEMO_MODEL

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
    args = parser.parse_args()
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

    print(f"threads={torch.get_num_threads()} batch={n} steps={steps} size=64")
    t_bare = timed(bare_call, args.repeats)
    t_ours = timed(ours(), args.repeats)
    print(f"bare diffusers call      {t_bare:6.3f} s")
    print(f"ours generate()          {t_ours:6.3f} s   ratio {t_ours / t_bare:.3f}")
    print("levers (ours):")
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
