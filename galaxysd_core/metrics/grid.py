"""The X/Y grid (A1111's most used script), each cell scored by the metrics.

Two axes among ``guidance``, ``steps``, ``seed``, ``strength``, ``scheduler``,
``model`` and ``weight:<phrase>`` (the weight of that phrase in the prompt);
every cell generates ``n`` images at the base settings with the two axes'
values. Each cell is scored by the consistency of Eq. 5 (the 11 feature
classifiers against the answers the prompt's tags imply) and, when a real
dataset is at hand, the realism of Eq. 1 (cosine similarity of each image's
nearest real galaxy carrying the same tags, in the SimCLR embedding).
Writes ``grid.png`` (labelled sheet), ``grid.csv`` (one row per cell) and the
cells' PNGs with their recipes in ``cells/``.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import logging
import math
import os
from pathlib import Path
from typing import Any, ClassVar

from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError
from galaxysd_core.progress import Progress, run_folder

log = logging.getLogger(__name__)

__all__ = [
    "AXES", "Axis", "GridConfig", "grid_runs", "heat_table", "parse_axis", "run_grid", "with_weight",
]  # fmt: skip

#: Axes a grid can sweep (plus ``weight:<phrase>``).
AXES = ("guidance", "steps", "seed", "strength", "scheduler", "model")
_TYPES = {"guidance": float, "steps": int, "seed": int, "strength": float, "scheduler": str}
#: Most cells one grid may have (a 10 x 10 sheet).
MAX_CELLS = 100
CSV_COLUMNS = (
    "row", "col", "x_axis", "x_value", "y_axis", "y_value", "prompt", "seed", "steps",
    "guidance", "scheduler", "strength", "model", "n", "consistency", "realism", "image",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Axis:
    """One swept setting: ``name`` (an entry of :data:`AXES` or ``weight:<phrase>``) and values."""

    name: str
    values: tuple[Any, ...]

    @property
    def phrase(self) -> str | None:
        """The weighted phrase of a ``weight:<phrase>`` axis, else None."""
        return self.name.partition(":")[2] if self.name.startswith("weight:") else None


def parse_axis(spec: str, *, field: str = "x") -> Axis:
    """Read ``AXIS=V1,V2,...`` (e.g. ``guidance=3,5,7`` or ``weight:dust lane=0.8,1.3``).

    Raises
    ------
    ConfigError
        Naming ``field`` and the bad part: no ``=``, an unknown axis, an empty
        or repeated value list, a value of the wrong type.
    """
    from galaxysd_core.diffusion.pipelines import SCHEDULERS

    name, sep, raw = (spec or "").partition("=")
    name = name.strip()
    if not sep:
        raise ConfigError(f"{field}: {spec!r} is not AXIS=V1,V2,... (e.g. guidance=3,5,7)")
    if name not in AXES and not (name.startswith("weight:") and name[7:].strip()):
        raise ConfigError(
            f"{field}: unknown axis {name!r}; use one of {[*AXES, 'weight:<phrase>']}"
        )
    texts = [v.strip() for v in raw.split(",") if v.strip()]
    if not texts:
        raise ConfigError(f"{field}: axis {name!r} has no values")
    if len(set(texts)) != len(texts):
        raise ConfigError(f"{field}: axis {name!r} repeats a value in {raw!r}")
    kind = float if name.startswith("weight:") else _TYPES.get(name, str)
    try:
        values = tuple(kind(float(v)) if kind is int else kind(v) for v in texts)
    except ValueError:
        raise ConfigError(
            f"{field}: axis {name!r} needs {kind.__name__} values, got {raw!r}"
        ) from None
    if name == "scheduler" and (bad := [v for v in values if v not in SCHEDULERS]):
        raise ConfigError(f"{field}: unknown scheduler {bad[0]!r}; use one of {list(SCHEDULERS)}")
    if name.startswith("weight:"):
        name = f"weight:{name[7:].strip()}"
    return Axis(name, values)


def with_weight(prompt: str, phrase: str, weight: float) -> str:
    """``prompt`` with every occurrence of ``phrase`` weighted ``weight`` (replacing its weight).

    The phrase is matched in the prompt's plain text (any case), across spans:
    ``with_weight("sdss, {spiral:1.2} galaxy", "spiral galaxy", 0.8)`` gives
    ``"sdss, {spiral galaxy:0.8}"``.

    Raises
    ------
    ConfigError
        If the phrase is not in the prompt.
    """
    from galaxysd_core.prompts import format_weighted, parse_weighted

    spans = parse_weighted(prompt)
    text = "".join(s for s, _ in spans)
    weights = [w for s, w in spans for _ in s]
    needle, start, found = phrase.strip().lower(), 0, False
    while needle and (at := text.lower().find(needle, start)) >= 0:
        weights[at : at + len(needle)] = [weight] * len(needle)
        start, found = at + len(needle), True
    if not found:
        raise ConfigError(f"weight axis: the phrase {phrase!r} is not in the prompt {prompt!r}")
    runs = [
        ("".join(c for c, _ in group), w)
        for w, group in itertools.groupby(zip(text, weights, strict=True), key=lambda p: p[1])
    ]
    return format_weighted(runs)


@dataclasses.dataclass
class GridConfig(TaskConfig):
    """An X/Y grid of generations scored per cell (``galaxysd grid``).

    Attributes
    ----------
    model : Path, optional
        Diffusers folder (default: the bundled demo model).
    prompt : str
        The base (weighted) prompt.
    x, y : str
        ``AXIS=V1,V2,...`` (see :func:`parse_axis`); ``y`` may be None (one row).
    seed, steps, guidance, scheduler, strength, negative_prompt
        Base settings, overridden per cell by the axes.
    reference : Path, optional
        Start every cell from this image; a ``strength`` axis without one
        starts from a real galaxy of ``real`` carrying the prompt's tags.
    n : int, default 1
        Images per cell (the sheet shows the first; scores average all).
    real : Path, optional
        Mock sky or prepared dataset for realism (default: the workspace's
        default sky when built); realism is left empty without one.
    output_dir : Path, optional
        Where ``grid.png``, ``grid.csv`` and ``cells/`` go (default: the job's
        run folder, else ``runs/grid`` in the workspace).
    """

    kind: ClassVar[str] = "grid"
    aliases: ClassVar[dict[str, str]] = {"out": "output_dir"}  # the flag --out

    model: Path | None = None
    prompt: str = ""
    x: str = ""
    y: str | None = None
    seed: int = 0
    steps: int = 20
    guidance: float = 7.0
    scheduler: str = "euler_a"
    strength: float = 0.6
    negative_prompt: str = ""
    reference: Path | None = None
    n: int = 1
    real: Path | None = None
    feature_classifiers: Path | None = None
    encoder: Path | None = None
    output_dir: Path | None = None
    device: str = "cpu"

    def axes(self) -> list[Axis]:
        """The parsed axes (one or two)."""
        axes = [parse_axis(self.x, field="x")]
        if self.y:
            axes.append(parse_axis(self.y, field="y"))
        return axes

    def validate(self) -> None:
        """Raise ``ConfigError`` naming a bad field and value."""
        if not self.prompt.strip():
            raise ConfigError("GridConfig.prompt is empty: give the prompt to sweep")
        axes = self.axes()
        if len(axes) == 2 and axes[0].name == axes[1].name:
            raise ConfigError(f"GridConfig: x and y sweep the same axis {axes[0].name!r}")
        cells = math.prod(len(a.values) for a in axes)
        if cells > MAX_CELLS:
            raise ConfigError(f"GridConfig: {cells} cells; at most {MAX_CELLS} (fewer values)")
        for axis in axes:
            for value in axis.values if axis.phrase else ():
                with_weight(self.prompt, axis.phrase, value)
        if self.n < 1 or self.steps < 1:
            raise ConfigError(f"GridConfig: n and steps must be >= 1, got {self.n}, {self.steps}")

    def cells(self) -> int:
        """How many cells the grid has."""
        return math.prod(len(a.values) for a in self.axes())


def _cell_settings(config: GridConfig, picks: list[tuple[Axis, Any]]) -> dict[str, Any]:
    """The base settings with the axes' values of one cell applied."""
    from galaxysd_core.paths import DEMO_MODEL

    cell = {
        "prompt": config.prompt, "seed": config.seed, "steps": config.steps,
        "guidance": config.guidance, "scheduler": config.scheduler,
        "strength": config.strength, "model": str(config.model or DEMO_MODEL),
    }  # fmt: skip
    for axis, value in picks:
        if axis.phrase:
            cell["prompt"] = with_weight(cell["prompt"], axis.phrase, value)
        else:
            cell[axis.name] = str(value) if axis.name == "model" else value
    return cell


