"""``galaxysd feature-classifiers``, ``galaxysd evaluate`` and ``galaxysd morphology`` (parsing only)."""

from __future__ import annotations

import argparse

from galaxysd_core.cli import add_config_option, config_from_args, run_with_progress

FEATURE_FIELDS = (
    "data",
    "output_dir",
    "epochs",
    "zoom",
    "targets",
    "randomise",
    "init",
    "lr",
    "seed",
    "device",
)
EVALUATE_FIELDS = (
    "run",
    "real",
    "encoder",
    "feature_classifiers",
    "n_images",
    "steps",
    "sweep",
    "morphology",
    "train",
    "seed",
    "device",
    "output_dir",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feature-classifiers`` and ``evaluate`` commands to the hub."""
    f = subparsers.add_parser(
        "feature-classifiers",
        help="train the 11 consistency classifiers (one multi-task CNN on pixels)",
        description="Train a small multi-task ResNet with 11 feature logits (Sec. 4.1) on a "
        "labelled mock sky or a prepared dataset's catalogue tags; writes model.safetensors + feature_classifiers.json (thresholds, "
        "per-feature validation balanced accuracy) into --output-dir.",
    )
    f.add_argument(
        "--data", help="mock sky (truth.parquet) or prepared dataset (metadata.jsonl: votes)"
    )
    f.add_argument("--output-dir", dest="output_dir")
    f.add_argument("--epochs", type=int, help="passes over the training split (default 20)")
    f.add_argument("--zoom", type=int, help="2: add the enlarged centre as a second view")
    f.add_argument(
        "--targets",
        choices=("joint", "conditional"),
        help="joint (default): heads also say no where their question is not asked",
    )
    f.add_argument(
        "--no-randomise",
        dest="randomise",
        action="store_false",
        default=None,
        help="train without domain randomisation",
    )
    f.add_argument("--init", help="classifiers folder to fine-tune from")
    f.add_argument("--lr", type=float, help="peak learning rate (default 3e-3)")
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
    e.add_argument("--encoder", help="SimCLR encoder folder (default assets/demo-encoder)")
    e.add_argument(
        "--feature-classifiers",
        dest="feature_classifiers",
        help="consistency classifiers folder (default assets/feature-classifiers)",
    )
    e.add_argument("--n-images", dest="n_images", type=int)
    e.add_argument("--steps", type=int)
    e.add_argument(
        "--sweep", action="store_true", default=None, help="also sweep settings (Fig. 5)"
    )
    e.add_argument(
        "--no-morphology",
        dest="morphology",
        action="store_false",
        default=None,
        help="skip the physical judges (statmorph statistics and their distances)",
    )
    e.add_argument(
        "--train",
        help="the model's training images (sky / dataset) for the memorisation check",
    )
    e.add_argument("--seed", type=int)
    e.add_argument("--device")
    e.add_argument("--output-dir", dest="output_dir")
    add_config_option(e)
    e.set_defaults(func=_evaluate)

    m = subparsers.add_parser(
        "morphology",
        help="statmorph statistics of a folder of images (and distances to a real folder)",
        description="Measure Gini, M20, concentration, asymmetry, smoothness, ellipticity, r50 "
        "and colour of every image under --images (statmorph, no Sérsic fit); with --real, also "
        "the scaled Wasserstein distance per statistic with bootstrap intervals and the "
        "real-vs-real floor (two disjoint halves of --real).",
    )
    m.add_argument("--images", required=True, help="folder of .png/.jpg images (recursive)")
    m.add_argument("--real", help="folder of real images to compare with")
    m.add_argument("--size", type=int, default=64, help="measure at SIZE x SIZE pixels")
    m.add_argument("--workers", type=int, default=2)
    m.add_argument("--out", help="write the per-image table here (.csv or .parquet)")
    m.set_defaults(func=_morphology)


def _features(args: argparse.Namespace) -> int:
    from galaxysd_core.metrics import FeatureClassifierConfig
    from galaxysd_core.metrics.feature_training import train_feature_classifiers

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


def _morphology(args: argparse.Namespace) -> int:
    import pandas as pd

    from galaxysd_core.jobs.progress import progress_for_cli
    from galaxysd_core.metrics.morphology import (
        distance_table,
        failure_counts,
        morphology_table,
        read_folder,
        real_halves,
        real_scale,
    )

    def measure(folder: str) -> pd.DataFrame:
        files = read_folder(folder)
        table = morphology_table(files, size=args.size, workers=args.workers,
                                 progress=progress_for_cli(f"morphology {folder}"))  # fmt: skip
        return table.assign(path=[str(f) for f in files])

    generated = measure(args.images)
    print(f"{len(generated)} images, {generated['flag'].mean():.1%} flagged")
    if generated["flag"].any():
        print(failure_counts(generated).to_string(index=False))
    print(generated.drop(columns="path").describe().T[["mean", "std", "min", "max"]].round(3))
    if args.out:
        out = generated.to_csv if args.out.endswith(".csv") else generated.to_parquet
        out(args.out, index=False)
    if args.real:
        real = measure(args.real)
        scale = real_scale(real)
        table = distance_table(real, generated, scale=scale).assign(pair="images vs real")
        floor = distance_table(*real_halves(real), scale=scale).assign(pair="real vs real")
        both = pd.concat([table, floor]).pivot(index="statistic", columns="pair")
        print("scaled Wasserstein distances (fraction of the real 1-99 % range), 95 % intervals:")
        print(both.reindex(table["statistic"]).round(3).to_string())
    return 0
