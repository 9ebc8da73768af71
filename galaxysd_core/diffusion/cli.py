"""``galaxysd generate``, ``finetune``, ``demo build``/``guide``/``report`` (argument parsing only)."""

from __future__ import annotations

import argparse
from operator import attrgetter

from galaxysd_core.cli import add_task_command, config_from_args, run_with_progress
from galaxysd_core.diffusion.config import (
    DemoBuildConfig,
    DemoReportConfig,
    FinetuneConfig,
    GenerateConfig,
    GuideBuildConfig,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the diffusion commands to the hub."""
    add_task_command(subparsers, "generate", GenerateConfig, _generate)

    finetune = "galaxysd_core.diffusion.finetune:finetune"
    add_task_command(subparsers, "finetune", FinetuneConfig, finetune, show=attrgetter("model_dir"))

    d = subparsers.add_parser("demo", help="the bundled demo model")
    dsub = d.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    add_task_command(dsub, "build", DemoBuildConfig, "galaxysd_core.diffusion.demo:build_demo")
    add_task_command(dsub, "guide", GuideBuildConfig, "galaxysd_core.diffusion.demo:build_guide")
    report = "galaxysd_core.diffusion.report:demo_report"
    add_task_command(dsub, "report", DemoReportConfig, report, show=_report_text)


def _generate(args: argparse.Namespace) -> int:
    from galaxysd_core.diffusion.checks import check_guide, check_model_folder

    config = config_from_args(GenerateConfig, args)  # checked before the slow model load
    check_model_folder(config.model)
    guide = check_guide(
        config.guide_model, config.guide_weight, owner="GenerateConfig", model=config.model
    )
    if guide is not None:
        check_model_folder(guide)
    from galaxysd_core.diffusion import generate, load_pipeline

    skip = ("model", "device", "guide_model")
    settings = {k: v for k, v in config.to_dict().items() if k not in skip}
    pipe = load_pipeline(config.model, device=config.device)
    if guide is not None:
        settings["guide"] = load_pipeline(guide, device=config.device)
    made = run_with_progress(generate, pipe, "generate", **settings, model_name=str(config.model))
    print("\n".join(str(path) for path in made.paths))
    return 0


def _report_text(done: dict) -> str:
    import json

    lines = [str(done["sheet"])] if "sheet" in done else []
    if "brightness" in done:
        lines.append(json.dumps(done["brightness"], indent=2))
    return "\n".join(lines)
