"""Loading, building and saving Stable Diffusion pipelines.

One loader serves every model the app meets: SD-1.5 or the authors' GalaxySD
weights from a local folder, and our own small models. Presets build the same
diffusers classes (AutoencoderKL, UNet2DConditionModel, CLIPTextModel) at tiny
sizes: ``"tiny"`` for tests (seconds on a CPU, like diffusers'
``get_dummy_components``), ``"demo"`` for the first 64x64 demo model, ``"v2"``
for a 128x128 model with an f=8 VAE and 16 latent channels (as SD3 and FLUX
use, so the UNet still works on a 16x16 grid), ``"v3"`` for one with an f=4
VAE (a 32x32x4 latent, which keeps thin lanes), ``"f2"`` for one with an
f=2 VAE (a 64x64x4 latent, which keeps the lane across a D-ETG's bright
core) and ``"gpu"`` / ``"gpu_f2"`` for larger models on those two latents,
built on one GPU.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from galaxysd_core.diffusion.checks import SCHEDULERS, check_model_folder
from galaxysd_core.errors import ConfigError, ModelFolderError
from galaxysd_core.paths import TOKENIZER

log = logging.getLogger(__name__)


# Sizes per preset. The demo UNet (~3.7M parameters) trains at about 0.25 s per
# batch-16 step on 2 idle CPU cores; the text encoder is a 2-layer CLIP trained from
# scratch on the tag phrases. The VAE downsamples by 2 per level after the first:
# 3 levels map 64x64x3 to 16x16 latents, 4 levels map 128x128x3 to 16x16. Four
# latent channels (SD-1.5's) erased thin dust lanes and the sky noise of the first
# demo model; "v2" keeps 16 (SD3/FLUX).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "vae_channels": (8, 16),
        "unet_channels": (16, 32),
        "text_hidden": 32,
        "text_layers": 2,
        "image_size": 32,
        "latent_channels": 4,
        "unet_layers": 1,
        "groups": 4,
        "heads": 2,
    },
    "demo": {
        "vae_channels": (32, 64, 64),
        "unet_channels": (48, 96, 96),
        "text_hidden": 64,
        "text_layers": 2,
        "image_size": 64,
        "latent_channels": 4,
        "unet_layers": 1,
        "groups": 16,
        "heads": 4,
    },
}
# The UNet and text encoder have the demo's shapes (a warm start can reuse
# them); the VAE's full-resolution level is narrow because at 128 px it sets
# the cost of encoding and of VAE training on a CPU.
PRESETS["v2"] = {
    **PRESETS["demo"],
    "vae_channels": (16, 32, 64, 64),
    "image_size": 128,
    "latent_channels": 16,
}
# An f=4 VAE (128x128x3 -> 32x32x4, as many latent values as v2's 16x16x16):
# the 16x16 grid erased the short lane across a D-ETG's bright core (a
# round trip kept 0.03 of the judged lanes; trained on every image of the sky,
# smooth dusty hosts included, still 0.01), a 32x32 grid keeps it (0.73 of
# 0.66 rendered, benchmarks/dust_lanes.py) without ever seeing one. The UNet's
# extra 32x32 level is narrow and attention-free: a batch-16 training step
# took 0.31 s against v2's 0.30 s on one machine, generating 4 images 1.3x v2's time.
PRESETS["v3"] = {
    **PRESETS["v2"],
    "vae_channels": (16, 32, 64),
    "latent_channels": 4,
    "unet_channels": (16, 48, 96, 96),
    "unet_plain_levels": 2,
}
# An f=2 VAE (128x128x3 -> 64x64x4): the f=4 VAE fills in the lane across a
# D-ETG's bright core with a bright nucleus (lane_depth finds the band in 0.34
# of the sky's D-ETGs as rendered, 0.06-0.09 after a v3-type round trip,
# whether trained with 16 latent channels, an adversarial loss, thin dark
# bands or the same D-ETGs; benchmarks/vae_variants.py); the 64x64 grid keeps
# all of them (0.34) without seeing one. The UNet gains a narrow,
# attention-free 64x64 level outside v3's four (warm_start shifts v3's down
# blocks one level out): a batch-16 training step takes about 2x v3's, a
# forward pass 1.7x.
PRESETS["f2"] = {
    **PRESETS["v3"],
    "vae_channels": (16, 32),
    "unet_channels": (16, 16, 48, 96, 96),
    "unet_plain_levels": 3,
}
# One GPU: v3's f=4 latent (32x32x4) with a 6x larger UNet (20.7M parameters)
# and a 4-layer text encoder, sized so the fp16 folder stays under 60 MB
# (about 55 MB with the tokenizer); the earlier f=8 GPU preset (64M UNet)
# would have been 170 MB. Recipe: benchmarks/demo_build_gpu.json.
PRESETS["gpu"] = {
    **PRESETS["v3"],
    "vae_channels": (32, 64, 128),
    "unet_channels": (64, 128, 160, 192),
    "text_layers": 4,
    "unet_layers": 2,
    "heads": 8,
}
# One GPU on f2's latent: the f=4 latent of "gpu" fills in a D-ETG's lane
# (see "f2"), so no UNet on it can draw one back. The UNet is "gpu"'s with
# a narrow, attention-free 64x64 level outside (attention stays at 8x8 and
# 4x4): 20.4M parameters, a 50 MB fp16 folder. Recipe:
# benchmarks/demo_build_gpu_f2.json.
PRESETS["gpu_f2"] = {
    **PRESETS["gpu"],
    "vae_channels": (32, 64),
    "unet_channels": (32, 64, 128, 160, 192),
    "unet_plain_levels": 3,
}

# Noise schedules: SD-1.5's (epsilon prediction) and the
# zero-terminal-SNR one of Lin et al. 2023 (v prediction, "trailing" timesteps),
# whose last training step is pure noise, so sampling from noise can reach a
# dark sky and the right brightness.
NOISE_SCHEDULES: dict[str, dict[str, Any]] = {
    "sd15": {},  # the scheduler's own defaults, as the first demo model was built
    "zero_snr": {
        "rescale_betas_zero_snr": True,
        "prediction_type": "v_prediction",
        "timestep_spacing": "trailing",
    },
}
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")


def load_pipeline(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
):
    """Load a Stable Diffusion pipeline from a local diffusers folder, offline.

    Parameters
    ----------
    path : path-like
        A folder written by ``save_pretrained`` (``model_index.json``, ``unet/``,
        ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``).
    device : str or torch.device, default "cpu"
    dtype : torch.dtype, default torch.float32
        Weights stored in fp16 are converted on load.

    Returns
    -------
    diffusers.StableDiffusionPipeline
        With no safety checker (galaxy images), progress bars off.

    Raises
    ------
    ModelFolderError
        If the folder is missing, is not a diffusers pipeline, or cannot be read.
    """
    from diffusers import StableDiffusionPipeline

    path = check_model_folder(path)
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            path,
            local_files_only=True,
            dtype=dtype,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"cannot load a diffusers pipeline from {path}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def clip_text_encoder(hidden: int, layers: int, *, heads: int, **extra: Any):
    """A randomly initialised CLIP text encoder for the project's 49,408-token vocabulary.

    ``intermediate_size`` is 4 x ``hidden`` and the special-token ids are those
    of the CLIP tokenizer (``galaxysd_core.paths.TOKENIZER`` keeps them), as in
    SD-1.5; ``extra`` goes to ``CLIPTextConfig`` (e.g. SD-1.5's ``quick_gelu``).
    """
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=77,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
        **extra,
    )
    return CLIPTextModel(config)


def tiny_components(
    seed: int = 0,
    *,
    preset: str = "tiny",
    image_size: int | None = None,
    latent_channels: int | None = None,
    noise_schedule: str = "sd15",
) -> dict[str, Any]:
    """Build fresh, randomly initialised pipeline components from a preset.

    Parameters
    ----------
    seed : int, default 0
        Seeds the weight initialisation, so the same seed gives the same model.
    preset : {"tiny", "demo", "v2", "v3", "f2", "gpu", "gpu_f2"}, default "tiny"
    image_size, latent_channels : int, optional
        Override the preset's output side and VAE latent channels.
    noise_schedule : {"sd15", "zero_snr"}, default "sd15"
        See ``NOISE_SCHEDULES``.

    Returns
    -------
    dict
        ``vae``, ``unet``, ``text_encoder``, ``tokenizer``, ``scheduler``,
        ``safety_checker`` (None), ``feature_extractor`` (None): the keyword
        arguments of ``StableDiffusionPipeline``.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel

    if preset not in PRESETS:
        raise ConfigError(f"unknown model preset {preset!r}; known: {sorted(PRESETS)}")
    if noise_schedule not in NOISE_SCHEDULES:
        raise ConfigError(
            f"unknown noise schedule {noise_schedule!r}; known: {sorted(NOISE_SCHEDULES)}"
        )
    p = {**PRESETS[preset]}
    p["image_size"] = image_size or p["image_size"]
    p["latent_channels"] = latent_channels or p["latent_channels"]
    levels = len(p["vae_channels"])
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        block_out_channels=p["vae_channels"],
        layers_per_block=1,
        latent_channels=p["latent_channels"],
        norm_num_groups=p["groups"] // 2,
        sample_size=p["image_size"],
        # Fully convolutional, so the VAE can train on crops (cheap on a CPU).
        mid_block_add_attention=False,
    )
    n_unet = len(p["unet_channels"])
    # Levels without attention, outermost first: attention at the finest grid
    # costs the most and sees the least of the prompt.
    plain = p.get("unet_plain_levels", 1)
    unet = UNet2DConditionModel(
        sample_size=p["image_size"] // 2 ** (levels - 1),
        in_channels=p["latent_channels"],
        out_channels=p["latent_channels"],
        layers_per_block=p["unet_layers"],
        block_out_channels=p["unet_channels"],
        down_block_types=("DownBlock2D",) * plain + ("CrossAttnDownBlock2D",) * (n_unet - plain),
        up_block_types=("CrossAttnUpBlock2D",) * (n_unet - plain) + ("UpBlock2D",) * plain,
        cross_attention_dim=p["text_hidden"],
        attention_head_dim=p["heads"],
        norm_num_groups=p["groups"],
    )
    text_encoder = clip_text_encoder(p["text_hidden"], p["text_layers"], heads=2)
    return _with_tokenizer_and_scheduler(vae, unet, text_encoder, noise_schedule)


