"""The app-level integrations the instrumentor installs next to the SDK patches: customer
propagation into threads and Celery tasks, and the LiteLLM callback. Each part is optional and
guarded: a part that cannot install is logged and skipped, never an error for the app.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmledger.config import Config
    from llmledger.pricing import Pricer
    from llmledger.telemetry import Telemetry

logger = logging.getLogger("llmledger.integrations")


class AppHooks:
    """What ``LLMLedgerInstrumentor`` installs beyond the SDK patches; ``uninstall`` undoes all."""

    def __init__(self) -> None:
        self._installed: list[Any] = []

    def install(self, config: Config, telemetry: Telemetry, pricer: Pricer) -> None:
        parts: list[Any] = []
        if config.propagate_to_threads:
            from llmledger.integrations.threads import ThreadPropagation

            parts.append(ThreadPropagation())
        if config.propagate_to_celery:
            from llmledger.integrations.celery import CeleryPropagation

            parts.append(CeleryPropagation())
        if config.providers is None or "litellm" in config.providers:
            from llmledger.integrations.litellm import LiteLLMIntegration

            parts.append(LiteLLMIntegration(telemetry, pricer, config.litellm_customer_from))
        for part in parts:
            try:
                part.install()
                self._installed.append(part)
            except Exception:
                logger.warning("llmledger: could not install %s", type(part).__name__, exc_info=True)

    def uninstall(self) -> None:
        while self._installed:
            part = self._installed.pop()
            try:
                part.uninstall()
            except Exception:
                logger.warning("llmledger: could not uninstall %s", type(part).__name__, exc_info=True)
