"""Task configs of the diffusion domain (light: no torch import).

``FinetuneConfig`` (job kind ``finetune``, run by
:func:`galaxysd_core.diffusion.finetune.finetune`), ``DemoBuildConfig``
(job kind ``demo-build``, run by :func:`galaxysd_core.diffusion.demo.build_demo`)
and ``GuideBuildConfig`` (``galaxysd demo guide``, run by
:func:`galaxysd_core.diffusion.demo.build_guide`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError
from galaxysd_core.paths import DEMO_GUIDE, DEMO_MODEL

Schedule = Literal["one_cycle", "cosine", "constant"]
SCHEDULES: tuple[Schedule, ...] = ("one_cycle", "cosine", "constant")


@dataclass
class FinetuneConfig(TaskConfig):
    """Fine-tune a diffusion model on a prepared dataset.

    UNet and text encoder together, with EMA, checkpoints and resume; works
    under ``accelerate launch``. Defaults: the paper's, scaled to a CPU.

    Attributes
    ----------
    model : Path
        Diffusers folder to start from (SD-1.5, GalaxySD, a demo model).
    dataset : Path
        Prepared dataset folder (``metadata.jsonl``).
    output_dir : Path or None
        Run folder: ``checkpoints/``, ``samples/``, ``model/``; the job runner
        fills it.
    resume : str or None
        ``"latest"`` or a ``checkpoint-N`` folder to continue from.
    steps, batch : int
        Optimiser steps and images per step per process (paper: 10,000 x 16).
    lr, weight_decay : float
        AdamW (paper: effective 1.6e-6 for SD-1.5, weight decay 1e-3).
    schedule : {"one_cycle", "cosine", "constant"}
        See :func:`~galaxysd_core.diffusion.lr_schedule.make_lr_scheduler`.
    warmup_steps : int
    ema, ema_decay : bool, float
        EMA of the trained networks (diffusers' EMAModel, with warm-up).
    mixed_precision : {"no", "fp16", "bf16"}
        fp16 only where the device supports it (falls back to "no" on a CPU).
    grad_accum : int
    cache_latents : bool
        Encode every image once (and ``augment`` rotations/flips of it).
    augment : int
        1, 2, 4 or 8 dihedral variants of each image (galaxies have no up).
    augment_latents : bool
        Rotate/flip the cached latent of each image instead of encoding every
        variant: ``augment`` times cheaper caching (a 128 px VAE encodes at
        ~20 images/s on 2 cores), exact only for a rotation-equivariant VAE,
        which one trained on rotated crops nearly is.
    train_unet, train_text_encoder : bool
    shuffle_tags : bool
    tag_keep : float
        Probability to keep each tag phrase per step (tag sub-sampling).
    prompt_dropout : float
        Probability to train on the empty prompt (classifier-free guidance).
    tag_weights : dict of str to float
        Draw weight of a pair carrying a tag (e.g. ``{"dust_lane": 8}``); a
        pair with several weighted tags takes the largest, others weigh 1.
        Empty (the default) draws uniformly, as the paper does.
    min_snr_gamma : float or None
        Min-SNR loss weighting (Hang et al. 2023) when set, e.g. 5.
    noise_offset : float
    input_perturbation : float
        Extra Gaussian noise, this many times the sampled noise, added to the
        network's noised input but not to its target (Ning et al. 2023,
        "Input Perturbation Reduces Exposure Bias in Diffusion Models"; the
        ``--input_perturbation`` of diffusers' training examples, 0.1 there):
        training inputs then look like the sampler's own imperfect
        intermediate states, where the demo models' clumps form
        (``benchmarks/trajectory.py``). 0 turns it off and leaves every
        random draw as before.
    timestep_range : tuple of int
        ``(LOW, HIGH)``: train only on the noise levels LOW <= t < HIGH, to
        make an expert for part of the sampling path (eDiff-I, Balaji et al.
        2022: one denoiser per range of noise levels, at one network's cost
        per step). Empty (the default) trains on every level.
    max_grad_norm : float
    checkpoint_every, keep_last : int
    log_every : int
        Report the loss and look for a stop request or the time budget every
        this many steps (and at every checkpoint). Each report waits for the
        device; on a GPU, where the host launching a small model's kernels is
        the bottleneck, reporting every step keeps the host from queueing the
        next steps while the GPU works. 1 (the default) reports every step.
    validation_prompts : list of str
        Sampled at every checkpoint into ``samples/``; empty means the Table 1
        prompts (from ``galaxysd_core.gz2``) or the dataset's commonest prompts.
    validation_steps : int
    max_minutes : float or None
        Stop cleanly (checkpoint + export) after this wall time.
    seed : int
    num_processes : int
        Processes the job launcher starts with ``accelerate launch``.
    """

    kind: ClassVar[str] = "finetune"

    model: Path = Path()
    dataset: Path = Path()
    output_dir: Path | None = None
    resume: str | None = None
    steps: int = 1000
    batch: int = 16
    lr: float = 1e-5
    weight_decay: float = 1e-3
    schedule: Schedule = "one_cycle"
    warmup_steps: int = 100
    ema: bool = True
    ema_decay: float = 0.999
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    grad_accum: int = 1
    cache_latents: bool = True
    augment: int = 1
    augment_latents: bool = False
    train_unet: bool = True
    train_text_encoder: bool = True
    shuffle_tags: bool = True
    tag_keep: float = 1.0
    prompt_dropout: float = 0.1
    tag_weights: dict[str, float] = field(default_factory=dict)
    min_snr_gamma: float | None = None
    noise_offset: float = 0.0
    input_perturbation: float = 0.0
    timestep_range: tuple[int, ...] = ()
    max_grad_norm: float = 1.0
    checkpoint_every: int = 500
    keep_last: int = 3
    log_every: int = 1
    validation_prompts: list[str] = field(default_factory=list)
    validation_steps: int = 20
    max_minutes: float | None = None
    seed: int = 0
    num_processes: int = 1

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first bad field."""
        name = type(self).__name__
        for attr in ("steps", "batch", "grad_accum", "checkpoint_every", "keep_last", "log_every"):
            if getattr(self, attr) < 1:
                raise ConfigError(f"{name}.{attr} must be >= 1, got {getattr(self, attr)!r}")
        if self.num_processes < 1:
            raise ConfigError(f"{name}.num_processes must be >= 1, got {self.num_processes!r}")
        if not self.lr > 0:
            raise ConfigError(f"{name}.lr must be > 0, got {self.lr!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"{name}.schedule must be one_cycle, cosine or constant, got {self.schedule!r}"
            )
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ConfigError(
                f"{name}.mixed_precision must be no, fp16 or bf16, got {self.mixed_precision!r}"
            )
        if self.augment not in (1, 2, 4, 8):
            raise ConfigError(f"{name}.augment must be 1, 2, 4 or 8, got {self.augment!r}")
        for attr in ("tag_keep", "prompt_dropout", "ema_decay"):
            if not 0.0 <= getattr(self, attr) <= 1.0:
                raise ConfigError(f"{name}.{attr} must be in [0, 1], got {getattr(self, attr)!r}")
        if not 0 <= self.warmup_steps < self.steps:
            raise ConfigError(
                f"{name}.warmup_steps must be in [0, steps), got {self.warmup_steps!r}"
            )
        for tag, weight in self.tag_weights.items():
            if not (isinstance(weight, int | float) and weight > 0):
                raise ConfigError(f"{name}.tag_weights[{tag!r}] must be > 0, got {weight!r}")
        if not (self.train_unet or self.train_text_encoder):
            raise ConfigError(f"{name}: train_unet and train_text_encoder are both off")
        if self.min_snr_gamma is not None and self.min_snr_gamma <= 0:
            raise ConfigError(f"{name}.min_snr_gamma must be > 0, got {self.min_snr_gamma!r}")
        if self.timestep_range and not (
            len(self.timestep_range) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in self.timestep_range)
            and 0 <= self.timestep_range[0] < self.timestep_range[1]
        ):
            raise ConfigError(
                f"{name}.timestep_range must be two whole numbers LOW < HIGH from 0, "
                f"got {self.timestep_range!r}"
            )
        if not 0.0 <= self.input_perturbation <= 1.0:
            raise ConfigError(
                f"{name}.input_perturbation must be in [0, 1], got {self.input_perturbation!r}"
            )