def sd15_components(seed: int = 0, *, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Randomly initialised components with Stable Diffusion 1.5's architecture.

    The configuration values are SD-1.5's published ones (UNet 859.5M, CLIP
    ViT-L/14 text encoder 123.1M, VAE 83.7M parameters). Weights cannot be
    downloaded here, so this exists to measure speed and memory at the real
    size (``benchmarks/gpu_sd15.py``); a user with the weights loads them with
    :func:`load_pipeline` instead.

    Parameters
    ----------
    seed : int, default 0
    device : str or torch.device, default "cpu"
        Where the networks are created; ``"meta"`` builds them without
        allocating their 4 GB (to inspect the architecture).

    Returns
    -------
    dict
        The keyword arguments of ``StableDiffusionPipeline`` (see :func:`tiny_components`).
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(seed)
    with torch.device(device):
        vae = AutoencoderKL(
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512),
            layers_per_block=2,
            latent_channels=4,
            sample_size=512,
            scaling_factor=0.18215,
        )
        unet = UNet2DConditionModel(
            sample_size=64,
            layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            cross_attention_dim=768,
            attention_head_dim=8,
        )
        text_encoder = clip_text_encoder(
            768, 12, heads=12, hidden_act="quick_gelu", projection_dim=768
        )
    return _with_tokenizer_and_scheduler(vae, unet, text_encoder)


