"""How a model looks against the real sky: the Table 1 sheet and the brightness check.

* :func:`demo_sheet` draws, for each Table 1 prompt type A-P, real galaxies
  carrying the type's tags above generated ones (the README's sheet).
* :func:`brightness_report` measures the over-brightness the paper fixes with
  reference-start sampling (Sec. 2): mean pixel value of text-only outputs,
  reference-start outputs and real images with the same tags.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from galaxysd_core.diffusion.config import DemoReportConfig
from galaxysd_core.diffusion.data import Record, read_metadata
from galaxysd_core.diffusion.sampling import generate
from galaxysd_core.images import read_image
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)


def table1_types() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Letter -> (weighted prompt, tags) for the Table 1 prompt types A-P."""
    from galaxysd_core.gz2 import TABLE1_PROMPTS, table1_prompt

    return {letter: (table1_prompt(letter), tuple(tags)) for letter, tags in TABLE1_PROMPTS.items()}


def _real(records: list[Record], tags: tuple[str, ...]) -> list[Record]:
    return [r for r in records if set(tags) <= set(r.tags)]


def _mean_brightness(images: list[Any]) -> float:
    return float(np.mean([np.asarray(im.convert("RGB"), dtype=np.float64).mean() for im in images]))


def brightness_report(
    pipeline,
    dataset: str | os.PathLike[str],
    *,
    n: int = 8,
    seed: int = 0,
    steps: int = 30,
    guidance: float = 7.0,
    strength: float = 0.6,
) -> dict[str, Any]:
    """Mean brightness (0-255) of text-only, reference-start and real images per Table 1 type.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionPipeline
    dataset : path-like
        Prepared dataset (``metadata.jsonl`` with ``tags``): the real images and
        the reference pool.
    n, seed, steps, guidance, strength
        Images per type and sampling settings (the reference-start run uses
        ``reference="auto"``, a random real image with the same tags).

    Returns
    -------
    dict
        ``{"per_type": {letter: {"text_only", "reference_start", "real"}},
        "mean": {...}}``; types without real images are skipped.
    """
    from PIL import Image

    records = read_metadata(dataset)
    rows: dict[str, dict[str, float]] = {}
    for letter, (prompt, tags) in table1_types().items():
        real = _real(records, tags)
        if not real:
            continue
        text_only = generate(pipeline, prompt, n=n, seed=seed, steps=steps, guidance=guidance)
        started = generate(
            pipeline, prompt, n=n, seed=seed, steps=steps, guidance=guidance,
            reference="auto", pool=dataset, strength=strength,
        )  # fmt: skip
        real_images = [Image.open(r.image) for r in real[: max(n, 32)]]
        rows[letter] = {
            "text_only": _mean_brightness(text_only.images),
            "reference_start": _mean_brightness(started.images),
            "real": _mean_brightness(real_images),
        }
        log.info("brightness %s: %s", letter, rows[letter])
    keys = ("text_only", "reference_start", "real")
    mean = {k: float(np.mean([r[k] for r in rows.values()])) for k in keys} if rows else {}
    return {"per_type": rows, "mean": mean, "n": n, "steps": steps, "strength": strength}


def demo_sheet(
    pipeline,
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    real_rows: int = 2,
    generated_rows: int = 3,
    seed: int = 0,
    steps: int = 30,
    guidance: float = 7.0,
) -> Path:
    """Write a PNG sheet: one column per Table 1 type, real rows above generated rows.

    Returns
    -------
    Path
        ``out``.
    """
    from PIL import Image, ImageDraw

    from galaxysd_core.atomic import atomic_write_bytes

    records = read_metadata(dataset)
    types = table1_types()
    made = generate(
        pipeline, [p for p, _ in types.values()], n=generated_rows, seed=seed, steps=steps,
        guidance=guidance, batch_size=16,
    )  # fmt: skip
    size = made.images[0].size[0]
    header, gap = 18, 6
    rows = real_rows + generated_rows
    sheet = Image.new("RGB", (len(types) * size, header + rows * size + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for col, (letter, (_, tags)) in enumerate(types.items()):
        draw.text((col * size + size // 2 - 3, 3), letter, fill=(0, 0, 0))
        real = _real(records, tags)
        for row, record in enumerate(real[:real_rows]):
            pixels = read_image(record.image, size, resample=Image.Resampling.BICUBIC, draft=False)
            sheet.paste(Image.fromarray(pixels), (col * size, header + row * size))
        for row in range(generated_rows):
            tile = made.images[col * generated_rows + row].convert("RGB")
            sheet.paste(tile, (col * size, header + gap + (real_rows + row) * size))
    import io

    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    atomic_write_bytes(out, buffer.getvalue())
    return Path(out)


def demo_report(config: DemoReportConfig, *, progress: Progress | None = None) -> dict[str, Any]:
    """Write the sheet and/or the brightness numbers ``config`` asks for (``galaxysd demo report``).

    Returns
    -------
    dict
        ``sheet``: the PNG written; ``brightness``: the mean brightness per
        kind of image (the JSON file holds the per-type numbers too).
    """
    from galaxysd_core.atomic import atomic_write_json
    from galaxysd_core.diffusion.pipelines import load_pipeline
    from galaxysd_core.paths import DEMO_MODEL

    pipe = load_pipeline(config.model or DEMO_MODEL)
    done: dict[str, Any] = {}
    if config.sheet:
        done["sheet"] = demo_sheet(pipe, config.dataset, config.sheet, steps=config.steps)
    if config.brightness:
        report = brightness_report(pipe, config.dataset, n=config.n, steps=config.steps)
        atomic_write_json(config.brightness, report)
        done["brightness"] = report["mean"]
    return done
