"""Which layer records a call: while a framework integration that records calls itself is running
one (LiteLLM), the SDK patches underneath stand aside, so that the call is counted once.

Decision: the outer layer wins. LiteLLM reports one normalised usage per logical call, for every
provider, including those that reach the provider through an instrumented SDK (Azure OpenAI goes
through ``openai``'s resource methods): there the SDK span is skipped, not the LiteLLM one.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable
from typing import Any

_owner: contextvars.ContextVar[str | None] = contextvars.ContextVar("llmledger_call_owner", default=None)


def sdk_call_owned() -> bool:
    """True while an integration that records the call itself is running it (SDK patches skip)."""
    return _owner.get() is not None


Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def owning_wrapper(owner: str, original: Callable[..., Any]) -> Wrapper:
    """A wrapt wrapper that marks the context as owned by ``owner`` for the call's duration."""
    if inspect.iscoroutinefunction(original):
        async def owned_async(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                              kwargs: dict[str, Any]) -> Any:
            token = _owner.set(owner)
            try:
                return await wrapped(*args, **kwargs)
            finally:
                _owner.reset(token)
        return owned_async

    def owned(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
        token = _owner.set(owner)
        try:
            return wrapped(*args, **kwargs)
        finally:
            _owner.reset(token)
    return owned