@dataclass
class DemoBuildConfig(TaskConfig):
    """Train the 128x128 demo model from scratch (resumable).

    Build the mock sky, prepare pairs, train VAE then UNet + text encoder,
    export fp16 to assets/demo-model; rerun with --resume latest to continue.
    Defaults: the bundled model's.

    Attributes
    ----------
    output_dir : Path or None
        Working folder for the stages (the job's run folder).
    resume : str or None
        ``"latest"`` continues every stage from what ``output_dir`` holds.
    out : Path
        Where the finished model goes (default ``assets/demo-model``).
    sky : Path or None
        An existing mock sky to train on instead of building one.
    n, seed : int
        Galaxies in the mock sky and the seed of everything.
    sky_dusty_s0_fraction : float
        ``SkyConfig.dusty_s0_fraction`` of the sky the build makes (ignored
        with ``sky``): the share of dusty, not edge-on disks drawn as
        bulge-dominated lenticulars, a lane across a round body on a
        "features or disk" path, which the model can compose a D-ETG from.
    preset : str
        Model sizes (``galaxysd_core.diffusion.pipelines.PRESETS``): v3 (CPU,
        a 32x32x4 latent), f2 (an f=2 VAE, a 64x64x4 latent that keeps the
        lane across a D-ETG's core; about 2x v3's training step), v2 (the
        previous 128 px model's, 16x16x16), gpu and gpu_f2 (one GPU; v3's
        and f2's latents), tiny, demo.
    size : int
        Side of the mock sky's images and of the generated images.
    latent_channels : int or None
        VAE latent channels; None takes the preset's (v3: 4 on a 32x32 grid,
        v2: 16 on a 16x16 grid; the finer grid keeps a D-ETG's short lane,
        more channels on the coarse one did not).
    noise_schedule : {"zero_snr", "sd15"}
        ``pipelines.NOISE_SCHEDULES``: zero terminal SNR with v prediction and
        trailing timesteps (Lin et al. 2023), or SD-1.5's.
    vae_steps, vae_batch, vae_crop : int
        VAE stage: steps, batch, crop side (the VAE is fully convolutional).
    vae_lr, vae_kl : float
        VAE learning rate and KL weight.
    vae_bands : float
        Share of the VAE's (and the decoder stage's) training crops crossed by
        a thin dark band of random angle (``demo._attenuation_bands``): the
        training pairs hold no lane across a bright round core. 0 turns it
        off (the default; on the f=4 VAE it kept no more D-ETG lanes,
        ``benchmarks/vae_variants.py``).
    vae_adversarial : float
        Weight of a patch discriminator's loss in the VAE and decoder stages
        (``demo.train_vae``'s ``adversarial``; second half of each stage),
        against the blur that pixel losses favour. 0 turns it off (the
        default; on the f=4 VAE it kept no more D-ETG lanes either).
    steps, batch, lr, warmup_steps, checkpoint_every : int / float
        UNet + text encoder stage (see ``FinetuneConfig``).
    min_snr_gamma : float
    log_every : int
        Steps between loss reports of the UNet stage
        (``FinetuneConfig.log_every``): 1 on a CPU, tens on a GPU.
    tag_weights : dict of str to float
        Draw weight of pairs carrying a tag (``FinetuneConfig.tag_weights``):
        rare tags such as ``dust_lane`` are seen more often.
    augment : int
        Rotations/flips of each image (1, 2, 4 or 8), each encoded and cached
        (rotating the cached latent instead, ``FinetuneConfig.augment_latents``,
        only suits latents whose channels carry no direction: the 16-channel
        VAE's rotated latents decode to striped fragments).
    device : {"cpu", "cuda"}
        Where the VAE stages run; the UNet stage runs where ``accelerate``
        puts it (the GPU when there is one).
    mixed_precision : {"no", "bf16", "fp16"}
        Of the UNet stage (``FinetuneConfig.mixed_precision``).
    unet_processes : int
        Data-parallel processes of the UNet stage (``accelerate launch``;
        gloo on a CPU, one GPU each on GPUs), which then share ``batch``, so
        the recipe stays the same. On 2 cores with the default batch 16 it
        does not pay (0.87-0.95x the images a second of one process on both,
        ``benchmarks/cpu_processes.py --shared-batch``); it is for more cores
        or GPUs, and larger batches. 1 trains in the build's own process.
    max_minutes : float or None
        Time budget of the UNet stage; the latest EMA weights are exported
        when it runs out.
    decoder_steps : int
        Extra steps for the VAE decoder alone (encoder frozen, so the latent
        space the UNet learned stays valid), on whole cutouts with a sky term
        (``demo._sky_error``). The shipped model used 1,200: on its f=4 VAE
        they return the training sky's level and noise and keep 0.85 of the
        judged dust lanes; on v4's f=8 VAE they had cost most of them
        (docs/generator-v2.md, "Refining the decoder").
    exclude_smooth_dusty : bool
        Keep every smooth galaxy with a dust lane (truth) out of training, not
        only the known D-ETGs (``demo.smooth_dusty_exclusions``).
    max_per_tag : int or None
        The pairs' balancing cap (``PrepareConfig.max_per_tag``); None keeps
        its default, 2,000. On a larger sky, scale it with ``n``: at the
        default cap a 160,000-galaxy sky's pairs carried an odd feature three
        times as often as a random draw of the sky (docs/generator-v2.md,
        "The data lever on an H200").
    init_from : Path or None
        A diffusers folder whose UNet and text-encoder weights start the UNet
        stage wherever names and shapes match (``demo.warm_start``), e.g. the
        previous demo model; None trains both from scratch.
    vae_from : Path or None
        A diffusers folder whose VAE (encoder and refined decoder) the build
        takes instead of training one: the VAE stage is skipped and
        ``vae_*`` are unused. With ``init_from`` on the same folder the build
        continues that model's training (a GPU's compute on the shipped
        model's network, say); its latent must match the preset's UNet.
    """

    kind: ClassVar[str] = "demo-build"

    output_dir: Path | None = None
    resume: str | None = None
    out: Path = DEMO_MODEL
    sky: Path | None = None
    n: int = 16000
    seed: int = 0
    sky_dusty_s0_fraction: float = 0.0
    preset: str = "v3"
    size: int = 128
    latent_channels: int | None = None
    noise_schedule: Literal["zero_snr", "sd15"] = "zero_snr"
    vae_steps: int = 1500
    vae_batch: int = 8
    vae_crop: int = 48
    vae_lr: float = 1e-3
    vae_kl: float = 1e-6
    vae_bands: float = 0.0
    vae_adversarial: float = 0.0
    steps: int = 4000
    batch: int = 16
    lr: float = 4e-4
    warmup_steps: int = 200
    checkpoint_every: int = 500
    min_snr_gamma: float = 5.0
    log_every: int = 1
    tag_weights: dict[str, float] = field(default_factory=lambda: {"dust_lane": 4.0})
    augment: int = 4
    device: Literal["cpu", "cuda"] = "cpu"
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    unet_processes: int = 1
    max_minutes: float | None = None
    decoder_steps: int = 0
    exclude_smooth_dusty: bool = True
    max_per_tag: int | None = None
    init_from: Path | None = None
    vae_from: Path | None = None

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first bad field."""
        if self.max_per_tag is not None and (
            isinstance(self.max_per_tag, bool)
            or not isinstance(self.max_per_tag, int)
            or self.max_per_tag < 1
        ):
            raise ConfigError(
                f"DemoBuildConfig.max_per_tag must be an integer >= 1, got {self.max_per_tag!r}"
            )
        for attr in (
            "n",
            "vae_steps",
            "vae_batch",
            "vae_crop",
            "steps",
            "batch",
            "checkpoint_every",
            "log_every",
            "unet_processes",
        ):
            if getattr(self, attr) < 1:
                raise ConfigError(
                    f"DemoBuildConfig.{attr} must be >= 1, got {getattr(self, attr)!r}"
                )
        if self.batch % self.unet_processes:
            raise ConfigError(
                f"DemoBuildConfig.batch must be a multiple of unet_processes "
                f"({self.unet_processes}), got {self.batch!r}"
            )
        fraction = self.sky_dusty_s0_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise ConfigError(
                f"DemoBuildConfig.sky_dusty_s0_fraction must be a number, got {fraction!r}"
            )
        if not 0.0 <= fraction <= 1.0:
            raise ConfigError(
                f"DemoBuildConfig.sky_dusty_s0_fraction must be in [0, 1], got {fraction!r}"
            )
        if self.vae_crop % 8 or self.vae_crop > self.size:
            raise ConfigError(
                f"DemoBuildConfig.vae_crop must be a multiple of 8 and <= size, "
                f"got {self.vae_crop!r}"
            )
        if self.size % 16 or self.size < 32:
            raise ConfigError(
                f"DemoBuildConfig.size must be a multiple of 16 and >= 32, got {self.size!r}"
            )
        if self.vae_adversarial < 0:
            raise ConfigError(
                f"DemoBuildConfig.vae_adversarial must be >= 0, got {self.vae_adversarial!r}"
            )
        if not 0.0 <= self.vae_bands <= 1.0:
            raise ConfigError(
                f"DemoBuildConfig.vae_bands must be in [0, 1], got {self.vae_bands!r}"
            )
        if self.latent_channels is not None and self.latent_channels < 1:
            raise ConfigError(
                f"DemoBuildConfig.latent_channels must be >= 1, got {self.latent_channels!r}"
            )
        # The tables live beside the models (a torch import), read only to check.
        from galaxysd_core.diffusion.pipelines import NOISE_SCHEDULES, PRESETS

        if self.noise_schedule not in NOISE_SCHEDULES:
            raise ConfigError(
                f"DemoBuildConfig.noise_schedule must be one of {sorted(NOISE_SCHEDULES)}, "
                f"got {self.noise_schedule!r}"
            )
        if self.preset not in PRESETS:
            raise ConfigError(
                f"DemoBuildConfig.preset must be one of {sorted(PRESETS)}, got {self.preset!r}"
            )
        if self.device not in ("cpu", "cuda"):
            raise ConfigError(f"DemoBuildConfig.device must be cpu or cuda, got {self.device!r}")


@dataclass
class GuideBuildConfig(TaskConfig):
    """Train a narrower copy of a model's UNet for autoguidance (resumable).

    Autoguidance (Karras et al. 2024) steers each step away from a weaker
    model of the same task: this builds one from the main model itself, with
    its VAE, text encoder (frozen) and noise schedule, a fresh UNet of the
    same blocks at a share of its width, trained briefly on the same mock sky
    and pairs, exported fp16. Use it with ``galaxysd generate --guide-model``.

    Attributes
    ----------
    output_dir : Path or None
        Working folder (the job's run folder).
    resume : str or None
        ``"latest"`` continues from what ``output_dir`` holds.
    model : Path
        The main model whose latents, text encoder and schedule the guide shares.
    out : Path
        Where the guide goes (default ``assets/demo-model-guide``, the folder
        beside the demo model where ``generate`` and Compose look for it).
    sky : Path or None
        The mock sky to train on; None builds one as ``galaxysd demo build``
        does (``n``, ``seed``, the main model's image size).
    n, seed : int
        Galaxies of the sky built when ``sky`` is None, and the seed of everything.
    width : float
        The guide UNet's channels (and norm groups) as a share of the main
        UNet's, per level; it must leave whole channels per group.
    steps, batch, augment : int
        Training steps, pairs per step, dihedral variants (see ``FinetuneConfig``):
        fewer than the main model's, since a guide should be the worse model.
    lr : float
    tag_weights : dict of str to float
    min_snr_gamma : float
    max_minutes : float or None
        Time budget; the EMA weights so far are exported when it runs out.
    """

    kind: ClassVar[str] = "demo-guide"

    output_dir: Path | None = None
    resume: str | None = None
    model: Path = DEMO_MODEL
    out: Path = DEMO_GUIDE
    sky: Path | None = None
    n: int = 16000
    seed: int = 0
    width: float = 0.5
    steps: int = 4000
    batch: int = 16
    augment: int = 1
    lr: float = 4e-4
    tag_weights: dict[str, float] = field(default_factory=lambda: {"dust_lane": 4.0})
    min_snr_gamma: float = 5.0
    max_minutes: float | None = None

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first bad field."""
        for attr in ("n", "steps", "batch"):
            if getattr(self, attr) < 1:
                raise ConfigError(
                    f"GuideBuildConfig.{attr} must be >= 1, got {getattr(self, attr)!r}"
                )
        if isinstance(self.width, bool) or not 0.0 < self.width < 1.0:
            raise ConfigError(f"GuideBuildConfig.width must be in (0, 1), got {self.width!r}")
        if self.augment not in (1, 2, 4, 8):
            raise ConfigError(
                f"GuideBuildConfig.augment must be 1, 2, 4 or 8, got {self.augment!r}"
            )


@dataclass
class DemoReportConfig(TaskConfig):
    """Table 1 sheet (real vs generated) and the brightness check of a model.

    Write a real-vs-generated sheet per Table 1 type and measure the mean
    brightness of text-only, reference-start and real images.

    Attributes
    ----------
    dataset : Path
        Prepared dataset folder (metadata.jsonl).
    model : Path, optional
        Diffusers folder (default assets/demo-model).
    sheet : Path, optional
        PNG to write the sheet to.
    brightness : Path, optional
        JSON to write the brightness numbers to.
    n : int, default 8
        Images per type for the brightness check.
    steps : int, default 30
        Sampler steps.
    """

    dataset: Path
    model: Path | None = None
    sheet: Path | None = None
    brightness: Path | None = None
    n: int = 8
    steps: int = 30


@dataclass
class GenerateConfig(TaskConfig):
    """Generate galaxy images from a (weighted) prompt.

    Sample N images with a diffusers model folder; each PNG carries its recipe
    in text metadata and a sidecar JSON. Same arguments, same pixels.

    Attributes
    ----------
    model : Path
        Diffusers model folder (e.g. ``assets/demo-model``).
    prompt : str
        Prompt, e.g. ``"sdss, spiral galaxy, {dust lane:1.3}"``; terms joined
        by AND guide each image together: ``"sdss, completely round galaxy AND
        sdss, dust lane :0.6"``.
    out : Path
        Output folder for the PNGs (each with its recipe as a sidecar JSON).
    n : int
        Number of images.
    seed : int
        Seed of the first image (image i uses seed + i).
    steps : int
        Sampler steps.
    guidance : float
        Classifier-free guidance scale.
    scheduler : {"euler_a", "dpmpp_2m", "ddim"}
        Sampler.
    timestep_spacing : {"leading", "trailing", "linspace"} or None
        Default: the model's (trailing per Lin et al. 2023).
    guidance_rescale : float
        Rescale CFG towards the conditional std, in [0, 1] (0.7 in Lin et al.).
    guidance_interval : tuple of float
        Two timesteps LOW HIGH (0-1000): guide only the steps in between
        (Kynkäänniemi et al. 2024); empty guides every step.
    eps_scale : float
        Divide the predicted noise by this from the second step on, in
        [1, 1.1] (epsilon scaling against exposure bias, Ning et al. 2024);
        1 leaves it alone.
    guide_model : Path or None
        Autoguidance (Karras et al. 2024): a weaker diffusers model of the
        same latents and schedule to steer away from at every step; None
        takes the ``<model>-guide`` folder beside the model (``galaxysd demo
        guide`` writes ``assets/demo-model-guide``) when the weight asks.
    guide_weight : float
        Autoguidance weight in [1, 4]; 1 is off.
    pag_scale : float
        Perturbed-attention guidance scale in [0, 10] (Ahn et al. 2024); 0 is off.
    pag_interval : tuple of float
        Two timesteps LOW HIGH: apply it only on the steps in between; empty:
        every step.
    negative_prompt : str
        Negative prompt.
    reference : str or None
        Start from this real image, or ``"auto"``: one with the same tags from ``pool``.
    pool : Path or None
        Prepared dataset folder for ``reference="auto"``.
    strength : float
        Reference noise level in (0, 1].
    device : str
        ``"cpu"`` or ``"cuda"``.
    """

    model: Path
    prompt: str
    out: Path
    n: int = 4
    seed: int = 0
    steps: int = 30
    guidance: float = 7.0
    scheduler: Literal["euler_a", "dpmpp_2m", "ddim"] = "euler_a"
    timestep_spacing: Literal["leading", "trailing", "linspace"] | None = None
    guidance_rescale: float = 0.0
    guidance_interval: tuple[float, ...] = ()
    eps_scale: float = 1.0
    guide_model: Path | None = None
    guide_weight: float = 1.0
    pag_scale: float = 0.0
    pag_interval: tuple[float, ...] = ()
    negative_prompt: str = ""
    reference: str | None = None
    pool: Path | None = None
    strength: float = 0.6
    device: str = "cpu"

    def validate(self) -> None:
        """Refuse bad numbers, prompts and references before a model is loaded.

        Raises
        ------
        ConfigError, PromptError, ImageReadError
            See :func:`~galaxysd_core.diffusion.checks.check_generation`.
        """
        from galaxysd_core.diffusion.checks import (
            check_eps_scale,
            check_generation,
            check_guidance_interval,
            check_guide,
            check_pag_scale,
        )

        check_guidance_interval(self.guidance_interval)
        check_eps_scale(self.eps_scale)
        check_guide(self.guide_model, self.guide_weight, owner="GenerateConfig", model=self.model)
        check_pag_scale(self.pag_scale)
        check_guidance_interval(self.pag_interval, "pag_interval")
        check_generation(
            self.n,
            self.steps,
            self.guidance,
            self.scheduler,
            self.strength,
            prompts=[self.prompt],
            negative_prompt=self.negative_prompt,
            reference=self.reference,
            pool=self.pool,
        )