class _Scorer:
    """Consistency (Eq. 5) and realism (Eq. 1) of a prompt's images."""

    def __init__(self, config: GridConfig, tags: list[str]) -> None:
        from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn
        from galaxysd_core.metrics.features import prompt_answers
        from galaxysd_core.paths import DEMO_ENCODER, workspace

        self.device = config.device
        self.classifiers = load_feature_cnn(config.feature_classifiers or DEFAULT_FOLDER)
        self.truth, self.applicable = prompt_answers(tags)
        real = config.real or workspace().sky / "default"
        self.real_paths: list[str] = []
        self.real_emb = None
        if (Path(real) / "truth.parquet").is_file() or (Path(real) / "metadata.jsonl").is_file():
            self._embed_real(Path(real), tags, Path(config.encoder or DEMO_ENCODER), config.seed)
        else:
            log.info("grid: no real dataset at %s; realism left empty", real)

    def _embed_real(self, real: Path, tags: list[str], encoder_dir: Path, seed: int) -> None:
        import numpy as np

        from galaxysd_core.embedding.cache import cached_embeddings
        from galaxysd_core.embedding.model import load_encoder
        from galaxysd_core.gz2.folders import real_table
        from galaxysd_core.paths import workspace

        table = real_table(real)
        rows = np.flatnonzero([set(tags) <= set(t) for t in table["tags"]])
        if len(rows) > 200:  # enough for a nearest neighbour, quick to embed
            rows = np.sort(np.random.default_rng(seed).choice(rows, 200, replace=False))
        self.real_paths = table["path"].iloc[rows].tolist()
        if not self.real_paths:
            log.info("grid: no real galaxy in %s carries %s; realism left empty", real, tags)
            return
        self.encoder = load_encoder(encoder_dir, device=self.device)
        self.real_emb = cached_embeddings(
            self.real_paths, encoder_dir=encoder_dir, cache_dir=workspace().cache,
            device=self.device,
        )  # fmt: skip

    def score(self, images: list[Any]) -> dict[str, float]:
        import numpy as np

        from galaxysd_core.embedding.model import embed
        from galaxysd_core.metrics import consistency_per_image, realism

        out = {"consistency": float("nan"), "realism": float("nan")}
        if self.applicable.any():
            per = consistency_per_image(
                self.classifiers.predict(images), self.truth, applicable=self.applicable
            )
            out["consistency"] = float(np.nanmean(per))
        if self.real_emb is not None:
            gen = embed(images, encoder=self.encoder, device=self.device)
            out["realism"] = realism(self.real_emb, gen)
        return out


