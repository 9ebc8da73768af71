"""``galaxysd generate``, ``galaxysd finetune``, ``galaxysd demo build`` (argument parsing only)."""

from __future__ import annotations

import argparse
from operator import attrgetter

from galaxysd_core.cli import add_task_command, config_from_args, run_with_progress
from galaxysd_core.diffusion.config import DemoBuildConfig, FinetuneConfig, GenerateConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the diffusion commands to the hub."""
    add_task_command(subparsers, "generate", GenerateConfig, _generate)

    finetune = "galaxysd_core.diffusion.finetune:finetune"
    add_task_command(subparsers, "finetune", FinetuneConfig, finetune, show=attrgetter("model_dir"))

    d = subparsers.add_parser("demo", help="the bundled demo model")
    dsub = d.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    add_task_command(dsub, "build", DemoBuildConfig, "galaxysd_core.diffusion.demo:build_demo")
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


def _generate(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.checks import check_model_folder

    config = config_from_args(GenerateConfig, args)  # checked before the slow model load
    check_model_folder(config.model)
    from galaxysd_core.diffusion import generate, load_pipeline

    settings = {k: v for k, v in config.to_dict().items() if k not in ("model", "device")}
    pipe = load_pipeline(config.model, device=config.device)
    made = run_with_progress(generate, pipe, "generate", **settings, model_name=str(config.model))
    print("\n".join(str(path) for path in made.paths))
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
