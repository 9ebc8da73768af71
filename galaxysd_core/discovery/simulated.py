"""Benchmark and demo stand-ins for a mock sky campaign. NOT the human review path.

On a mock sky the truth is known, so a campaign can be scored without people:

- :class:`SimulatedPanel`: three simulated reviewers who vote through the real
  :class:`~galaxysd_core.review.ReviewStore` API (``add_reviewer``, ``sign_in``,
  ``vote``), answering the hidden truth with configurable error rates;
  :func:`simulate_votes` lets them decide a campaign's latest round
  (``galaxysd discover simulate-votes``).
- :func:`render_stand_ins`: e.g. D-ETG images drawn by the mock sky's own
  renderer, a stand-in for a perfect generative model when no trained diffusion
  model is at hand (the bundled demo model is far from perfect).

Real campaigns use the Review page; nothing in the campaign code imports this.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd_core.discovery.config import SimulateVotesConfig
from galaxysd_core.errors import ConfigError
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)


class SimulatedPanel:
    """Simulated reviewers who vote on a review round from the mock sky's truth.

    Parameters
    ----------
    store : ReviewStore
        The real store; votes go through its public API.
    truth : DataFrame
        Indexed by ``object_id`` with a boolean ``is_detg`` column.
    false_negative : sequence of float, default (0.1, 0.1, 0.1)
        Per reviewer, the chance of saying "no" to a true D-ETG.
    false_positive : sequence of float, default (0.05, 0.05, 0.05)
        Per reviewer, the chance of saying "yes" to anything else.
    unsure : float, default 0.0
        Chance of an "unsure" vote instead.
    seed : int, default 0
    prefix : str, default "sim"
        Reviewer names are ``<prefix>-1`` ... (created on first use).
    """

    def __init__(
        self,
        store,
        truth: pd.DataFrame,
        *,
        false_negative: tuple[float, ...] = (0.1, 0.1, 0.1),
        false_positive: tuple[float, ...] = (0.05, 0.05, 0.05),
        unsure: float = 0.0,
        seed: int = 0,
        prefix: str = "sim",
    ) -> None:
        if len(false_negative) != len(false_positive):
            raise ConfigError(
                f"{len(false_negative)} false-negative rates but {len(false_positive)} "
                "false-positive rates: give one of each per reviewer"
            )
        for rate in (*false_negative, *false_positive, unsure):
            if not 0 <= rate <= 1:
                raise ConfigError(f"an error rate must be in [0, 1], got {rate}")
        if "is_detg" not in truth.columns:
            raise ConfigError("the truth table lacks the column 'is_detg'")
        self.store, self.truth = store, truth
        self.fn, self.fp, self.unsure = false_negative, false_positive, unsure
        self.rng = np.random.default_rng(seed)
        self.sessions = []
        known = set(store.reviewers()["name"])
        for i in range(len(false_negative)):
            name, secret = f"{prefix}-{i + 1}", f"simulated-{prefix}-{i + 1}"
            if name not in known:
                store.add_reviewer(name, secret)
            self.sessions.append(store.sign_in(name, secret))

    def vote_round(self, round_id: int) -> pd.DataFrame:
        """Every reviewer votes once on every candidate; returns the consensus."""
        cands = self.store.candidates(round_id)
        is_detg = self.truth["is_detg"].reindex(cands["object_id"].astype(str)).fillna(False)
        for session, fn, fp in zip(self.sessions, self.fn, self.fp, strict=True):
            for cid, real in zip(cands["candidate_id"], is_detg.to_numpy(dtype=bool), strict=True):
                flip = self.rng.random() < (fn if real else fp)
                if self.rng.random() < self.unsure:
                    label = "unsure"
                else:
                    label = "yes" if real != flip else "no"
                self.store.vote(session, int(cid), label)
        return self.store.consensus(round_id)


def simulate_votes(
    campaign: str,
    *,
    false_negative: tuple[float, ...] = (0.1, 0.1, 0.1),
    false_positive: tuple[float, ...] = (0.05, 0.05, 0.05),
    unsure: float = 0.0,
    seed: int = 0,
    prefix: str = "sim",
) -> tuple[int, pd.DataFrame]:
    """Let a simulated panel vote on a mock-sky campaign's latest round (benchmark only).

    The round's sky must carry its hidden truth (``truth.parquet``), and no one
    but this panel may have voted in the round: a round that people review is
    never mixed with simulated votes.

    Parameters
    ----------
    campaign : str
        Campaign name (``campaigns/<name>``).
    false_negative, false_positive : sequence of float
        Per reviewer error rates (see :class:`SimulatedPanel`).
    unsure : float, default 0.0
        Chance of an "unsure" vote.
    seed : int, default 0
        Combined with the round number, so every round draws fresh errors.
    prefix : str, default "sim"
        The simulated reviewers' names (``<prefix>-1`` ...).

    Returns
    -------
    (int, DataFrame)
        The campaign round number and its consensus after the vote.

    Raises
    ------
    CampaignError
        If the campaign has no open review round, the round is already decided,
        or other reviewers voted in it.
    ConfigError
        If the campaign's sky has no truth (a real catalogue).
    """
    import json

    from galaxysd_core.discovery.campaign import CampaignError, campaign_dir, round_dirs
    from galaxysd_core.gz2.folders import read_truth
    from galaxysd_core.paths import workspace
    from galaxysd_core.review import ReviewStore

    rounds = [f for f in round_dirs(campaign) if (f / "round.json").exists()]
    if not rounds:
        raise CampaignError(
            f"campaign {campaign!r} has no review round to vote on in {campaign_dir(campaign)}"
        )
    folder = rounds[-1]
    state = json.loads((folder / "round.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    if (folder / "votes.csv").exists():
        raise CampaignError(f"{folder.name} of campaign {campaign!r} is already decided")
    sky = Path(config["sky"]) if config.get("sky") else workspace().sky / "default"
    truth = read_truth(sky)
    if truth is None:
        raise ConfigError(
            f"{sky} has no truth.parquet: simulated reviewers only stand in on a mock sky"
        )
    store = ReviewStore(config.get("db_url"))
    try:
        rid = int(state["review_round_id"])
        panel_size = int(store.round_info(rid)["panel_size"])
        if len(false_negative) != panel_size:
            raise ConfigError(
                f"review round {rid} needs {panel_size} reviewers, "
                f"got {len(false_negative)} error rates"
            )
        names = {f"{prefix}-{i + 1}" for i in range(panel_size)}
        others = set(store.votes(rid)["reviewer"]) - names
        if others:
            raise CampaignError(
                f"review round {rid} ({folder.name} of {campaign!r}) already has votes by "
                f"{sorted(others)}: simulated votes are never mixed with people's"
            )
        panel = SimulatedPanel(
            store,
            truth,
            false_negative=tuple(false_negative),
            false_positive=tuple(false_positive),
            unsure=unsure,
            seed=seed * 1000 + int(state["round"]),
            prefix=prefix,
        )
        table = panel.vote_round(rid)
    finally:
        store.dispose()
    return int(state["round"]), table


def simulate_round(
    config: SimulateVotesConfig, *, progress: Progress | None = None
) -> tuple[int, pd.DataFrame]:
    """:func:`simulate_votes` as ``config`` describes it (``galaxysd discover simulate-votes``)."""
    return simulate_votes(
        config.campaign,
        false_negative=config.per_reviewer(config.false_negative),
        false_positive=config.per_reviewer(config.false_positive),
        unsure=config.unsure,
        seed=config.seed,
    )


def render_stand_ins(
    out: str | os.PathLike[str],
    *,
    n: int,
    size: int = 64,
    seed: int = 12345,
    where: str = "is_detg",
) -> list[Path]:
    """Render ``n`` galaxies of one class with the mock sky's renderer (benchmark stand-in).

    Parameters
    ----------
    out : path-like
        Folder for ``standin-<i>.png`` (created).
    n : int
        Number of images.
    size : int, default 64
        Image side.
    seed : int, default 12345
        Population seed; use one that differs from the sky's.
    where : str, default "is_detg"
        Boolean truth column selecting the class (e.g. ``t02_edgeon_a04_yes``).

    Returns
    -------
    list of Path
    """
    from PIL import Image

    from galaxysd_core.sky.population import sample_population
    from galaxysd_core.sky.render import render_galaxy

    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    found: list[pd.DataFrame] = []
    batch, round_ = max(20 * n, 2000), 0
    while sum(len(f) for f in found) < n:
        pop = sample_population(batch, seed=seed + round_)
        if where not in pop.columns:
            raise ConfigError(f"the mock population has no column {where!r}")
        found.append(pop.loc[pop[where].astype(bool)])
        round_ += 1
        if round_ > 50:
            raise ConfigError(f"the mock population yields too few {where!r}; cannot render")
    rows = pd.concat(found, ignore_index=True).head(n)
    paths = []
    for i, row in rows.iterrows():
        rgb = render_galaxy(row.to_dict(), size=size, seed=seed, index=int(i))
        path = out / f"standin-{i:05d}.png"
        Image.fromarray(rgb).save(path)
        paths.append(path)
    return paths
