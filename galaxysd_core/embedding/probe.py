"""Evidence that an embedding knows morphology: probes on labelled galaxies.

For each GZ2 tag with enough positives and negatives, a cross-validated
logistic regression (linear probe) and a cosine k-NN vote predict the tag
from the frozen embedding. Both report balanced accuracy (0.5 = chance),
since most tags are rare.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from galaxysd_core.gz2.tree import ANSWER_BY_PREFIX, ANSWER_BY_TAG
from galaxysd_core.metrics.similarity import EmbeddingError, check_embeddings, normalise


def tag_frame(truth: pd.DataFrame) -> pd.DataFrame:
    """Boolean tag columns of a truth table (answer-prefix columns renamed to tags)."""
    cols = {c: ANSWER_BY_PREFIX[c].tag for c in truth.columns if c in ANSWER_BY_PREFIX}
    # Tag-named columns count only where no answer-prefix column gives the tag
    # (a mock sky's truth also has rendering columns such as "bar" and "spiral").
    cols |= {c: c for c in truth.columns if c in ANSWER_BY_TAG and c not in cols.values()}
    return truth[list(cols)].rename(columns=cols).astype(bool)


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
