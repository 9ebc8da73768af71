"""``galaxysd feature-classifiers`` and ``galaxysd evaluate`` (argument parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

FEATURE_FIELDS = ("data", "encoder", "output_dir", "c", "seed", "device")
EVALUATE_FIELDS = (
    "run",
    "real",
    "encoder",
    "n_images",
    "steps",
    "sweep",
    "seed",
    "device",
    "output_dir",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feature-classifiers`` and ``evaluate`` commands to the hub."""
    f = subparsers.add_parser(
        "feature-classifiers",
        help="train the 11 consistency classifiers (heads on the encoder)",
        description="Embed a labelled mock sky and fit 11 logistic-regression feature heads "
        "(Sec. 4.1); writes feature_heads.safetensors + .json into --output-dir.",
    )
    f.add_argument("--data", help="mock sky folder with truth.parquet")
    f.add_argument("--encoder", help="encoder folder (default assets/demo-encoder)")
    f.add_argument("--output-dir", dest="output_dir")
    f.add_argument("--c", type=float, help="inverse regularisation (default 1.0)")
    f.add_argument("--seed", type=int)
    f.add_argument("--device")
    add_config_option(f)
    f.set_defaults(func=_features)

    e = subparsers.add_parser(
        "evaluate",
        help="realism / diversity / consistency over a run's checkpoints (+ settings sweep)",
        description="Generate images per checkpoint x Table 1 prompt, score them against the real "
        "set and write metrics.parquet (and pareto.parquet with --sweep) into the run folder.",
    )
    e.add_argument("--run", help="fine-tuning run folder or diffusers model folder")
    e.add_argument("--real", help="mock sky / prepared dataset (default <workspace>/sky/default)")
    e.add_argument("--encoder", help="encoder folder with feature heads")
    e.add_argument("--n-images", dest="n_images", type=int)
    e.add_argument("--steps", type=int)
    e.add_argument(
        "--sweep", action="store_true", default=None, help="also sweep settings (Fig. 5)"
    )
    e.add_argument("--seed", type=int)
    e.add_argument("--device")
    e.add_argument("--output-dir", dest="output_dir")
    add_config_option(e)
    e.set_defaults(func=_evaluate)


def _features(args: argparse.Namespace) -> int:
    from galaxysd_core.metrics import FeatureClassifierConfig
    from galaxysd_core.metrics.features import train_feature_classifiers

    print(
        run_with_progress(
            train_feature_classifiers,
            config_from_args(FeatureClassifierConfig, args, FEATURE_FIELDS),
            "feature classifiers",
        )
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from galaxysd_core.metrics import EvaluateConfig
    from galaxysd_core.metrics.evaluate import evaluate_run

    print(
        run_with_progress(
            evaluate_run, config_from_args(EvaluateConfig, args, EVALUATE_FIELDS), "evaluate"
        )
    )
    return 0
