"""SD-1.5's architecture built in code: the sizes the GPU check measures are the real ones."""

from __future__ import annotations

import torch

from galaxysd_core.diffusion.pipelines import sd15_components


def _millions(module: torch.nn.Module) -> float:
    return round(sum(p.numel() for p in module.parameters()) / 1e6, 2)


def test_sd15_components_have_sd15_parameter_counts():
    # "meta" builds the 1.07 billion parameters without allocating them.
    parts = sd15_components(0, device="meta")
    # SD-1.5: UNet 859.5M, CLIP ViT-L/14 text encoder 123.1M (the paper's Sec. 2), VAE 83.7M.
    assert _millions(parts["unet"]) == 859.52
    assert _millions(parts["text_encoder"]) == 123.06
    assert _millions(parts["vae"]) == 83.65
    assert parts["unet"].config.cross_attention_dim == parts["text_encoder"].config.hidden_size
    assert parts["vae"].config.scaling_factor == 0.18215
    assert next(parts["unet"].parameters()).device.type == "meta"


def test_sd15_components_use_the_sd15_tokenizer_and_noise_schedule():
    parts = sd15_components(0, device="meta")
    ids = parts["tokenizer"]("sdss, spiral galaxy, dust lane").input_ids
    assert ids == [49406, 3080, 632, 267, 19873, 6545, 267, 8349, 3980, 49407]
    config = parts["scheduler"].config
    assert (config.beta_start, config.beta_end, config.beta_schedule) == (
        0.00085,
        0.012,
        "scaled_linear",
    )
