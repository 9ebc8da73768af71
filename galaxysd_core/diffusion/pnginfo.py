"""Generation settings inside PNG files: written by ``generate``, read back for reuse.

Every image :func:`~galaxysd_core.diffusion.generate` writes carries its full
recipe as JSON in the PNG's ``parameters`` text chunk (plus one chunk per main
setting and a sidecar ``.json``). :func:`read_png_settings` reads that back, and
also the ``parameters`` text AUTOMATIC1111's web UI writes::

    a spiral galaxy, (dust lane:1.3)
    Negative prompt: blurry
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sd15
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

from galaxysd_core.atomic import atomic_write_bytes, atomic_write_text
from galaxysd_core.errors import GalaxySDError, ImageReadError

__all__ = ["SETTINGS_KEYS", "PngSettingsError", "parse_a1111", "read_png_settings", "write_images"]

#: Keys every dict of :func:`read_png_settings` has (None where the file does not say).
SETTINGS_KEYS = (
    "prompt", "negative_prompt", "seed", "steps", "guidance", "scheduler", "strength", "model",
)  # fmt: skip
#: Chunks written beside the JSON so a plain PNG viewer shows the main settings.
_TEXT_KEYS = ("prompt", "seed", "model", "scheduler", "steps", "guidance", "reference", "strength")
#: A1111 sampler names -> our schedulers (the Karras variants share the sampler).
A1111_SAMPLERS = {
    "euler a": "euler_a",
    "dpm++ 2m": "dpmpp_2m",
    "dpm++ 2m karras": "dpmpp_2m",
    "ddim": "ddim",
}
# One "Key: value" of A1111's settings line; a value may be quoted and hold commas
# (the pattern of A1111's own ``infotext_utils.re_param``).
_A1111_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


class PngSettingsError(GalaxySDError, ValueError):
    """A PNG carries no generation settings we can read."""


def write_images(
    images: list[Any], metadata: list[dict[str, Any]], out: str | os.PathLike[str]
) -> list[Path]:
    """Write PNGs with the recipe in text chunks, plus a sidecar JSON each, atomically.

    Parameters
    ----------
    images : list of PIL.Image.Image
    metadata : list of dict
        One recipe per image; ``file_stem`` names the file (default
        ``galaxy-<seed>``).
    out : path
        Folder, created if missing.

    Returns
    -------
    list of Path
        The PNGs written.
    """
    from PIL.PngImagePlugin import PngInfo

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for image, meta in zip(images, metadata, strict=True):
        info = PngInfo()
        info.add_text("parameters", json.dumps(meta))
        for key in _TEXT_KEYS:
            info.add_text(key, str(meta.get(key)))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", pnginfo=info)
        path = out / f"{meta.get('file_stem') or 'galaxy-' + str(meta['seed'])}.png"
        atomic_write_bytes(path, buffer.getvalue())
        atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
        paths.append(path)
    return paths


def read_png_settings(path: str | os.PathLike[str] | io.BytesIO) -> dict[str, Any]:
    """The generation settings a PNG carries (ours, or AUTOMATIC1111's ``parameters``).

    Parameters
    ----------
    path : path or file-like
        A PNG written by ``galaxysd generate`` / the Compose page, or by A1111.

    Returns
    -------
    dict
        At least :data:`SETTINGS_KEYS`; ``source`` is ``"galaxysd"`` or
        ``"a1111"``. Ours carry every recorded key (``weights``, ``reference``,
        ...); A1111's add ``sampler`` (its own name) and ``size``.

    Raises
    ------
    ImageReadError
        If the file is not a readable image.
    PngSettingsError
        If it carries no ``parameters`` text, or text that is neither; the
        message names the file.
    """
    from PIL import Image, UnidentifiedImageError

    name = getattr(path, "name", None) or str(path)
    try:
        with Image.open(path) as image:
            chunks = dict(getattr(image, "text", None) or image.info)
    except (OSError, UnidentifiedImageError) as exc:
        raise ImageReadError(f"{name} is not a readable image ({exc})") from None
    text = chunks.get("parameters")
    if not isinstance(text, str) or not text.strip():
        raise PngSettingsError(f"{name} carries no generation settings (no 'parameters' text)")
    if text.lstrip().startswith("{"):
        try:
            settings = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PngSettingsError(f"{name}: its 'parameters' JSON is broken ({exc})") from None
        return {**dict.fromkeys(SETTINGS_KEYS), **settings, "source": "galaxysd"}
    try:
        return parse_a1111(text)
    except ValueError as exc:
        raise PngSettingsError(f"{name}: {exc}") from None


def parse_a1111(text: str) -> dict[str, Any]:
    """Read AUTOMATIC1111's ``parameters`` text into settings.

    Parameters
    ----------
    text : str
        Prompt lines, an optional ``Negative prompt:`` part, then the
        ``Steps: ..., Sampler: ..., CFG scale: ..., Seed: ...`` line.

    Returns
    -------
    dict
        :data:`SETTINGS_KEYS` plus ``sampler`` and ``size``; ``scheduler`` is
        ours for a sampler we have (``Euler a`` -> ``euler_a``), else None.
        ``strength`` is A1111's ``Denoising strength`` (img2img only).

    Raises
    ------
    ValueError
        If there is no settings line with ``Steps:``.
    """
    lines = text.strip().splitlines()
    if not lines or not lines[-1].lstrip().startswith("Steps:"):
        raise ValueError("its 'parameters' text has no A1111 settings line ('Steps: ...')")
    params = {k.strip(): v.strip() for k, v in _A1111_PARAM.findall(lines[-1])}
    params = {k: v[1:-1] if v.startswith('"') and v.endswith('"') else v for k, v in params.items()}
    body = "\n".join(lines[:-1])
    prompt, _, negative = body.partition("Negative prompt:")
    sampler = params.get("Sampler")
    if sampler and params.get("Schedule type", "").lower() == "karras":
        sampler = f"{sampler} Karras"

    def number(key: str, kind: type) -> Any:
        try:
            return kind(float(params[key])) if kind is int else kind(params[key])
        except (KeyError, ValueError):
            return None

    return {
        "prompt": prompt.strip(),
        "negative_prompt": negative.strip(),
        "seed": number("Seed", int),
        "steps": number("Steps", int),
        "guidance": number("CFG scale", float),
        "scheduler": A1111_SAMPLERS.get((sampler or "").lower()),
        "strength": number("Denoising strength", float),
        "model": params.get("Model"),
        "sampler": sampler,
        "size": params.get("Size"),
        "source": "a1111",
    }
