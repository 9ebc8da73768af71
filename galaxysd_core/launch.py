"""The argument list and environment that run a ``galaxysd`` task in its own process(es).

One process: ``python -m galaxysd_core.cli <words> --config FILE``. Several:
the same module under ``accelerate launch``, which spawns one worker per
process (torchrun; gloo on CPU, NCCL on GPUs). The job supervisor starts
every background job this way, and the demo build its UNet stage when it
trains data-parallel (``DemoBuildConfig.unet_processes``).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def cli_command(words: Sequence[str], config: Path, num_processes: int = 1) -> list[str]:
    """The argument list that runs ``galaxysd <words> --config <config>``.

    Parameters
    ----------
    words : sequence of str
        The sub-command words, e.g. ``["finetune"]`` or ``["demo", "build"]``.
    config : Path
        The task's saved config (``TaskConfig.save``).
    num_processes : int, default 1
        More than one runs the task under ``accelerate launch``.
    """
    task = ["-m", "galaxysd_core.cli", *words, "--config", str(config)]
    if num_processes <= 1:
        return [sys.executable, *task]
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        str(num_processes),
        "--num_machines",
        "1",
        "--main_process_port",
        str(free_port()),
        "--mixed_precision",
        "no",  # the task's own config (e.g. FinetuneConfig.mixed_precision) decides
        "--dynamo_backend",
        "no",
        *task,
    ]


def cli_env(num_processes: int, base: Mapping[str, str]) -> dict[str, str]:
    """The task's environment: ``base`` plus what a multi-process run on CPUs needs.

    ``accelerate launch --multi_gpu`` starts the workers with torchrun; on a
    machine without NVIDIA GPUs they only form one process group (gloo) when
    ``ACCELERATE_USE_CPU`` is set, otherwise each would train alone.
    """
    env = dict(base)
    if num_processes > 1 and not nvidia_gpu_present():
        env.setdefault("ACCELERATE_USE_CPU", "true")
    return env


def nvidia_gpu_present() -> bool:
    """Whether the NVIDIA driver's device nodes exist (cheap: no torch import)."""
    return any(Path("/dev").glob("nvidia[0-9]*"))


def free_port() -> int:
    """A free local TCP port: two multi-process runs at once must not share torchrun's default."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
