"""Evaluation runs: metrics over checkpoints (Fig. 4) and a settings sweep (Fig. 5).

For every checkpoint x Table 1 prompt x mode (text-only, reference-start) the
model generates ``n_images`` images; they are embedded with the SimCLR encoder
and compared with the real galaxies carrying the prompt's tags (Eq. 1-4 and
the beyond-paper distances), and judged by the 11 feature classifiers (a CNN
on pixels, :mod:`~galaxysd_core.metrics.feature_cnn`) for consistency (Eq.
5-6). Real-vs-real rows (two halves of each prompt's real set; for
consistency, the classifiers judging the real galaxies themselves) are the
reference line. Results: ``metrics.parquet`` (one row per
checkpoint x prompt x mode, plus ``prompt="ALL"`` means over prompts, Eq. 2, 4,
6), ``images.parquet`` (every generated image with its recipe) and, with
``sweep``, ``pareto.parquet`` (realism vs diversity per setting, front marked).

The physical judges (:mod:`~galaxysd_core.metrics.morphology`, no training)
add ``physical`` (mean scaled Wasserstein distance of eight statmorph
statistics, with a bootstrap interval), ``w_<statistic>`` and
``morph_failed`` to every row, and write ``morphology.parquet`` (per image)
and ``morphology_distances.parquet`` (per statistic, with intervals). With a
training set (``train``), the memorisation check adds ``copy_pixel`` and
``copy_embedding`` (:mod:`~galaxysd_core.metrics.memorisation`) and writes
``closest_pairs.parquet``.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_write_bytes
from galaxysd_core.errors import ConfigError, ModelFolderError
from galaxysd_core.gz2.folders import real_table
from galaxysd_core.metrics.config import EvaluateConfig
from galaxysd_core.metrics.consistency import consistency, pareto_front
from galaxysd_core.metrics.distances import (
    METRIC_COLUMNS,
    PHYSICAL_COLUMNS,
    all_metrics,
    reference_metrics,
)
from galaxysd_core.metrics.features import FEATURES, prompt_answers
from galaxysd_core.paths import DEMO_ENCODER, workspace
from galaxysd_core.progress import Progress, run_folder

log = logging.getLogger(__name__)
__all__ = [
    "METRIC_COLUMNS",
    "PHYSICAL_COLUMNS",
    "evaluate_run",
    "mark_fronts",
    "prompt_text",
]  # METRIC_COLUMNS, PHYSICAL_COLUMNS: .distances

#: generate_fn(pipeline, prompt, *, n, seed, steps, guidance, strength, references) -> PIL images
GenerateFn = Callable[..., list[Any]]


def checkpoints_of(run: str | os.PathLike[str]) -> list[tuple[str, int | None, Path]]:
    """The models to evaluate: ``(name, step, folder)`` per checkpoint, oldest first.

    A diffusers folder (``model_index.json``, e.g. the demo model) is one
    "checkpoint" named ``model``.

    Raises
    ------
    ConfigError
        If the folder is neither a model nor a run with checkpoints.
    """
    from galaxysd_core.diffusion.checkpoints import list_checkpoints

    run = Path(run)
    if (run / "model_index.json").is_file():
        return [("model", None, run)]
    found = list_checkpoints(run)
    if not found:
        raise ConfigError(
            f"no checkpoints in {run} (expected checkpoints/checkpoint-N or a diffusers "
            "model folder); train first or point --run at a model"
        )
    return [(p.name, int(p.name.split("-")[-1]), p) for p in found]


def load_checkpoint_pipeline(folder: Path, *, device: str = "cpu") -> Any:
    """A pipeline for a model folder or a fine-tuning checkpoint (EMA weights if saved).

    A checkpoint stores the trained networks (``model_<i>.safetensors``, UNet
    then text encoder as configured) on top of the run's base model.
    """
    import torch
    from safetensors.torch import load_file

    from galaxysd_core.diffusion import load_pipeline
    from galaxysd_core.diffusion.checkpoints import load_training_state

    if (folder / "model_index.json").is_file():
        return load_pipeline(folder, device=device)
    state_file = folder / "state.json"
    if not state_file.is_file():
        raise ModelFolderError(f"{folder} is neither a model nor a checkpoint (no state.json)")
    config = json.loads(state_file.read_text())["config"]
    pipe = load_pipeline(config["model"], device=device)
    parts = [
        m
        for m, on in (
            (pipe.unet, config.get("train_unet", True)),
            (pipe.text_encoder, config.get("train_text_encoder", True)),
        )
        if on
    ]
    emas = []
    if (folder / "training_state.pt").is_file():
        emas = load_training_state(folder).get("emas", [])
    for i, model in enumerate(parts):
        model.load_state_dict(load_file(folder / f"model_{i}.safetensors"))
        shadow = emas[i].get("shadow_params") if i < len(emas) else None
        if shadow:  # the exported model uses EMA weights; evaluate the same
            with torch.no_grad():
                for p, s in zip(model.parameters(), shadow, strict=True):
                    p.copy_(s.to(p))
    return pipe.to(device)


def diffusion_generate(
    pipeline: Any, prompt: str, *, n: int, seed: int, steps: int, guidance: float,
    strength: float, scheduler: str, references: list[str] | None,
    guidance_interval: tuple[float, ...] = (), eps_scale: float = 1.0,
    guide: Any = None, guide_weight: float = 1.0,
    pag_scale: float = 0.0, pag_interval: tuple[float, ...] = (),
) -> list[Any]:  # fmt: skip
    """Generate with :func:`galaxysd_core.diffusion.generate`; one reference per image.

    ``guidance_interval``, ``eps_scale``, ``guide`` (a loaded pipeline),
    ``guide_weight``, ``pag_scale`` and ``pag_interval`` are passed on as
    ``generate``'s.
    """
    from galaxysd_core.diffusion import generate

    common = {
        "steps": steps,
        "guidance": guidance,
        "scheduler": scheduler,
        "guidance_interval": guidance_interval or None,
        "eps_scale": eps_scale,
        "guide": guide,
        "guide_weight": guide_weight,
        "pag_scale": pag_scale,
        "pag_interval": pag_interval or None,
    }
    if references is None:
        return generate(pipeline, prompt, n=n, seed=seed, **common).images
    # the paper's fix (Sec. 2): each image starts from its own noised real galaxy
    return [
        generate(
            pipeline, prompt, n=1, seed=seed + i, reference=ref, strength=strength, **common
        ).images[0]
        for i, ref in enumerate(references)
    ]


def _write_png(image: Any, path: Path) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


def prompt_text(letter: str, *, weight: float = 1.0) -> str:
    """Table 1 prompt ``letter``; ``weight`` != 1 emphasises every unweighted tag."""
    from galaxysd_core.gz2.prompts import TABLE1_PROMPTS, TABLE1_WEIGHTS, prompt_for

    tags = TABLE1_PROMPTS[letter]
    weights = {t: weight for t in tags} if weight != 1.0 else {}
    weights.update(TABLE1_WEIGHTS.get(letter, {}))
    return prompt_for(tags, weights=weights or None)


class _Evaluator:
    """Shared state of one evaluation: real embeddings and answers, classifiers, encoder."""

    def __init__(self, config: EvaluateConfig, out: Path, generate_fn: GenerateFn) -> None:
        from galaxysd_core.embedding.cache import cached_embeddings
        from galaxysd_core.embedding.model import load_encoder
        from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn

        self.config, self.out, self.generate_fn = config, out, generate_fn
        ws = workspace()
        # classifiers first: a missing folder fails before any embedding work
        self.classifiers = load_feature_cnn(
            config.feature_classifiers or DEFAULT_FOLDER, device=config.device
        )
        encoder_dir = Path(config.encoder or DEMO_ENCODER)
        self.encoder = load_encoder(encoder_dir, device=config.device)
        self.real = real_table(config.real or ws.sky / "default")
        letters = dict.fromkeys([*config.prompts, *(config.sweep_prompts if config.sweep else ())])
        self.rows = {letter: self._select(self.real, letter) for letter in letters}
        # Reference starts: the real images themselves unless another pool is named.
        self.pool, self.pool_rows = self.real, self.rows
        if config.reference_pool is not None:
            self.pool = real_table(config.reference_pool)
            self.pool_rows = {letter: self._select(self.pool, letter) for letter in letters}
        # Embed only the real galaxies some prompt uses (a sky may hold many more).
        used = np.unique(np.concatenate([np.arange(0), *self.rows.values()])).astype(int)
        emb = cached_embeddings(
            self.real["path"].iloc[used].tolist(),
            encoder_dir=encoder_dir,
            cache_dir=ws.cache,
            device=config.device,
        )
        self.real_emb = np.zeros((len(self.real), emb.shape[1]), dtype=emb.dtype)
        self.real_emb[used] = emb
        self.real_answers = np.zeros((len(self.real), len(FEATURES)), dtype=bool)
        self.real_answers[used] = self.classifiers.predict(self.real["path"].iloc[used].tolist())
        self.rng = np.random.default_rng(config.seed)
        self.images: list[dict[str, Any]] = []
        from galaxysd_core.metrics.physical import PhysicalJudges

        self.judges = PhysicalJudges(
            config,
            self.real["path"].iloc[used].tolist(),
            emb,
            encoder_dir=encoder_dir,
            cache_dir=ws.cache,
        )

    def _select(self, table: pd.DataFrame, letter: str) -> np.ndarray:
        """Rows of ``table`` carrying the prompt's tags (at most ``max_real``)."""
        from galaxysd_core.gz2.prompts import TABLE1_PROMPTS

        want = set(TABLE1_PROMPTS[letter])
        rows = np.flatnonzero([want <= set(t) for t in table["tags"]])
        if len(rows) > self.config.max_real:
            rows = np.sort(
                np.random.default_rng(self.config.seed).choice(
                    rows, self.config.max_real, replace=False
                )
            )
        return rows

    def real_rows(self, letter: str) -> np.ndarray:
        """Rows of the real table carrying the prompt's tags (at most ``max_real``)."""
        return self.rows[letter]

    def score(
        self, letter: str, gen_emb: np.ndarray, gen_answers: np.ndarray, extra: dict[str, Any]
    ) -> dict[str, Any]:
        from galaxysd_core.gz2.prompts import TABLE1_PROMPTS

        rows = self.real_rows(letter)
        out: dict[str, Any] = dict.fromkeys(METRIC_COLUMNS, float("nan"))
        if len(rows) == 0:
            log.warning("prompt %s: no real galaxy carries its tags; only consistency", letter)
        else:
            out.update(all_metrics(self.real_emb[rows], gen_emb, seed=self.config.seed))
        truth, applicable = prompt_answers(TABLE1_PROMPTS[letter])
        if applicable.any():
            out["consistency"] = consistency(gen_answers, truth, applicable=applicable)
        out.update(extra)  # the physical judges' columns
        return out

    def reference_row(self, letter: str) -> dict[str, Any]:
        from galaxysd_core.gz2.prompts import TABLE1_PROMPTS

        rows = self.real_rows(letter)
        out: dict[str, Any] = dict.fromkeys(METRIC_COLUMNS, float("nan"))
        if len(rows) >= 2:
            out.update(reference_metrics(self.real_emb[rows], seed=self.config.seed))
            truth, applicable = prompt_answers(TABLE1_PROMPTS[letter])
            if applicable.any():  # the classifiers' own agreement with real labels: C's ceiling
                out["consistency"] = consistency(
                    self.real_answers[rows], truth, applicable=applicable
                )
            out.update(self.judges.real_vs_real(letter, self.real["path"].iloc[rows].tolist()))
        return out

    def make(
        self,
        pipe: Any,
        letter: str,
        mode: str,
        folder: Path,
        *,
        settings: dict[str, Any],
        meta: dict[str, Any],
        record: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Generate one prompt's images, save them; return embeddings, answers and the rest.

        The rest (for :meth:`score`): the physical judges' columns
        (:meth:`~galaxysd_core.metrics.physical.PhysicalJudges.judge`);
        ``record`` False (sweep points) keeps the set out of their tables.
        """
        from galaxysd_core.embedding.model import embed

        c = self.config
        rows = self.real_rows(letter)
        refs = None
        if mode == "reference":
            pool = self.pool_rows[letter]
            pool = pool if len(pool) else np.arange(len(self.pool))
            refs = [self.pool["path"].iloc[i] for i in self.rng.choice(pool, c.n_images)]
        prompt = prompt_text(letter, weight=settings.get("weight", 1.0))
        images = self.generate_fn(
            pipe, prompt, n=c.n_images, seed=c.seed, steps=settings["steps"], guidance=settings["guidance"],
            strength=settings["strength"], scheduler=c.scheduler, references=refs,
        )  # fmt: skip
        first = len(self.images)
        for i, image in enumerate(images):
            path = folder / f"{i:03d}.png"
            _write_png(image, path)
            self.images.append(
                {"path": str(path), "prompt": letter, "prompt_text": prompt, "mode": mode, "seed": c.seed + i,
                 "reference": None if refs is None else refs[i], **settings, **meta}
            )  # fmt: skip
        answers = self.classifiers.predict(images)
        emb = embed(images, encoder=self.encoder, device=c.device)
        extra = self.judges.judge(
            letter, self.real["path"].iloc[rows].tolist(), images, emb=emb,
            records=self.images[first:], meta={**meta, "mode": mode}, record=record,
        )  # fmt: skip
        return emb, answers, extra


def _with_means(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Add ``prompt="ALL"`` rows: the mean over prompts (Eq. 2, 4, 6) per checkpoint x mode."""
    frame = pd.DataFrame(rows)
    keys = ["checkpoint", "step", "mode"]
    means = frame.groupby(keys, dropna=False, sort=False)[list(METRIC_COLUMNS)].mean().reset_index()
    means["prompt"] = "ALL"
    return pd.concat([frame, means], ignore_index=True)


def evaluate_run(
    config: EvaluateConfig,
    *,
    progress: Progress | None = None,
    generate_fn: GenerateFn | None = None,
) -> Path:
    """Evaluate a run's checkpoints (and optionally sweep settings); write parquet files.

    Parameters
    ----------
    config : EvaluateConfig
        What to evaluate.
    progress : Progress, optional
        One update per checkpoint x prompt x mode (and sweep point).
    generate_fn : callable, optional
        Replaces :func:`diffusion_generate` (same keywords), e.g. to evaluate
        images from elsewhere.

    Returns
    -------
    Path
        ``<output_dir>/metrics.parquet``.

    Raises
    ------
    ConfigError
        If the run has no checkpoints or no output folder can be chosen.
    ModelFolderError
        If the feature classifiers' folder is missing or broken.
    """
    progress = progress or Progress()
    config.validate()
    ckpts = checkpoints_of(config.run)[-config.max_checkpoints :]
    out = run_folder(config.output_dir)
    if out is None:
        if ckpts[0][0] == "model":
            raise ConfigError(
                "EvaluateConfig.output_dir: give a folder for the results of a model folder"
            )
        out = Path(config.run)
    out = Path(out)
    guide = None
    if config.guide_model is not None and config.guide_weight != 1.0:
        from galaxysd_core.diffusion import load_pipeline

        guide = load_pipeline(config.guide_model, device=config.device)
    default_fn = functools.partial(
        diffusion_generate,
        guidance_interval=config.guidance_interval,
        eps_scale=config.eps_scale,
        guide=guide,
        guide_weight=config.guide_weight,
        pag_scale=config.pag_scale,
        pag_interval=config.pag_interval,
    )
    ev = _Evaluator(config, out, generate_fn or default_fn)
    combos = list(
        itertools.product(
            config.sweep_guidance, config.sweep_strength, config.sweep_steps, config.sweep_weight
        )
    )
    total = len(ckpts) * len(config.prompts) * len(config.modes) + (
        len(combos) * len(config.sweep_prompts) if config.sweep else 0
    )
    done = 0
    rows = [
        {
            "checkpoint": "real",
            "step": None,
            "prompt": p,
            "mode": "real-vs-real",
            **ev.reference_row(p),
        }
        for p in config.prompts
    ]
    base = {
        "guidance": config.guidance,
        "strength": config.strength,
        "steps": config.steps,
        "weight": 1.0,
    }
    pipe = None
    for name, step, folder in ckpts:
        pipe = load_checkpoint_pipeline(folder, device=config.device)
        for letter, mode in itertools.product(config.prompts, config.modes):
            meta = {"checkpoint": name, "step": step}
            emb, answers, extra = ev.make(
                pipe, letter, mode, out / "images" / name / mode / letter, settings=base, meta=meta
            )
            rows.append(
                {**meta, "prompt": letter, "mode": mode, **ev.score(letter, emb, answers, extra)}
            )
            done += 1
            progress.update(done, total, message=f"{name} {letter} {mode}")
            progress.check_stop()
    _write_parquet(_with_means(rows), out / "metrics.parquet")
    if config.sweep:
        points = []
        for letter in config.sweep_prompts:
            for g, s, n, w in combos:
                settings = {"guidance": g, "strength": s, "steps": n, "weight": w}
                meta = {"checkpoint": ckpts[-1][0], "step": ckpts[-1][1]}
                folder = out / "images" / "sweep" / letter / f"g{g:g}-s{s:g}-n{n}-w{w:g}"
                emb, answers, extra = ev.make(
                    pipe, letter, "reference", folder, settings=settings, meta=meta, record=False
                )
                scores = ev.score(letter, emb, answers, extra)
                points.append({"prompt": letter, "prompt_text": prompt_text(letter, weight=w), **settings,
                               "scheduler": config.scheduler, "thumbnail": str(folder / "000.png"), **scores})  # fmt: skip
                done += 1
                progress.update(done, total, message=f"sweep {letter}")
                progress.check_stop()
        _write_parquet(mark_fronts(pd.DataFrame(points)), out / "pareto.parquet")
    _write_parquet(pd.DataFrame(ev.images), out / "images.parquet")
    ev.judges.write(out, pd.DataFrame(ev.images), _write_parquet)
    return out / "metrics.parquet"


def mark_fronts(points: pd.DataFrame, *, quality: str = "realism") -> pd.DataFrame:
    """Add ``on_front``: per prompt, Pareto-optimal in ``quality`` vs diversity (down).

    ``quality`` is ``realism`` (higher is better) or ``physical`` (the
    statmorph distance: lower is better), the two axes the Metrics page offers.
    """
    points = points.copy()
    points["on_front"] = False
    if quality not in points:
        return points
    for _, idx in points.groupby("prompt").groups.items():
        sub = points.loc[idx, [quality, "diversity"]]
        ok = sub.notna().all(axis=1)
        if ok.any():
            higher = [quality != "physical", False]
            points.loc[sub.index[ok], "on_front"] = pareto_front(sub[ok].to_numpy(), higher)
    return points
