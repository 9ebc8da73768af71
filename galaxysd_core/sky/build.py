"""Build a mock sky folder: population, votes, images, truth, known D-ETGs.

The folder has the layout of a real GZ2 download (NOTES.md "Data") plus the
truth the real sky never gives::

    catalog.csv            Hart et al. 2016 columns, id ``dr7objid``
    filename_mapping.csv   objid, sample, asset_id
    images/{asset_id}.jpg  gri pseudo-colour cutouts
    truth.parquet          true tags, physics and rendering parameters
    known_detg.csv         a Kaviraj et al. 2012-like list of known D-ETGs
    sky_config.json        the settings that made it

It is written into a temporary sibling folder and renamed at the end, so an
interrupted or failed build leaves nothing half-written.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxysd_core.atomic import atomic_dir
from galaxysd_core.errors import GalaxySDError
from galaxysd_core.lifetime import die_with_parent
from galaxysd_core.progress import Progress
from galaxysd_core.sky.config import SkyConfig
from galaxysd_core.sky.population import sample_population
from galaxysd_core.sky.render import encode_jpeg, pixel_scale, render_galaxy
from galaxysd_core.sky.votes import build_catalog

log = logging.getLogger(__name__)

SAMPLE = "original"  # the GZ2 main sample's name in gz2_filename_mapping.csv
# Below this many galaxies, rendering in-process is faster than starting workers.
MIN_PARALLEL = 64


class SkyOutputError(GalaxySDError, OSError):
    """The output folder cannot be used (not writable, not empty, not a folder)."""


def check_output(out: Path, *, overwrite: bool) -> None:
    """Raise :class:`SkyOutputError` unless a sky can be written to ``out``.

    Parameters
    ----------
    out : Path
        The output folder.
    overwrite : bool
        Whether a non-empty ``out`` may be replaced.
    """
    if out.exists() and not out.is_dir():
        raise SkyOutputError(f"output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SkyOutputError(
            f"output folder {out} is not empty; pass --overwrite (overwrite=True) to replace it"
        )
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    # Try it rather than trust os.access (root, read-only mounts, /proc).
    try:
        tempfile.TemporaryDirectory(dir=parent).cleanup()
    except OSError as exc:
        raise SkyOutputError(f"cannot write the sky to {out}: {parent} is not writable") from exc


def add_identifiers(pop: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """Add SDSS-like ``dr7objid``, ``asset_id``, ``ra`` and ``dec`` columns (in place)."""
    rng = np.random.default_rng([seed, 505])
    n = len(pop)
    pop.insert(0, "dr7objid", 587722981736000000 + np.cumsum(rng.integers(1, 50000, n)))
    pop.insert(1, "asset_id", np.arange(1, n + 1, dtype=np.int64))
    # The SDSS Legacy footprint in the northern Galactic cap, uniform on the sphere.
    pop.insert(2, "ra", np.round(rng.uniform(110.0, 260.0, n), 6))
    sin_dec = rng.uniform(np.sin(np.radians(-5.0)), np.sin(np.radians(65.0)), n)
    pop.insert(3, "dec", np.round(np.degrees(np.arcsin(sin_dec)), 6))
    return pop


def choose_known_detg(pop: pd.DataFrame, *, fraction: float, seed: int) -> pd.DataFrame:
    """Pick the "known" D-ETGs: about ``fraction`` of the true ones, brighter ones first.

    Kaviraj et al. (2012) found theirs by eye in deeper Stripe 82 imaging, so
    bright, well-resolved D-ETGs are more likely to be known.
    """
    rng = np.random.default_rng([seed, 606])
    detg = pop[pop["is_detg"]]
    k = round(fraction * len(detg))
    if k == 0:
        return detg.iloc[:0][["dr7objid", "ra", "dec", "asset_id"]]
    w = 10 ** (-0.4 * (detg["r_mag"].to_numpy() - 17.0))
    chosen = rng.choice(len(detg), size=k, replace=False, p=w / w.sum())
    return detg.iloc[np.sort(chosen)][["dr7objid", "ra", "dec", "asset_id"]]


def _render_chunk(
    records: list[dict[str, Any]],
    indices: list[int],
    folder: str,
    size: int,
    seed: int,
    quality: int,
) -> int:
    for rec, i in zip(records, indices, strict=True):
        rgb = render_galaxy(rec, size=size, seed=seed, index=i)
        Path(folder, f"{rec['asset_id']}.jpg").write_bytes(encode_jpeg(rgb, quality=quality))
    return len(indices)


def render_images(
    pop: pd.DataFrame,
    folder: Path,
    *,
    size: int,
    seed: int,
    workers: int = 1,
    quality: int = 90,
    progress: Progress | None = None,
) -> None:
    """Render every galaxy of ``pop`` to ``folder/{asset_id}.jpg``.

    Parameters
    ----------
    pop : pandas.DataFrame
        Population with identifiers (:func:`add_identifiers`).
    folder : Path
        Existing folder to write into.
    size, seed : int
        Image side and sky seed (image ``i`` uses the generator ``(seed, i)``).
    workers : int, default 1
        Processes; the images do not depend on it.
    quality : int, default 90
        JPEG quality.
    progress : Progress, optional
        Gets ``update(done, n)``; ``check_stop()`` is honoured between chunks.
    """
    progress = progress or Progress()
    n = len(pop)
    records = pop.to_dict("records")
    chunk = int(np.clip(n // (max(workers, 1) * 8), 8, 256))
    starts = range(0, n, chunk)
    done = 0
    progress.update(0, n, message="rendering")
    if workers <= 1 or n < MIN_PARALLEL:
        for lo in starts:
            progress.check_stop()
            idx = list(range(lo, min(lo + chunk, n)))
            done += _render_chunk(records[lo : lo + chunk], idx, str(folder), size, seed, quality)
            progress.update(done, n)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=die_with_parent,  # no orphaned workers after a kill -9
        initargs=(os.getpid(),),
    ) as pool:
        pending = set()
        try:
            for lo in starts:
                idx = list(range(lo, min(lo + chunk, n)))
                pending.add(
                    pool.submit(
                        _render_chunk,
                        records[lo : lo + chunk],
                        idx,
                        str(folder),
                        size,
                        seed,
                        quality,
                    )
                )
            while pending:
                finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in finished:
                    done += fut.result()
                progress.update(done, n)
                progress.check_stop()
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def build_sky(config: SkyConfig, *, progress: Progress | None = None) -> Path:
    """Build a mock GZ2 sky as described by ``config``.

    Parameters
    ----------
    config : SkyConfig
        What to build and where.
    progress : Progress, optional
        Receives rendering progress; a stop request cancels the build and
        leaves nothing behind.

    Returns
    -------
    Path
        The finished output folder.

    Raises
    ------
    ConfigError
        If a setting is invalid.
    SkyOutputError
        If the output folder is not writable or not empty without ``overwrite``.
    Cancelled
        If ``progress`` asked to stop.
    """
    config.validate()
    out = config.resolved_out()
    check_output(out, overwrite=config.overwrite)
    progress = progress or Progress()
    n, size, seed = config.n, config.size, config.seed
    log.info("mock sky: %d galaxies, %d px, seed %d -> %s", n, size, seed, out)
    pop = sample_population(n, seed=seed, dusty_s0_fraction=config.dusty_s0_fraction)
    pop = add_identifiers(pop, seed=seed)
    pop["pixscale_arcsec"] = pixel_scale(1.0, size) * pop["r90_arcsec"]
    catalog = build_catalog(pop, seed=seed)
    progress.check_stop()
    try:
        with atomic_dir(out, overwrite=config.overwrite) as tmp:
            _write_folder(tmp, pop, catalog, config, progress=progress)
    except OSError as exc:
        if isinstance(exc, GalaxySDError):
            raise
        raise SkyOutputError(f"cannot write the sky to {out}: {exc}") from exc
    progress.update(n, n, message=f"mock sky written to {out}")
    log.info("mock sky written: %s (%d true D-ETGs)", out, int(pop["is_detg"].sum()))
    return out


def write_csv_fast(frame: pd.DataFrame, path: Path) -> None:
    """Write a plain (comma-free strings) table as CSV with pyarrow, ~6x faster than pandas.

    The header is written by hand so that no field, header included, is quoted.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    with path.open("wb") as handle:
        handle.write((",".join(frame.columns) + "\n").encode("utf-8"))
        pa_csv.write_csv(
            pa.Table.from_pandas(frame, preserve_index=False),
            handle,
            write_options=pa_csv.WriteOptions(include_header=False, quoting_style="none"),
        )


def _write_folder(
    tmp: Path, pop: pd.DataFrame, catalog: pd.DataFrame, config: SkyConfig, *, progress: Progress
) -> None:
    images = tmp / "images"
    images.mkdir()
    render_images(
        pop,
        images,
        size=config.size,
        seed=config.seed,
        workers=config.resolved_workers(),
        quality=config.jpeg_quality,
        progress=progress,
    )
    write_csv_fast(catalog, tmp / "catalog.csv")
    mapping = pd.DataFrame(
        {"objid": pop["dr7objid"], "sample": SAMPLE, "asset_id": pop["asset_id"]}
    )
    mapping.to_csv(tmp / "filename_mapping.csv", index=False)
    pop.to_parquet(tmp / "truth.parquet", index=False)
    known = choose_known_detg(pop, fraction=config.known_detg_fraction, seed=config.seed)
    known.to_csv(tmp / "known_detg.csv", index=False)
    config.save(tmp / "sky_config.json")
