"""Helper processes that do not outlive the process that started them.

A ``kill -9`` of ``galaxysd sky`` used to leave its render workers running
forever. Worker pools pass :func:`die_with_parent` as their initializer: on
Linux the kernel then sends the worker SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread watches the parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Make this (worker) process end when process ``parent`` ends.

    Parameters
    ----------
    parent : int
        The pid of the process that started the pool (``os.getpid()`` there,
        passed as ``initargs``), so a parent that died before this call is
        noticed too.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:  # pragma: no cover - no prctl: poll the parent instead
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the death signal was armed
        os._exit(1)


def _watch(parent: int) -> None:  # pragma: no cover - non-Linux only
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