def run_grid(config: GridConfig, *, progress: Progress | None = None) -> Path:
    """Generate and score every cell; write ``grid.png``, ``grid.csv`` and ``cells/``.

    Parameters
    ----------
    config : GridConfig
    progress : Progress, optional
        One update per cell; a stop request raises ``Cancelled``.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    ConfigError
        For a bad config (see :meth:`GridConfig.validate`), or a strength axis
        with neither a reference nor a real galaxy carrying the prompt's tags.
    """
    import pandas as pd

    from galaxysd_core.atomic import atomic_write_bytes, atomic_write_text
    from galaxysd_core.diffusion.pipelines import load_pipeline
    from galaxysd_core.diffusion.sampling import generate
    from galaxysd_core.gz2.prompts import tags_of_prompt

    config.validate()
    from galaxysd_core.paths import workspace

    out = run_folder(config.output_dir) or workspace().runs / "grid"
    axes = config.axes()
    tags = tags_of_prompt(config.prompt)
    scorer = _Scorer(config, tags)
    reference = config.reference
    if reference is None and any(a.name == "strength" for a in axes):
        if not scorer.real_paths:
            raise ConfigError(
                "GridConfig: a strength axis needs --reference, or a real dataset with "
                f"galaxies carrying {tags or 'the prompt'}"
            )
        reference = Path(scorer.real_paths[config.seed % len(scorer.real_paths)])
    y_axis = axes[1] if len(axes) > 1 else Axis("", (None,))
    pipes: dict[str, Any] = {}
    rows, sheet = [], []
    total = config.cells()
    for r, y_value in enumerate(y_axis.values):
        for c, x_value in enumerate(axes[0].values):
            picks = [(axes[0], x_value)] + ([(y_axis, y_value)] if y_axis.name else [])
            cell = _cell_settings(config, picks)
            if cell["model"] not in pipes:
                pipes[cell["model"]] = load_pipeline(cell["model"], device=config.device)
            made = generate(
                pipes[cell["model"]], cell["prompt"], n=config.n, seed=cell["seed"],
                steps=cell["steps"], guidance=cell["guidance"], scheduler=cell["scheduler"],
                negative_prompt=config.negative_prompt, reference=reference,
                strength=cell["strength"], out=out / "cells", names=[f"r{r}c{c}"],
                model_name=cell["model"],
            )  # fmt: skip
            sheet.append(made.images[0])
            rows.append({
                "row": r, "col": c, "x_axis": axes[0].name, "x_value": x_value,
                "y_axis": y_axis.name or None, "y_value": y_value, **cell, "n": config.n,
                "strength": cell["strength"] if reference is not None else None,
                **scorer.score(made.images), "image": str(made.paths[0].relative_to(out)),
            })  # fmt: skip
            if progress is not None:
                progress.update(len(rows), total, message=f"cell {len(rows)} of {total}")
                progress.check_stop()
    frame = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
    buffer = io.BytesIO()
    _sheet(sheet, axes[0], y_axis).save(buffer, format="PNG")
    atomic_write_bytes(out / "grid.png", buffer.getvalue())
    atomic_write_text(out / "grid.csv", frame.to_csv(index=False))
    return out


