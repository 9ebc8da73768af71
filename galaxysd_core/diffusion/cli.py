"""``galaxysd generate``, ``galaxysd finetune``, ``galaxysd demo build`` (argument parsing only)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

DEMO_FIELDS = (
    "output_dir",
    "resume",
    "out",
    "sky",
    "n",
    "seed",
    "steps",
    "batch",
    "max_minutes",
    "vae_steps",
    "preset",
    "size",
    "device",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the diffusion commands to the hub."""
    g = subparsers.add_parser(
        "generate",
        help="generate galaxy images from a (weighted) prompt",
        description="Sample N images with a diffusers model folder; each PNG carries its "
        "recipe in text metadata and a sidecar JSON. Same arguments, same pixels.",
    )
    g.add_argument("--model", required=True, help="diffusers model folder (e.g. assets/demo-model)")
    g.add_argument(
        "--prompt", required=True, help='prompt, e.g. "sdss, spiral galaxy, {dust lane:1.3}"'
    )
    g.add_argument("--n", type=int, default=4, help="number of images (default 4)")
    g.add_argument("--seed", type=int, default=0, help="seed of the first image (default 0)")
    g.add_argument("--steps", type=int, default=30, help="sampler steps (default 30)")
    g.add_argument("--guidance", type=float, default=7.0, help="CFG scale (default 7.0)")
    g.add_argument("--scheduler", default="euler_a", help="euler_a (default), dpmpp_2m or ddim")
    g.add_argument(
        "--timestep-spacing",
        dest="timestep_spacing",
        help="leading, trailing or linspace (default: the model's; trailing per Lin et al. 2023)",
    )
    g.add_argument(
        "--guidance-rescale",
        dest="guidance_rescale",
        type=float,
        default=0.0,
        help="rescale CFG towards the conditional std, in [0, 1] (default 0; 0.7 in Lin et al.)",
    )
    g.add_argument("--negative-prompt", default="", help="negative prompt (default empty)")
    g.add_argument(
        "--reference", help='start from this real image (or "auto": same tags from --pool)'
    )
    g.add_argument("--pool", help="prepared dataset folder for --reference auto")
    g.add_argument(
        "--strength", type=float, default=0.6, help="reference noise level in (0, 1] (default 0.6)"
    )
    g.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    g.add_argument("--out", required=True, help="output folder for the PNGs")
    g.set_defaults(func=_generate)

    f = subparsers.add_parser(
        "finetune",
        help="fine-tune a diffusion model on a prepared dataset",
        description="Fine-tune UNet and text encoder (EMA, checkpoints, resume); "
        "works under `accelerate launch`.",
    )
    add_config_option(f)
    f.add_argument("--model", help="diffusers folder to start from")
    f.add_argument("--dataset", help="prepared dataset folder (metadata.jsonl)")
    f.add_argument("--output-dir", dest="output_dir", help="run folder")
    f.add_argument("--resume", help='"latest" or a checkpoint folder')
    f.add_argument("--steps", type=int, help="optimiser steps")
    f.add_argument("--batch", type=int, help="batch per process")
    f.add_argument("--lr", type=float, help="learning rate")
    f.set_defaults(func=_finetune)

    d = subparsers.add_parser("demo", help="the bundled demo model")
    dsub = d.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    b = dsub.add_parser(
        "build",
        help="train the 128x128 demo model from scratch (resumable)",
        description="Build the mock sky, prepare pairs, train VAE then UNet + text encoder, "
        "export fp16 to assets/demo-model. Rerun with --resume latest to continue.",
    )
    add_config_option(b)
    b.add_argument(
        "--output-dir",
        dest="output_dir",
        help="working folder (default <workspace>/runs/demo-build)",
    )
    b.add_argument("--resume", help='"latest" to continue a killed build')
    b.add_argument("--out", help="model folder to write (default assets/demo-model)")
    b.add_argument("--sky", help="use this mock sky instead of building one")
    b.add_argument("--n", type=int, help="galaxies in the mock sky")
    b.add_argument("--seed", type=int, help="seed of everything")
    b.add_argument("--steps", type=int, help="UNet + text encoder steps")
    b.add_argument("--batch", type=int, help="UNet batch")
    b.add_argument("--vae-steps", dest="vae_steps", type=int, help="VAE steps")
    b.add_argument("--max-minutes", dest="max_minutes", type=float, help="UNet stage time budget")
    b.add_argument("--preset", help="model sizes: v2 (default, CPU), gpu (one GPU), tiny, demo")
    b.add_argument("--size", type=int, help="image side in pixels (default 128)")
    b.add_argument("--device", help="cpu (default) or cuda for the VAE stages")
    b.set_defaults(func=_demo_build)
    r = dsub.add_parser(
        "report",
        help="Table 1 sheet (real vs generated) and the brightness check of a model",
        description="Write a real-vs-generated sheet per Table 1 type and measure the mean "
        "brightness of text-only, reference-start and real images.",
    )
    r.add_argument("--model", default=None, help="diffusers folder (default assets/demo-model)")
    r.add_argument("--dataset", required=True, help="prepared dataset folder (metadata.jsonl)")
    r.add_argument("--sheet", help="PNG to write the sheet to")
    r.add_argument("--brightness", help="JSON to write the brightness numbers to")
    r.add_argument("--n", type=int, default=8, help="images per type for the brightness check")
    r.add_argument("--steps", type=int, default=30, help="sampler steps (default 30)")
    r.set_defaults(func=_demo_report)
    _register_grid(subparsers)


