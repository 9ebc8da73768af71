"""The real-vs-generated quiz: rounds of four images, one of them generated.

The authors' project page shows a quiz in which visitors try to spot the
generated galaxy; here it is a measurement. A round takes one real galaxy as the
anchor, its morphology tags as the prompt, two more real galaxies with the most
similar tags, and one image generated from those tags. Players pick the image
they think is generated; the share of wrong picks per prompt is a human realism
score (the "fool rate"), complementing the automatic realism metrics of Sec. 4.

Rounds are pre-generated into a question pool by a background job (kind
``quiz-pool``, :mod:`galaxysd_core.quiz_pool`), so the page opens at once.
Pure logic here: no streamlit, no torch. Images are only referred to by path.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galaxysd_core.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

N_CHOICES = 4  # four images per round, one generated (as on the authors' page)
# Sampler steps for the generated image: Euler ancestral converges well before
# the paper's 30-50 steps at these image sizes, and a round must not keep a
# player waiting on a CPU.
GENERATION_STEPS = 20
METADATA, TRUTH = "metadata.jsonl", "truth.parquet"  # the two dataset layouts (gz2.folders)


@dataclass(frozen=True)
class PoolItem:
    """One real image the quiz can show.

    Attributes
    ----------
    path : Path
        The image file.
    tags : tuple of str
        Its GZ2 short tags, sorted.
    """

    path: Path
    tags: tuple[str, ...]


@dataclass(frozen=True)
class QuizRound:
    """One round: the tags, the real images, and where the generated one goes.

    Attributes
    ----------
    tags : tuple of str
        Tags of the anchor galaxy; the generated image is prompted with them.
    real : tuple of Path
        ``N_CHOICES - 1`` real images in display order.
    generated_index : int
        Position (0-based) of the generated image among the choices.
    seed : int
        Seed of the round; also the generation seed.
    """

    tags: tuple[str, ...]
    real: tuple[Path, ...]
    generated_index: int
    seed: int

    def choices(self, generated: str | Path) -> list[Path]:
        """The images in display order, with ``generated`` at its position."""
        shown = list(self.real)
        shown.insert(self.generated_index, Path(generated))
        return shown

    def is_correct(self, choice: int) -> bool:
        """Whether picking ``choice`` (0-based) found the generated image.

        Raises
        ------
        ConfigError
            If ``choice`` is not a valid position.
        """
        if not 0 <= choice < len(self.real) + 1:
            raise ConfigError(f"quiz choice must be in 0..{len(self.real)}, got {choice!r}")
        return choice == self.generated_index

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for session state)."""
        return {
            "tags": list(self.tags),
            "real": [str(p) for p in self.real],
            "generated_index": self.generated_index,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuizRound:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tags=tuple(data["tags"]),
            real=tuple(Path(p) for p in data["real"]),
            generated_index=int(data["generated_index"]),
            seed=int(data["seed"]),
        )


def load_pool(folder: str | Path) -> list[PoolItem]:
    """Read the real images and their tags from a dataset folder.

    Two layouts are understood (see CONTRIBUTING, "Data contracts"): a prepared
    dataset (``metadata.jsonl`` lines with ``file_name`` and ``tags``) and a mock
    sky (``truth.parquet`` with one boolean column per GZ2 answer prefix, images
    in ``images/{asset_id}.jpg``).

    Parameters
    ----------
    folder : path-like
        The dataset folder.

    Returns
    -------
    list of PoolItem
        Items whose image file exists and that carry at least one tag.

    Raises
    ------
    CatalogError
        If the folder is neither layout or holds no usable image.
    """
    from galaxysd_core.gz2.folders import real_table

    table = real_table(folder)
    rows = zip(table["path"], table["tags"], strict=True)
    items = [PoolItem(Path(p), tuple(sorted(t))) for p, t in rows if t and Path(p).is_file()]
    if len(items) < N_CHOICES - 1:
        raise CatalogError(
            f"{folder} has {len(items)} tagged images; a quiz round needs {N_CHOICES - 1}"
        )
    return items


def sample_round(pool: list[PoolItem], *, seed: int) -> QuizRound:
    """Draw one round from ``pool``.

    The anchor is drawn uniformly; the other real images are those whose tags
    are most similar to the anchor's (Jaccard index, ties broken at random), so
    the generated image cannot be spotted by its morphology alone.

    Parameters
    ----------
    pool : list of PoolItem
        Real images (from :func:`load_pool`).
    seed : int
        Seed of the draw; the same pool and seed give the same round.

    Returns
    -------
    QuizRound

    Raises
    ------
    CatalogError
        If the pool holds fewer than ``N_CHOICES - 1`` images.
    """
    if len(pool) < N_CHOICES - 1:
        raise CatalogError(f"a quiz round needs {N_CHOICES - 1} real images, got {len(pool)}")
    rng = random.Random(seed)
    anchor = pool[rng.randrange(len(pool))]
    anchor_tags = set(anchor.tags)

    def similarity(item: PoolItem) -> float:
        union = anchor_tags | set(item.tags)
        return len(anchor_tags & set(item.tags)) / len(union) if union else 0.0

    others = [it for it in pool if it.path != anchor.path]
    rng.shuffle(others)  # random tie-break under the stable sort below
    others.sort(key=similarity, reverse=True)
    real = [anchor.path, *(it.path for it in others[: N_CHOICES - 2])]
    rng.shuffle(real)  # the anchor's place must not give the round away
    return QuizRound(
        tags=anchor.tags,
        real=tuple(real),
        generated_index=rng.randrange(N_CHOICES),
        seed=seed,
    )


