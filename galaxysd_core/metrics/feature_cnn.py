"""The 11 consistency classifiers Q_i as one multi-task CNN on pixels (Sec. 4.1).

The paper judges consistency with separately trained CNNs. Here one small
ResNet (``transformers``, basic blocks) has 11 logits, one per feature of
:data:`~galaxysd_core.metrics.features.FEATURES`, with one decision threshold
each. This module holds the network, its input normalisation, prediction and
the saved form: ``model.safetensors`` (fp16) + ``feature_classifiers.json``
(architecture, normalisation, thresholds, per-feature accuracy, training sky).
Training is :mod:`galaxysd_core.metrics.feature_training`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from galaxysd_core import __version__
from galaxysd_core.atomic import atomic_dir
from galaxysd_core.errors import ConfigError, ModelFolderError
from galaxysd_core.metrics.features import FEATURES
from galaxysd_core.paths import ASSETS

#: Where the shipped classifiers live (``galaxysd evaluate``'s default).
DEFAULT_FOLDER = ASSETS / "feature-classifiers"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "feature_classifiers.json"
_N = len(FEATURES)


def _train_command(folder: str | os.PathLike[str]) -> str:
    return f"`galaxysd feature-classifiers --data <mock sky> --output-dir {folder}`"


@dataclasses.dataclass(frozen=True)
class CNNSpec:
    """Architecture and input normalisation of the multi-task CNN.

    ``zoom`` > 1 adds a second view: the central ``image_size / zoom`` pixels
    enlarged to full size, stacked as three more input channels. A galaxy
    fills about a fifth of a 64-pixel cutout, so the full view spends the
    ResNet stem's stride on empty sky and blurs spiral arms together; the
    zoomed view keeps their winding resolvable.
    """

    image_size: int
    depths: tuple[int, ...]
    hidden_sizes: tuple[int, ...]
    embedding_size: int
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    zoom: int = 1

    @property
    def channels(self) -> int:
        """Input channels of the network: 3, or 6 with the zoomed view."""
        return 6 if self.zoom > 1 else 3


def _resnet(spec: CNNSpec) -> torch.nn.Module:
    from transformers import ResNetConfig, ResNetForImageClassification

    config = ResNetConfig(
        layer_type="basic",
        depths=list(spec.depths),
        hidden_sizes=list(spec.hidden_sizes),
        embedding_size=spec.embedding_size,
        num_channels=spec.channels,
        num_labels=_N,
    )
    return ResNetForImageClassification(config)


def as_uint8_batch(images: Sequence[Any] | torch.Tensor, size: int) -> torch.Tensor:
    """Images (paths, PIL images or HxWx3 uint8 arrays) as a ``(N, 3, size, size)`` uint8 tensor.

    Any input size is accepted: images are resampled to ``size`` (antialiased
    when shrinking), so 128 px generations and 424 px SDSS cutouts are judged
    at the classifiers' own resolution.

    Raises
    ------
    ImageReadError
        If a path cannot be read.
    ConfigError
        If an item is none of the accepted kinds.
    """
    from PIL import Image

    from galaxysd_core.images import read_image, to_rgb

    if isinstance(images, torch.Tensor):
        if images.shape[-2:] == (size, size) or images.ndim != 4:
            return images
        # another resolution (a generator's 128 px, a 424 px cutout): resample, antialiased
        resized = torch.nn.functional.interpolate(
            images.float(), size=(size, size), mode="bilinear", antialias=True
        )
        return resized.round().clamp(0, 255).to(torch.uint8)
    arrays = []
    for item in images:
        if isinstance(item, str | os.PathLike):
            arrays.append(read_image(item, size))
            continue
        if isinstance(item, np.ndarray) and item.dtype == np.uint8 and item.ndim == 3:
            item = Image.fromarray(item)
        if not isinstance(item, Image.Image):
            raise ConfigError(
                f"cannot classify a {type(item).__name__}: give paths, PIL images or "
                "HxWx3 uint8 arrays"
            )
        arrays.append(to_rgb(item, size))
    if not arrays:
        return torch.zeros((0, 3, size, size), dtype=torch.uint8)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


class FeatureCNN:
    """The trained multi-task CNN with its per-feature thresholds.

    Parameters
    ----------
    spec : CNNSpec
    model : torch.nn.Module, optional
        Built fresh from ``spec`` when omitted.
    thresholds : np.ndarray, shape (11,), optional
        Probability cuts; 0.5 each by default.
    meta : dict, optional
        Training record (saved in the JSON).
    """

    def __init__(
        self,
        spec: CNNSpec,
        model: torch.nn.Module | None = None,
        *,
        thresholds: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.model = model if model is not None else _resnet(spec)
        self.thresholds = np.full(_N, 0.5) if thresholds is None else np.asarray(thresholds)
        self.meta = dict(meta or {})
        self._mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(spec.std).view(1, 3, 1, 1)

    @property
    def device(self) -> torch.device:
        """Where the network's weights are."""
        return next(self.model.parameters()).device

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, 3, S, S)`` -> float network input on the model's device.

        Standardised per channel; with ``spec.zoom`` > 1 the enlarged centre
        follows as channels 3-5 (see :class:`CNNSpec`).
        """
        x = images.to(self.device).float() / 255.0
        x = (x - self._mean.to(x.device)) / self._std.to(x.device)
        if self.spec.zoom <= 1:
            return x
        size = x.shape[-1]
        lo = (size - size // self.spec.zoom) // 2
        centre = x[..., lo : size - lo, lo : size - lo]
        big = torch.nn.functional.interpolate(
            centre, size=(size, size), mode="bilinear", align_corners=False
        )
        return torch.cat([x, big], dim=1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, 11)`` of a normalised batch (grad enabled)."""
        return self.model(pixel_values=x).logits

    @torch.inference_mode()
    def predict_proba(
        self, images: Sequence[Any] | torch.Tensor, *, batch_size: int = 256
    ) -> np.ndarray:
        """Per-feature probabilities ``(N, 11)`` of images (see :func:`as_uint8_batch`)."""
        batch = as_uint8_batch(images, self.spec.image_size)
        if batch.shape[-2:] != (self.spec.image_size, self.spec.image_size):
            raise ConfigError(
                f"images are {tuple(batch.shape[-2:])}, the classifiers take "
                f"{self.spec.image_size}x{self.spec.image_size}"
            )
        self.model.eval()
        out = [
            torch.sigmoid(self.logits(self.normalise(batch[s : s + batch_size]))).float().cpu()
            for s in range(0, batch.shape[0], batch_size)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, _N), dtype=np.float32)

    def predict(self, images: Sequence[Any] | torch.Tensor) -> np.ndarray:
        """Boolean answers ``(N, 11)`` of the 11 classifiers at their thresholds."""
        return self.predict_proba(images) >= self.thresholds

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``model.safetensors`` (fp16) and ``feature_classifiers.json`` atomically."""
        from safetensors.torch import save_file

        spec = dataclasses.asdict(self.spec)
        meta = {
            "architecture": {
                "kind": "transformers ResNetForImageClassification (basic blocks)",
                **{k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()},
            },
            "features": [{"name": f.name, "tags": list(f.tags)} for f in FEATURES],
            "thresholds": {
                f.name: float(t) for f, t in zip(FEATURES, self.thresholds, strict=True)
            },
            **self.meta,
            "version": __version__,
        }
        with atomic_dir(folder, overwrite=True) as tmp:
            # fp16 halves the file; the scores move by ~1e-3, far below the cuts' spacing
            state = {
                k: (v.half() if v.is_floating_point() else v).contiguous()
                for k, v in self.model.state_dict().items()
            }
            save_file(state, str(tmp / WEIGHTS_FILE))
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
        return Path(folder)


def load_feature_cnn(folder: str | os.PathLike[str], *, device: str = "cpu") -> FeatureCNN:
    """Load classifiers written by :meth:`FeatureCNN.save`.

    Raises
    ------
    ModelFolderError
        If the folder is missing, incomplete or unreadable; the message names
        the folder and the command that trains it.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    meta_path, weights = folder / META_FILE, folder / WEIGHTS_FILE
    if not meta_path.is_file() or not weights.is_file():
        raise ModelFolderError(
            f"no feature classifiers in {folder} (needs {WEIGHTS_FILE} and {META_FILE}); "
            f"train them with {_train_command(folder)}"
        )
    try:
        meta = json.loads(meta_path.read_text())
        arch = meta.pop("architecture")
        names = [f["name"] for f in meta.pop("features")]
        if names != [f.name for f in FEATURES]:
            raise ModelFolderError(f"its features {names} are not the 11 of this version")
        spec = CNNSpec(
            image_size=int(arch["image_size"]),
            depths=tuple(arch["depths"]),
            hidden_sizes=tuple(arch["hidden_sizes"]),
            embedding_size=int(arch["embedding_size"]),
            mean=tuple(arch["mean"]),
            std=tuple(arch["std"]),
            zoom=int(arch.get("zoom", 1)),  # classifiers saved before zoom existed: 1
        )
        cuts = meta.pop("thresholds")
        thresholds = np.array([float(cuts[n]) for n in names])
        model = _resnet(spec)
        state = load_file(str(weights))
        model.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        )
    except (ValueError, KeyError, TypeError, RuntimeError, OSError, SafetensorError) as exc:
        raise ModelFolderError(
            f"broken feature classifiers in {folder} ({exc}); retrain them with "
            f"{_train_command(folder)}"
        ) from exc
    meta.pop("version", None)
    return FeatureCNN(spec, model.to(device).eval(), thresholds=thresholds, meta=meta)