GRID_FIELDS = (
    "model", "prompt", "x", "y", "seed", "steps", "guidance", "scheduler", "strength",
    "negative_prompt", "reference", "n", "real", "output_dir", "device",
)  # fmt: skip


def _register_grid(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "grid",
        help="an X/Y grid of generations, each cell scored (consistency, realism)",
        description="Sweep two settings (AXIS=V1,V2,...; AXIS one of guidance, steps, seed, "
        "strength, scheduler, model, weight:<phrase>); write grid.png and grid.csv.",
    )
    add_config_option(p)
    p.add_argument("--model", help="diffusers model folder (default: the demo model)")
    p.add_argument("--prompt", help='base prompt, e.g. "sdss, spiral galaxy, dust lane"')
    p.add_argument("--x", help='columns, e.g. "guidance=3,5,7" or "weight:dust lane=0.8,1.3"')
    p.add_argument("--y", help='rows, e.g. "seed=0,1,2" (optional)')
    p.add_argument("--seed", type=int, help="base seed (default 0)")
    p.add_argument("--steps", type=int, help="base sampler steps (default 20)")
    p.add_argument("--guidance", type=float, help="base CFG scale (default 7.0)")
    p.add_argument("--scheduler", help="base sampler: euler_a (default), dpmpp_2m or ddim")
    p.add_argument("--strength", type=float, help="reference noise level (default 0.6)")
    p.add_argument("--negative-prompt", dest="negative_prompt", help="negative prompt")
    p.add_argument("--reference", help="start every cell from this image")
    p.add_argument("--n", type=int, help="images per cell (default 1)")
    p.add_argument("--real", help="real dataset for realism (default: the workspace's sky)")
    p.add_argument("--device", help="cpu (default) or cuda")
    p.add_argument("--out", dest="output_dir", help="folder for grid.png, grid.csv, cells/")
    p.set_defaults(func=_grid)


def _default_run_dir(name: str) -> Path:
    from galaxysd_core.jobs.progress import RUN_DIR_ENV
    from galaxysd_core.paths import workspace

    return Path(os.environ.get(RUN_DIR_ENV) or workspace().runs / name)


def _generate(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.checks import check_generation, check_model_folder

    # Everything that can be checked without the model is, before loading it.
    check_generation(
        args.n,
        args.steps,
        args.guidance,
        args.scheduler,
        args.strength,
        prompts=[args.prompt],
        negative_prompt=args.negative_prompt,
        reference=args.reference,
        pool=args.pool,
    )
    check_model_folder(args.model)
    from galaxysd_core.diffusion import generate, load_pipeline

    made = run_with_progress(
        generate,
        load_pipeline(args.model, device=args.device),
        "generate",
        prompt=args.prompt,
        n=args.n,
        seed=args.seed,
        steps=args.steps,
        guidance=args.guidance,
        scheduler=args.scheduler,
        timestep_spacing=args.timestep_spacing,
        guidance_rescale=args.guidance_rescale,
        negative_prompt=args.negative_prompt,
        reference=args.reference,
        strength=args.strength,
        pool=args.pool,
        out=args.out,
        model_name=str(args.model),
    )
    for path in made.paths:
        print(path)
    return 0


def _grid(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.grid import GridConfig, run_grid

    config = config_from_args(GridConfig, args, GRID_FIELDS)
    if config.output_dir is None:
        config.output_dir = _default_run_dir("grid")
    print(run_with_progress(run_grid, config, "grid") / "grid.png")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.finetune import FinetuneConfig, finetune

    names = ("model", "dataset", "output_dir", "resume", "steps", "batch", "lr")
    config = config_from_args(FinetuneConfig, args, names)
    if config.output_dir is None:
        config.output_dir = _default_run_dir("finetune")
    print(run_with_progress(finetune, config, "finetune").model_dir)
    return 0


def _demo_build(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.demo import DemoBuildConfig, build_demo

    config = config_from_args(DemoBuildConfig, args, DEMO_FIELDS)
    if config.output_dir is None:
        config.output_dir = _default_run_dir("demo-build")
    print(run_with_progress(build_demo, config, "demo build"))
    return 0


def _demo_report(args: argparse.Namespace) -> int:
    import json

    from galaxysd_core.atomic import atomic_write_json
    from galaxysd_core.diffusion import load_pipeline
    from galaxysd_core.diffusion.report import brightness_report, demo_sheet
    from galaxysd_core.paths import DEMO_MODEL

    pipe = load_pipeline(args.model or DEMO_MODEL)
    if args.sheet:
        print(demo_sheet(pipe, args.dataset, args.sheet, steps=args.steps))
    if args.brightness:
        report = brightness_report(pipe, args.dataset, n=args.n, steps=args.steps)
        atomic_write_json(args.brightness, report)
        print(json.dumps(report["mean"], indent=2))
    return 0
