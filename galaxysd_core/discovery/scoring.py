"""Score every catalogue galaxy with a classifier: streaming, batched, resumable.

Sec. 4.3 applies the classifier to all 239,695 GZ2 images. Here the catalogue
is cut into fixed chunks; each finished chunk is written atomically as
``chunks/chunk-NNNNNN.parquet``, so an interrupted run resumes at the first
missing chunk and gives the same scores. When every chunk exists, they are
merged into ``scores.parquet`` and a ``DONE`` marker is written. Several
processes (``accelerate launch --num_processes N``) share the chunks round-robin;
the main process merges after a barrier.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from galaxysd_core.errors import CatalogError, ConfigError, ImageReadError
from galaxysd_core.images import read_image
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)

SCORES_FILE = "scores.parquet"
DONE_FILE = "DONE"
MANIFEST = "manifest.json"


def _decode_chunk(paths: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    images = np.zeros((len(paths), size, size, 3), dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)
    for i, path in enumerate(paths):
        try:
            images[i] = read_image(path, size)
            ok[i] = True
        except ImageReadError as exc:
            log.warning("%s", exc)
    return images, ok


def _chunk_path(out: Path, index: int) -> Path:
    return out / "chunks" / f"chunk-{index:06d}.parquet"


def _check_manifest(out: Path, manifest: dict) -> None:
    path = out / MANIFEST
    if path.exists():
        old = json.loads(path.read_text())
        if old != manifest:
            raise ConfigError(
                f"{out} holds scores of another run ({old}); use a new folder to score {manifest}"
            )
    else:
        atomic_write_json(path, manifest)


def is_done(out: str | os.PathLike[str]) -> bool:
    """Whether a scoring folder is complete (``DONE`` marker and merged scores)."""
    out = Path(out)
    return (out / DONE_FILE).exists() and (out / SCORES_FILE).exists()


def score_catalog(
    classifier_dir: str | os.PathLike[str],
    items: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    batch_size: int = 256,
    chunk_size: int = 4096,
    process_index: int = 0,
    num_processes: int = 1,
    progress: Progress | None = None,
    barrier=None,
    device: str = "cpu",
) -> pd.DataFrame | None:
    """Score catalogue images into ``out`` chunk by chunk.

    Parameters
    ----------
    classifier_dir : path-like
        A folder saved by :meth:`GalaxyClassifier.save`.
    items : DataFrame
        ``object_id`` and ``path`` (image file) per galaxy, in a fixed order.
    out : path-like
        The scores folder (created); re-running resumes it.
    batch_size : int, default 256
        Images per forward pass.
    chunk_size : int, default 4096
        Images per written chunk (the unit of resumption).
    process_index, num_processes : int
        This process's share: chunks ``i`` with ``i % num_processes == process_index``.
    progress : Progress, optional
        Receives ``update(done_chunks, total_chunks)``; a stop request leaves
        the finished chunks for a later resume.
    barrier : callable, optional
        Called before merging when ``num_processes > 1`` (accelerate's
        ``wait_for_everyone``).
    device : str, default "cpu"
        Where the network runs.

    Returns
    -------
    DataFrame or None
        On the main process: ``object_id, score, ok`` for every galaxy
        (``score`` NaN and ``ok`` False for an unreadable image, counted in
        the log). None on the other processes.

    Raises
    ------
    CatalogError
        If ``items`` is empty or lacks the columns.
    """
    import torch

    from galaxysd_core.classify.model import GalaxyClassifier, freeze_for_scoring

    progress = progress or Progress()
    missing = {"object_id", "path"} - set(items.columns)
    if missing:
        raise CatalogError(f"items lack column(s) {sorted(missing)}")
    if len(items) == 0:
        raise CatalogError("the catalogue to score is empty")
    if batch_size < 1 or chunk_size < 1:
        raise ConfigError(f"batch_size and chunk_size must be >= 1, got {batch_size}, {chunk_size}")
    out = Path(out)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    clf = GalaxyClassifier.load(classifier_dir)
    clf.model.to(device)
    freeze_for_scoring(clf)
    size = clf.config.image_size
    weights = Path(classifier_dir) / "model.safetensors"
    manifest = {
        "n": len(items),
        "chunk_size": chunk_size,
        "image_size": size,
        "classifier": str(Path(classifier_dir).resolve()),
        "classifier_mtime": weights.stat().st_mtime_ns,
        "first_id": str(items["object_id"].iloc[0]),
        "last_id": str(items["object_id"].iloc[-1]),
    }
    if process_index == 0:
        _check_manifest(out, manifest)
    n_chunks = -(-len(items) // chunk_size)
    mine = [i for i in range(process_index, n_chunks, num_processes)]
    todo = [i for i in mine if not _chunk_path(out, i).exists()]
    paths = items["path"].astype(str).tolist()
    ids = items["object_id"].to_numpy()
    log.info("scoring %d chunks (%d already done) in %s", len(mine), len(mine) - len(todo), out)

    def span(i: int) -> list[str]:
        return paths[i * chunk_size : (i + 1) * chunk_size]

    # Decode the next chunk in a thread while the network scores this one
    # (PIL's JPEG decoder releases the GIL).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_decode_chunk, span(todo[0]), size) if todo else None
        for k, i in enumerate(todo):
            images, ok = pending.result()
            if k + 1 < len(todo):
                pending = pool.submit(_decode_chunk, span(todo[k + 1]), size)
            scores = np.full(len(ok), np.nan, dtype=np.float32)
            if ok.any():
                batch = torch.from_numpy(images[ok]).permute(0, 3, 1, 2)
                scores[ok] = clf.predict_proba(batch, batch_size=batch_size)
            frame = pd.DataFrame(
                {"object_id": ids[i * chunk_size : (i + 1) * chunk_size], "score": scores, "ok": ok}
            )
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            atomic_write_bytes(_chunk_path(out, i), buffer.getvalue())
            progress.update(len(mine) - len(todo) + k + 1, len(mine), message=f"chunk {i}")
            progress.check_stop()
    if num_processes > 1 and barrier is not None:
        barrier()
    if process_index != 0:
        return None
    return merge_scores(out, n_chunks=n_chunks)


def merge_scores(out: str | os.PathLike[str], *, n_chunks: int) -> pd.DataFrame:
    """Merge finished chunks into ``scores.parquet`` and write ``DONE``.

    Raises
    ------
    CatalogError
        If a chunk is missing (a process has not finished its share).
    """
    out = Path(out)
    missing = [i for i in range(n_chunks) if not _chunk_path(out, i).exists()]
    if missing:
        raise CatalogError(f"{len(missing)} score chunk(s) missing in {out}, e.g. {missing[:3]}")
    scores = pd.concat(
        [pd.read_parquet(_chunk_path(out, i)) for i in range(n_chunks)], ignore_index=True
    )
    buffer = io.BytesIO()
    scores.to_parquet(buffer, index=False)
    atomic_write_bytes(out / SCORES_FILE, buffer.getvalue())
    n_bad = int((~scores["ok"]).sum())
    atomic_write_text(out / DONE_FILE, json.dumps({"n": len(scores), "unreadable": n_bad}) + "\n")
    if n_bad:
        log.warning("%d of %d images could not be read; their score is NaN", n_bad, len(scores))
    return scores


def read_scores(out: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a finished scores folder.

    Raises
    ------
    CatalogError
        If scoring has not finished there.
    """
    if not is_done(out):
        raise CatalogError(f"scoring in {out} has not finished (no {DONE_FILE} marker)")
    return pd.read_parquet(Path(out) / SCORES_FILE)


def score_distributed(
    classifier_dir: str | os.PathLike[str],
    items: pd.DataFrame,
    out: str | os.PathLike[str],
    **kwargs,
) -> pd.DataFrame | None:
    """:func:`score_catalog` with this process's share from ``accelerate``.

    Works unlaunched (one process) and under ``accelerate launch
    --num_processes N`` (CPU or GPUs); torch threads are split among the
    processes of one machine.
    """
    import torch
    from accelerate import PartialState

    # cpu=True lets torchrun-started processes on a CPU-only machine join a
    # gloo group (accelerate's MULTI_CPU); with CUDA each process takes a GPU.
    state = PartialState(cpu=not torch.cuda.is_available())
    if state.num_processes > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // state.num_processes))
    return score_catalog(
        classifier_dir,
        items,
        out,
        process_index=state.process_index,
        num_processes=state.num_processes,
        barrier=state.wait_for_everyone,
        device=str(state.device),
        **kwargs,
    )
