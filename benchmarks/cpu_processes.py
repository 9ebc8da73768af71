"""Training throughput of the real fine-tune on this CPU, by process and thread layout.

``benchmarks/train_step.py`` measured one process with torch's default
threads (one per core). A small UNet's kernels are too short to keep two
threads busy, so a second core may be better spent on a second process:
data-parallel training over gloo, which ``FinetuneConfig.num_processes``
already runs (``accelerate launch``, as the job runner starts it). This runs
``galaxysd finetune`` for ``--steps`` steps in each layout, on the same
model, dataset and recipe, and prints images per second side by side with
the ratio to one process on every core (how the demo build trains now).
Per-process batch is ``--batch``, so two processes take twice the images a
step; with ``--shared-batch`` the processes share ``--batch``, as a demo
build's ``unet_processes`` does (the same recipe, each process half the
images). The rate counts images.

    python benchmarks/cpu_processes.py --dataset DATASET [--model assets/demo-model]
        [--cache LATENTS.pt] [--steps 200] [--layouts 1x2 1x1 2x1] [--shared-batch]

DATASET is a prepared training set (``galaxysd prepare``, or a demo build's
``dataset/``); ``--cache`` copies a latent cache of that dataset and model
(``<run>/cache/latents-1.pt``) into each run, so the runs time training alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from galaxysd_core.diffusion.config import FinetuneConfig
from galaxysd_core.jobs.runner import CONFIG_FILE
from galaxysd_core.jobs.supervise import task_command, task_env
from galaxysd_core.paths import DEMO_MODEL
from galaxysd_core.progress import RUN_DIR_ENV

FIRST_TIMED_STEP = 50  # the first steps include warm-up allocations


def images_per_second(run: Path, batch: int) -> float:
    """Images a second between the first timed step and the last, from ``progress.jsonl``."""
    events = [json.loads(line) for line in (run / "progress.jsonl").read_text().splitlines()]
    timed = [e for e in events if e.get("step", 0) >= FIRST_TIMED_STEP and "loss" in e]
    if len(timed) < 2:
        raise SystemExit(f"too few progress events in {run}; raise --steps")
    first, last = timed[0], timed[-1]
    return batch * (last["step"] - first["step"]) / (last["time"] - first["time"])


def run_layout(args: argparse.Namespace, processes: int, threads: int, run: Path) -> float:
    """Train in one layout in the new folder ``run``; return images a second over all processes."""
    batch = args.batch // processes if args.shared_batch else args.batch
    run.mkdir()
    if args.cache:
        (run / "cache").mkdir()
        shutil.copy(args.cache, run / "cache" / Path(args.cache).name)
    FinetuneConfig(
        model=Path(args.model),
        dataset=Path(args.dataset),
        output_dir=run,
        steps=args.steps,
        batch=batch,
        lr=4e-4,
        weight_decay=1e-2,
        warmup_steps=20,
        tag_keep=1.0,
        min_snr_gamma=5.0,
        checkpoint_every=args.steps,
        log_every=10,
        num_processes=processes,
    ).save(run / CONFIG_FILE)
    row = {"kind": "finetune", "run_dir": str(run), "num_processes": processes}
    env = task_env(row, {**os.environ, RUN_DIR_ENV: str(run), "OMP_NUM_THREADS": str(threads)})
    subprocess.run(task_command(row), env=env, check=True, capture_output=True)
    return images_per_second(run, batch * processes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", default=str(DEMO_MODEL))
    parser.add_argument("--cache", help="a latents-1.pt of this dataset and model")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument(
        "--layouts",
        nargs="+",
        default=["1x2", "1x1", "2x1"],
        help="PROCESSESxTHREADS; repeat one to see the noise",
    )
    parser.add_argument(
        "--shared-batch", action="store_true", help="the processes share --batch between them"
    )
    args = parser.parse_args()
    layouts = [tuple(int(x) for x in layout.split("x")) for layout in args.layouts]
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (processes, threads) in enumerate(layouts):
            value = run_layout(args, processes, threads, Path(tmp) / f"{i}-{processes}x{threads}")
            rates.append(((processes, threads), value))
            print(
                f"{processes} process(es) x {threads} thread(s): {value:.1f} images/s", flush=True
            )
    # The baseline: one process on every core, as the demo build trains (mean over repeats).
    plain = [v for layout, v in rates if layout == (1, os.cpu_count() or 1)] or [rates[0][1]]
    base = sum(plain) / len(plain)
    print(f"{'processes x threads':>20} {'images/s':>9} {'ratio':>6}")
    for (processes, threads), value in rates:
        print(f"{f'{processes} x {threads}':>20} {value:9.1f} {value / base:6.2f}")


if __name__ == "__main__":
    main()
