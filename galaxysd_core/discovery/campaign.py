"""Discovery campaigns, round by round (Sec. 4.3).

Layout of ``campaigns/<name>/``::

    round-<k>/config.json      the RoundConfig of the round
    round-0/synthetic/         the generated D-ETGs (round 0 only)
    round-<k>/train.csv        the training set: object_id/path, label, source
    round-<k>/model/           the classifier (safetensors + threshold)
    round-<k>/scores/          every catalogue galaxy's score (chunks, DONE)
    round-<k>/candidates.csv   what went to review
    round-<k>/round.json       the review round id and counts
    round-<k>/votes.csv        the consensus, written once the round is decided

A round that crashed resumes where it stopped (the model, the score chunks and
every finished batch of synthetic images are reused). A new round cannot start before the previous
one's candidates are all decided, and nothing of an earlier round is rewritten
except its ``votes.csv`` snapshot.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_write_json, atomic_write_text
from galaxysd_core.discovery.config import RoundConfig
from galaxysd_core.discovery.scoring import is_done, read_scores, score_catalog
from galaxysd_core.errors import GalaxySDError, ModelFolderError
from galaxysd_core.gz2.folders import catalog_items, known_ids
from galaxysd_core.paths import DEMO_MODEL, check_name, workspace
from galaxysd_core.progress import Progress

log = logging.getLogger(__name__)


class CampaignError(GalaxySDError, ValueError):
    """A campaign step cannot run in the campaign's current state."""


def campaign_dir(name: str) -> Path:
    """``campaigns/<name>`` of the current workspace (not created).

    Raises
    ------
    BadNameError
        If ``name`` is not a plain folder name (``..``, ``a/b``, ...).
    """
    return workspace().campaigns / check_name(name, field="campaign")


def round_dirs(name: str) -> list[Path]:
    """The campaign's ``round-<k>`` folders in round order."""
    root = campaign_dir(name)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("round-")]
    return sorted(found, key=lambda p: int(p.name.split("-", 1)[1]))


def next_round_config(name: str) -> RoundConfig:
    """The settings for campaign ``name``'s next round: those of its latest round.

    A campaign keeps its sky, positives, prompts and classifier from round to
    round; only the run folder and the resume point are the new job's own.

    Raises
    ------
    CampaignError
        If the campaign has no round yet.
    """
    rounds = round_dirs(name)
    if not rounds:
        raise CampaignError(
            f"campaign {name!r} has no round yet: start it with `galaxysd discover round`"
        )
    latest = RoundConfig.load(rounds[-1] / "config.json")
    return dataclasses.replace(latest, output_dir=None, resume=None)


def _store(config: RoundConfig):
    from galaxysd_core.review import ReviewStore

    return ReviewStore(config.db_url)


def _read_state(folder: Path) -> dict[str, Any]:
    path = folder / "round.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False))


def decisions(round_folder: Path, store) -> pd.DataFrame | None:
    """The consensus of a finished round (snapshotting ``votes.csv``), else None.

    A round is decided when every candidate has its panel's votes or the round
    was closed; undecided candidates of a closed round count as neither.
    """
    state = _read_state(round_folder)
    if "review_round_id" not in state:
        return None
    votes_csv = round_folder / "votes.csv"
    if votes_csv.exists():
        return pd.read_csv(votes_csv, dtype={"object_id": str})
    rid = int(state["review_round_id"])
    table = store.consensus(rid)
    closed = store.round_info(rid)["status"] == "closed"
    if not (closed or bool(table["decided"].all())):
        return None
    table = table.assign(object_id=table["object_id"].astype(str), round=state["round"])
    _csv(table, votes_csv)
    return table


