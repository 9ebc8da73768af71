"""What a campaign found: per-round counts, truth-scored rates, the final catalogue.

The final catalogue holds every accepted candidate (>= 2 of 3 "yes", Sec. 4.3)
that is not in the known list (``known_detg.csv``, the Kaviraj et al. 2012
analogue), exported as CSV or FITS (an astropy Table).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_write_text
from galaxysd_core.discovery.campaign import campaign_dir, decisions, round_dirs
from galaxysd_core.errors import ConfigError
from galaxysd_core.gz2.folders import known_ids, read_truth

FORMATS = ("csv", "fits")


def _sky_of(folder: Path) -> Path | None:
    config = folder / "config.json"
    if not config.exists():
        return None
    sky = json.loads(config.read_text()).get("sky")
    if sky:
        return Path(sky)
    from galaxysd_core.paths import workspace

    return workspace().sky / "default"


def _campaign_sky(name: str, store) -> tuple[bool, Path | None]:
    """Whether ``name`` was opened only on the Review page (no round folders), and its sky.

    Raises
    ------
    ConfigError
        If the campaign has neither round folders nor review rounds.
    """
    rounds = round_dirs(name)
    if rounds:
        return False, _sky_of(rounds[0])
    if name in set(store.rounds()["campaign"]):
        return True, None
    raise ConfigError(f"campaign {name!r} has no round in {campaign_dir(name)}")


def round_votes(name: str, store) -> list[tuple[int, pd.DataFrame, pd.DataFrame]]:
    """Per round: ``(k, candidates, consensus)``; consensus is live if undecided."""
    out = []
    for folder in round_dirs(name):
        state_file = folder / "round.json"
        if not state_file.exists():
            continue
        state = json.loads(state_file.read_text())
        cands = pd.read_csv(folder / "candidates.csv", dtype={"object_id": str})
        table = decisions(folder, store)
        if table is None:
            table = store.consensus(int(state["review_round_id"]))
            table["object_id"] = table["object_id"].astype(str)
        out.append((int(state["round"]), cands, table))
    return out


def campaign_names(store) -> list[str]:
    """Every campaign: those with round folders (discovery jobs) and those with
    review rounds only (opened from a CSV on the Review page or the CLI)."""
    from galaxysd_core.paths import workspace

    root = workspace().campaigns
    folders = {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()
    return sorted(folders | set(store.rounds()["campaign"]))


def _review_only_report(name: str, store) -> pd.DataFrame:
    """Per review round of a campaign without round folders: the counts, no truth."""
    rounds = store.rounds()
    rows = []
    for r in rounds[rounds["campaign"] == name].sort_values("number").itertuples():
        table = store.consensus(int(r.round_id))
        decided, accepted = table["decided"].astype(bool), table["accepted"].astype(bool)
        rows.append(
            {
                "round": int(r.number),
                "candidates": len(table),
                "decided": int(decided.sum()),
                "accepted": int(accepted.sum()),
                "rejected": int((decided & ~accepted).sum()),
            }
        )
    return pd.DataFrame(rows)


def round_report(name: str, store) -> pd.DataFrame:
    """Per round: candidates, decided, accepted, and (mock skies) truth-scored rates.

    A campaign opened only on the Review page (no round folders) gets the
    counts of its review rounds.

    Columns ``candidate_purity`` and ``accepted_purity`` are the fractions of
    candidates / accepted ones that are true D-ETGs; ``recall_candidates`` and
    ``recall_accepted`` the cumulative fractions of the sky's hidden D-ETGs
    (true D-ETGs not in the known list) found so far. NaN without truth.
    """
    review_only, sky = _campaign_sky(name, store)
    if review_only:
        return _review_only_report(name, store)
    truth = read_truth(sky) if sky else None
    known = known_ids(sky) if sky else set()
    hidden = set() if truth is None else set(truth.index[truth["is_detg"]]) - known
    rows, seen_c, seen_a = [], set(), set()
    for k, cands, table in round_votes(name, store):
        accepted = set(table.loc[table["accepted"].astype(bool), "object_id"])
        decided = table["decided"].astype(bool)
        row = {
            "round": k,
            "candidates": len(cands),
            "decided": int(decided.sum()),
            "accepted": len(accepted),
            "rejected": int((decided & ~table["accepted"].astype(bool)).sum()),
            "new_accepted": len(accepted - known),
        }
        seen_c |= set(cands["object_id"])
        seen_a |= accepted
        if truth is not None:
            is_detg = truth["is_detg"]
            row["candidate_purity"] = float(
                is_detg.reindex(cands["object_id"]).fillna(False).mean()
            )
            row["accepted_purity"] = (
                float(is_detg.reindex(sorted(accepted)).fillna(False).mean())
                if accepted
                else np.nan
            )
            row["hidden_detg"] = len(hidden)
            row["recall_candidates"] = len(seen_c & hidden) / len(hidden) if hidden else np.nan
            row["recall_accepted"] = len(seen_a & hidden) / len(hidden) if hidden else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def final_catalogue(name: str, store) -> pd.DataFrame:
    """Accepted candidates of every round that are not already known.

    Returns
    -------
    DataFrame
        ``object_id, ra, dec, score, round, votes, yes, no, unsure, n_votes,
        consensus``, one row per object (its first accepting round), best
        score first; ``votes`` reads e.g. ``"2/3 yes"``.
    """
    review_only, sky = _campaign_sky(name, store)
    if review_only:
        return _review_only_report(name, store)
    known = known_ids(sky) if sky else set()
    parts = []
    for k, _, table in round_votes(name, store):
        keep = table.loc[table["accepted"].astype(bool)].assign(round=k, consensus="accepted")
        parts.append(keep)
    columns = ["object_id", "ra", "dec", "score", "round", "votes"]
    columns += ["yes", "no", "unsure", "n_votes"]
    if not parts:
        return pd.DataFrame(columns=[*columns, "consensus"])
    table = pd.concat(parts, ignore_index=True)
    table = table.loc[~table["object_id"].isin(known)]
    table = table.sort_values("round", kind="stable").drop_duplicates("object_id")
    table = table.sort_values("score", ascending=False, kind="stable")
    # One readable column for the catalogue's users; the counts stay beside it.
    table["votes"] = [f"{y}/{n} yes" for y, n in zip(table["yes"], table["n_votes"], strict=True)]
    return table[[*columns, "consensus"]].reset_index(drop=True)


def export_catalogue(
    name: str, store, *, fmt: str = "csv", path: str | os.PathLike[str] | None = None
) -> Path:
    """Write the final catalogue as CSV or FITS (astropy Table), atomically.

    Parameters
    ----------
    name : str
        Campaign name.
    store : ReviewStore
        Where the votes are.
    fmt : {"csv", "fits"}
    path : path-like, optional
        Default ``campaigns/<name>/new_detg.<fmt>``.

    Returns
    -------
    Path
    """
    if fmt not in FORMATS:
        raise ConfigError(f"export format must be one of {FORMATS}, got {fmt!r}")
    table = final_catalogue(name, store)
    path = Path(path) if path else campaign_dir(name) / f"new_detg.{fmt}"
    if fmt == "csv":
        atomic_write_text(path, table.to_csv(index=False))
        return path
    from astropy.table import Table

    astro = Table.from_pandas(table.astype({"object_id": str, "consensus": str}))
    astro.meta["CAMPAIGN"] = name
    astro.meta["RULE"] = ">=2 of 3 yes"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".fits", dir=path.parent)
    os.close(fd)
    try:
        astro.write(tmp, format="fits", overwrite=True)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def campaign_curves(
    name: str,
    store,
    *,
    properties: pd.DataFrame | None = None,
    n_control: int = 4000,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """KDE/CDF curves of the found, known and matched control samples (Figs. 8, 9, D4).

    Parameters
    ----------
    name : str
        Campaign name.
    store : ReviewStore
    properties : DataFrame, optional
        ``object_id``/``dr7objid``, ``redshift, sfr, stellar_mass, r_mag`` (and
        ``is_etg``) per galaxy, e.g. GSWLC; default: the mock sky's truth.
    n_control, n_boot, seed : int
        Control size (the paper's 4,000), bootstrap draws, seed.

    Returns
    -------
    DataFrame
        See :func:`~galaxysd_core.discovery.compare.compare_samples`.
    """
    from galaxysd_core.discovery.compare import campaign_samples, compare_samples

    review_only, sky = _campaign_sky(name, store)
    if review_only:
        return _review_only_report(name, store)
    if properties is None:
        truth = read_truth(sky) if sky else None
        if truth is None:
            raise ConfigError("no properties table given and the campaign's sky has no truth")
        properties = truth.reset_index()
    found = final_catalogue(name, store)["object_id"].tolist()
    samples = campaign_samples(
        found, known_ids(sky) if sky else set(), properties, n_control=n_control, seed=seed
    )
    return compare_samples(samples, n_boot=n_boot, seed=seed)
