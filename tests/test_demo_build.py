"""``galaxysd demo build`` with tiny settings: the v2 recipe end to end in seconds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from galaxysd_core.diffusion.demo import DemoBuildConfig, GuideBuildConfig, build_demo, build_guide
from galaxysd_core.errors import Cancelled, ConfigError
from galaxysd_core.gz2 import PrepareConfig
from galaxysd_core.progress import Progress


def _tiny_build(tmp_path, sky, **settings) -> DemoBuildConfig:
    """A build of the tiny preset at 64 px, seconds long, in ``tmp_path``; ``settings`` on top."""
    base = dict(
        output_dir=tmp_path / "work",
        out=tmp_path / "model",
        sky=sky,
        preset="tiny",
        size=64,
        vae_steps=2,
        vae_batch=2,
        vae_crop=32,
        batch=2,
        warmup_steps=1,
    )
    return DemoBuildConfig(**{**base, **settings})


@pytest.mark.slow
def test_tiny_v2_build_writes_a_loadable_zero_snr_model(tmp_path, mock_sky):
    from diffusers import StableDiffusionPipeline

    from galaxysd_core.diffusion import generate, load_pipeline

    config = _tiny_build(
        tmp_path,
        mock_sky,
        latent_channels=8,
        steps=3,
        checkpoint_every=3,
        log_every=2,
        tag_weights={"dust_lane": 4.0},
        decoder_steps=2,
    )
    out = build_demo(config)
    # The decoder stage trains the decoder alone: the encoder (the UNet's latent space) is kept.
    from safetensors.torch import load_file

    before = load_file(tmp_path / "work/init-model/vae/diffusion_pytorch_model.safetensors")
    after = load_file(tmp_path / "work/decoder/diffusion_pytorch_model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))
    assert not all(torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))
    # Loads with plain diffusers, offline, as the contract says.
    plain = StableDiffusionPipeline.from_pretrained(out, local_files_only=True)
    assert plain.vae.config.latent_channels == 8 == plain.unet.config.in_channels
    scheduler = plain.scheduler.config
    assert scheduler.rescale_betas_zero_snr and scheduler.prediction_type == "v_prediction"
    assert scheduler.timestep_spacing == "trailing"
    card = json.loads((out / "galaxysd_model.json").read_text())
    state = json.loads((tmp_path / "work/finetune/checkpoints/checkpoint-3/state.json").read_text())
    assert state["config"]["log_every"] == 2  # the build's setting reaches the UNet stage
    pairs = card["dust_lane_pairs_by_host"]
    assert pairs["total"] == sum(v for k, v in pairs.items() if k != "total") > 0
    made = generate(load_pipeline(out), "sdss, spiral galaxy", n=1, steps=2, guidance_rescale=0.7)
    assert made.images[0].size == (64, 64)
    assert made.metadata[0]["guidance_rescale"] == 0.7


@pytest.mark.slow
def test_a_build_can_continue_a_model_on_its_own_vae(tmp_path, mock_sky):
    from safetensors.torch import load_file

    from galaxysd_core.diffusion.pipelines import build_pipeline, save_pipeline, tiny_components

    source = save_pipeline(
        build_pipeline(tiny_components(7, preset="tiny", image_size=64, noise_schedule="zero_snr")),
        tmp_path / "source",
    )
    config = _tiny_build(
        tmp_path, mock_sky, vae_from=source, init_from=source, steps=2, checkpoint_every=2
    )
    build_demo(config)
    # The VAE stage is skipped: the build's VAE is the source's, tensor for tensor.
    vae = "vae/diffusion_pytorch_model.safetensors"
    theirs, ours = load_file(source / vae), load_file(tmp_path / "work/init-model" / vae)
    assert theirs.keys() == ours.keys()
    assert all(torch.equal(theirs[k], ours[k]) for k in theirs)
    unet = "unet/diffusion_pytorch_model.safetensors"
    start = load_file(tmp_path / "work/init-model" / unet)
    assert all(torch.equal(v, start[k]) for k, v in load_file(source / unet).items())
    # A VAE whose latent the preset's UNet cannot take is refused by name.
    other = save_pipeline(
        build_pipeline(tiny_components(7, preset="tiny", image_size=64, latent_channels=8)),
        tmp_path / "other",
    )
    wrong = _tiny_build(tmp_path / "wrong", mock_sky, vae_from=other, steps=2)
    with pytest.raises(ConfigError, match=r"vae_from: .* 8 latent channels"):
        build_demo(wrong)
    missing = _tiny_build(tmp_path / "missing", mock_sky, vae_from=tmp_path / "nowhere", steps=2)
    with pytest.raises(ConfigError, match=r"vae_from: .* has no vae/ folder"):
        build_demo(missing)


class _StopAtUnetStage(Progress):
    """Records updates; asks to stop once the UNet stage has begun (when ``armed``)."""

    def __init__(self, armed: bool) -> None:
        self.armed, self.unet, self.steps = armed, False, []

    def update(self, step: int, total: int, **logs) -> None:
        if logs.get("message") == "unet + text encoder":
            self.unet = True
        elif self.unet and "loss" in logs:
            self.steps.append(step)

    def should_stop(self) -> bool:
        return self.armed and self.unet


@pytest.mark.slow
def test_unet_stage_in_two_processes_shares_the_batch_stops_and_resumes(tmp_path, mock_sky):
    config = _tiny_build(
        tmp_path, mock_sky, steps=4, batch=4, checkpoint_every=4, log_every=1, unet_processes=2
    )
    run = tmp_path / "work/finetune"
    # A stop requested during the UNet stage reaches the workers: they checkpoint and end.
    stopping = _StopAtUnetStage(armed=True)
    with pytest.raises(Cancelled):
        build_demo(config, progress=stopping)
    stopped_at = int(stopping.steps[-1])
    assert stopped_at < 4 and (run / f"checkpoints/checkpoint-{stopped_at}").is_dir()
    assert not (run / "STOP").exists() and not (tmp_path / "model").exists()
    # Rerun: the workers resume from that checkpoint and the build finishes.
    resumed = _StopAtUnetStage(armed=False)
    out = build_demo(config, progress=resumed)
    assert resumed.steps[0] > stopped_at and resumed.steps[-1] == 4
    assert json.loads((out / "galaxysd_model.json").read_text())["final_step"] == 4
    workers = json.loads((run / "launch-config.json").read_text())
    assert (workers["batch"], workers["num_processes"]) == (2, 2)  # 4 images a step in all
    # One process group (gloo): one progress event a step, not one per worker.
    events = [json.loads(line) for line in (run / "progress.jsonl").read_text().splitlines()]
    unet_steps = [e["step"] for e in events if "loss" in e and "images" not in e]
    assert len(unet_steps) == len(set(unet_steps))


@pytest.mark.slow
def test_workers_that_fail_raise_one_error_naming_their_log(tmp_path):
    from galaxysd_core.diffusion.config import FinetuneConfig
    from galaxysd_core.diffusion.finetune import finetune_in_processes
    from galaxysd_core.errors import WorkerProcessError

    (tmp_path / "data").mkdir()
    (tmp_path / "data/metadata.jsonl").write_text("")  # the workers find no pairs
    config = FinetuneConfig(
        model=tmp_path / "no-model", dataset=tmp_path / "data", output_dir=tmp_path / "run"
    )
    with pytest.raises(
        WorkerProcessError, match=r"exited with status \d+: model folder .*no-model does not exist"
    ):
        finetune_in_processes(config, 2, poll_s=0.2)


def test_unet_processes_must_divide_the_batch():
    with pytest.raises(
        ConfigError, match="batch must be a multiple of unet_processes \\(3\\), got 16"
    ):
        DemoBuildConfig(output_dir=".", batch=16, unet_processes=3).validate()


def test_latent_augmentation_rotates_the_cached_latent(tmp_path, mock_sky):
    from galaxysd_core.diffusion.batches import TrainingBatches
    from galaxysd_core.diffusion.finetune import FinetuneConfig
    from galaxysd_core.diffusion.pipelines import build_pipeline, tiny_components
    from galaxysd_core.gz2 import PrepareConfig, prepare_dataset

    dataset = prepare_dataset(PrepareConfig.from_sky(mock_sky, out=tmp_path / "ds", seed=0))
    pipe = build_pipeline(tiny_components(0))
    config = FinetuneConfig(dataset=dataset, batch=64, augment=8, augment_latents=True)
    batches = TrainingBatches(config, pipe, 0, tmp_path / "cache")
    # One encoded variant per image, not eight.
    assert batches.latents.shape[1] == 1
    assert (tmp_path / "cache" / "latents-1.pt").is_file()
    latents, _ = batches.draw(1, 0, torch.device("cpu"))
    cached = batches.latents[:, 0].float()
    rotated = [
        any(torch.equal(z, torch.rot90(c, k, (-2, -1))) for c in cached for k in (1, 2, 3))
        for z in latents[:8]
    ]
    assert any(rotated)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", 72, "size must be a multiple of 16"),
        ("vae_crop", 256, "vae_crop must be a multiple of 8 and <= size"),
        ("latent_channels", 0, "latent_channels must be >= 1"),
        ("vae_adversarial", -1.0, "vae_adversarial must be >= 0"),
        ("vae_bands", 1.5, "vae_bands must be in \\[0, 1\\]"),
        ("sky_dusty_s0_fraction", 1.5, "sky_dusty_s0_fraction must be in \\[0, 1\\], got 1.5"),
        ("sky_dusty_s0_fraction", "half", "sky_dusty_s0_fraction must be a number, got 'half'"),
        ("noise_schedule", "cosine", "noise_schedule must be one of"),
        ("preset", "huge", "preset must be one of"),
        ("device", "tpu", "device must be cpu or cuda"),
        ("log_every", 0, "DemoBuildConfig.log_every must be >= 1, got 0"),
        ("max_per_tag", 0, "DemoBuildConfig.max_per_tag must be an integer >= 1, got 0"),
        ("max_per_tag", 2.5, "DemoBuildConfig.max_per_tag must be an integer >= 1, got 2.5"),
    ],
)
def test_demo_build_config_names_the_bad_field(field, value, message):
    with pytest.raises(ConfigError, match=message):
        DemoBuildConfig(output_dir=".", **{field: value}).validate()


@pytest.mark.slow
def test_guide_build_trains_a_narrower_unet_the_sampler_accepts(tmp_path, mock_sky):
    from galaxysd_core.diffusion import (
        build_pipeline,
        generate,
        load_pipeline,
        save_pipeline,
        tiny_components,
    )

    main = save_pipeline(
        build_pipeline(tiny_components(0, noise_schedule="zero_snr")), tmp_path / "main"
    )
    config = GuideBuildConfig(
        output_dir=tmp_path / "work", model=main, out=tmp_path / "guide", sky=mock_sky,
        steps=2, batch=2,
    )  # fmt: skip
    out = build_guide(config)
    guide, model = load_pipeline(out), load_pipeline(main)
    # Half of the tiny preset's (16, 32) channels and 4 groups, the rest as the main UNet.
    assert list(guide.unet.config.block_out_channels) == [8, 16]
    assert guide.unet.config.norm_num_groups == 2
    assert guide.unet.config.cross_attention_dim == model.unet.config.cross_attention_dim
    # The text encoder stays the main model's, so both read a prompt alike.
    for a, b in zip(guide.text_encoder.parameters(), model.text_encoder.parameters(), strict=True):
        assert torch.allclose(a, b.half().float())
    card = json.loads((out / "galaxysd_model.json").read_text())
    assert card["built_by"] == "galaxysd demo guide" and card["final_step"] == 2
    made = generate(model, "sdss, spiral galaxy", n=1, steps=2, guide=guide, guide_weight=2.0)
    assert made.metadata[0]["guide_weight"] == 2.0
    # A rerun resumes: nothing left to train, the same guide again.
    assert build_guide(config) == out


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("width", 1.0, r"GuideBuildConfig\.width must be in \(0, 1\), got 1\.0"),
        ("augment", 3, "GuideBuildConfig.augment must be 1, 2, 4 or 8, got 3"),
        ("steps", 0, "GuideBuildConfig.steps must be >= 1, got 0"),
    ],
)
def test_guide_build_config_names_the_bad_field(field, value, message):
    with pytest.raises(ConfigError, match=message):
        GuideBuildConfig(output_dir=".", **{field: value}).validate()


def test_a_width_that_splits_a_norm_group_is_refused_by_name():
    from galaxysd_core.diffusion.demo import narrower_unet
    from galaxysd_core.diffusion.pipelines import tiny_components

    unet = tiny_components(0)["unet"]  # (16, 32) channels in 4 groups
    with pytest.raises(ConfigError, match=r"GuideBuildConfig\.width 0\.6 gives channels"):
        narrower_unet(unet, 0.6, seed=0)


@pytest.mark.parametrize(
    "name, preset",
    [
        ("gpu", "gpu"),
        ("gpu_f2", "gpu_f2"),
        ("gpu_v6", "v3"),
        ("gpu_v6_sky10", "v3"),
        ("gpu_v6_sky10_long", "v3"),
        ("gpu_v6_sky10_lowlr", "v3"),
        ("gpu_v6_sky10_cap_lowlr", "v3"),
    ],
)
def test_gpu_recipe_is_a_valid_demo_build_config(name, preset):
    from galaxysd_core.paths import REPO_ROOT

    config = DemoBuildConfig.load(REPO_ROOT / "benchmarks" / f"demo_build_{name}.json")
    assert (config.preset, config.device, config.size) == (preset, "cuda", 128)
    # Reports every step would make the GPU wait on the host each step.
    assert config.log_every > 1
    # The same recipe on the CPU (the GPU check sets device "cuda").
    config.device, config.output_dir = "cpu", "."
    config.validate()
    # benchmarks/gpu_build.sh's CPU dry run reads the same fields.
    dry = DemoBuildConfig.load(REPO_ROOT / "benchmarks" / "demo_build_gpu_dry.json")
    dry.output_dir = "."
    dry.validate()
    assert dry.device == "cpu" and dry.log_every > 1


def test_the_larger_sky_recipes_change_one_field_each():
    from galaxysd_core.paths import REPO_ROOT

    # The two GPU runs compare data at equal compute and schedule: nothing else may differ.
    v6, sky10, sky10_long, sky10_lowlr = (
        json.loads((REPO_ROOT / "benchmarks" / f"demo_build_{name}.json").read_text())
        for name in ("gpu_v6", "gpu_v6_sky10", "gpu_v6_sky10_long", "gpu_v6_sky10_lowlr")
    )
    assert {k for k in v6.keys() | sky10.keys() if v6.get(k) != sky10.get(k)} == {"n"}
    assert sky10["n"] == 10 * v6["n"]
    # The longer run on the larger sky differs from it by its time budget alone.
    differ = {k for k in sky10.keys() | sky10_long.keys() if sky10.get(k) != sky10_long.get(k)}
    assert differ == {"max_minutes"}
    assert sky10_long["max_minutes"] > sky10["max_minutes"]
    # The next run asks whether the lr restart, not the data, costs realism: lr alone differs.
    differ = {k for k in sky10.keys() | sky10_lowlr.keys() if sky10.get(k) != sky10_lowlr.get(k)}
    assert differ == {"lr"}
    assert sky10_lowlr["lr"] < sky10["lr"]
    # Its twin keeps v6's pair composition on the larger sky: the cap scaled with the sky.
    cap = json.loads(
        (REPO_ROOT / "benchmarks" / "demo_build_gpu_v6_sky10_cap_lowlr.json").read_text()
    )
    assert {k for k in cap.keys() | sky10_lowlr.keys() if cap.get(k) != sky10_lowlr.get(k)} == {
        "max_per_tag"
    }
    default_cap = PrepareConfig.__dataclass_fields__["max_per_tag"].default
    assert cap["max_per_tag"] / cap["n"] == default_cap / v6["n"]


def test_the_cpu_low_lr_recipe_is_the_gpu_one_sized_for_two_cores():
    from galaxysd_core.paths import REPO_ROOT

    bench = REPO_ROOT / "benchmarks"
    config = DemoBuildConfig.load(bench / "demo_build_cpu_v6_sky10_lowlr.json")
    config.validate()
    assert config.device == "cpu"
    # Its model lands in the workspace, never over the shipped asset it starts from.
    assert Path(config.out).parts[0] == "workspace" != Path(config.vae_from).parts[0]
    cpu, gpu = (
        json.loads((bench / f"demo_build_{name}.json").read_text())
        for name in ("cpu_v6_sky10_lowlr", "gpu_v6_sky10_lowlr")
    )
    same = ("preset", "n", "size", "lr", "init_from", "vae_from", "sky_dusty_s0_fraction")
    assert {k: cpu[k] for k in same} == {k: gpu[k] for k in same}


def test_the_build_balances_its_pairs_at_its_own_cap(tmp_path, mock_sky):
    from galaxysd_core.diffusion.data import read_metadata
    from galaxysd_core.diffusion.demo import training_pairs

    def pairs(cap):
        work = tmp_path / f"cap-{cap}"
        _, dataset = training_pairs(
            work, sky=mock_sky, n=400, size=64, seed=0, max_per_tag=cap, progress=Progress()
        )
        return read_metadata(dataset)

    default, capped = pairs(None), pairs(30)
    assert len(capped) < len(default)
    # The cap binds the common tags; the rarest tag keeps every galaxy it had.
    count = Counter(tag for record in default for tag in record.tags)
    capped_count = Counter(tag for record in capped for tag in record.tags)
    rarest = min(count, key=count.get)
    assert count[rarest] <= 30 and capped_count[rarest] == count[rarest]
    assert max(capped_count.values()) < max(count.values())


def test_cuda_build_without_a_gpu_says_so(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        build_demo(DemoBuildConfig(output_dir=tmp_path, device="cuda"))


def test_v3_preset_has_a_32x32_latent_and_a_plain_outer_unet_level():
    from galaxysd_core.diffusion.pipelines import tiny_components

    parts = tiny_components(0, preset="v3", noise_schedule="zero_snr")
    with torch.no_grad():
        latent = parts["vae"].encode(torch.zeros(1, 3, 128, 128)).latent_dist.mean
        assert latent.shape == (1, 4, 32, 32)  # f=4: a D-ETG's lane survives the grid
        unet = parts["unet"]
        assert unet.config.sample_size == 32
        assert unet.config.down_block_types == (
            "DownBlock2D",
            "DownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
        )
        text = torch.zeros(1, 8, parts["text_encoder"].config.hidden_size)
        assert unet(latent, 10, text).sample.shape == latent.shape


def test_gpu_preset_keeps_the_f4_latent_and_fits_the_60_mb_goal(tmp_path):
    from galaxysd_core.diffusion.pipelines import build_pipeline, save_pipeline, tiny_components

    parts = tiny_components(0, preset="gpu", noise_schedule="zero_snr")
    with torch.no_grad():
        latent = parts["vae"].encode(torch.zeros(1, 3, 128, 128)).latent_dist.mean
    assert latent.shape == (1, 4, 32, 32)
    model = save_pipeline(build_pipeline(parts), tmp_path / "gpu", fp16=True)
    size = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
    assert 30e6 < size <= 60e6  # the model-folder goal, fp16


def test_gpu_f2_preset_has_the_f2_latent_attention_inside_and_fits_the_60_mb_goal(tmp_path):
    from galaxysd_core.diffusion.pipelines import build_pipeline, save_pipeline, tiny_components

    parts = tiny_components(0, preset="gpu_f2", noise_schedule="zero_snr")
    with torch.no_grad():
        latent = parts["vae"].encode(torch.zeros(1, 3, 128, 128)).latent_dist.mean
    assert latent.shape == (1, 4, 64, 64)  # f=2: the lane across a D-ETG's core survives
    unet = parts["unet"]
    # Attention only on the 8x8 and 4x4 levels, as on "gpu": the 64x64 level is plain.
    assert unet.config.down_block_types[:3] == ("DownBlock2D",) * 3
    assert unet.config.down_block_types[3:] == ("CrossAttnDownBlock2D",) * 2
    model = save_pipeline(build_pipeline(parts), tmp_path / "gpu_f2", fp16=True)
    size = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
    assert 30e6 < size <= 60e6  # the model-folder goal, fp16


def test_warm_start_copies_what_fits(tmp_path):
    from galaxysd_core.diffusion.demo import warm_start
    from galaxysd_core.diffusion.pipelines import build_pipeline, save_pipeline, tiny_components

    old = save_pipeline(build_pipeline(tiny_components(1)), tmp_path / "old")
    new = tiny_components(2, latent_channels=8)
    shares = warm_start(new, old)
    # Another latent: the UNet's conv_in/conv_out stay fresh, the rest is copied.
    assert shares["text_encoder"] == 1.0 and 0.9 < shares["unet"] < 1.0
    old_unet = build_pipeline(tiny_components(1)).unet.state_dict()
    new_unet = new["unet"].state_dict()
    assert torch.equal(
        new_unet["mid_block.resnets.0.conv1.weight"], old_unet["mid_block.resnets.0.conv1.weight"]
    )
    assert new_unet["conv_in.weight"].shape[1] == 8
    with pytest.raises(ConfigError, match="init_from"):
        warm_start(new, tmp_path / "missing")


@pytest.mark.slow
def test_warm_start_moves_a_v3_unet_one_level_out_in_an_f2_unet(tmp_path):
    from galaxysd_core.diffusion.demo import warm_start
    from galaxysd_core.diffusion.pipelines import build_pipeline, save_pipeline, tiny_components

    v3 = tiny_components(1, preset="v3", noise_schedule="zero_snr")
    old = save_pipeline(build_pipeline(v3), tmp_path / "v3")
    f2 = tiny_components(2, preset="f2", noise_schedule="zero_snr")
    assert f2["unet"].config.sample_size == 64  # 128 px / f=2
    shares = warm_start(f2, old)
    assert shares["text_encoder"] == 1.0 and shares["unet"] > 0.85
    before, after = v3["unet"].state_dict(), f2["unet"].state_dict()
    # v3's outermost (32x32) down level is now the second; the new 64x64 one is fresh.
    key = "down_blocks.{}.resnets.0.conv1.weight"
    assert torch.equal(after[key.format(1)], before[key.format(0)])
    assert not torch.equal(after[key.format(0)], before[key.format(0)])
    assert torch.equal(after[key.format(4)], before[key.format(3)])
    # Up blocks count from the innermost level in both.
    up = "up_blocks.0.resnets.0.conv1.weight"
    assert torch.equal(after[up], before[up])


def test_vae_loss_sees_colour_and_sky_texture():
    from galaxysd_core.diffusion.demo import _reconstruction_loss

    gen = torch.Generator().manual_seed(0)
    sky = -0.95 + 0.03 * torch.randn(2, 3, 32, 32, generator=gen)
    sky[:, 2, 12:20, 12:20] += 0.5  # a blue patch: colour that a grey copy loses
    assert float(_reconstruction_loss(sky, sky)) == 0.0
    smooth = torch.nn.functional.avg_pool2d(sky, 5, stride=1, padding=2)
    grey = sky.mean(dim=1, keepdim=True).expand_as(sky)
    pixel = lambda r: float(  # noqa: E731 - the brightness-weighted L1 + MSE alone
        ((1 + 4 * (sky.amax(1, keepdim=True) + 1)) * ((r - sky).abs() + (r - sky) ** 2)).mean()
    )
    # Both terms add to the pixel error: a noiseless sky and a grey galaxy cost more.
    assert float(_reconstruction_loss(smooth, sky)) > pixel(smooth) + 0.05
    assert float(_reconstruction_loss(grey, sky)) > pixel(grey) + 0.01


def test_vae_loss_matches_the_sky_level_and_noise():
    from galaxysd_core.diffusion.demo import _sky_error

    gen = torch.Generator().manual_seed(1)
    x = -0.97 + 0.02 * torch.randn(2, 3, 32, 32, generator=gen)
    x[:, :, 10:22, 10:22] = 0.5  # the galaxy, left to the other terms
    assert float(_sky_error(x, x)) == 0.0
    darker, smooth = x.clone(), x.clone()
    darker[x < -0.5] -= 0.02  # the first 128 px VAE's sky: a few counts too dark
    smooth[x < -0.5] = -0.97  # the right level without the noise
    assert float(_sky_error(darker, x)) == pytest.approx(0.02, abs=1e-3)
    assert float(_sky_error(smooth, x)) == pytest.approx(0.02, rel=0.1)
    # A crop with no sky in it adds nothing.
    galaxy = torch.full((1, 3, 16, 16), 0.3)
    assert float(_sky_error(galaxy - 0.2, galaxy)) == 0.0


def test_attenuation_bands_dim_the_light_in_a_thin_reddened_band_and_leave_the_sky():
    from galaxysd_core.diffusion.demo import SKY_LEVEL_SCALED, _attenuation_bands

    gen = torch.Generator().manual_seed(3)
    galaxy = torch.full((64, 3, 48, 48), 0.4)
    out = _attenuation_bands(galaxy, 0.5, gen)
    crossed = (out < 0.4 - 1e-4).flatten(1).any(dim=1)
    assert 16 < int(crossed.sum()) < 48  # about half the crops, the rest untouched
    assert torch.equal(out[~crossed], galaxy[~crossed])
    # A band, not a dimmed crop: most of each crossed crop keeps its light.
    dimmed = (out[crossed] < 0.39).float().mean(dim=(1, 2, 3))
    assert float(dimmed.max()) < 0.35 and float(dimmed.min()) > 0.0
    # Reddened: blue (the cutout's B is g) loses the most light, red the least.
    loss = (galaxy - out)[crossed].sum(dim=(0, 2, 3))
    assert float(loss[2]) > float(loss[1]) > float(loss[0]) > 0
    # The residual sky is not light in front of the dust.
    sky = torch.full((8, 3, 48, 48), SKY_LEVEL_SCALED)
    assert torch.equal(_attenuation_bands(sky, 1.0, gen), sky)


def test_adaptive_weight_matches_the_critic_gradient_to_the_reconstruction_gradient():
    from galaxysd_core.diffusion.demo import _adaptive_weight

    last = torch.nn.Parameter(torch.randn(8, 4))
    x = torch.randn(16, 8)
    reconstruction = ((x @ last) ** 2).mean()
    fool = -1000.0 * (x @ last).mean()  # a loss on another scale entirely
    weighted = _adaptive_weight(reconstruction, fool, last)
    (g_rec,) = torch.autograd.grad(reconstruction, last, retain_graph=True)
    (g_weighted,) = torch.autograd.grad(weighted, last)
    assert float(g_weighted.norm()) == pytest.approx(float(g_rec.norm()), rel=1e-3)
