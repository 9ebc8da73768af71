"""Can the quiz's presented tiles be told apart by their sky alone? A two-sample check.

For ``--n`` questions drawn from a dataset (as the ``quiz-pool`` job draws
them), one image is generated per question and presented twice: the way the
Quiz page used to show it (resized, JPEG-coded, its own black sky) and the way
the pool now presents it (:func:`galaxysd_core.quiz_pool.present_question`: the
real tiles' size, sky level and noise, one JPEG coding). Each presented
generated tile is paired with one real tile of the same question, and a
logistic regression on sky and coding statistics only (corner level and noise
per channel, JPEG bytes per pixel, 8x8 blockiness, corner high-frequency
energy) is scored by 5-fold cross-validation. 0.5 is a coin; the goal of the
quiz is <= 0.6. It also times how long the Quiz page's script takes to open a
round from the pool (Streamlit ``AppTest``, no browser).

    python benchmarks/quiz_fairness.py --model assets/demo-model --dataset SKY [--n 120]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from galaxysd_core.classify.skymatch import CORNER
from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.gz2 import prompt_for
from galaxysd_core.quiz import load_pool, sample_round
from galaxysd_core.quiz_pool import present_question

ROOT = Path(__file__).resolve().parent.parent


def features(data: bytes) -> list[float]:
    """Sky and coding statistics of one presented JPEG tile."""
    x = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)
    c = CORNER
    corners = np.concatenate(
        [p.reshape(-1, 3) for p in (x[:c, :c], x[:c, -c:], x[-c:, :c], x[-c:, -c:])]
    )
    level = np.median(corners, axis=0)
    noise = 1.4826 * np.median(np.abs(corners - level), axis=0)
    grey = x.mean(axis=2)
    cols = np.abs(np.diff(grey, axis=1))
    boundary = cols[:, 7::8].mean() if cols.shape[1] > 8 else 0.0
    blockiness = boundary / max(cols.mean(), 1e-6)
    patch = grey[: 2 * c, : 2 * c]
    lap = patch[1:-1, 1:-1] * 4 - patch[:-2, 1:-1] - patch[2:, 1:-1] - patch[1:-1, :-2]
    lap = lap - patch[1:-1, 2:]
    bpp = len(data) / (x.shape[0] * x.shape[1])
    return [*level, *noise, bpp, blockiness, float(np.var(lap))]


def two_sample_accuracy(
    gen: list[bytes], real: list[bytes], *, seed: int = 0
) -> tuple[float, float]:
    """Mean and sd of 5-fold cross-validated accuracy telling ``gen`` from ``real``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([features(d) for d in gen + real])
    y = np.array([1] * len(gen) + [0] * len(real))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    scores = cross_val_score(model, x, y, cv=folds, scoring="accuracy")
    return float(scores.mean()), float(scores.std())


def open_time(model: str, dataset: str, questions: int) -> float:
    """Seconds the Quiz page's script takes to show a round once the pool exists."""
    from streamlit.testing.v1 import AppTest

    from galaxysd_core.paths import workspace
    from galaxysd_core.quiz import pool_dir
    from galaxysd_core.quiz_pool import QuizPoolConfig, build_pool

    home = tempfile.mkdtemp(prefix="quiz-bench-")
    os.environ["GALAXYSD_HOME"] = home
    ws = workspace().ensure()
    shutil.copytree(dataset, ws.sky / "default")  # the page accepts datasets inside it only
    folder = pool_dir(ws.cache, model, ws.sky / "default")
    build_pool(
        QuizPoolConfig(model=model, dataset=str(ws.sky / "default"), questions=questions),
        progress=None,
    )
    assert folder.is_dir()
    sys.path.insert(0, str(ROOT))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    start = time.perf_counter()
    at.switch_page("pages/quiz.py").run()
    took = time.perf_counter() - start
    from galaxysd_core import jobs

    for job_id in jobs.list_jobs(workspace=ws)["id"]:  # the page's top-up of the pool
        jobs.cancel(job_id, workspace=ws, wait=True)
    if at.exception or len(at.main.image) < 4:
        shown = [e.value for e in (*at.exception, *at.error, *at.info, *at.markdown)]
        raise RuntimeError(f"the quiz page did not show a question: {shown}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "demo-model"))
    parser.add_argument("--dataset", required=True, help="mock sky or prepared dataset")
    parser.add_argument("--n", type=int, default=120, help="questions (generated tiles)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", help="write the numbers here as JSON")
    parser.add_argument("--open-only", action="store_true", help="only time the page")
    args = parser.parse_args()

    if args.open_only:
        print(f"page_open_s {open_time(args.model, args.dataset, 10):.2f}")
        return
    t0 = time.perf_counter()
    pool = load_pool(args.dataset)
    pipe = load_pipeline(args.model)
    rng = random.Random(0)
    shown: dict[str, list[bytes]] = {"old": [], "match": [], "new": [], "real": []}
    for i in range(args.n):
        rnd = sample_round(pool, seed=10_000 + i)
        image = generate(pipe, prompt_for(rnd.tags), n=1, seed=rnd.seed, steps=args.steps)
        image = image.images[0]
        for key, sky in (("old", "none"), ("match", "match"), ("new", "real")):
            tiles = present_question(
                image, list(rnd.real), generated_index=0, seed=rnd.seed, sky=sky
            )
            shown[key].append(tiles[0])
        shown["real"].append(tiles[1 + rng.randrange(len(rnd.real))])
    made_s = time.perf_counter() - t0
    result = {"model": args.model, "dataset": args.dataset, "questions": args.n}
    for key in ("old", "match", "new"):
        mean, sd = two_sample_accuracy(shown[key], shown["real"])
        result[f"accuracy_{key}"] = round(mean, 3)
        result[f"accuracy_{key}_sd"] = round(sd, 3)
    result["generate_s"] = round(made_s, 1)
    print(json.dumps(result, indent=2), flush=True)
    result["page_open_s"] = round(open_time(args.model, args.dataset, 10), 2)
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
