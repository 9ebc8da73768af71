"""Training of the multi-task consistency CNN on a mock sky or catalogue votes (Sec. 4.1).

The network and its saved form are :mod:`galaxysd_core.metrics.feature_cnn`.
Training here uses:

- targets from a mock sky's truth or from a prepared dataset's well-sampled
  catalogue tags (:func:`training_targets`); "joint" targets (the default)
  make a head answer "is its answer true *and* its question asked?", so the
  bar head says no on an elliptical; "conditional" ones (the first shipped
  classifiers') leave it free where the question is not asked;
- masked BCE: a feature's loss counts only on galaxies where its target is
  known, averaged over the known entries of a batch;
- per-feature positive weight negatives / positives (capped), so rare
  answers (ring, merger, edge-on) are not drowned by the common "no";
- domain randomisation (:func:`~galaxysd_core.classify.augment.survey_randomise`:
  sky level and colour, noise and grain, PSF, stretch, JPEG quality, stars,
  apparent size, resolution), so the heads hold on real survey images;
- random dihedral augmentation (the 8 rotations by 90 degrees and mirrorings):
  a galaxy has no preferred orientation or handedness, and these transforms
  are exact on a pixel grid (no interpolation blur of thin arms or bars);
- a held-out validation split on which each feature's decision threshold is
  chosen as the probability cut maximising its balanced accuracy (mean of
  true-positive and true-negative rates) over the galaxies where it is asked.
  The balanced accuracy recorded for a feature is cross-fitted: thresholds
  chosen on one half of the validation set are scored on the other half and
  vice versa, so the number is not inflated by the choice of the cut.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F  # noqa: N812 - the usual torch alias

from galaxysd_core.classify.augment import survey_randomise
from galaxysd_core.errors import ConfigError
from galaxysd_core.metrics.config import FeatureClassifierConfig
from galaxysd_core.metrics.feature_cnn import CNNSpec, FeatureCNN
from galaxysd_core.metrics.features import FEATURES, feature_labels, tag_targets
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)
_N = len(FEATURES)


def random_dihedral(
    images: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply one of the 8 rotations/mirrorings of the square to each image at random.

    Parameters
    ----------
    images : Tensor
        Batch ``(N, C, S, S)`` (square images).
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    Tensor
        Same shape; every pixel value is kept (no interpolation).
    """
    choice = torch.randint(0, 8, (images.shape[0],), generator=generator).to(images.device)
    out = torch.empty_like(images)
    for k in range(8):
        idx = torch.nonzero(choice == k).squeeze(1)
        if len(idx) == 0:
            continue
        part = images[idx].flip(-1) if k >= 4 else images[idx]
        out[idx] = torch.rot90(part, k % 4, dims=(-2, -1))
    return out


