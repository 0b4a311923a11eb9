"""Flush the ledger on SIGTERM, then do exactly what the process did before.

Exit hooks do not run when SIGTERM's default action kills a plain Python process, so the last
second of queued ledger rows would be lost. When ``init()`` opened the ledger (and runs in the main
thread) it installs this handler: write the queued rows (bounded by ``shutdown_timeout``), then
chain the previous handler: call it if the app had one, ignore the signal if it was ignored, and
otherwise restore the default action and re-send the signal, so the process dies of SIGTERM as
before. An app (or server such as gunicorn) that sets its own handler afterwards replaces this one:
it should call ``llmledger.flush()`` (or ``shutdown()``) from it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("llmledger")

_installed: list[tuple[Callable[[int, FrameType | None], None], Any]] = []
"""The handler llmledger installed and the one it replaced (at most one entry)."""


def install(flush: Callable[[float], object], timeout: float) -> bool:
    """Install the flushing handler for SIGTERM; False where it cannot be (not the main thread, or a
    handler not set from Python)."""
    uninstall()
    if threading.current_thread() is not threading.main_thread():
        return False
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None:
        return False

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        try:
            flush(timeout)
        except Exception:
            logger.debug("llmledger: flushing the ledger on SIGTERM failed", exc_info=True)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_IGN:
            return
        else:  # the default action: die of SIGTERM, as without llmledger
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    _installed.append((on_sigterm, previous))
    return True


def uninstall() -> None:
    """Put the previous handler back, unless someone replaced ours since."""
    while _installed:
        handler, previous = _installed.pop()
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, previous)
