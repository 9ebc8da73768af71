"""The real-vs-generated quiz: rounds of four images, one of them generated.

The authors' project page shows a quiz in which visitors try to spot the
generated galaxy; here it is a measurement. A round takes one real galaxy as the
anchor, its morphology tags as the prompt, two more real galaxies with the most
similar tags, and one image generated from those tags. Players pick the image
they think is generated; the share of wrong picks per prompt is a human realism
score (the "fool rate"), complementing the automatic realism metrics of Sec. 4.

Pure logic: no streamlit, no torch. Images are only referred to by path.
"""

from __future__ import annotations

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