def _with_tokenizer_and_scheduler(
    vae, unet, text_encoder, noise_schedule: str = "sd15"
) -> dict[str, Any]:
    """Complete the networks with the shipped tokenizer and a noise schedule.

    Both schedules use SD-1.5's betas; ``"zero_snr"`` rescales them to a zero
    terminal SNR (see ``NOISE_SCHEDULES``).
    """
    from diffusers import EulerAncestralDiscreteScheduler
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER)
    # SD-1.5's training noise schedule; Euler ancestral is the paper's sampler.
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
        **NOISE_SCHEDULES[noise_schedule],
    )
    return {
        "vae": vae,
        "unet": unet,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": scheduler,
        "safety_checker": None,
        "feature_extractor": None,
    }


def build_pipeline(components: dict[str, Any]):
    """A ``StableDiffusionPipeline`` from components (no safety checker)."""
    from diffusers import StableDiffusionPipeline

    parts = {**components, "safety_checker": None, "feature_extractor": None}
    pipe = StableDiffusionPipeline(**parts, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_pipeline(pipe, out: str | os.PathLike[str], *, fp16: bool = False) -> Path:
    """Save a pipeline as a diffusers folder (safetensors), atomically.

    Parameters
    ----------
    pipe : diffusers.StableDiffusionPipeline
    out : path-like
        Destination; replaced if it exists.
    fp16 : bool, default False
        Store weights in half precision (halves the folder size).

    Returns
    -------
    Path
        ``out``.
    """
    from galaxysd_core.atomic import atomic_dir

    out = Path(out)
    with atomic_dir(out, overwrite=True) as tmp:
        if fp16:
            for name in ("vae", "unet", "text_encoder"):
                getattr(pipe, name).to(torch.float16)
        try:
            pipe.save_pretrained(tmp, safe_serialization=True)
        finally:
            if fp16:
                for name in ("vae", "unet", "text_encoder"):
                    getattr(pipe, name).to(torch.float32)
        # transformers writes its own tokenizer.json; keep the verified files.
        shutil.rmtree(tmp / "tokenizer", ignore_errors=True)
        shutil.copytree(TOKENIZER, tmp / "tokenizer")
        _forget_source_paths(tmp)
    return out


def _forget_source_paths(folder: Path) -> None:
    """Drop diffusers' ``_name_or_path`` entries from a saved folder's configs.

    They record where the weights were loaded from on the building machine,
    which means nothing (and leaks a local path) once the folder is shared.
    """
    for config_file in folder.rglob("*.json"):
        data = json.loads(config_file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "_name_or_path" in data:
            del data["_name_or_path"]
            config_file.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def make_scheduler(name: str, config: Any, *, timestep_spacing: str | None = None):
    """A sampler by name, built from a pipeline's scheduler config.

    Parameters
    ----------
    name : {"euler_a", "dpmpp_2m", "ddim"}
        Euler ancestral (the paper's choice), DPM-Solver++ 2M, DDIM.
    config : FrozenDict
        ``pipeline.scheduler.config`` (keeps the training noise schedule).
    timestep_spacing : {"leading", "trailing", "linspace"}, optional
        Override the model's spacing of sampling timesteps; "trailing" starts
        at the last training step (Lin et al. 2023), also for SD-1.5 weights.

    Raises
    ------
    ConfigError
        For an unknown name or spacing.
    """
    from diffusers import (
        DDIMScheduler,
        DPMSolverMultistepScheduler,
        EulerAncestralDiscreteScheduler,
    )

    extra = {}
    if timestep_spacing is not None:
        if timestep_spacing not in TIMESTEP_SPACINGS:
            raise ConfigError(
                f"timestep_spacing must be one of {list(TIMESTEP_SPACINGS)}, "
                f"got {timestep_spacing!r}"
            )
        extra["timestep_spacing"] = timestep_spacing
    if name == "euler_a":
        return EulerAncestralDiscreteScheduler.from_config(config, **extra)
    if name == "dpmpp_2m":
        return DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, **extra
        )
    if name == "ddim":
        return DDIMScheduler.from_config(config, clip_sample=False, set_alpha_to_one=False, **extra)
    raise ConfigError(f"unknown scheduler {name!r}; choose one of {list(SCHEDULERS)}")
