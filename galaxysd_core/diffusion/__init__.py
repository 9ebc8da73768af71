"""Diffusion: pipelines (load, presets, save), generation, fine-tuning, the demo build.

Names are imported lazily so ``galaxysd --help`` does not load torch and diffusers.

- :mod:`.pipelines` ``load_pipeline``, ``tiny_components``, ``build_pipeline``,
  ``save_pipeline``, ``make_scheduler``, ``SCHEDULERS``
- :mod:`.sampling` ``generate``, ``Generation``; :mod:`.composable` the loop for
  prompts joined by ``AND`` (composable guidance)
- :mod:`.config` ``FinetuneConfig``, ``DemoBuildConfig``, ``GenerateConfig``,
  ``GuideBuildConfig``
- :mod:`.pnginfo` ``read_png_settings`` (ours and A1111's), ``write_images``
- :mod:`.finetune` the loop (``galaxysd_core.diffusion.finetune.finetune``)
  with :mod:`.batches` (``TrainingBatches``) and :mod:`.lr_schedule` (``make_lr_scheduler``)
- :mod:`.demo` ``build_demo``, ``build_guide`` (the autoguidance partner)
- :mod:`.live` the live preview; :mod:`.history` what a workspace generated
- :mod:`.batched` ``generate_into``: many images of one prompt, batch by batch, resumable
- :mod:`.compose` the Compose page's tag picker helpers; :mod:`.report` sheet + brightness
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(
    __name__,
    pipelines="SCHEDULERS build_pipeline load_pipeline make_scheduler save_pipeline tiny_components",
    sampling="Generation generate",
    pnginfo="read_png_settings write_images",
    config="FinetuneConfig DemoBuildConfig GenerateConfig GuideBuildConfig",
    demo="build_demo build_guide",
)
