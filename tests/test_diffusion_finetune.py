"""Fine-tuning on a tiny model: checkpoints, retention, exact resume, validation, config errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _tiny import tiny_model_and_dataset

from galaxysd_core.diffusion import load_pipeline, tiny_components
from galaxysd_core.diffusion.batches import TrainingBatches, draw_probabilities
from galaxysd_core.diffusion.checkpoints import find_checkpoint, list_checkpoints
from galaxysd_core.diffusion.data import Record, load_image, load_images_uint8, read_metadata
from galaxysd_core.diffusion.finetune import FinetuneConfig, finetune
from galaxysd_core.diffusion.lr_schedule import make_lr_scheduler, one_cycle_factor
from galaxysd_core.errors import Cancelled, ConfigError
from galaxysd_core.progress import Progress


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny model folder and an 8-pair prepared dataset of 32x32 images."""
    texts = ["sdss, spiral galaxy, 2 spiral arms", "sdss, smooth, completely round galaxy"] * 4
    return tiny_model_and_dataset(tmp_path_factory.mktemp("ft"), texts)


def config(tiny, out: Path, **overrides) -> FinetuneConfig:
    model, data = tiny
    base = {
        "model": model,
        "dataset": data,
        "output_dir": out,
        "steps": 3,
        "batch": 2,
        "lr": 1e-3,
        "warmup_steps": 1,
        "checkpoint_every": 2,
        "keep_last": 1,
        "validation_steps": 2,
        "validation_prompts": ["sdss, smooth", "sdss, spiral galaxy"],
        "augment": 2,
        "min_snr_gamma": 5.0,
    }
    return FinetuneConfig.from_dict({**base, **overrides})


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    pipe = load_pipeline(model_dir)
    return {
        **pipe.unet.state_dict(),
        **{f"te.{k}": v for k, v in pipe.text_encoder.state_dict().items()},
    }


class _StopAt(Progress):
    """Requests a stop once ``step`` is reached (an interrupted run)."""

    def __init__(self, step: int) -> None:
        self.step, self.images = step, []

    def update(self, step, total, **logs):
        self.last = step
        self.images += logs.get("images", [])

    def should_stop(self):
        return getattr(self, "last", 0) >= self.step


def test_interrupted_at_three_steps_then_resumed_equals_an_unbroken_run(tiny, tmp_path):
    stopper = _StopAt(3)
    with pytest.raises(Cancelled):
        finetune(config(tiny, tmp_path / "a", steps=5), progress=stopper)
    # The stop wrote checkpoint-3; keep_last=1 pruned checkpoint-2.
    assert [p.name for p in list_checkpoints(tmp_path / "a")] == ["checkpoint-3"]
    state = json.loads((tmp_path / "a/checkpoints/checkpoint-3/state.json").read_text())
    assert state["step"] == 3 and state["config"]["steps"] == 5
    assert sorted(Path(p).name for p in stopper.images if "step-000003" in p) == [
        "p00-0.png",
        "p01-0.png",
    ]

    resumed = finetune(config(tiny, tmp_path / "a", steps=5, resume="latest"))
    unbroken = finetune(config(tiny, tmp_path / "b", steps=5))
    assert resumed.step == unbroken.step == 5 and np.isfinite(resumed.loss)
    a, b = weights(resumed.model_dir), weights(unbroken.model_dir)
    for key in a:
        torch.testing.assert_close(a[key], b[key])
    # Trained weights moved away from the initialisation.
    start = tiny_components(0)["unet"].state_dict()
    assert any(not torch.equal(a[k], start[k]) for k in start)


def test_frozen_text_encoder_stays_put_and_time_budget_stops(tiny, tmp_path):
    result = finetune(
        config(tiny, tmp_path / "c", steps=50, train_text_encoder=False, max_minutes=0.0, ema=False)
    )
    assert result.stopped_early and result.step == 1
    assert find_checkpoint(tmp_path / "c", "latest").name == "checkpoint-1"
    trained = load_pipeline(result.model_dir).text_encoder.state_dict()
    for key, value in tiny_components(0)["text_encoder"].state_dict().items():
        torch.testing.assert_close(trained[key], value)


