"""Evidence that an embedding knows morphology: probes on labelled galaxies.

For each GZ2 tag with enough positives and negatives, a cross-validated
logistic regression (linear probe) and a cosine k-NN vote predict the tag
from the frozen embedding. Both report balanced accuracy (0.5 = chance),
since most tags are rare.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.embedding.config import ProbeConfig
from galaxysd_core.embedding.vectors import EmbeddingError, check_embeddings, normalise
from galaxysd_core.errors import ImageReadError
from galaxysd_core.gz2.folders import tag_frame
from galaxysd_core.gz2.tree import ANSWER_BY_TAG
from galaxysd_core.progress import Progress


def probe_scores(
    embeddings: np.ndarray,
    labels: pd.DataFrame,
    *,
    tags: Sequence[str] | None = None,
    k: int = 10,
    folds: int = 5,
    min_count: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Linear-probe and k-NN balanced accuracy per tag.

    Parameters
    ----------
    embeddings : np.ndarray, shape (n, d)
        One row per labelled galaxy.
    labels : pd.DataFrame
        Boolean columns (tags or GZ2 answer prefixes), one row per galaxy.
    tags : sequence of str, optional
        Tags to probe; default every tag with ``min_count`` positives and negatives.
    k : int, default 10
        Neighbours of the k-NN vote (cosine similarity).
    folds : int, default 5
        Stratified cross-validation folds.
    min_count : int, default 10
        Fewest positives (and negatives) for a tag to be probed.
    seed : int, default 0
        Fold split seed.

    Returns
    -------
    pd.DataFrame
        ``tag``, ``positives``, ``linear_bacc``, ``knn_bacc`` (one row per tag).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    x = check_embeddings(embeddings, name="embeddings").astype(np.float64)
    frame = tag_frame(labels)
    if len(frame) != len(x):
        raise EmbeddingError(f"{len(x)} embeddings but {len(frame)} label rows")
    xn = normalise(x, name="embeddings")
    if tags is None:
        counts = frame.sum()
        tags = [t for t in frame.columns if min_count <= counts[t] <= len(frame) - min_count]
    rows = []
    for tag in tags:
        y = frame[tag].to_numpy()
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        lin, knn = np.zeros(len(y), bool), np.zeros(len(y), bool)
        for train, test in cv.split(x, y):
            scaler = StandardScaler().fit(x[train])
            model = LogisticRegression(max_iter=2000, class_weight="balanced", solver="liblinear")
            model.fit(scaler.transform(x[train]), y[train])
            lin[test] = model.predict(scaler.transform(x[test]))
            sims = xn[test] @ xn[train].T
            nearest = np.argpartition(-sims, min(k, len(train) - 1), axis=1)[:, :k]
            # weight votes by class frequency so a rare tag is not always outvoted
            pos_rate = y[train].mean()
            votes = y[train][nearest].mean(axis=1)
            knn[test] = votes > pos_rate
        rows.append(
            {
                "tag": tag,
                "positives": int(y.sum()),
                "linear_bacc": balanced_accuracy_score(y, lin),
                "knn_bacc": balanced_accuracy_score(y, knn),
            }
        )
    return pd.DataFrame(rows, columns=["tag", "positives", "linear_bacc", "knn_bacc"])


#: Tags the demo encoder is probed on: one or more answers of each GZ2 question
#: the mock sky renders (smooth/disk, edge-on, spiral, bar, roundness, winding,
#: odd features, bulge), common enough on a 4,000-galaxy sky for 3 folds.
PROBE_TAGS = (
    "features_or_disk",
    "edge_on",
    "spiral",
    "bar",
    "completely_round",
    "in_between",
    "cigar_shaped",
    "tight_arms",
    "ring",
    "merger",
    "dust_lane",
    "obvious_bulge",
)


def probe_encoder(
    encoder_dir: str | os.PathLike[str],
    sky: str | os.PathLike[str],
    *,
    tags: Sequence[str] = PROBE_TAGS,
    folds: int = 3,
    seed: int = 0,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Probe a trained encoder against the same architecture at random init.

    A random-init ResNet already sorts galaxies by brightness, colour and
    size, so an encoder is evidence of learnt morphology only where it beats
    that baseline; both are probed on the same galaxies and folds.

    Parameters
    ----------
    encoder_dir : path-like
        Encoder folder (``config.json`` + ``model.safetensors``).
    sky : path-like
        A mock sky with ``truth.parquet`` and ``images/{asset_id}.jpg`` (use a
        seed other than the training sky's), or a prepared dataset (its
        catalogue tags: what a real user has).
    tags : sequence of str, default PROBE_TAGS
        Tags to probe.
    folds : int, default 3
        Stratified cross-validation folds.
    seed : int, default 0
        Seed of the random-init encoder and of the fold split.
    batch_size : int, default 64
        Images embedded at once.
    progress : Progress, optional
        Counts the images embedded by both encoders; a stop request raises
        ``Cancelled`` (nothing is written by this function).

    Returns
    -------
    dict
        ``note``, ``sky``, ``galaxies``, ``rows`` (per tag: positives, linear
        and k-NN balanced accuracy, trained and random-init) and their means.

    Raises
    ------
    ImageReadError
        If the sky has no ``truth.parquet`` or an image is missing.
    """
    import torch

    from galaxysd_core.embedding.model import Encoder, embed, load_encoder

    root = Path(sky)
    truth_file = root / "truth.parquet"
    if truth_file.is_file():
        truth = pd.read_parquet(truth_file)
        paths = [root / "images" / f"{a}.jpg" for a in truth["asset_id"]]
        source = "the true tags of a held-out mock sky"
    elif (root / "metadata.jsonl").is_file():
        from galaxysd_core.gz2.dataset import prepared_tags

        paths, galaxy_tags = prepared_tags(root)
        # a tag is positive where the catalogue's votes give it, negative elsewhere
        truth = pd.DataFrame({t: [t in g for g in galaxy_tags] for t in ANSWER_BY_TAG})
        source = "the well-sampled catalogue tags of a prepared dataset"
    else:
        raise ImageReadError(
            f"{root} has neither truth.parquet (a mock sky) nor metadata.jsonl (a prepared "
            "dataset): probes need labelled galaxies"
        )
    counts = tag_frame(truth).sum()
    # a tag needs a positive and a negative in every fold
    tags = [t for t in tags if folds <= counts.get(t, 0) <= len(truth) - folds]
    trained = load_encoder(encoder_dir)
    torch.manual_seed(seed)
    random_init = Encoder(trained.spec).eval()
    progress = progress or Progress()
    total = 2 * len(paths)

    def counted(offset: int) -> Iterator[Path]:
        # embed() consumes lazily, so counting the paths it pulls is its progress
        for i, path in enumerate(paths):
            if i % batch_size == 0:
                progress.check_stop()
                progress.update(offset + i, total)
            yield path

    scores = {}
    for k, (name, encoder) in enumerate((("", trained), ("_random_init", random_init))):
        x = embed(counted(k * len(paths)), encoder=encoder, batch_size=batch_size)
        scores[name] = probe_scores(x, truth, tags=list(tags), folds=folds, seed=seed)
    progress.update(total, total)
    rows = scores[""].copy()
    for col in ("linear_bacc", "knn_bacc"):
        rows[f"{col}_random_init"] = scores["_random_init"][col].to_numpy()
    rows = rows.round(4)
    return {
        "note": f"{folds}-fold CV balanced accuracy on {source}; "
        "random_init = same architecture, untrained",
        "sky": str(root),
        "galaxies": len(truth),
        "rows": rows.to_dict(orient="records"),
        "mean_linear": round(float(rows["linear_bacc"].mean()), 4),
        "mean_knn": round(float(rows["knn_bacc"].mean()), 4),
        "mean_linear_random_init": round(float(rows["linear_bacc_random_init"].mean()), 4),
        "mean_knn_random_init": round(float(rows["knn_bacc_random_init"].mean()), 4),
    }


def run_probe(config: ProbeConfig, *, progress: Progress | None = None) -> dict[str, Any]:
    """Probe ``config.encoder`` on ``config.sky`` (:func:`probe_encoder`); write ``config.out``."""
    from galaxysd_core.atomic import atomic_write_json

    result = probe_encoder(
        config.encoder, config.sky, folds=config.folds, seed=config.seed, progress=progress
    )
    atomic_write_json(config.out, result)
    return result
