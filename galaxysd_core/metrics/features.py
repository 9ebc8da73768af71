"""The 11 binary feature classifiers Q_i of consistency (Sec. 4.1, Eq. 5-6).

Each classifier answers one GZ2 question about an image ("is there a bar?").
Here they are logistic-regression heads on frozen SimCLR embeddings, trained
on labelled real images (the mock sky's true morphology) - a cheap stand-in
for the paper's separately trained CNNs, fast enough for a CPU, and measured
by cross-validated balanced accuracy so their reliability is on record.

A classifier is trained on the galaxies where its question is asked (its
task's path in the GZ2 tree holds, e.g. the bar classifier on face-on disks)
and applied to a prompt's images only where the prompt determines its answer
(:func:`prompt_answers`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_write_bytes, atomic_write_json
from galaxysd_core.errors import ConfigError, ModelFolderError
from galaxysd_core.gz2.tree import ANSWER_BY_TAG, TASKS
from galaxysd_core.jobs.progress import Progress
from galaxysd_core.metrics.config import FeatureClassifierConfig
from galaxysd_core.metrics.similarity import EmbeddingError, check_embeddings

log = logging.getLogger(__name__)

HEADS_FILE = "feature_heads.safetensors"
HEADS_META = "feature_heads.json"


@dataclass(frozen=True)
class Feature:
    """One binary classifier: positive when any of ``tags`` holds.

    Attributes
    ----------
    name : str
        Column name of its answers.
    tags : tuple of str
        GZ2 answer tags counted as "yes" (all of one task).
    """

    name: str
    tags: tuple[str, ...]

    @property
    def task(self) -> str:
        """The GZ2 task (question) it answers."""
        return ANSWER_BY_TAG[self.tags[0]].task


#: The paper's 11 feature classifiers (Sec. 4.1).
FEATURES: tuple[Feature, ...] = (
    Feature("features", ("features_or_disk",)),  # smooth vs features
    Feature("edge_on", ("edge_on",)),
    Feature("bar", ("bar",)),
    Feature("spiral", ("spiral",)),
    Feature("bulge_obvious_or_dominant", ("obvious_bulge", "dominant_bulge")),
    Feature("completely_round", ("completely_round",)),
    Feature("cigar_shaped", ("cigar_shaped",)),
    Feature("ring", ("ring",)),
    Feature("merger", ("merger",)),
    Feature("dust_lane", ("dust_lane",)),
    Feature("tight_arms", ("tight_arms",)),
)


def implied_tags(tags: tuple[str, ...] | list[str]) -> set[str]:
    """A prompt's tags plus every answer their GZ2 path implies.

    ``tight_arms`` implies ``features_or_disk``, ``not_edge_on`` and ``spiral``
    (Willett 2013 Table 3 paths); ``merger`` implies ``odd``.
    """
    out = set()
    for tag in tags:
        if tag not in ANSWER_BY_TAG:
            raise ConfigError(f"unknown GZ2 tag {tag!r} in a prompt")
        out.add(tag)
        out.update(TASKS[ANSWER_BY_TAG[tag].task].path)
    return out


def prompt_answers(tags: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Expected answers A_i of the 11 classifiers for a prompt, and which apply.

    A classifier applies when the prompt determines its question: the prompt
    (with the answers its path implies) answers that GZ2 task. "Tightly wound
    arms?" applies to ``spiral, loose arms`` (answer no) but not to ``spiral,
    4 arms`` (winding unspecified) nor to a smooth galaxy (not on its path).

    Returns
    -------
    truth : np.ndarray of bool, shape (11,)
    applicable : np.ndarray of bool, shape (11,)
    """
    known = implied_tags(tags)
    answered_tasks = {ANSWER_BY_TAG[t].task for t in known}
    truth = np.array([bool(known & set(f.tags)) for f in FEATURES])
    applicable = np.array([f.task in answered_tasks for f in FEATURES])
    return truth, applicable


