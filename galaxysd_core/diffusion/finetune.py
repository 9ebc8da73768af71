"""Fine-tuning a Stable Diffusion pipeline on prompt/image pairs (Sec. 2).

The paper fine-tunes SD-1.5's UNet and CLIP text encoder together with AdamW,
a one-cycle schedule with warm-up (:mod:`.lr_schedule`), EMA on both networks,
epsilon-prediction MSE and cached latents; tags are shuffled at every step
(:mod:`.batches`). The same loop trains our small demo model from scratch. It
runs unchanged on one CPU or under ``accelerate launch`` on several
processes/GPUs: every process draws its own batch from a seed derived from
(seed, step, process), so a resumed run continues the same stream.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from galaxysd_core import __version__
from galaxysd_core.atomic import atomic_dir
from galaxysd_core.diffusion.batches import TrainingBatches
from galaxysd_core.diffusion.checkpoints import (
    find_checkpoint,
    load_training_state,
    prune_checkpoints,
)
from galaxysd_core.diffusion.config import FinetuneConfig
from galaxysd_core.diffusion.lr_schedule import make_lr_scheduler
from galaxysd_core.errors import Cancelled, ConfigError, WorkerProcessError
from galaxysd_core.launch import cli_command, cli_env
from galaxysd_core.paths import workspace
from galaxysd_core.progress import (
    REASON_FILE,
    RUN_DIR_ENV,
    STOP_FILE,
    Progress,
    read_events,
    run_folder,
)

log = logging.getLogger(__name__)
__all__ = [
    "FinetuneConfig",
    "FinetuneResult",
    "finetune",
    "finetune_in_processes",
]  # FinetuneConfig lives in .config


@dataclass
class FinetuneResult:
    """Where a run ended: the exported model folder, the last step and loss."""

    model_dir: Path
    step: int
    loss: float
    samples: list[Path] = field(default_factory=list)
    stopped_early: bool = False


def default_validation_prompts(texts: list[str], *, limit: int = 8) -> dict[str, str]:
    """The Table 1 prompts A-P by letter, or the dataset's commonest prompts.

    Parameters
    ----------
    texts : list of str
        The dataset's prompts (used when the GZ2 module is unavailable).
    limit : int, default 8
    """
    try:
        from galaxysd_core.gz2 import TABLE1_PROMPTS, table1_prompt

        return {letter: table1_prompt(letter) for letter in TABLE1_PROMPTS}
    except ImportError:
        counts: dict[str, int] = {}
        for text in texts:
            counts[text] = counts.get(text, 0) + 1
        common = sorted(counts, key=lambda t: -counts[t])[:limit]
        return {f"p{i:02d}": text for i, text in enumerate(common)}


def finetune(config: FinetuneConfig, *, progress: Progress | None = None) -> FinetuneResult:
    """Fine-tune (or train from scratch) a pipeline's UNet and text encoder.

    Parameters
    ----------
    config : FinetuneConfig
        Validated settings; ``output_dir`` defaults to the job's run folder,
        else ``<workspace>/runs/finetune``.
    progress : Progress, optional
        Gets ``update(step, steps, loss=..., lr=...)`` each step and
        ``images=[...]`` after each checkpoint's validation samples; a stop
        request ends the run with a checkpoint and raises ``Cancelled``.

    Returns
    -------
    FinetuneResult
        ``model_dir`` is ``output_dir/model``: a diffusers folder with the EMA
        weights (the raw weights when EMA is off).

    Raises
    ------
    ConfigError
        Bad settings or dataset; ``ModelFolderError`` for a bad model folder.
    """
    from accelerate import Accelerator
    from diffusers import DDPMScheduler
    from diffusers.training_utils import EMAModel, compute_snr

    from galaxysd_core.diffusion.pipelines import load_pipeline
    from galaxysd_core.prompts import token_weights

    config.validate()
    progress = progress or Progress()
    out = run_folder(config.output_dir) or workspace().runs / "finetune"
    config = replace(config, output_dir=out)
    precision = config.mixed_precision
    if precision == "fp16" and not torch.cuda.is_available():
        log.warning("fp16 mixed precision needs a GPU; training in float32")
        precision = "no"
    accelerator = Accelerator(
        mixed_precision=precision, gradient_accumulation_steps=config.grad_accum
    )
    device = accelerator.device
    torch.manual_seed(config.seed + accelerator.process_index)
    pipe = load_pipeline(config.model, device=device)
    unet, text_encoder, tokenizer = pipe.unet, pipe.text_encoder, pipe.tokenizer
    pipe.vae.requires_grad_(False)
    unet.requires_grad_(config.train_unet)
    text_encoder.requires_grad_(config.train_text_encoder)
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    # The noise levels trained on: all of them, or an expert's range (checked
    # before the latent cache is built).
    low_t, high_t = config.timestep_range or (0, noise_scheduler.config.num_train_timesteps)
    if high_t > noise_scheduler.config.num_train_timesteps:
        raise ConfigError(
            f"FinetuneConfig.timestep_range {config.timestep_range!r} goes past the model's "
            f"{noise_scheduler.config.num_train_timesteps} noise levels"
        )
    batches = TrainingBatches(config, pipe, accelerator.process_index, out / "cache")
    prompts = (
        {f"p{i:02d}": p for i, p in enumerate(config.validation_prompts)}
        if config.validation_prompts
        else default_validation_prompts([r.text for r in batches.records])
    )

    trained = [
        m for m, on in ((unet, config.train_unet), (text_encoder, config.train_text_encoder)) if on
    ]
    params = [p for m in trained for p in m.parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    lr_scheduler = make_lr_scheduler(
        optimizer, config.schedule, warmup_steps=config.warmup_steps, steps=config.steps
    )
    emas = (
        [
            EMAModel(
                m.parameters(),
                decay=config.ema_decay,
                use_ema_warmup=True,
                power=3 / 4,
                # One fused update instead of a kernel per tensor: on a GPU the
                # per-tensor launches cost more than the arithmetic.
                foreach=device.type == "cuda",
            )
            for m in trained
        ]
        if config.ema
        else []
    )

    start = 0
    checkpoint = find_checkpoint(out, config.resume)
    if checkpoint is not None:
        start = _load_checkpoint(checkpoint, trained, optimizer, lr_scheduler, emas)
        log.info("resumed from %s at step %d", checkpoint, start)
    # The LR schedule is stepped here once per optimiser step: accelerate's
    # wrapper would step it once per process, and our ``steps`` count updates.
    prepared = accelerator.prepare(*trained, optimizer)
    wrapped, optimizer = list(prepared[: len(trained)]), prepared[-1]
    wrapped_unet = wrapped[0] if config.train_unet else unet
    wrapped_text = wrapped[-1] if config.train_text_encoder else text_encoder

    token_ids: dict[str, list[int]] = {}  # shuffled prompts repeat: tokenize each once

    def encode(texts: list[str]) -> torch.Tensor:
        for text in texts:
            if text not in token_ids:
                token_ids[text] = token_weights(tokenizer, text)[0]
        ids = torch.tensor([token_ids[t] for t in texts], device=device)
        return wrapped_text(ids)[0]

    t0 = time.monotonic()
    loss_value, samples, stopped, step = math.nan, [], False, start
    window: list[torch.Tensor] = []  # step losses since the last report, left on the device
    for step in range(start + 1, config.steps + 1):
        losses = []
        # Noise and timesteps are seeded per (seed, step, process), like the
        # batches, so a resumed run repeats exactly what an unbroken one does.
        torch.manual_seed(config.seed * 1_000_003 + step * 997 + accelerator.process_index)
        for micro in range(config.grad_accum):
            with accelerator.accumulate(*wrapped):
                latents, texts = batches.draw(step, micro, device)
                noise = torch.randn_like(latents)
                if config.noise_offset:
                    noise += config.noise_offset * torch.randn(
                        latents.shape[0], latents.shape[1], 1, 1, device=device
                    )
                t = torch.randint(low_t, high_t, (latents.shape[0],), device=device)
                seen = noise
                if config.input_perturbation:
                    seen = noise + config.input_perturbation * torch.randn_like(noise)
                noisy = noise_scheduler.add_noise(latents, seen, t)
                if noise_scheduler.config.prediction_type == "v_prediction":
                    target = noise_scheduler.get_velocity(latents, noise, t)
                else:
                    target = noise
                with accelerator.autocast():
                    pred = wrapped_unet(noisy, t, encode(texts)).sample
                per_sample = (pred.float() - target.float()).pow(2).mean(dim=(1, 2, 3))
                if config.min_snr_gamma is not None:
                    snr = compute_snr(noise_scheduler, t)
                    weight = torch.clamp(snr, max=config.min_snr_gamma) / snr
                    if noise_scheduler.config.prediction_type == "v_prediction":
                        weight = torch.clamp(snr, max=config.min_snr_gamma) / (snr + 1)
                    per_sample = per_sample * weight
                loss = per_sample.mean()
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.detach())
        lr_scheduler.step()
        for ema, model in zip(emas, trained, strict=False):  # no EMA: emas is empty
            ema.step(model.parameters())
        window.append(torch.stack(losses).mean())
        checkpoint_due = step % config.checkpoint_every == 0 or step == config.steps
        stop = False
        # Every process reports at the same steps, so they agree on when to stop.
        if checkpoint_due or step % config.log_every == 0:
            loss_value = float(accelerator.reduce(torch.stack(window).mean(), reduction="mean"))
            window = []
            if accelerator.is_main_process:
                progress.update(
                    step, config.steps, loss=round(loss_value, 5), lr=lr_scheduler.get_last_lr()[0]
                )
            out_of_time = (
                config.max_minutes is not None and time.monotonic() - t0 > 60 * config.max_minutes
            )
            # Every process must agree to stop, or the others wait forever.
            flag = torch.tensor(float(progress.should_stop() or out_of_time), device=device)
            stop = bool(accelerator.reduce(flag, reduction="sum") > 0)
        if checkpoint_due or stop:
            samples = _checkpoint(
                config,
                accelerator,
                step,
                loss_value,
                pipe,
                trained,
                optimizer,
                lr_scheduler,
                emas,
                prompts,
            )
            if accelerator.is_main_process:
                progress.update(
                    step, config.steps, loss=round(loss_value, 5), images=[str(p) for p in samples]
                )
        if stop:
            stopped = True
            if progress.should_stop():
                progress.check_stop()
            log.info("time budget of %s min reached at step %d", config.max_minutes, step)
            break
    model_dir = out / "model"
    if accelerator.is_main_process:
        _export(pipe, trained, emas, model_dir)
    accelerator.wait_for_everyone()
    return FinetuneResult(model_dir, step, loss_value, samples, stopped)


#: ``finetune_in_processes``' files in the run folder: the workers' config and their output.
LAUNCH_CONFIG = "launch-config.json"
LAUNCH_LOG = "train.log"


def finetune_in_processes(
    config: FinetuneConfig,
    processes: int,
    *,
    progress: Progress | None = None,
    poll_s: float = 1.0,
) -> FinetuneResult:
    """Run :func:`finetune` data-parallel in ``processes`` worker processes and wait for them.

    The workers are ``galaxysd finetune`` under ``accelerate launch`` (gloo on
    a CPU), as a fine-tune job with ``num_processes`` runs, each taking
    ``config.batch`` images a step and an equal share of the cores
    (``OMP_NUM_THREADS``, unless the environment sets it). They report into
    ``config.output_dir`` (``progress.jsonl``), whose events are passed on to
    ``progress``; a stop request reaches them as that folder's ``STOP`` file,
    so they end with a checkpoint as one process does. The workers stay in
    this process's group: a job's cancel or kill reaches them too.

    Parameters
    ----------
    config : FinetuneConfig
        Its ``output_dir`` must be set; ``num_processes`` is ignored.
    processes : int
        Worker processes, >= 2.
    progress : Progress, optional
    poll_s : float, default 1.0
        Seconds between looks at the workers' progress.

    Returns
    -------
    FinetuneResult
        As :func:`finetune`'s; ``samples`` are the last checkpoint's.

    Raises
    ------
    Cancelled
        A stop was requested; the workers saved a checkpoint to resume from.
    WorkerProcessError
        The workers exited with an error; the message names their log.
    """
    if config.output_dir is None:
        raise ConfigError("FinetuneConfig.output_dir must be set to train in worker processes")
    if processes < 2:
        raise ConfigError(f"processes must be >= 2 to train in worker processes, got {processes}")
    config = replace(config, num_processes=processes)
    config.validate()
    progress = progress or Progress()
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    # A STOP left by an earlier, cancelled run would end this one at once, and
    # an earlier run's error would be reported as this one's.
    (out / STOP_FILE).unlink(missing_ok=True)
    (out / REASON_FILE).unlink(missing_ok=True)
    config.save(out / LAUNCH_CONFIG)
    threads = str(max(1, (os.cpu_count() or 1) // processes))
    env = cli_env(processes, {"OMP_NUM_THREADS": threads, **os.environ, RUN_DIR_ENV: str(out)})
    seen = len(read_events(out))  # a resumed run's folder holds the earlier events
    with (out / LAUNCH_LOG).open("ab") as sink:
        workers = subprocess.Popen(
            cli_command(["finetune"], out / LAUNCH_CONFIG, processes),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    stop_sent = False
    last: dict[str, Any] = {}
    samples: list[Path] = []
    try:
        while True:
            code = workers.poll()
            events = read_events(out)
            for event in events[seen:]:
                logs = {k: event[k] for k in ("loss", "lr", "images") if k in event}
                progress.update(int(event["step"]), int(event["total"]), **logs)
                if "loss" in event:
                    last = event
                samples = [Path(p) for p in event.get("images", [])] or samples
            seen = len(events)
            if code is not None:
                break
            if not stop_sent and progress.should_stop():
                (out / STOP_FILE).touch()
                stop_sent = True
            time.sleep(poll_s)
    except BaseException:
        workers.terminate()
        workers.wait()
        raise
    (out / STOP_FILE).unlink(missing_ok=True)
    # A worker that stops exits 130, which torchrun reports as its own failure.
    if code == 130 or (stop_sent and code != 0):
        raise Cancelled("stop requested")
    if code != 0:
        # A worker's own one-line error (the CLI writes it there), else torchrun's summary.
        reason = out / REASON_FILE
        why = reason.read_text().strip() if reason.is_file() else "see the log"
        raise WorkerProcessError(
            f"the {processes} fine-tune processes exited with status {code}: {why} "
            f"(log: {out / LAUNCH_LOG})"
        )
    step = int(last.get("step", 0))
    return FinetuneResult(
        out / "model",
        step,
        float(last.get("loss", math.nan)),
        samples,
        stopped_early=step < config.steps,
    )


def _checkpoint(
    config, accelerator, step, loss, pipe, trained, optimizer, lr_scheduler, emas, prompts
) -> list[Path]:
    """Write ``checkpoint-<step>`` atomically, prune old ones, sample the prompts."""
    from safetensors.torch import save_file

    from galaxysd_core.diffusion.sampling import generate

    out = Path(config.output_dir)
    samples: list[Path] = []
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with atomic_dir(out / "checkpoints" / f"checkpoint-{step}", overwrite=True) as tmp:
            for i, model in enumerate(trained):
                state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
                save_file(state, tmp / f"model_{i}.safetensors")
            torch.save(
                {
                    "optimizer": optimizer.state_dict(),
                    "lr_scheduler": lr_scheduler.state_dict(),
                    "emas": [e.state_dict() for e in emas],
                },
                tmp / "training_state.pt",
            )
            meta = {"step": step, "loss": loss, "version": __version__, "config": config.to_dict()}
            (tmp / "state.json").write_text(
                json.dumps(meta, indent=2, default=str), encoding="utf-8"
            )
        prune_checkpoints(out, keep_last=config.keep_last)
        with _ema_weights(trained, emas):
            was_training = [m.training for m in trained]
            for m in trained:
                m.eval()
            made = generate(
                pipe,
                list(prompts.values()),
                n=1,
                seed=config.seed,
                steps=config.validation_steps,
                batch_size=16,
                names=list(prompts),
                out=out / "samples" / f"step-{step:06d}",
                model_name=f"checkpoint-{step}",
            )
            samples.extend(made.paths)
            for m, flag in zip(trained, was_training, strict=True):
                m.train(flag)
    accelerator.wait_for_everyone()
    return samples


class _ema_weights:  # noqa: N801 - used as a context manager
    """Swap EMA weights in for sampling/export, restore the raw ones after."""

    def __init__(self, models, emas) -> None:
        self.pairs = list(zip(emas, models, strict=False))

    def __enter__(self) -> None:
        for ema, model in self.pairs:
            ema.store(model.parameters())
            ema.copy_to(model.parameters())

    def __exit__(self, *exc: Any) -> None:
        for ema, model in self.pairs:
            ema.restore(model.parameters())


def _load_checkpoint(folder: Path, trained, optimizer, lr_scheduler, emas) -> int:
    from safetensors.torch import load_file

    for i, model in enumerate(trained):
        model.load_state_dict(load_file(folder / f"model_{i}.safetensors"))
    state = load_training_state(folder)
    optimizer.load_state_dict(state["optimizer"])
    lr_scheduler.load_state_dict(state["lr_scheduler"])
    for ema, ema_state in zip(emas, state["emas"], strict=False):
        ema.load_state_dict(ema_state)
    return int(json.loads((folder / "state.json").read_text(encoding="utf-8"))["step"])


def _export(pipe, trained, emas, model_dir: Path) -> None:
    from galaxysd_core.diffusion.pipelines import save_pipeline

    with _ema_weights(trained, emas):
        save_pipeline(pipe, model_dir)