def test_input_perturbation_changes_the_training_and_stays_reproducible(tiny, tmp_path):
    plain = finetune(config(tiny, tmp_path / "p", steps=2, ema=False))
    runs = [
        finetune(config(tiny, tmp_path / name, steps=2, ema=False, input_perturbation=0.1))
        for name in ("q", "r")
    ]
    base, first, second = (weights(r.model_dir) for r in (plain, *runs))
    assert any(not torch.equal(first[k], base[k]) for k in base)
    for key in first:
        torch.testing.assert_close(first[key], second[key])


def test_timestep_range_trains_only_on_those_noise_levels(tiny, tmp_path, monkeypatch):
    from diffusers import DDPMScheduler

    seen: list[int] = []
    add_noise = DDPMScheduler.add_noise

    def recording(self, original, noise, timesteps):
        seen.extend(int(t) for t in timesteps)
        return add_noise(self, original, noise, timesteps)

    monkeypatch.setattr(DDPMScheduler, "add_noise", recording)
    finetune(config(tiny, tmp_path / "high", steps=4, ema=False, timestep_range=[990, 1000]))
    assert len(seen) == 4 * 2 and all(990 <= t < 1000 for t in seen)
    seen.clear()
    finetune(config(tiny, tmp_path / "all", steps=4, ema=False))
    assert min(seen) < 990  # the default draws from every level
    with pytest.raises(ConfigError, match="goes past the model's 1000 noise levels"):
        finetune(config(tiny, tmp_path / "past", steps=2, timestep_range=[500, 1001]))


