"""The configuration of one discovery round (job kind ``discover-round``)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from galaxysd_core.classify.config import (
    ARCHS,
    CLASSIFIER_ALIASES,
    ClassifierConfig,
    check_synthesis,
)
from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError
from galaxysd_core.paths import check_name

__all__ = [
    "ARCHS",
    "PANEL",
    "RoundConfig",
    "SimulateVotesConfig",
]  # ARCHS lives in classify.config; named here for old callers


@dataclasses.dataclass
class RoundConfig(TaskConfig):
    """Train, score the catalogue, open a review round (Sec. 4.3).

    One round of the D-ETG discovery campaign.

    Round 0 makes ``n_synthetic`` synthetic D-ETGs with the paper's weighted
    prompts (or takes them from ``synthetic_dir``), trains against
    ``n_negatives`` random catalogue galaxies, scores the whole catalogue and
    opens a review round with the candidates. Each later round first reads the
    previous round's decisions: accepted candidates join the positives,
    repeated until they make up ``accepted_share`` of them (reviewed galaxies
    outweigh the generator's; 0 counts each once, as the paper does), and
    rejected ones become hard negatives. The paper used 10,000 + 10,000
    training images; the defaults here fit a CPU. ``classifier.seed`` is set
    from ``seed``.
    """

    kind: ClassVar[str] = "discover-round"
    aliases: ClassVar[dict[str, str]] = CLASSIFIER_ALIASES

    campaign: str = "detg"
    sky: str | None = None  # catalogue folder; default: workspace sky/default
    model: str | None = None  # diffusion model folder; default: the demo model
    prompts: tuple[str, ...] = ()  # default: the D-ETG prompts of Fig. 7
    n_synthetic: int = 200
    synthetic_dir: str | None = None  # ready-made positives instead of generating
    match_sky: bool = False  # give synthetic positives the real sky (classify.skymatch)
    steps: int = 30  # diffusion sampling steps (Euler ancestral, Sec. 2)
    guidance: float = 7.0
    guidance_interval: tuple[float, ...] = ()  # LOW HIGH timesteps: guide those steps only
    guide_weight: float = 1.0  # autoguidance by the <model>-guide folder; 1 is off
    pag_scale: float = 0.0  # perturbed-attention guidance; 0 is off
    pag_interval: tuple[float, ...] = ()  # LOW HIGH timesteps: PAG on those steps only
    n_negatives: int = 1000
    top_k: int = 200
    min_score: float | None = None  # None: the classifier's validation-F1 threshold
    accepted_share: float = 0.75  # accepted positives repeated to this share; 0: as counted
    classifier: ClassifierConfig = dataclasses.field(
        default_factory=lambda: ClassifierConfig(epochs=10)
    )  # the classifier trained each round (default: 10 epochs)
    score_batch_size: int = 256
    chunk_size: int = 4096
    score_processes: int = 1  # >1: scoring runs under `accelerate launch`
    db_url: str | None = None  # review store; default: the workspace database
    seed: int = 0
    output_dir: str | None = None  # the job's run folder (logs); results go to the campaign
    resume: str | None = None

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the bad field and value."""
        check_name(self.campaign, field="RoundConfig.campaign")  # a folder campaigns/<name>
        for name in ("n_synthetic", "n_negatives", "top_k"):
            if getattr(self, name) < 1:
                raise ConfigError(f"RoundConfig.{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("score_batch_size", "chunk_size", "score_processes", "steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"RoundConfig.{name}: must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.accepted_share <= 1:
            raise ConfigError(
                f"RoundConfig.accepted_share: must be in [0, 1], got {self.accepted_share}"
            )
        if self.min_score is not None and not 0 <= self.min_score <= 1:
            raise ConfigError(f"RoundConfig.min_score: must be in [0, 1], got {self.min_score}")
        check_synthesis(self)


#: Simulated reviewers per round (``discover simulate-votes``).
PANEL = 3


@dataclasses.dataclass
class SimulateVotesConfig(TaskConfig):
    """BENCHMARK ONLY: simulated reviewers decide the latest round from mock-sky truth.

    On a mock sky (truth.parquet), a panel of simulated reviewers votes on the
    campaign's latest round from the hidden truth, with the given error rates.
    Refused on a real catalogue and on a round people have voted in; real
    campaigns are reviewed on the Review page.

    Attributes
    ----------
    campaign : str
        Campaign name (``campaigns/<name>``).
    false_negative : tuple of float
        Chance of 'no' for a true D-ETG: one rate, or three (one per reviewer).
    false_positive : tuple of float
        Chance of 'yes' for anything else: one rate, or three (one per reviewer).
    unsure : float
        Chance of an 'unsure' vote.
    seed : int
        Combined with the round number, so every round draws fresh errors.
    """

    campaign: str
    false_negative: tuple[float, ...] = (0.1,)
    false_positive: tuple[float, ...] = (0.05,)
    unsure: float = 0.0
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the bad field and value."""
        for name in ("false_negative", "false_positive"):
            n = len(getattr(self, name))
            if n not in (1, PANEL):
                raise ConfigError(
                    f"SimulateVotesConfig.{name}: give one rate or {PANEL} "
                    f"(one per reviewer), got {n}"
                )

    def per_reviewer(self, rates: tuple[float, ...]) -> tuple[float, ...]:
        """One rate per reviewer (a single rate is shared by all)."""
        return rates * PANEL if len(rates) == 1 else rates