def feature_labels(truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per galaxy, each classifier's true answer and whether its question is asked.

    Parameters
    ----------
    truth : pd.DataFrame
        A mock sky's ``truth.parquet`` (boolean column per GZ2 answer prefix).

    Returns
    -------
    labels, asked : pd.DataFrame of bool
        One column per classifier.
    """
    from galaxysd_core.embedding.probe import tag_frame

    tags = tag_frame(truth)
    missing = sorted({t for f in FEATURES for t in f.tags} - set(tags.columns))
    if missing:
        raise EmbeddingError(f"truth table lacks the answer columns of tags {missing}")
    labels, asked = {}, {}
    for f in FEATURES:
        labels[f.name] = tags[list(f.tags)].any(axis=1)
        path = [t for t in TASKS[f.task].path if t in tags.columns]
        asked[f.name] = tags[path].all(axis=1) if path else pd.Series(True, index=tags.index)
    return pd.DataFrame(labels), pd.DataFrame(asked)


@dataclass
class FeatureHeads:
    """Logistic-regression heads on standardised embeddings, one per feature."""

    coef: np.ndarray  # (11, d)
    intercept: np.ndarray  # (11,)
    mean: np.ndarray  # (d,)
    scale: np.ndarray  # (d,)
    meta: dict

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """Boolean answers (images x 11) of every classifier."""
        x = check_embeddings(embeddings, name="embeddings", dim=self.mean.shape[0])
        z = (x.astype(np.float64) - self.mean) / self.scale
        return z @ self.coef.T + self.intercept > 0

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``feature_heads.safetensors`` + ``feature_heads.json`` into ``folder``."""
        from safetensors.numpy import save

        arrays = {
            "coef": self.coef,
            "intercept": self.intercept,
            "mean": self.mean,
            "scale": self.scale,
        }
        data = save({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()})
        folder = Path(folder)
        atomic_write_bytes(folder / HEADS_FILE, data)
        atomic_write_json(folder / HEADS_META, self.meta)
        return folder / HEADS_FILE


def load_heads(folder: str | os.PathLike[str]) -> FeatureHeads:
    """Load heads saved by :meth:`FeatureHeads.save`.

    Raises
    ------
    ModelFolderError
        If the files are missing.
    """
    from safetensors.numpy import load_file

    folder = Path(folder)
    if not (folder / HEADS_FILE).is_file() or not (folder / HEADS_META).is_file():
        raise ModelFolderError(
            f"no feature classifiers in {folder} (needs {HEADS_FILE} and {HEADS_META}); "
            "train them with `galaxysd feature-classifiers`"
        )
    a = load_file(str(folder / HEADS_FILE))
    meta = json.loads((folder / HEADS_META).read_text())
    return FeatureHeads(
        a["coef"].astype(np.float64), a["intercept"].astype(np.float64),
        a["mean"].astype(np.float64), a["scale"].astype(np.float64), meta,
    )  # fmt: skip


def train_heads(
    embeddings: np.ndarray,
    truth: pd.DataFrame,
    *,
    c: float = 1.0,
    folds: int = 5,
    seed: int = 0,
) -> FeatureHeads:
    """Fit the 11 heads on labelled real embeddings; record CV balanced accuracy.

    Each head is fitted on the galaxies where its question is asked, with
    balanced class weights (most features are rare). A head with fewer than
    ``folds`` positives or negatives cannot be fitted; it is left as an
    always-"no" head and flagged ``trained: false`` in the metadata.

    Parameters
    ----------
    embeddings : np.ndarray, shape (n, d)
        Embeddings of the labelled galaxies.
    truth : pd.DataFrame
        Their truth table, row-aligned.
    c : float, default 1.0
        Inverse L2 regularisation of the logistic regressions.
    folds : int, default 5
        Cross-validation folds for the reported accuracy.
    seed : int, default 0
        Fold split seed.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = check_embeddings(embeddings, name="embeddings").astype(np.float64)
    if len(truth) != len(x):
        raise EmbeddingError(f"{len(x)} embeddings but {len(truth)} truth rows")
    labels, asked = feature_labels(truth.reset_index(drop=True))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    coef, intercept, report = (
        np.zeros((len(FEATURES), x.shape[1])),
        np.full(len(FEATURES), -1.0),
        {},
    )
    for i, f in enumerate(FEATURES):
        rows = asked[f.name].to_numpy()
        y = labels[f.name].to_numpy()[rows]
        pos, neg = int(y.sum()), int((~y).sum())
        if min(pos, neg) < folds:
            log.warning("feature %s: %d positives / %d negatives, not trained", f.name, pos, neg)
            report[f.name] = {"trained": False, "positives": pos, "negatives": neg}
            continue
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", solver="liblinear")
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        held_out = cross_val_predict(model, z[rows], y, cv=cv)
        model.fit(z[rows], y)
        coef[i], intercept[i] = model.coef_[0], model.intercept_[0]
        report[f.name] = {
            "trained": True,
            "positives": pos,
            "negatives": neg,
            "cv_balanced_accuracy": round(float(balanced_accuracy_score(y, held_out)), 4),
        }
    meta = {
        "features": [{"name": f.name, "tags": list(f.tags)} for f in FEATURES],
        "report": report,
    }
    return FeatureHeads(coef, intercept, mean, scale, meta)


def train_feature_classifiers(
    config: FeatureClassifierConfig, *, progress: Progress | None = None
) -> Path:
    """Embed a labelled mock sky and fit the 11 heads (job kind ``feature-classifiers``).

    Parameters
    ----------
    config : FeatureClassifierConfig
    progress : Progress, optional

    Returns
    -------
    Path
        The ``feature_heads.safetensors`` written into ``output_dir`` (its
        ``.json`` beside it records each head's cross-validated balanced accuracy).

    Raises
    ------
    ConfigError
        If no output folder is given or the data has no ``truth.parquet``.
    """
    from galaxysd_core.embedding.cache import cached_embeddings
    from galaxysd_core.jobs.progress import RUN_DIR_ENV
    from galaxysd_core.paths import DEMO_ENCODER, workspace

    progress = progress or Progress()
    config.validate()
    ws = workspace()
    data = Path(config.data or ws.sky / "default")
    out = config.output_dir or (
        Path(os.environ[RUN_DIR_ENV]) if RUN_DIR_ENV in os.environ else None
    )
    if out is None:
        raise ConfigError("FeatureClassifierConfig.output_dir: give a folder for the heads")
    if not (data / "truth.parquet").is_file():
        raise ConfigError(f"FeatureClassifierConfig.data: {data} has no truth.parquet (a mock sky)")
    truth = pd.read_parquet(data / "truth.parquet")
    paths = [data / "images" / f"{a}.jpg" for a in truth["asset_id"]]
    encoder = Path(config.encoder or DEMO_ENCODER)
    progress.update(0, 2, message=f"embedding {len(paths)} images")
    emb = cached_embeddings(
        paths,
        encoder_dir=encoder,
        cache_dir=ws.cache,
        batch_size=config.batch_size,
        device=config.device,
    )
    progress.update(1, 2, message="fitting 11 heads")
    heads = train_heads(emb, truth, c=config.c, folds=config.folds, seed=config.seed)
    heads.meta.update({"data": str(data), "encoder": str(encoder), "images": len(paths)})
    path = heads.save(out)
    progress.update(2, 2, message="done")
    return path