class _Reports(Progress):
    """Records the steps at which the loop reported a loss."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def update(self, step, total, **logs):
        if "lr" in logs:
            self.steps.append(step)


def test_reporting_every_few_steps_trains_the_same_weights(tiny, tmp_path):
    every, sparse = _Reports(), _Reports()
    a = finetune(config(tiny, tmp_path / "l1", steps=7, checkpoint_every=5), progress=every)
    b = finetune(
        config(tiny, tmp_path / "l3", steps=7, checkpoint_every=5, log_every=3), progress=sparse
    )
    assert every.steps == [1, 2, 3, 4, 5, 6, 7]
    # Every third step, every checkpoint (5) and the last step.
    assert sparse.steps == [3, 5, 6, 7]
    wa, wb = weights(a.model_dir), weights(b.model_dir)
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=0)
    # A stop request is seen at the next report, which checkpoints there.
    with pytest.raises(Cancelled):
        finetune(
            config(tiny, tmp_path / "l4", steps=20, checkpoint_every=10, log_every=4),
            progress=_StopAt(1),
        )
    assert [p.name for p in list_checkpoints(tmp_path / "l4")] == ["checkpoint-4"]


def test_one_cycle_schedule_warms_up_then_anneals():
    factors = [one_cycle_factor(s, warmup_steps=4, steps=20) for s in range(25)]
    assert factors[0] == pytest.approx(0.04) and factors[4] == pytest.approx(1.0)
    assert factors[:5] == sorted(factors[:5]) and factors[4:21] == sorted(factors[4:21])[::-1]
    assert factors[20] == factors[24] == pytest.approx(1e-4)  # held after the last step
    assert one_cycle_factor(0, warmup_steps=0, steps=1) == pytest.approx(1.0)

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = make_lr_scheduler(optimizer, "one_cycle", warmup_steps=4, steps=20)
    lrs = []
    for _ in range(5):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([0.5 * f for f in factors[:5]])
    constant = make_lr_scheduler(optimizer, "constant", warmup_steps=0, steps=20)
    assert constant.get_last_lr()[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown LR schedule 'linear'"):
        make_lr_scheduler(optimizer, "linear", warmup_steps=0, steps=20)


def test_batches_are_fixed_by_seed_step_and_process(tiny, tmp_path):
    pipe = load_pipeline(tiny[0])
    cfg = config(tiny, tmp_path, prompt_dropout=0.0)
    batches = TrainingBatches(cfg, pipe, 0, tmp_path / "cache")
    assert batches.latents is not None and batches.latents.shape[:2] == (8, 2)  # 8 images x 2
    assert (tmp_path / "cache" / "latents-2.pt").is_file()
    latents, texts = batches.draw(1, 0, torch.device("cpu"))
    assert latents.shape[0] == len(texts) == cfg.batch and latents.dtype == torch.float32
    again, again_texts = batches.draw(1, 0, torch.device("cpu"))
    assert torch.equal(latents, again) and texts == again_texts
    # Tags are shuffled, never lost: each prompt holds a dataset prompt's phrases.
    phrases = {frozenset(r.text.split(", ")) for r in batches.records}
    assert all(frozenset(t.split(", ")) in phrases for t in texts)
    # Other steps and other processes draw other batches; the cache is read back.
    draws = [batches.draw(s, 0, torch.device("cpu"))[0] for s in range(2, 6)]
    other = TrainingBatches(cfg, pipe, 1, tmp_path / "cache")
    assert torch.equal(other.latents, batches.latents)
    draws += [other.draw(s, 0, torch.device("cpu"))[0] for s in range(1, 5)]
    assert not all(torch.equal(latents, d) for d in draws)


def test_dataset_as_uint8_matches_the_float_images(tiny):
    _, dataset = tiny
    records = read_metadata(dataset)
    images = load_images_uint8(records, 16)
    assert images.dtype == torch.uint8 and images.shape == (len(records), 3, 16, 16)
    # The uint8 copy is the [-1, 1] image quantised to 256 levels, nothing else.
    back = images[3].float() / 127.5 - 1
    assert (back - load_image(records[3].image, size=16)).abs().max() <= 1 / 127.5


def test_tag_weights_set_draw_probabilities():
    def rec(*tags: str) -> Record:
        return Record(Path("x.png"), ", ".join(tags), tags)

    records = [rec("smooth"), rec("smooth", "dust_lane"), rec("edge_on", "dust_lane", "bulge")]
    assert draw_probabilities(records, {}) is None  # uniform, as the paper draws
    p = draw_probabilities(records, {"dust_lane": 4.0, "bulge": 6.0})
    # A pair takes its largest weight: 1, 4, 6 out of 11.
    np.testing.assert_allclose(p, [1 / 11, 4 / 11, 6 / 11])
    with pytest.raises(ConfigError, match="no training pair carries dust_lan"):
        draw_probabilities(records, {"dust_lan": 2.0})
    # The weighted draw is what a batch holds: the rare pair dominates.
    rng = np.random.default_rng(0)
    draws = rng.choice(3, 10_000, p=draw_probabilities(records, {"bulge": 98.0}))
    assert 0.97 < (draws == 2).mean() < 0.99


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("steps", 0, "steps must be >= 1"),
        ("schedule", "linear", "schedule must be"),
        ("augment", 3, "augment must be 1, 2, 4 or 8"),
        ("prompt_dropout", 1.5, "prompt_dropout must be in"),
        ("warmup_steps", 3, "warmup_steps must be in"),
        ("mixed_precision", "fp8", "mixed_precision"),
        ("tag_weights", {"dust_lane": 0}, r"tag_weights\['dust_lane'\] must be > 0"),
        ("input_perturbation", -0.1, "input_perturbation must be in"),
        ("log_every", 0, "log_every must be >= 1"),
        ("timestep_range", [400], "timestep_range must be two whole numbers"),
        ("timestep_range", [600, 400], "timestep_range must be two whole numbers"),
        ("timestep_range", [0.5, 400], "timestep_range must be two whole numbers"),
    ],
)
def test_config_errors_name_the_field(tiny, tmp_path, field, value, match):
    with pytest.raises(ConfigError, match=match):
        config(tiny, tmp_path, **{field: value})


def test_missing_dataset_and_bad_resume(tiny, tmp_path):
    with pytest.raises(ConfigError, match=r"no metadata\.jsonl"):
        finetune(config(tiny, tmp_path / "d", dataset=str(tmp_path)))
    with pytest.raises(ConfigError, match="not a checkpoint folder"):
        finetune(config(tiny, tmp_path / "e", resume="checkpoint-99"))


@pytest.mark.slow
def test_runs_unchanged_under_accelerate_launch(tiny, tmp_path):
    cfg = config(tiny, tmp_path / "ddp", steps=2, checkpoint_every=2, validation_prompts=["sdss"])
    cfg.save(tmp_path / "config.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GALAXYSD_HOME": str(tmp_path / "ws")}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "galaxysd_core.cli",
        "finetune",
        "--config",
        str(tmp_path / "config.json"),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in list_checkpoints(tmp_path / "ddp")] == ["checkpoint-2"]
    assert (tmp_path / "ddp/model/model_index.json").is_file()