# -- the question pool: pre-generated rounds (written by galaxysd_core.quiz_pool) --

ROUND_SIZE = 5  # questions per round, then the review pane (as on the authors' page)
CHANCE = 1 / N_CHOICES  # accuracy of a player who picks at random
JPEG_QUALITY = 90  # the mock sky's own coding
QUESTIONS = "questions.jsonl"


@dataclass(frozen=True)
class Question:
    """One pre-generated question: four presented tiles, one of them generated.

    Attributes
    ----------
    id : str
        Unique within its pool (``q<seed>``).
    tiles : tuple of Path
        The ``N_CHOICES`` presented JPEG tiles in display order.
    generated_index : int
        Position (0-based) of the generated tile.
    prompt : str
        The prompt of the generated tile (the fool rate is kept per prompt).
    """

    id: str
    tiles: tuple[Path, ...]
    generated_index: int
    prompt: str

    def is_correct(self, choice: int) -> bool:
        """Whether picking ``choice`` (0-based) found the generated tile.

        Raises
        ------
        ConfigError
            If ``choice`` is not a valid position.
        """
        if isinstance(choice, bool) or not isinstance(choice, int):
            raise ConfigError(f"quiz choice must be an int, got {choice!r}")
        if not 0 <= choice < len(self.tiles):
            raise ConfigError(f"quiz choice must be in 0..{len(self.tiles) - 1}, got {choice!r}")
        return choice == self.generated_index

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (session state, ``questions.jsonl``)."""
        return {
            "id": self.id,
            "tiles": [str(p) for p in self.tiles],
            "generated_index": self.generated_index,
            "prompt": self.prompt,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, folder: Path | None = None) -> Question:
        """Inverse of :meth:`to_dict`; relative tile paths are taken from ``folder``."""
        tiles = tuple((folder / p) if folder else Path(p) for p in data["tiles"])
        return cls(str(data["id"]), tiles, int(data["generated_index"]), str(data["prompt"]))


def pool_dir(cache: str | Path, model: str | Path, dataset: str | Path) -> Path:
    """The folder of the question pool of one model and dataset under ``cache``.

    Parameters
    ----------
    cache : path-like
        The workspace's cache folder.
    model, dataset : path-like
        The generator and the real images; the pool belongs to the pair.
    """
    import hashlib

    key = f"{Path(model).resolve()}|{Path(dataset).resolve()}"
    name = f"{Path(model).name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
    return Path(cache) / "quiz" / name


def load_questions(folder: str | Path) -> list[Question]:
    """The finished questions of a pool (``[]`` before the first is written).

    A line being appended right now (cut short) is skipped; so is a question
    whose tiles are gone.
    """
    folder = Path(folder)
    path = folder / QUESTIONS
    if not path.is_file():
        return []
    found = []
    for line in path.read_text("utf-8").splitlines():
        try:
            question = Question.from_dict(json.loads(line), folder=folder)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        if all(p.is_file() for p in question.tiles):
            found.append(question)
    return found


def draw_round(
    questions: list[Question], *, seed: int, seen: set[str] | frozenset[str] = frozenset()
) -> list[Question]:
    """Draw ``ROUND_SIZE`` distinct questions, unseen ones first.

    Raises
    ------
    CatalogError
        If the pool holds fewer than ``ROUND_SIZE`` questions.
    """
    if len(questions) < ROUND_SIZE:
        raise CatalogError(
            f"the quiz pool has {len(questions)} questions; a round needs {ROUND_SIZE}"
        )
    rng = random.Random(seed)
    order = questions[:]
    rng.shuffle(order)
    order.sort(key=lambda q: q.id in seen)  # stable: unseen first, each group shuffled
    return order[:ROUND_SIZE]


def round_score(questions: list[Question], picks: list[int]) -> dict[str, Any]:
    """Score a finished round: ``correct``, ``asked``, ``accuracy``, ``chance``, ``mistakes``.

    ``mistakes`` lists ``(question, pick)`` for each wrong pick, for the review pane.
    """
    if len(picks) != len(questions):
        raise ConfigError(f"a round of {len(questions)} questions needs as many picks")
    correct = [q.is_correct(p) for q, p in zip(questions, picks, strict=True)]
    return {
        "correct": sum(correct),
        "asked": len(questions),
        "accuracy": sum(correct) / len(questions) if questions else float("nan"),
        "chance": CHANCE,
        "mistakes": [(q, p) for q, p, ok in zip(questions, picks, correct, strict=True) if not ok],
    }
