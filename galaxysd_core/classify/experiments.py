"""The paper's classifier experiments (Sec. 4.2, Tables 2 and 3) on any catalogue.

Protocol (NOTES.md): negatives and positives of one morphology drawn in the
catalogue's proportion (spiral 0.43, disk 0.09, bar 0.10, bulge 0.07; D-ETG
1:100), split 90/10 into train/test, 10 % of train held out for validation
(early stopping and the F1-optimal threshold). Three arms share each split:
``baseline`` (BCE), ``focal`` (focal loss) and ``synthetic`` (BCE plus N
generated positives in the training set only). The paper's sizes (10,000
negatives) are multiplied by ``scale`` so a CPU can run it. Labels come from
the mock sky's truth (``truth.parquet``) or, for a real catalogue, from a
boolean column of the same name in a labels table.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_write_text
from galaxysd_core.classify.config import ARCHS, ARMS, TASKS, ExperimentConfig
from galaxysd_core.classify.metrics import bootstrap_metrics
from galaxysd_core.errors import CatalogError
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)
# ARCHS, ARMS, TASKS and ExperimentConfig live in .config; named here too for
# the callers that import them from this module.
__all__ = [
    "ARCHS",
    "ARMS",
    "PAPER",
    "PROMPTS",
    "TASKS",
    "ExperimentConfig",
    "display_table",
    "draw_sample",
    "paper_table",
    "positive_labels",
    "run_experiment",
    "summarise",
]

#: Default prompt of the synthetic arm per task (Table 1 phrasing; Fig. 7 for D-ETG).
PROMPTS: dict[str, str] = {
    "spiral": "sdss, spiral galaxy",
    "disk": "sdss, edge-on galaxy",
    "bar": "sdss, bar-shaped structure in the center of galaxy",
    "bulge": "sdss, spiral galaxy, obvious bulge prominence",
    "detg": "sdss, {completely round:1.2} galaxy, {dust lane:1.3}",
}
#: Tables 2 and 3 of the paper: (purity, completeness, F1); "synthetic" is "ours".
PAPER: dict[tuple[str, str], tuple[float, float, float]] = {
    ("spiral", "baseline"): (0.67, 0.45, 0.54),
    ("spiral", "focal"): (0.65, 0.36, 0.46),
    ("spiral", "synthetic"): (0.69, 0.70, 0.70),
    ("disk", "baseline"): (0.81, 0.52, 0.63),
    ("disk", "focal"): (0.80, 0.76, 0.78),
    ("disk", "synthetic"): (0.83, 0.77, 0.80),
    ("bar", "baseline"): (0.59, 0.95, 0.73),
    ("bar", "focal"): (0.61, 0.85, 0.71),
    ("bar", "synthetic"): (0.67, 0.86, 0.75),
    ("bulge", "baseline"): (0.30, 0.57, 0.40),
    ("bulge", "focal"): (0.30, 0.72, 0.42),
    ("bulge", "synthetic"): (0.32, 0.75, 0.44),
    ("detg", "baseline"): (0.43, 0.43, 0.43),
    ("detg", "focal"): (0.48, 0.16, 0.24),
    ("detg", "synthetic"): (0.74, 0.60, 0.66),
}


def positive_labels(truth: pd.DataFrame, task: str) -> pd.Series:
    """The boolean label of ``task`` per galaxy from a truth/labels table."""
    from galaxysd_core.gz2.tree import ANSWER_BY_TAG

    tag = TASKS[task][0]
    column = "is_detg" if tag is None else ANSWER_BY_TAG[tag].prefix
    if column not in truth.columns:
        raise CatalogError(f"the labels table lacks the column {column!r} needed for {task!r}")
    return truth[column].astype(bool)


def draw_sample(labels: pd.Series, n_neg: int, n_pos: int, *, seed: int) -> pd.Series:
    """Draw ``n_neg`` negatives and up to ``n_pos`` positives (fewer if the sky has fewer)."""
    rng = np.random.default_rng(seed)
    pos, neg = labels.index[labels.to_numpy()], labels.index[~labels.to_numpy()]
    if len(pos) < n_pos:
        log.warning("only %d positives available of %d requested", len(pos), n_pos)
    if len(pos) < 4:
        raise CatalogError(f"only {len(pos)} positive galaxies in the catalogue; need >= 4")
    take_pos = rng.choice(pos, size=min(n_pos, len(pos)), replace=False)
    take_neg = rng.choice(neg, size=min(n_neg, len(neg)), replace=False)
    return labels.loc[np.concatenate([take_pos, take_neg])]


def _synthetic_images(config: ExperimentConfig, out: Path, n: int, progress: Progress):
    """The synthetic arm's ``n`` positives: ready-made, or generated batch by batch
    into ``out/synthetic`` (resumed on a rerun, every sampler step reported)."""
    from galaxysd_core.images import image_files, load_images

    if config.synthetic_dir:
        files = image_files(config.synthetic_dir)[:n]
    else:
        from galaxysd_core.diffusion.batched import generate_into
        from galaxysd_core.diffusion.checks import check_guide
        from galaxysd_core.paths import DEMO_MODEL

        prompt = config.prompt or PROMPTS[config.task]
        model = config.model or DEMO_MODEL
        files = generate_into(
            model,
            prompt,
            out / "synthetic",
            n=n,
            seed=10_000,
            steps=config.steps,
            guidance=config.guidance,
            guidance_interval=config.guidance_interval or None,
            guide=check_guide(None, config.guide_weight, owner="ExperimentConfig", model=model),
            guide_weight=config.guide_weight,
            pag_scale=config.pag_scale,
            pag_interval=config.pag_interval or None,
            progress=progress,
            message=f"synthetic: {prompt}",
        )
    if not files:
        raise CatalogError("no synthetic image for the synthetic arm")
    return load_images(files, config.classifier.image_size)[0]


def run_experiment(config: ExperimentConfig, *, progress: Progress | None = None) -> pd.DataFrame:
    """Run every arm on every seed; write ``results.csv`` and ``summary.csv``.

    Returns
    -------
    DataFrame
        The summary: per arm the pooled-over-seeds purity, completeness, F1 with
        95 % bootstrap intervals, the per-seed mean F1, and the paper's numbers.
    """
    import torch

    from galaxysd_core.classify.model import split_validation, train_classifier
    from galaxysd_core.classify.skymatch import match_sky
    from galaxysd_core.gz2.folders import catalog_items, read_truth
    from galaxysd_core.images import load_images
    from galaxysd_core.paths import workspace

    progress = progress or Progress()
    config.validate_all()
    sky = Path(config.sky) if config.sky else workspace().sky / "default"
    out = Path(config.output_dir) if config.output_dir else workspace().runs / "classify-experiment"
    out.mkdir(parents=True, exist_ok=True)
    truth = read_truth(sky)
    if truth is None:
        raise CatalogError(f"{sky} has no truth.parquet with labels")
    items = catalog_items(sky).set_index("object_id")
    labels = positive_labels(truth, config.task).reindex(items.index).dropna().astype(bool)
    n_neg, n_pos, n_syn = config.sizes()
    synthetic = None
    if "synthetic" in config.arms:
        synthetic = _synthetic_images(config, out, n_syn, progress)
    rows, pooled = [], {arm: ([], []) for arm in config.arms}
    total, step = len(config.seeds) * len(config.arms), 0
    for seed in config.seeds:
        sample = draw_sample(labels, n_neg, n_pos, seed=seed)
        images, _ = load_images(
            items.loc[sample.index, "path"].tolist(), config.classifier.image_size
        )
        y = sample.to_numpy()
        # 90/10 train/test, then 10 % of train for validation (Sec. 4.2).
        train_idx, test_idx = split_validation(y, 0.1, seed=seed)
        fit_rel, val_rel = split_validation(y[train_idx], 0.1, seed=seed + 1)
        fit_idx, val_idx = train_idx[fit_rel], train_idx[val_rel]
        added = synthetic
        if synthetic is not None and config.match_sky:
            added = match_sky(synthetic, images[fit_idx], seed=seed)
        for arm in config.arms:
            x_fit, y_fit = images[fit_idx], y[fit_idx]
            if arm == "synthetic":
                x_fit = torch.cat([x_fit, added])
                y_fit = np.concatenate([y_fit, np.ones(len(added), dtype=bool)])
            cfg = dataclasses.replace(
                config.classifier,
                loss="focal" if arm == "focal" else "bce",
                alpha=config.focal_alpha,
                gamma=config.focal_gamma,
                seed=seed,
            )
            clf = train_classifier(
                x_fit, y_fit, val_images=images[val_idx], val_labels=y[val_idx], config=cfg
            )
            pred = clf.predict(images[test_idx])
            stats = bootstrap_metrics(y[test_idx], pred, n_boot=config.n_boot, seed=seed)
            pooled[arm][0].append(y[test_idx])
            pooled[arm][1].append(pred)
            row: dict[str, Any] = {"task": config.task, "arm": arm, "seed": seed}
            row |= {"n_train_pos": int(y_fit.sum()), "n_train_neg": int((~y_fit).sum())}
            row |= {"n_test_pos": int(y[test_idx].sum()), "n_test": len(test_idx)}
            row["threshold"] = clf.threshold
            row["epochs_run"] = len(clf.info["history"])
            for metric, (value, low, high) in stats.items():
                row |= {metric: value, f"{metric}_low": low, f"{metric}_high": high}
            rows.append(row)
            step += 1
            progress.update(step, total, message=f"{arm} seed {seed}", f1=row["f1"])
            progress.check_stop()
    results = pd.DataFrame(rows)
    atomic_write_text(out / "results.csv", results.to_csv(index=False))
    summary = summarise(results, pooled, task=config.task, n_boot=config.n_boot)
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    return summary


def summarise(results: pd.DataFrame, pooled: dict, *, task: str, n_boot: int) -> pd.DataFrame:
    """Per arm: pooled metrics with intervals beside the paper's Table 2/3 numbers."""
    rows = []
    for arm, (ys, preds) in pooled.items():
        stats = bootstrap_metrics(np.concatenate(ys), np.concatenate(preds), n_boot=n_boot)
        paper = PAPER[(task, arm)]
        row: dict[str, Any] = {"task": task, "arm": arm, "seeds": len(ys)}
        for i, (metric, (value, low, high)) in enumerate(stats.items()):
            row |= {metric: value, f"{metric}_low": low, f"{metric}_high": high}
            row[f"paper_{metric}"] = paper[i]
        row["f1_seed_mean"] = float(results.loc[results["arm"] == arm, "f1"].mean())
        row["f1_seed_std"] = float(results.loc[results["arm"] == arm, "f1"].std(ddof=0))
        rows.append(row)
    return pd.DataFrame(rows)


def display_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 2/3 layout: ``value [low, high]`` per metric beside the paper's value."""
    rows = []
    for _, r in summary.iterrows():
        row = {"task": r["task"], "arm": r["arm"], "seeds": int(r["seeds"])}
        for metric in ("purity", "completeness", "f1"):
            row[metric] = f"{r[metric]:.2f} [{r[f'{metric}_low']:.2f}, {r[f'{metric}_high']:.2f}]"
            row[f"paper {metric}"] = f"{r[f'paper_{metric}']:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def paper_table() -> pd.DataFrame:
    """The paper's Tables 2 and 3 as one table (``synthetic`` is the paper's "ours")."""
    rows = [
        {"task": task, "arm": arm, "purity": p, "completeness": c, "f1": f}
        for (task, arm), (p, c, f) in PAPER.items()
    ]
    return pd.DataFrame(rows)
