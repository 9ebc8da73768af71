"""``galaxysd generate``, ``galaxysd finetune``, ``galaxysd demo build`` (argument parsing only)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from galaxysd_core.cli import add_config_arguments, config_from_args, run_with_progress
from galaxysd_core.diffusion.config import DemoBuildConfig, FinetuneConfig


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
    add_config_arguments(f, FinetuneConfig)
    f.set_defaults(func=_finetune)

    d = subparsers.add_parser("demo", help="the bundled demo model")
    dsub = d.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    b = dsub.add_parser(
        "build",
        help="train the 64x64 demo model from scratch (resumable)",
        description="Build the mock sky, prepare pairs, train VAE then UNet + text encoder, "
        "export fp16 to assets/demo-model. Rerun with --resume latest to continue.",
    )
    add_config_arguments(b, DemoBuildConfig)
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


def _default_run_dir(name: str) -> Path:
    from galaxysd_core.jobs.progress import RUN_DIR_ENV
    from galaxysd_core.paths import workspace

    return Path(os.environ.get(RUN_DIR_ENV) or workspace().runs / name)


def _generate(args: argparse.Namespace) -> int:
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


def _finetune(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.finetune import finetune

    config = config_from_args(FinetuneConfig, args)
    if config.output_dir is None:
        config.output_dir = _default_run_dir("finetune")
    print(run_with_progress(finetune, config, "finetune").model_dir)
    return 0


def _demo_build(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.demo import build_demo

    config = config_from_args(DemoBuildConfig, args)
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
