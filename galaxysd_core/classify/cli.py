"""``galaxysd classify-experiment``: the paper's Table 2/3 experiments."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

_FLAGS = (
    "task",
    "sky",
    "scale",
    "arms",
    "seeds",
    "model",
    "prompt",
    "synthetic_dir",
    "match_sky",
    "arch",
    "epochs",
    "image_size",
    "output_dir",
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``classify-experiment`` sub-command."""
    p = sub.add_parser(
        "classify-experiment",
        help="baseline / focal / synthetic-augmented classifiers (Tables 2, 3)",
    )
    add_config_option(p)
    p.add_argument("--task", choices=["spiral", "disk", "bar", "bulge", "detg"])
    p.add_argument("--sky", help="catalogue folder with truth.parquet (default: sky/default)")
    p.add_argument("--scale", type=float, help="fraction of the paper's sizes (default 0.05)")
    p.add_argument("--arms", nargs="+", choices=["baseline", "focal", "synthetic"])
    p.add_argument("--seeds", nargs="+", type=int)
    p.add_argument("--model", help="diffusion model for the synthetic arm (default: demo)")
    p.add_argument("--prompt", help="prompt of the synthetic arm")
    p.add_argument("--synthetic-dir", dest="synthetic_dir", help="ready-made synthetic images")
    p.add_argument(
        "--match-sky",
        dest="match_sky",
        action="store_true",
        default=None,
        help="give synthetic positives the real images' sky level, noise and JPEG coding",
    )
    p.add_argument("--arch", choices=["resnet18", "small", "tiny"])
    p.add_argument("--epochs", type=int)
    p.add_argument("--image-size", dest="image_size", type=int)
    p.add_argument("--output-dir", dest="output_dir")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from galaxysd_core.classify.experiments import ExperimentConfig, run_experiment

    config = config_from_args(ExperimentConfig, args, _FLAGS)
    summary = run_with_progress(run_experiment, config, "classify-experiment")
    columns = ["arm", "purity", "completeness", "f1", "paper_purity", "paper_completeness"]
    print(summary[[*columns, "paper_f1"]].round(3).to_string(index=False))
    return 0
