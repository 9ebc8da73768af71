"""Diffusion: pipelines (load, presets, save), generation, fine-tuning, the demo build.

Names are imported lazily so ``galaxysd --help`` does not load torch and diffusers.

- :mod:`.pipelines` ``load_pipeline``, ``tiny_components``, ``build_pipeline``,
  ``save_pipeline``, ``make_scheduler``, ``SCHEDULERS``
- :mod:`.sampling` ``generate``, ``Generation``
- :mod:`.finetune` ``FinetuneConfig`` (the loop: ``galaxysd_core.diffusion.finetune.finetune``)
  with :mod:`.batches` (``TrainingBatches``) and :mod:`.lr_schedule` (``make_lr_scheduler``)
- :mod:`.demo` ``DemoBuildConfig``, ``build_demo``
- :mod:`.compose` the Compose page's tag picker; :mod:`.report` sheet + brightness
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "SCHEDULERS": "pipelines",
    "build_pipeline": "pipelines",
    "load_pipeline": "pipelines",
    "make_scheduler": "pipelines",
    "save_pipeline": "pipelines",
    "tiny_components": "pipelines",
    "Generation": "sampling",
    "generate": "sampling",
    "FinetuneConfig": "config",
    "DemoBuildConfig": "config",
    "build_demo": "demo",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