def masked_bce(
    logits: torch.Tensor,
    labels: torch.Tensor,
    asked: torch.Tensor,
    *,
    pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean BCE over the (galaxy, feature) entries whose question is asked.

    Parameters
    ----------
    logits : Tensor, shape (N, Q)
    labels : Tensor, shape (N, Q)
        0/1 answers; entries where ``asked`` is False are ignored whatever they hold.
    asked : Tensor of bool, shape (N, Q)
    pos_weight : Tensor, shape (Q,), optional
        Weight of a positive answer's term, per feature.

    Returns
    -------
    Tensor
        A scalar; zero when nothing is asked.
    """
    mask = asked.to(logits.dtype)
    # Not-asked entries get a fixed target, so their (masked-out) terms stay
    # finite whatever the label column holds there.
    target = torch.where(asked, labels.to(logits.dtype), torch.zeros_like(logits))
    terms = F.binary_cross_entropy_with_logits(
        logits, target, pos_weight=pos_weight, reduction="none"
    )
    return (terms * mask).sum() / mask.sum().clamp(min=1.0)


def best_threshold(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The probability cut maximising balanced accuracy, and that accuracy.

    Images with probability >= the cut are called positive. Candidate cuts
    lie midway between consecutive distinct scores; among equally good cuts
    the highest is taken.

    Parameters
    ----------
    probs : np.ndarray, shape (n,)
    labels : np.ndarray of bool, shape (n,)

    Returns
    -------
    threshold : float
    balanced_accuracy : float
        NaN (threshold 0.5) when only one class is present.
    """
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(probs, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5, float("nan")
    order = np.argsort(-p, kind="stable")
    p, y = p[order], y[order]
    # calling the top k+1 images positive, for every k
    tpr = np.cumsum(y) / n_pos
    tnr = 1.0 - np.cumsum(~y) / n_neg
    bacc = (tpr + tnr) / 2
    distinct = np.r_[p[:-1] > p[1:], True]  # a cut can only fall between distinct scores
    bacc = np.where(distinct, bacc, -1.0)
    k = int(np.argmax(bacc))
    if bacc[k] <= 0.5:  # no cut beats calling everything negative
        return float(np.nextafter(p[0], np.inf)), 0.5
    below = p[k + 1] if k + 1 < len(p) else p[k] - 1e-6
    return float((p[k] + below) / 2), float(bacc[k])


def balanced_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the true-positive and true-negative rates (NaN without both classes)."""
    y, q = np.asarray(labels, dtype=bool), np.asarray(pred, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float((q[y].mean() + (~q[~y]).mean()) / 2)


def choose_thresholds(
    probs: np.ndarray, labels: np.ndarray, asked: np.ndarray, *, seed: int = 0
) -> tuple[np.ndarray, dict[str, dict[str, Any]]]:
    """Per-feature thresholds on a validation set, with a cross-fitted accuracy.

    Parameters
    ----------
    probs : np.ndarray, shape (n, Q)
        Validation probabilities.
    labels, asked : np.ndarray of bool, shape (n, Q)
    seed : int, default 0
        Seed of the random halving used for the cross-fitted accuracy.

    Returns
    -------
    thresholds : np.ndarray, shape (Q,)
        Each chosen on all validation galaxies where the question is asked.
    report : dict
        Per feature name: ``threshold``, ``val_balanced_accuracy`` (cut chosen
        on one half, scored on the other, averaged over both ways),
        ``val_asked``, ``val_positives``.
    """
    rng = np.random.default_rng(seed)
    thresholds = np.full(probs.shape[1], 0.5)
    report: dict[str, dict[str, Any]] = {}
    for i, feature in enumerate(FEATURES):
        rows = np.flatnonzero(asked[:, i])
        p, y = probs[rows, i], labels[rows, i].astype(bool)
        thresholds[i], _ = best_threshold(p, y)
        half = rng.permutation(len(rows)) < len(rows) // 2
        scores = []
        for fit, test in ((half, ~half), (~half, half)):
            cut, _ = best_threshold(p[fit], y[fit])
            scores.append(balanced_accuracy(p[test] >= cut, y[test]))
        cross = float(np.mean(scores)) if not np.isnan(scores).any() else float("nan")
        report[feature.name] = {
            "threshold": round(float(thresholds[i]), 6),
            "val_balanced_accuracy": None if np.isnan(cross) else round(cross, 4),
            "val_asked": len(rows),
            "val_positives": int(y.sum()),
        }
    return thresholds, report


def validation_split(n: int, fraction: float, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train, val)`` row indices: a random ``fraction`` of ``n`` rows held out."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def train_feature_cnn(
    images: torch.Tensor,
    labels: np.ndarray,
    asked: np.ndarray,
    *,
    config: FeatureClassifierConfig,
    progress: Progress | None = None,
) -> FeatureCNN:
    """Train the multi-task CNN; thresholds and accuracy from the held-out split.

    Parameters
    ----------
    images : Tensor
        uint8 ``(N, 3, S, S)`` with ``S == config.image_size``.
    labels, asked : np.ndarray of bool, shape (N, 11)
        True answers and whether each question is asked (:func:`feature_labels`).
    config : FeatureClassifierConfig
        Architecture and training settings.
    progress : Progress, optional
        One update per epoch (loss, validation loss, mean balanced accuracy);
        a stop request ends training with ``Cancelled``.

    Returns
    -------
    FeatureCNN
        Final-epoch weights (the cosine schedule ends at learning rate zero),
        thresholds chosen on validation, and ``meta["report"]`` per feature.

    Raises
    ------
    ConfigError
        On mismatched shapes, a wrong image size or too few galaxies.
    """
    config.validate()
    progress = progress or Progress()
    # copies: torch.from_numpy needs writable arrays (pandas hands out read-only views)
    labels, asked = np.array(labels, dtype=bool), np.array(asked, dtype=bool)
    n = images.shape[0]
    if labels.shape != (n, _N) or asked.shape != (n, _N):
        raise ConfigError(
            f"{n} images but labels {labels.shape} / asked {asked.shape}; expected ({n}, {_N})"
        )
    if tuple(images.shape[1:]) != (3, config.image_size, config.image_size):
        raise ConfigError(
            f"images are {tuple(images.shape[1:])}, FeatureClassifierConfig.image_size is "
            f"{config.image_size}"
        )
    train, val = validation_split(n, config.val_fraction, seed=config.seed)
    if len(train) < config.batch_size:
        raise ConfigError(
            f"{len(train)} training galaxies, fewer than one batch of {config.batch_size}"
        )
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    if config.init is not None:
        # fine-tuning: architecture, input normalisation and weights of saved classifiers
        from galaxysd_core.metrics.feature_cnn import load_feature_cnn

        start = load_feature_cnn(config.init)
        cnn = FeatureCNN(start.spec, start.model)
        if cnn.spec.image_size != config.image_size:
            raise ConfigError(
                f"FeatureClassifierConfig.init: {config.init} takes {cnn.spec.image_size} px "
                f"images, image_size is {config.image_size}"
            )
    else:
        pixels = images[train].float() / 255.0
        spec = CNNSpec(
            image_size=config.image_size,
            depths=tuple(config.depths),
            hidden_sizes=tuple(config.hidden_sizes),
            embedding_size=config.embedding_size,
            zoom=config.zoom,
            mean=tuple(round(float(v), 5) for v in pixels.mean(dim=(0, 2, 3))),
            std=tuple(round(float(v), 5) for v in pixels.std(dim=(0, 2, 3)).clamp(min=1e-3)),
        )
        del pixels
        cnn = FeatureCNN(spec)
    cnn.model.to(config.device)
    y_all = torch.from_numpy(labels)
    m_all = torch.from_numpy(asked)
    pos = (labels & asked)[train].sum(axis=0)
    neg = (~labels & asked)[train].sum(axis=0)
    weight = np.clip(neg / np.maximum(pos, 1), 1.0, config.max_pos_weight)
    pos_weight = torch.tensor(weight, dtype=torch.float32, device=config.device)
    optimiser = torch.optim.AdamW(
        cnn.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    per_epoch = len(train) // config.batch_size  # drop the ragged last batch (BatchNorm)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=config.epochs * per_epoch, pct_start=0.15
    )
    history = []
    started = time.monotonic()
    for epoch in range(1, config.epochs + 1):
        cnn.model.train()
        order = torch.from_numpy(train)[torch.randperm(len(train), generator=gen)]
        total = 0.0
        for b in range(per_epoch):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            batch = images[idx]
            if config.randomise:
                batch = survey_randomise(batch, generator=gen)
            x = random_dihedral(cnn.normalise(batch), generator=gen)
            loss = masked_bce(
                cnn.logits(x),
                y_all[idx].to(config.device),
                m_all[idx].to(config.device),
                pos_weight=pos_weight,
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item()
            progress.check_stop()
        probs = cnn.predict_proba(images[val])
        with torch.no_grad():
            val_loss = float(
                masked_bce(
                    torch.logit(torch.from_numpy(probs).double().clamp(1e-7, 1 - 1e-7)),
                    y_all[val],
                    m_all[val],
                    pos_weight=pos_weight.cpu().double(),
                )
            )
        _, report = choose_thresholds(probs, labels[val], asked[val], seed=config.seed)
        mean_bacc = float(
            np.nanmean(
                [
                    np.nan if r["val_balanced_accuracy"] is None else r["val_balanced_accuracy"]
                    for r in report.values()
                ]
            )
        )
        history.append(
            {"epoch": epoch, "loss": round(total / per_epoch, 5), "val_loss": round(val_loss, 5),
             "val_mean_balanced_accuracy": round(mean_bacc, 4),
             "seconds": round(time.monotonic() - started, 1)}
        )  # fmt: skip
        log.info("epoch %d: %s", epoch, history[-1])
        progress.update(
            epoch,
            config.epochs,
            loss=total / per_epoch,
            val_loss=val_loss,
            val_bacc=mean_bacc,
            message=f"epoch {epoch}/{config.epochs}",
        )
    val_images, val_labels, val_asked = images[val], labels[val], asked[val]
    if config.randomise:
        # Cuts chosen on the clean and on a randomised copy of the validation
        # galaxies, so that they hold off the renderer's own sky too.
        jitter = torch.Generator().manual_seed(config.seed + 1)
        val_images = torch.cat([val_images, survey_randomise(val_images, generator=jitter, p=1.0)])
        val_labels = np.concatenate([val_labels, val_labels])
        val_asked = np.concatenate([val_asked, val_asked])
    cnn.thresholds, report = choose_thresholds(
        cnn.predict_proba(val_images), val_labels, val_asked, seed=config.seed
    )
    for i, f in enumerate(FEATURES):
        report[f.name].update(
            train_asked=int(asked[train, i].sum()),
            train_positives=int(pos[i]),
            pos_weight=round(float(weight[i]), 3),
        )
    cnn.meta = {
        "threshold_rule": "per feature, the probability cut maximising balanced accuracy on the "
        "validation galaxies where its target is known"
        + (" (clean and a domain-randomised copy)" if config.randomise else "")
        + "; val_balanced_accuracy is cross-fitted "
        "(cut chosen on one random half of those galaxies, scored on the other, both ways averaged)",
        "targets": config.targets,
        "domain_randomisation": config.randomise,
        "report": report,
        "training": {
            "n_train": len(train),
            "n_val": len(val),
            "history": history,
            "seconds": round(time.monotonic() - started, 1),
            "torch_threads": torch.get_num_threads(),
        },
    }
    return cnn


def training_targets(
    data: Path, *, targets: str = "joint"
) -> tuple[list[Path], np.ndarray, np.ndarray, str]:
    """Images and classifier targets of a mock sky (truth) or a prepared dataset (votes).

    Parameters
    ----------
    data : Path
        A mock sky (``truth.parquet``: the true morphology) or a dataset
        written by ``galaxysd prepare`` (``metadata.jsonl``: the catalogue's
        well-sampled tags; its ``stats/galaxies.csv``, when present, adds the
        negative answers such as ``no_bar`` and ``not_odd`` that prompts drop).
    targets : {"joint", "conditional"}
        See :class:`~galaxysd_core.metrics.config.FeatureClassifierConfig`.

    Returns
    -------
    paths : list of Path
    labels, known : np.ndarray of bool, shape (n, 11)
    source : str
        ``"truth"`` or ``"votes"``.

    Raises
    ------
    ConfigError
        If the folder is neither.
    """
    joint = targets == "joint"
    if (data / "truth.parquet").is_file():
        truth = pd.read_parquet(data / "truth.parquet")
        labels, asked = feature_labels(truth)
        labels, asked = labels.to_numpy(), asked.to_numpy()
        if joint:  # off-path answers are no: "bar?" of an elliptical
            labels, asked = labels & asked, np.ones_like(asked)
        return [data / "images" / f"{a}.jpg" for a in truth["asset_id"]], labels, asked, "truth"
    if (data / "metadata.jsonl").is_file():
        from galaxysd_core.gz2.dataset import prepared_tags

        paths, tags = prepared_tags(data)
        labels, known = tag_targets(tags, joint=joint)
        return paths, labels, known, "votes"
    raise ConfigError(
        f"FeatureClassifierConfig.data: {data} has neither truth.parquet (a mock sky) nor "
        "metadata.jsonl (a prepared dataset)"
    )


def train_feature_classifiers(
    config: FeatureClassifierConfig, *, progress: Progress | None = None
) -> Path:
    """Train the CNN on a mock sky or prepared dataset and save it (job kind ``feature-classifiers``).

    Parameters
    ----------
    config : FeatureClassifierConfig
    progress : Progress, optional

    Returns
    -------
    Path
        The output folder (``model.safetensors`` + ``feature_classifiers.json``).

    Raises
    ------
    ConfigError
        If no output folder is given or the data is neither a mock sky nor a
        prepared dataset.
    """
    from galaxysd_core.images import load_images
    from galaxysd_core.paths import workspace
    from galaxysd_core.progress import run_folder

    progress = progress or Progress()
    config.validate()
    data = Path(config.data or workspace().sky / "default")
    out = run_folder(config.output_dir)
    if out is None:
        raise ConfigError("FeatureClassifierConfig.output_dir: give a folder for the classifiers")
    paths, labels, known, source = training_targets(data, targets=config.targets)
    progress.update(0, config.epochs, message=f"reading {len(paths)} images")
    images, _ = load_images(paths, config.image_size)
    cnn = train_feature_cnn(images, labels, known, config=config, progress=progress)
    sky_config = data / "sky_config.json"
    cnn.meta["training"].update(
        data=str(data),
        labels_from=source,
        galaxies=len(paths),
        sky=json.loads(sky_config.read_text()) if sky_config.is_file() else None,
        config=config.to_dict(),
        command=f"OMP_NUM_THREADS=1 galaxysd feature-classifiers --data {data} --output-dir {out}"
        f" --epochs {config.epochs} --seed {config.seed}"
        + (f" --zoom {config.zoom}" if config.zoom > 1 else "")
        + (f" --targets {config.targets}" if config.targets != "joint" else "")
        + (f" --init {config.init} --lr {config.lr}" if config.init is not None else "")
        + ("" if config.randomise else " --no-randomise")
        + (f" --device {config.device}" if config.device != "cpu" else ""),
    )
    cnn.save(out)
    log.info("feature classifiers written to %s", out)
    return Path(out)