def _generate(config: RoundConfig, out: Path, progress: Progress) -> None:
    """Round 0's synthetic D-ETGs from the diffusion model (Sec. 4.3, Fig. 7)."""
    from galaxysd_core.diffusion.batched import generate_into
    from galaxysd_core.diffusion.checks import check_guide
    from galaxysd_core.gz2 import DETG_PROMPTS

    model = Path(config.model) if config.model else DEMO_MODEL
    if not model.is_dir():
        raise ModelFolderError(
            f"campaign {config.campaign!r} has no diffusion model: {model} not found "
            "(pass model=... or synthetic_dir=...)"
        )
    prompts = list(config.prompts) or list(DETG_PROMPTS)
    per = -(-config.n_synthetic // len(prompts))
    # Prompt i takes seeds [base + i * stride, ...): with stride >= per no two
    # images of a campaign share their starting noise (100 kept for small runs,
    # so earlier campaigns' file names are unchanged).
    stride = max(100, per)
    guide = check_guide(None, config.guide_weight, owner="RoundConfig", model=model)
    for i, prompt in enumerate(prompts):
        generate_into(
            model,
            prompt,
            out / f"prompt-{i}",
            n=per,
            seed=config.seed * 1000 + i * stride,
            steps=config.steps,
            guidance=config.guidance,
            guidance_interval=config.guidance_interval or None,
            guide=guide,
            guide_weight=config.guide_weight,
            pag_scale=config.pag_scale,
            pag_interval=config.pag_interval or None,
            progress=progress,
            message=f"synthetic {i + 1}/{len(prompts)}: {prompt}",
        )


def _synthetic_paths(config: RoundConfig, first_round: Path) -> list[str]:
    from galaxysd_core.images import image_files

    if config.synthetic_dir:
        return [str(p) for p in image_files(config.synthetic_dir)][: config.n_synthetic]
    folder = first_round / "synthetic"
    paths = sorted(str(p) for p in folder.rglob("*.png")) if folder.exists() else []
    return paths[: config.n_synthetic]


def _training_set(
    config: RoundConfig, k: int, items: pd.DataFrame, rounds: list[Path], store
) -> pd.DataFrame:
    """Positives (synthetic + accepted), negatives (random + rejected) for round k."""
    synthetic = _synthetic_paths(config, rounds[0])
    if not synthetic:
        raise CampaignError(f"campaign {config.campaign!r} has no synthetic positives")
    parts = [pd.DataFrame({"object_id": "", "path": synthetic, "label": 1, "source": "synthetic"})]
    accepted, rejected = set(), set()
    for folder in rounds[:k]:
        table = decisions(folder, store)
        if table is None:
            raise CampaignError(
                f"{folder.name} of campaign {config.campaign!r} is not decided yet: "
                "finish its review (or close the review round) before the next round"
            )
        accepted |= set(table.loc[table["accepted"].astype(bool), "object_id"])
        done = table["decided"].astype(bool) & ~table["accepted"].astype(bool)
        rejected |= set(table.loc[done, "object_id"])
    by_id = items.set_index("object_id")["path"]
    for ids, label, source in ((accepted, 1, "accepted"), (rejected, 0, "hard_negative")):
        ids = sorted(ids)
        parts.append(pd.DataFrame({"object_id": ids, "path": by_id.loc[ids].to_numpy()}))
        parts[-1] = parts[-1].assign(label=label, source=source)
    # Random catalogue galaxies as negatives: D-ETGs are ~0.1% of GZ2, so the
    # contamination is small (the paper's assumption, Sec. 4.3).
    pool = items.loc[~items["object_id"].isin(accepted | rejected)]
    rng = np.random.default_rng([config.seed, k])
    pick = rng.choice(len(pool), size=min(config.n_negatives, len(pool)), replace=False)
    negatives = pool.iloc[np.sort(pick)][["object_id", "path"]]
    parts.append(negatives.assign(label=0, source="random"))
    return pd.concat(parts, ignore_index=True)


def training_images(config: RoundConfig, train: pd.DataFrame):
    """The training set's pixels, uint8 ``(N, 3, S, S)`` in ``train``'s order.

    With ``config.match_sky`` the synthetic rows get the sky level, noise and
    JPEG coding of the catalogue rows (:func:`~galaxysd_core.classify.skymatch.match_sky`),
    so the classifier cannot tell positives by their clean generated sky.
    """
    import torch

    from galaxysd_core.classify.skymatch import match_sky
    from galaxysd_core.images import load_images

    images, _ = load_images(train["path"].tolist(), config.classifier.image_size)
    synthetic = torch.from_numpy((train["source"] == "synthetic").to_numpy(dtype=bool, copy=True))
    if config.match_sky and synthetic.any() and (~synthetic).any():
        images[synthetic] = match_sky(images[synthetic], images[~synthetic], seed=config.seed)
    return images


def weigh_accepted(sources: np.ndarray, rows: np.ndarray, share: float) -> np.ndarray:
    """``rows`` with the accepted positives repeated to ``share`` of the positives.

    A reviewed galaxy is real evidence of the class; a synthetic one is only
    as good as the generator. With ``share`` > 0, each accepted row is
    repeated (a whole number of times, at least once) so that accepted rows
    make up about ``share`` of the positive rows; with ``share`` 1 the
    synthetic positives are dropped once any accepted row is there. Rows
    without accepted positives (round 0) come back unchanged.

    Parameters
    ----------
    sources : ndarray of str
        The ``source`` column of ``rows`` (``synthetic``, ``accepted``, ...).
    rows : ndarray of int
        Training-set row indices.
    share : float
        Target share of accepted rows among the positive rows, in [0, 1].

    Returns
    -------
    ndarray of int
        Row indices, accepted ones repeated, in ascending order.
    """
    accepted = rows[sources == "accepted"]
    synthetic = sources == "synthetic"
    if share == 0 or accepted.size == 0:
        return rows
    if share == 1:
        return rows[~synthetic]
    repeats = max(1, round(share / (1 - share) * synthetic.sum() / accepted.size))
    return np.sort(np.concatenate([rows, np.repeat(accepted, repeats - 1)]))


def _train(config: RoundConfig, train: pd.DataFrame, out: Path, progress: Progress) -> None:
    from galaxysd_core.classify.model import split_validation, train_classifier

    images = training_images(config, train)
    labels = train["label"].to_numpy()
    tr, va = split_validation(labels, 0.1, seed=config.seed)
    tr = weigh_accepted(train["source"].to_numpy()[tr], tr, config.accepted_share)
    cfg = dataclasses.replace(config.classifier, seed=config.seed)
    clf = train_classifier(
        images[tr],
        labels[tr],
        val_images=images[va],
        val_labels=labels[va],
        config=cfg,
        progress=progress,
    )
    clf.save(out)


def _score(config: RoundConfig, model: Path, items: pd.DataFrame, out: Path, progress) -> None:
    if config.score_processes == 1:
        score_catalog(
            model,
            items[["object_id", "path"]],
            out,
            batch_size=config.score_batch_size,
            chunk_size=config.chunk_size,
            progress=progress,
        )
        return
    # Several processes (GPUs, or CPU sockets): torchrun starts them and
    # accelerate's PartialState joins them into one group (``galaxysd discover score``).
    items_file = out.parent / "items.parquet"
    items[["object_id", "path"]].to_parquet(items_file, index=False)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += ["--nproc_per_node", str(config.score_processes)]
    cmd += ["-m", "galaxysd_core.cli", "discover", "score", str(model), str(items_file), str(out)]
    cmd += ["--batch-size", str(config.score_batch_size), "--chunk-size", str(config.chunk_size)]
    subprocess.run(cmd, check=True, env=dict(os.environ))


def run_round(config: RoundConfig, *, progress: Progress | None = None) -> dict[str, Any]:
    """Run (or resume) the next round of a campaign and open its review round.

    Parameters
    ----------
    config : RoundConfig
        The round's settings.
    progress : Progress, optional
        Step reporter and stop switch.

    Returns
    -------
    dict
        The round's ``round.json``: ``round, review_round_id, candidates,
        threshold, n_train, n_positive``.

    Raises
    ------
    CampaignError
        If the previous round is not decided yet.
    ModelFolderError
        If round 0 has neither a diffusion model nor ``synthetic_dir``.
    """
    progress = progress or Progress()
    config.validate_all()
    sky = Path(config.sky) if config.sky else workspace().sky / "default"
    rounds = round_dirs(config.campaign)
    store = _store(config)
    if rounds and "review_round_id" not in _read_state(rounds[-1]):
        folder = rounds[-1]  # resume an unfinished round
    else:
        if rounds and decisions(rounds[-1], store) is None:
            raise CampaignError(
                f"{rounds[-1].name} of campaign {config.campaign!r} is not decided yet: "
                "finish its review (or close the review round) before the next round"
            )
        folder = campaign_dir(config.campaign) / f"round-{len(rounds)}"
        folder.mkdir(parents=True)
        rounds.append(folder)
    k = int(folder.name.split("-", 1)[1])
    config.save(folder / "config.json")
    items = catalog_items(sky)
    if k == 0 and not config.synthetic_dir:
        _generate(config, folder / "synthetic", progress)
    train = _training_set(config, k, items, rounds, store)
    _csv(train, folder / "train.csv")
    model = folder / "model"
    if not (model / "classifier.json").exists():
        _train(config, train, model, progress)
    if not is_done(folder / "scores"):
        _score(config, model, items, folder / "scores", progress)
    scores = read_scores(folder / "scores")
    candidates = _select(config, model, items, scores, rounds[:k], store)
    _csv(candidates, folder / "candidates.csv")
    if candidates.empty:
        raise CampaignError(f"round {k} of {config.campaign!r} found no candidate above the cut")
    rows = candidates.rename(columns={"path": "image"})[
        ["object_id", "image", "score", "ra", "dec"]
    ]
    review_id = _opened_before(store, config.campaign, candidates, rounds[:k])
    if review_id is None:
        review_id = store.open_round(config.campaign, rows.to_dict("records"))
    state = {
        "round": k,
        "review_round_id": int(review_id),
        "candidates": len(candidates),
        "threshold": float(candidates.attrs.get("threshold", np.nan)),
        "n_train": len(train),
        "n_positive": int(train["label"].sum()),
        "known_in_candidates": int(candidates["object_id"].isin(known_ids(sky)).sum()),
    }
    atomic_write_json(folder / "round.json", state)
    log.info(
        "round %d of %r: %d candidates in review round %s",
        k,
        config.campaign,
        len(candidates),
        review_id,
    )
    return state


def _opened_before(store, campaign: str, candidates: pd.DataFrame, earlier: list[Path]):
    """The review round a crash left behind: opened, but ``round.json`` not written.

    It is the campaign's newest review round if no earlier campaign round
    claims it and it holds exactly these candidates; reusing it keeps people
    from reviewing the same queue twice.
    """
    table = store.rounds()
    table = table.loc[table["campaign"] == campaign]
    if table.empty:
        return None
    newest = int(table["round_id"].max())
    if any(_read_state(f).get("review_round_id") == newest for f in earlier):
        return None
    ids = store.candidates(newest)["object_id"].astype(str).tolist()
    return newest if ids == candidates["object_id"].tolist() else None


def _select(config, model: Path, items, scores, earlier: list[Path], store) -> pd.DataFrame:
    """Candidates: above the cut, not reviewed before, best ``top_k``."""
    from galaxysd_core.classify.model import GalaxyClassifier

    cut = config.min_score
    if cut is None:
        cut = GalaxyClassifier.load(model).threshold
    seen: set[str] = set()
    for folder in earlier:
        if (folder / "candidates.csv").exists():
            seen |= set(
                pd.read_csv(folder / "candidates.csv", dtype={"object_id": str})["object_id"]
            )
    table = items.merge(scores, on="object_id")
    table = table.loc[table["ok"] & (table["score"] >= cut) & ~table["object_id"].isin(seen)]
    table = table.sort_values("score", ascending=False, kind="stable").head(config.top_k)
    out = table[["object_id", "ra", "dec", "score", "path"]].reset_index(drop=True)
    out.attrs["threshold"] = float(cut)
    return out
