"""Pre-generated quiz questions, every tile presented alike (job kind ``quiz-pool``).

Generating while a player waits took 37-93 s per round on 2 cores, and the
generated tile was the only one with a perfectly black sky. A background job
now writes finished questions ahead of time, and every tile, real or generated,
goes through one presentation: the real images' size, the real sky's level and
noise for the generated one (the sky matching of
:mod:`galaxysd_core.classify.skymatch`), and one JPEG coding.
``benchmarks/quiz_fairness.py`` measures how well the tiles can still be told apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any, ClassVar

from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError
from galaxysd_core.progress import Progress
from galaxysd_core.quiz import (
    GENERATION_STEPS,
    JPEG_QUALITY,
    QUESTIONS,
    Question,
    load_pool,
    load_questions,
    pool_dir,
    sample_round,
)

log = logging.getLogger(__name__)

#: Questions the background job keeps ready per model and dataset.
POOL_TARGET = 40


def present(image: Any, *, size: tuple[int, int], quality: int = JPEG_QUALITY) -> bytes:
    """The one presentation of every tile: RGB, ``size`` (Lanczos), JPEG at ``quality``.

    Parameters
    ----------
    image : PIL.Image.Image
    size : (int, int)
        Width and height of the real images of the pool.
    quality : int, default 90
    """
    from PIL import Image

    rgb = image.convert("RGB")
    if rgb.size != tuple(size):
        rgb = rgb.resize(tuple(size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


SKY_MODES = ("real", "match", "none")
# Side of the background squares: the corners sky statistics use (skymatch.CORNER).
# Larger squares, or squares cross-faded at their seams, measured worse in
# benchmarks/quiz_fairness.py (0.66-0.77 against 0.62 two-sample accuracy).
BACKGROUND_SQUARE = 8
SKY_CLIP_SIGMA = 2.0  # the model's own sky below this many sigma is set to its level


def real_background(reals: list[Any], *, size: tuple[int, int], seed: int) -> Any:
    """A sky of ``size`` pieced together from the real tiles' corner squares.

    The corners of a cutout hold sky, not galaxy: tiling them at random gives
    a background with the real level, noise, field stars and coding texture,
    which no Gaussian model of the sky reproduces on a sky as dark as the
    mock survey's. The mosaic is shifted by half a square so that its seams
    do not fall on the JPEG 8x8 grid, where they would read as blocking.

    Returns
    -------
    ndarray
        float64 ``(H, W, 3)``.
    """
    import numpy as np

    width, height = size
    c = BACKGROUND_SQUARE
    blocks = []
    for image in reals:
        x = np.asarray(image.convert("RGB"), dtype=np.float64)
        blocks += [x[:c, :c], x[:c, -c:], x[-c:, :c], x[-c:, -c:]]
    rng = np.random.default_rng(seed)
    rows, cols = -(-height // c) + 1, -(-width // c) + 1
    picks = rng.integers(len(blocks), size=(rows, cols))
    strips = [np.concatenate([blocks[k] for k in row], axis=1) for row in picks]
    sky = np.concatenate(strips, axis=0)
    shift = c // 2
    return sky[shift : shift + height, shift : shift + width]


def present_question(
    generated: Any,
    real: list[Path],
    *,
    generated_index: int,
    seed: int,
    sky: str = "real",
) -> list[bytes]:
    """The ``N_CHOICES`` presented tiles of a question, in display order.

    The generated image is resized to the real images' size and given a real
    sky, then all four tiles go through :func:`present` (one JPEG coding).

    Parameters
    ----------
    generated : PIL.Image.Image
    real : list of Path
        The ``N_CHOICES - 1`` real images.
    generated_index : int
        Where the generated tile goes.
    seed : int
        Seed of the sky.
    sky : {"real", "match", "none"}, default "real"
        ``"real"``: the model's own sky level is removed and a background
        tiled from the real tiles' corners (:func:`real_background`) added;
        ``"match"``: Gaussian sky matching
        (:func:`galaxysd_core.classify.skymatch.match_sky`); ``"none"``: the
        model's own (black, noise-free) sky, as the page used to show it. The
        fairness benchmark compares the three.

    Raises
    ------
    ConfigError
        On an unknown ``sky``.
    """
    import numpy as np
    from PIL import Image

    from galaxysd_core.classify.skymatch import match_sky, sky_statistics

    if sky not in SKY_MODES:
        raise ConfigError(f"sky must be one of {SKY_MODES}, got {sky!r}")
    reals = []
    for path in real:
        with Image.open(path) as img:
            reals.append(img.convert("RGB"))
    size = reals[0].size
    made = generated.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    if sky == "match":
        matched = match_sky(_uint8([made]), _uint8(reals), seed=seed, jpeg_quality=JPEG_QUALITY)
        made = Image.fromarray(matched[0].permute(1, 2, 0).numpy())
    elif sky == "real":
        level, sigma = sky_statistics(_uint8([made]))[0]  # the model's own sky, per channel
        x = np.asarray(made, dtype=np.float64) - level
        # Soft threshold: the model's residual sky noise would add to the real one.
        x = np.sign(x) * np.clip(np.abs(x) - SKY_CLIP_SIGMA * sigma, 0.0, None)
        x += real_background(reals, size=size, seed=seed)
        made = Image.fromarray(np.clip(np.rint(x), 0, 255).astype(np.uint8))
    shown = list(reals)
    shown.insert(generated_index, made)
    return [present(im, size=size) for im in shown]


def _uint8(images: list[Any]) -> Any:
    import numpy as np
    import torch

    arrays = np.stack([np.asarray(im.convert("RGB")) for im in images])
    return torch.from_numpy(arrays).permute(0, 3, 1, 2)


@dataclasses.dataclass
class QuizPoolConfig(TaskConfig):
    """Settings of ``galaxysd quiz-pool``: pre-generate quiz questions (job kind ``quiz-pool``).

    Parameters
    ----------
    model : str
        The diffusers model folder whose images are quizzed.
    dataset : str
        The real images: a mock sky or a prepared dataset folder.
    questions : int, default 40
        Questions the pool should hold (1-1000); a rerun only adds the missing ones.
    steps : int, default 20
        Sampler steps per generated image (1-200).
    seed : int, default 0
        Question ``i`` draws its round and generates with seed ``seed + i``.
    device : str, default "cpu"
    pool : str or None
        The pool folder; ``None`` means ``cache/quiz/<model>-<hash>`` of the workspace
        (not ``output_dir``: a job's run folder is not where the Quiz page looks).
    """

    kind: ClassVar[str] = "quiz-pool"

    model: str = ""
    dataset: str = ""
    questions: int = POOL_TARGET
    steps: int = GENERATION_STEPS
    seed: int = 0
    device: str = "cpu"
    pool: str | None = None

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field and value."""
        for name in ("model", "dataset"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"QuizPoolConfig.{name}: a folder is required")
        for name, hi in (("questions", 1000), ("steps", 200)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
                raise ConfigError(f"QuizPoolConfig.{name}: need an int in 1-{hi}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"QuizPoolConfig.seed: need an int >= 0, got {self.seed!r}")


def build_pool(config: QuizPoolConfig, *, progress: Progress | None = None) -> Path:
    """Generate questions until the pool holds ``config.questions``; returns its folder.

    Each question is a round drawn by :func:`sample_round` from the dataset,
    one image generated from its tags, and four presented tiles
    (:func:`present_question`). A question is appended to ``questions.jsonl``
    only once its tiles are written, so a reader never sees half of one and a
    stopped build resumes where it was.

    Raises
    ------
    CatalogError
        If the dataset has too few tagged images.
    Cancelled
        On a stop request (the questions written so far stay).
    """
    from galaxysd_core.atomic import atomic_write_bytes
    from galaxysd_core.diffusion import generate, load_pipeline
    from galaxysd_core.gz2 import prompt_for
    from galaxysd_core.paths import workspace

    config.validate()
    folder = Path(config.pool or pool_dir(workspace().cache, config.model, config.dataset))
    folder.mkdir(parents=True, exist_ok=True)
    done = {q.id for q in load_questions(folder)}
    todo = [i for i in range(config.questions) if f"q{config.seed + i}" not in done]
    if not todo:
        return folder
    pool = load_pool(config.dataset)
    pipe = load_pipeline(config.model, device=config.device)
    for done_now, i in enumerate(todo, 1):
        rnd = sample_round(pool, seed=config.seed + i)
        prompt = prompt_for(rnd.tags)
        image = generate(pipe, prompt, n=1, seed=rnd.seed, steps=config.steps).images[0]
        qid = f"q{rnd.seed}"
        tiles = present_question(
            image, list(rnd.real), generated_index=rnd.generated_index, seed=rnd.seed
        )
        names = []
        for k, data in enumerate(tiles):
            name = f"{qid}-{_tile_token(qid, k)}.jpg"  # the position must not show in the name
            atomic_write_bytes(folder / name, data)
            names.append(name)
        question = Question(qid, tuple(Path(n) for n in names), rnd.generated_index, prompt)
        with (folder / QUESTIONS).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(question.to_dict()) + "\n")
        if progress is not None:
            progress.update(done_now, len(todo), message=f"{done_now} of {len(todo)} questions")
            progress.check_stop()
    log.info("quiz pool %s holds %d questions", folder, len(load_questions(folder)))
    return folder


def _tile_token(qid: str, position: int) -> str:
    """An opaque, stable part of a tile's file name."""
    return hashlib.sha1(f"{qid}/{position}".encode()).hexdigest()[:8]


@dataclasses.dataclass(frozen=True)
class PoolState:
    """A pool's questions and the job filling it.

    Attributes
    ----------
    folder : Path
    ready : int
        Finished questions.
    job_id, job_status : str or None
        The newest ``quiz-pool`` job of this pool (None when there is none).
    """

    folder: Path
    ready: int
    job_id: str | None
    job_status: str | None


def ensure_pool(
    model: str | Path,
    dataset: str | Path,
    *,
    workspace: Any = None,
    questions: int = POOL_TARGET,
    retry: bool = False,
) -> PoolState:
    """Launch the pool's ``quiz-pool`` job when the pool is short and none is waiting or running.

    A failed or cancelled build is not relaunched by itself (it would fail
    again on every page visit, or undo a user's cancel) unless ``retry``.

    Parameters
    ----------
    model, dataset : path-like
        The pool's generator and real images.
    workspace : Workspace or path, optional
        Default ``$GALAXYSD_HOME``.
    questions : int, default POOL_TARGET
    retry : bool, default False

    Returns
    -------
    PoolState
    """
    from galaxysd_core import jobs
    from galaxysd_core.jobs import store

    ws = store.resolve_workspace(workspace)
    folder = pool_dir(ws.cache, model, dataset)
    ready = len(load_questions(folder))
    table = jobs.list_jobs(workspace=ws)
    mine = [
        row
        for row in table[table["kind"] == "quiz-pool"].itertuples()
        if _builds(Path(row.run_dir), folder)
    ]
    latest = (mine[0].id, mine[0].status) if mine else (None, None)
    if latest[1] in store.ACTIVE or ready >= questions:
        return PoolState(folder, ready, *latest)
    if latest[1] in (store.FAILED, store.CANCELLED) and not retry:
        return PoolState(folder, ready, *latest)
    config = {"model": str(model), "dataset": str(dataset), "questions": questions}
    job_id = jobs.launch("quiz-pool", {**config, "pool": str(folder)}, workspace=ws)
    return PoolState(folder, ready, job_id, jobs.status(job_id, workspace=ws)["status"])


def _builds(run_dir: Path, folder: Path) -> bool:
    """Whether the job in ``run_dir`` fills the pool ``folder``."""
    try:
        return json.loads((run_dir / "config.json").read_text()).get("pool") == str(folder)
    except (OSError, ValueError):
        return False


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``galaxysd quiz-pool`` (its options derived from :class:`QuizPoolConfig`)."""
    from galaxysd_core.cli import add_task_command

    add_task_command(
        subparsers,
        "quiz-pool",
        QuizPoolConfig,
        "galaxysd_core.quiz_pool:build_pool",
        show=lambda folder: f"quiz pool ready: {folder}",
    )
