"""Tiny fine-tuning inputs shared by the tests and ``benchmarks/finetune.py``.

A random diffusion model (``tiny_components``) and a prepared dataset of random
32x32 images: enough for a training step in CPU seconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def tiny_model_and_dataset(
    root: Path,
    texts: Sequence[str],
    *,
    tags: Sequence[Sequence[str]] | None = None,
    images: str = "",
) -> tuple[Path, Path]:
    """Write ``root/model`` and ``root/data`` (one random PNG per text); return both paths.

    Parameters
    ----------
    root : Path
        Parent folder of the two.
    texts : sequence of str
        The caption of each image.
    tags : sequence of sequence of str, optional
        The tags of each image; default none.
    images : str, default ""
        Sub-folder of the dataset holding the images (``"images"``: ``images/0.png``).
    """
    from galaxysd_core.diffusion import build_pipeline, save_pipeline, tiny_components

    model = save_pipeline(build_pipeline(tiny_components(0)), root / "model")
    data = root / "data"
    (data / images).mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i, text in enumerate(texts):
        name = f"{images}/{i}.png" if images else f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(data / name)
        row = {"file_name": name, "text": text, "tags": list(tags[i]) if tags else []}
        rows.append(json.dumps(row))
    (data / "metadata.jsonl").write_text("\n".join(rows) + "\n")
    return model, data
