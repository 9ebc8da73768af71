"""Diffusion: pipelines (load, presets, save), generation, fine-tuning, the demo build."""

from galaxysd_core.diffusion.generate import Generation, generate
from galaxysd_core.diffusion.pipelines import (
    SCHEDULERS,
    build_pipeline,
    load_pipeline,
    make_scheduler,
    save_pipeline,
    tiny_components,
)

__all__ = [
    "SCHEDULERS",
    "Generation",
    "build_pipeline",
    "generate",
    "load_pipeline",
    "make_scheduler",
    "save_pipeline",
    "tiny_components",
]
