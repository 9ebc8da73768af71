"""A 2-D map of real + generated galaxies in the SimCLR space (UMAP, t-SNE or PCA).

The map is a background job (UMAP's first fit in a process spends about a
minute compiling numba code). Its result is ``map.parquet`` - one row per
image with ``x``, ``y``, ``source`` (real / generated), ``prompt``, ``tags``,
``checkpoint``, ``mode`` and ``path`` - and ``map_embeddings.npy`` with the
row-aligned embeddings (for nearest-neighbour look-ups), both written
atomically.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_write_bytes
from galaxysd_core.embedding.config import MapConfig
from galaxysd_core.embedding.vectors import check_embeddings, normalise
from galaxysd_core.errors import ConfigError
from galaxysd_core.paths import DEMO_ENCODER, workspace
from galaxysd_core.progress import Progress, run_folder

log = logging.getLogger(__name__)

MAP_FILE = "map.parquet"
EMBEDDINGS_FILE = "map_embeddings.npy"


def project_2d(embeddings: np.ndarray, *, method: str = "umap", seed: int = 0, n_neighbors: int = 15,
               min_dist: float = 0.1, perplexity: float = 30.0) -> np.ndarray:  # fmt: skip
    """Project embeddings to 2-D with cosine geometry (the metrics' S).

    Parameters
    ----------
    embeddings : np.ndarray, shape (n, d)
    method : {"umap", "tsne", "pca"}, default "umap"
    seed : int, default 0
    n_neighbors, min_dist : UMAP settings
    perplexity : float, t-SNE setting (capped below n / 3)

    Returns
    -------
    np.ndarray of float32, shape (n, 2)
    """
    x = normalise(
        check_embeddings(embeddings, name="embeddings").astype(np.float64), name="embeddings"
    )
    n = len(x)
    if n < 3:
        raise ConfigError(f"a map needs at least 3 images, got {n}")
    if method == "pca":
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, random_state=seed).fit_transform(x)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        xy = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), metric="cosine",
                  init="pca", random_state=seed).fit_transform(x)  # fmt: skip
    elif method == "umap":
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, n - 1), min_dist=min_dist,
                            metric="cosine", random_state=seed)  # fmt: skip
        xy = reducer.fit_transform(x)
    else:
        raise ConfigError(f"unknown map method {method!r}; use umap, tsne or pca")
    return np.asarray(xy, dtype=np.float32)


def _generated_table(config: MapConfig) -> pd.DataFrame:
    frames = []
    if config.run is not None:
        table = Path(config.run) / "images.parquet"
        if not table.is_file():
            raise ConfigError(
                f"MapConfig.run: {config.run} has no images.parquet; run `galaxysd evaluate` first"
            )
        frames.append(pd.read_parquet(table))
    for folder in config.generated:
        from galaxysd_core.images import image_files

        frames.append(
            pd.DataFrame(
                {
                    "path": [str(p) for p in image_files(folder, require=True)],
                    "checkpoint": str(folder),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["path"])
    return pd.concat(frames, ignore_index=True)


def compute_map(config: MapConfig, *, progress: Progress | None = None) -> Path:
    """Embed real and generated images, project them, write ``map.parquet``.

    Parameters
    ----------
    config : MapConfig
    progress : Progress, optional
        Three updates: embedded, projected, written.

    Returns
    -------
    Path
        The ``map.parquet`` file.

    Raises
    ------
    ConfigError
        Bad folders, or fewer than 3 images in all.
    """
    from galaxysd_core.embedding.cache import cached_embeddings
    from galaxysd_core.gz2.folders import real_table
    from galaxysd_core.gz2.prompts import TABLE1_PROMPTS

    progress = progress or Progress()
    config.validate()
    ws = workspace()
    out = run_folder(config.output_dir)
    out = Path(out or config.run or ws.cache / "maps" / "default")
    real = real_table(config.real or ws.sky / "default")
    if len(real) > config.max_real:
        keep = np.random.default_rng(config.seed).choice(len(real), config.max_real, replace=False)
        real = real.iloc[np.sort(keep)].reset_index(drop=True)
    real = real.assign(source="real", prompt="", checkpoint="", mode="")
    gen = _generated_table(config).assign(source="generated")
    if "prompt" in gen:
        gen["tags"] = [tuple(TABLE1_PROMPTS.get(p, ())) for p in gen["prompt"]]
    table = pd.concat([real, gen], ignore_index=True)
    for column in ("prompt", "checkpoint", "mode"):
        table[column] = table[column].fillna("").astype(str) if column in table else ""
    table["tags"] = [
        ", ".join(t) if isinstance(t, tuple | list | np.ndarray) else "" for t in table["tags"]
    ]
    encoder = Path(config.encoder or DEMO_ENCODER)
    emb = cached_embeddings(table["path"].tolist(), encoder_dir=encoder, cache_dir=ws.cache,
                            batch_size=config.batch_size, device=config.device)  # fmt: skip
    progress.update(1, 3, message=f"embedded {len(table)} images")
    progress.check_stop()
    xy = project_2d(emb, method=config.method, seed=config.seed, n_neighbors=config.n_neighbors,
                    min_dist=config.min_dist, perplexity=config.perplexity)  # fmt: skip
    progress.update(2, 3, message=f"{config.method} done")
    keep = ["x", "y", "source", "prompt", "tags", "checkpoint", "mode", "path"]
    table["x"], table["y"] = xy[:, 0], xy[:, 1]
    table["method"] = config.method
    buffer = io.BytesIO()
    table[[*keep, "method"]].to_parquet(buffer, index=False)
    arrays = io.BytesIO()
    np.save(arrays, emb.astype(np.float32))
    # embeddings first: a reader that finds map.parquet also finds matching rows
    atomic_write_bytes(out / EMBEDDINGS_FILE, arrays.getvalue())
    atomic_write_bytes(out / MAP_FILE, buffer.getvalue())
    progress.update(3, 3, message="map written")
    return out / MAP_FILE


def read_map(folder: str | os.PathLike[str]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Read ``map.parquet`` (and its embeddings when they match) from a folder.

    Raises
    ------
    ConfigError
        If there is no map in the folder.
    """
    folder = Path(folder)
    if not (folder / MAP_FILE).is_file():
        raise ConfigError(f"no {MAP_FILE} in {folder}; compute one with `galaxysd map`")
    table = pd.read_parquet(folder / MAP_FILE)
    emb = np.load(folder / EMBEDDINGS_FILE) if (folder / EMBEDDINGS_FILE).is_file() else None
    if emb is not None and len(emb) != len(table):
        emb = None
    return table, emb


def map_folders(ws_root: str | os.PathLike[str]) -> list[Path]:
    """Folders holding a ``map.parquet`` in a workspace (runs and cache), newest first."""
    root = Path(ws_root)
    found = [*root.glob(f"runs/*/{MAP_FILE}"), *root.glob(f"cache/maps/*/{MAP_FILE}")]
    return [p.parent for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]


def neighbours(table: pd.DataFrame, emb: np.ndarray, row: int, *, k: int = 6) -> pd.DataFrame:
    """The ``k`` real images most similar to map row ``row`` (the max of Eq. 1 made visible).

    Returns
    -------
    pd.DataFrame
        The real rows, most similar first, with a ``similarity`` column.
    """
    real = np.flatnonzero((table["source"] == "real").to_numpy())
    if len(real) == 0:
        raise ConfigError("the map has no real images to compare with")
    sims = (
        normalise(emb[real].astype(np.float64), name="real")
        @ normalise(emb[row : row + 1].astype(np.float64), name="image")[0]
    )
    order = np.argsort(-sims)[:k]
    return table.iloc[real[order]].assign(similarity=sims[order])
