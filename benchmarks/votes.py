"""Sustained vote throughput and latency with concurrent writers (default 4).

Four processes (four reviewers) vote on the same round as fast as they can,
each on every candidate in its own random order, as a review session does with
four people clicking at once. Prints votes/s and latency percentiles per vote
(p50/p95/p99/max; one transaction: session check, upsert of the current vote,
history row).

    python benchmarks/votes.py                                   # SQLite in a temp dir
    python benchmarks/votes.py --writers 3
    python benchmarks/votes.py --url postgresql://postgres@127.0.0.1:55432/postgres
    python benchmarks/votes.py --url "$GALAXYSD_TEST_PG_URL" --candidates 2000

For PostgreSQL a fresh database is created next to the one in the URL and
dropped at the end. Goals: p95 <= 50 ms, p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from galaxysd_core.review import ReviewStore

REVIEWERS = ("ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal")


@contextmanager
def scratch_database(url: str | None):
    """Yield an empty database URL (a temp SQLite file or a new PostgreSQL database)."""
    if not url or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            yield url or f"sqlite:///{Path(tmp) / 'votes.db'}"
        return
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"votes_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def _writer(url: str, reviewer: str, ids: list[int], start: float, out) -> None:
    store = ReviewStore(url)
    session = store.sign_in(reviewer, f"passphrase-{reviewer}")
    rng = random.Random(reviewer)
    order = ids[:]
    rng.shuffle(order)
    while time.time() < start:  # all writers begin together
        time.sleep(0.001)
    latencies = []
    for cid in order:
        t0 = time.perf_counter()
        store.vote(session, cid, rng.choice(("yes", "no", "unsure")))
        latencies.append(time.perf_counter() - t0)
    out.send(latencies)
    store.dispose()


def run(url: str, n: int, writers: int = 4) -> dict[str, float]:
    """Run ``writers`` writers over ``n`` candidates; return throughput and latency stats (ms)."""
    reviewers = REVIEWERS[:writers]
    store = ReviewStore(url, panel_size=writers, quorum=writers // 2 + 1)  # every vote counts
    for name in reviewers:
        store.add_reviewer(name, f"passphrase-{name}")
    rows = [{"object_id": str(i), "image": f"{i}.jpg", "score": random.random()} for i in range(n)]
    round_id = store.open_round("bench", rows)
    ids = [int(i) for i in store.candidates(round_id)["candidate_id"]]
    store.dispose()
    ctx = mp.get_context("fork")
    start = time.time() + 3.0  # time for the writers to import, migrate and sign in
    pipes, procs = [], []
    for reviewer in reviewers:
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_writer, args=(url, reviewer, ids, start, send))
        proc.start()
        pipes.append(recv)
        procs.append(proc)
    latencies = np.concatenate([np.asarray(p.recv()) for p in pipes])
    wall = time.time() - start
    for proc in procs:
        proc.join()
    ms = latencies * 1000
    return {
        "votes": len(ms),
        "votes_per_s": len(ms) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="database URL (default: SQLite in a temp folder)")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument(
        "--writers", type=int, default=4, choices=range(1, len(REVIEWERS) + 1), metavar="K"
    )
    args = parser.parse_args()
    with scratch_database(args.url) as url:
        stats = run(url, args.candidates, args.writers)
    backend = sa.make_url(url).get_backend_name()
    goals = stats["p95_ms"] <= 50 and stats["p99_ms"] <= 100
    print(
        f"{backend}: {stats['votes']} votes by {args.writers} concurrent writers, "
        f"{stats['votes_per_s']:.0f} votes/s, latency p50 {stats['p50_ms']:.1f} ms, "
        f"p95 {stats['p95_ms']:.1f} ms, p99 {stats['p99_ms']:.1f} ms, max {stats['max_ms']:.1f} ms "
        f"({'meets' if goals else 'misses'} the p95 <= 50 ms and p99 <= 100 ms goals)"
    )


if __name__ == "__main__":
    main()
