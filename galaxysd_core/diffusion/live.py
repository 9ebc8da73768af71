"""Live preview: one fast image regenerated in the background whenever settings change.

The Compose page's Live mode asks for a preview on every change (a tag, a
weight, the seed, the guidance). A :class:`LivePreview` keeps one worker
thread and one pending request: a newer request replaces a pending one, and
the image being sampled is abandoned at its next sampler step, so a burst of
changes never queues work and the last settings are always the ones drawn.
The preview is :data:`LIVE_STEPS` steps of DPM++ 2M at the same seed: the
full-quality batch stays on Generate.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from galaxysd_core.errors import Cancelled, GalaxySDError
from galaxysd_core.jobs.progress import Progress

log = logging.getLogger(__name__)

__all__ = ["LIVE_SCHEDULER", "LIVE_STEPS", "LivePreview", "LiveResult", "render_preview"]

#: Sampler and steps of a preview: DPM++ 2M converges in few steps.
LIVE_SCHEDULER = "dpmpp_2m"
LIVE_STEPS = 5
# A worker with nothing to do for this long ends; the next request starts another.
_IDLE_S = 60.0

Render = Callable[[Mapping[str, Any], Progress], Any]


@dataclass(frozen=True)
class LiveResult:
    """The last finished preview: its settings, and the image or the error it ended with."""

    settings: Mapping[str, Any]
    image: Any | None
    error: str | None
    seconds: float


class _Superseded(Progress):
    """Stops a preview's sampling once a newer request has come in."""

    def __init__(self, preview: LivePreview, ticket: int) -> None:
        self.preview, self.ticket = preview, ticket

    def should_stop(self) -> bool:
        return self.preview._ticket != self.ticket


class LivePreview:
    """One background worker drawing the latest requested settings.

    Parameters
    ----------
    render : callable
        ``render(settings, progress) -> image``; it should call
        ``progress.check_stop()`` between steps (``generate`` does), which
        raises :class:`~galaxysd_core.errors.Cancelled` when superseded.
    """

    def __init__(self, render: Render) -> None:
        self._render = render
        self._lock = threading.Condition()
        self._ticket = 0
        self._wanted: dict[str, Any] | None = None
        self._pending: tuple[int, dict[str, Any]] | None = None
        self._result: LiveResult | None = None
        self._thread: threading.Thread | None = None

    def request(self, settings: Mapping[str, Any]) -> bool:
        """Ask for a preview of ``settings``; returns False when they are already asked for."""
        with self._lock:
            if dict(settings) == self._wanted:
                return False
            self._ticket += 1
            self._wanted = dict(settings)
            self._pending = (self._ticket, dict(settings))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="live-preview", daemon=True)
                self._thread.start()
            self._lock.notify()
            return True

    @property
    def result(self) -> LiveResult | None:
        """The last finished preview (of the latest request or an older one), or None."""
        return self._result

    @property
    def busy(self) -> bool:
        """Whether the latest request is not drawn yet."""
        result = self._result
        return self._wanted is not None and (result is None or result.settings != self._wanted)

    def wait(self, timeout: float) -> LiveResult | None:
        """Wait up to ``timeout`` seconds for the latest request's preview; return the result."""
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.02)
        return self._result

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._pending is None and not self._lock.wait_for(
                    lambda: self._pending is not None, timeout=_IDLE_S
                ):
                    self._thread = None
                    return
                assert self._pending is not None  # wait_for returned True
                ticket, settings = self._pending
                self._pending = None
            start = time.perf_counter()
            image, error = None, None
            try:
                image = self._render(settings, _Superseded(self, ticket))
            except Cancelled:
                continue  # a newer request is pending
            except GalaxySDError as exc:
                error = str(exc)
            except Exception as exc:  # a preview must never kill its worker
                log.exception("live preview failed")
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if ticket == self._ticket:
                    self._result = LiveResult(settings, image, error, time.perf_counter() - start)


def render_preview(
    pipeline: Any, settings: Mapping[str, Any], progress: Progress | None = None
) -> Any:
    """One preview image: :data:`LIVE_STEPS` DPM++ 2M steps at the settings' seed.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionPipeline
    settings : mapping
        ``prompt``, ``seed``, ``guidance``; optional ``negative_prompt``,
        ``reference`` (a path) and ``strength``.
    progress : Progress, optional
        Lets a newer request stop this one.

    Returns
    -------
    PIL.Image.Image
    """
    from galaxysd_core.diffusion.sampling import generate

    strength = float(settings.get("strength") or 1.0)
    reference = settings.get("reference")
    # img2img runs only the last ``strength`` part of the steps: ask for enough
    # that LIVE_STEPS of them actually run.
    steps = LIVE_STEPS if reference is None else math.ceil(LIVE_STEPS / strength)
    return generate(
        pipeline,
        settings["prompt"],
        n=1,
        seed=int(settings["seed"]),
        steps=steps,
        guidance=float(settings["guidance"]),
        scheduler=LIVE_SCHEDULER,
        negative_prompt=settings.get("negative_prompt") or "",
        reference=reference,
        strength=strength,
        progress=progress,
    ).images[0]
