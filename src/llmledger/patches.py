"""Undoing llmledger's wrapt patches: shared by the instrumentor and the integrations (threads,
LiteLLM), which each keep the list of ``(owner, name)`` they wrapped."""

from __future__ import annotations

from typing import Any

import wrapt


def unwrap_all(patched: list[tuple[Any, str]]) -> None:
    """Restore each wrapped attribute, newest first, and empty the list. An attribute someone else
    replaced since is left as it is."""
    for owner, name in reversed(patched):
        current = vars(owner).get(name)
        if isinstance(current, wrapt.FunctionWrapper):
            setattr(owner, name, current.__wrapped__)
    patched.clear()