def _sheet(images: list[Any], x: Axis, y: Axis, *, cell: int = 128) -> Any:
    """The cells as one labelled picture: x values across the top, y values down the left."""
    from PIL import Image, ImageDraw

    pad_top, pad_left = 24, 110 if y.name else 0
    cols, nrows = len(x.values), len(y.values)
    sheet = Image.new("RGB", (pad_left + cols * cell, pad_top + nrows * cell), "white")
    draw = ImageDraw.Draw(sheet)
    for c, value in enumerate(x.values):
        draw.text((pad_left + c * cell + 4, 6), f"{x.name}={value}", fill="black")
    for r, value in enumerate(y.values):
        if y.name:
            draw.text((4, pad_top + r * cell + cell // 2 - 6), f"{y.name}={value}", fill="black")
        for c in range(cols):
            tile = images[r * cols + c].convert("RGB").resize((cell, cell), Image.NEAREST)
            sheet.paste(tile, (pad_left + c * cell, pad_top + r * cell))
    return sheet


def grid_runs(root: str | os.PathLike[str]) -> list[Path]:
    """Folders under ``root`` (a workspace's ``runs/``) holding a finished grid, newest first."""
    found = [p.parent for p in Path(root).glob("*/grid.csv")]
    return sorted(found, key=lambda p: (p / "grid.csv").stat().st_mtime, reverse=True)


def heat_table(frame: Any, metric: str) -> Any:
    """One metric of ``grid.csv`` as a y-by-x table (rows and columns in sweep order)."""
    table = frame.pivot_table(index="row", columns="col", values=metric, dropna=False)
    first = frame.drop_duplicates("col").set_index("col")["x_value"]
    rows = frame.drop_duplicates("row").set_index("row")["y_value"]
    table.columns = [f"{frame['x_axis'].iloc[0]}={first[c]}" for c in table.columns]
    y_name = frame["y_axis"].iloc[0]
    table.index = [f"{y_name}={rows[r]}" if isinstance(y_name, str) else "" for r in table.index]
    return table
