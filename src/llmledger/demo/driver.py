"""Makes the demo's planned calls through the real provider SDKs, against the local fake provider.

Each call runs inside ``llmledger.customer(...)`` (whose work it is) and ``simulated_time(...)``
(which day it simulates), exactly as an application would attribute its calls. Provider errors
(the scripted rate limits, or a provider that cannot be reached) are caught here, after llmledger
has recorded them as failed calls, and described as what they are.

Without the Anthropic SDK the Claude workloads run on OpenAI models (``FALLBACK_MODELS``), chosen
so that the month still has its unprofitable customer.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import llmledger
from llmledger.demo.clock import simulated_time
from llmledger.demo.scenario import PlannedCall

_API_KEY = "demo-key-not-a-real-one"
# Stand-ins for the real content: the x-fake-* headers tell the provider what token counts to
# report, so the demo need not send megabytes of text.
_DOCUMENT = "[the uploaded document: {tokens:,} tokens]"
_QUESTION = "What does the customer need to know?"
FALLBACK_MODELS = {"summary": "gpt-5.5", "cached_qa": "gpt-4o"}
"""Workload kind -> the OpenAI model it runs on when the Anthropic SDK is missing. Summaries move
to a model dearer than Claude Sonnet 4.6 ($5/$30 per million tokens against $3/$15), not to a
cheaper one: on GPT-4o the $19 power user would stay profitable and the demo would lose its point."""


def openai_available() -> bool:
    """True when the openai SDK (which every demo run needs) is installed."""
    return importlib.util.find_spec("openai") is not None


def anthropic_available() -> bool:
    """True when the anthropic SDK is installed and llmledger has an adapter for it."""
    if importlib.util.find_spec("anthropic") is None:
        return False
    from llmledger.instrumentation.providers import load_adapters

    return any(adapter.name == "anthropic" for adapter in load_adapters())


class Clients:
    """The SDK clients, pointed at the fake provider."""

    def __init__(self, base_url: str, *, use_anthropic: bool) -> None:
        import httpx2
        import openai

        # One connection per request: the fake provider's HTTP server writes headers and body
        # separately, and on a kept-alive connection Nagle's algorithm meets the client's
        # delayed ACK (~40 ms a call). A fresh connection is acknowledged at once.
        limits = httpx2.Limits(max_keepalive_connections=0)
        self.openai = openai.OpenAI(base_url=f"{base_url}/v1", api_key=_API_KEY, max_retries=0,
                                    http_client=openai.DefaultHttpxClient(limits=limits))
        self.anthropic: Any = None
        if use_anthropic:
            import anthropic

            self.anthropic = anthropic.Anthropic(base_url=base_url, api_key=_API_KEY, max_retries=0,
                                                 http_client=anthropic.DefaultHttpxClient(limits=limits))
        self._errors: tuple[type[Exception], ...] = (openai.APIError,)
        if self.anthropic is not None:
            import anthropic

            self._errors += (anthropic.APIError,)

    def model_for(self, call: PlannedCall) -> tuple[str, str]:
        """(provider, model) the call really uses: Claude workloads move to OpenAI without the SDK."""
        workload = call.workload
        if workload.provider == "anthropic" and self.anthropic is None:
            return "openai", FALLBACK_MODELS.get(workload.kind, "gpt-4o")
        return workload.provider, workload.model

    def close(self) -> None:
        self.openai.close()
        if self.anthropic is not None:
            self.anthropic.close()

    def perform(self, call: PlannedCall) -> str | None:
        """Make one call as the app would; None when it succeeded, else what went wrong."""
        with llmledger.customer(call.customer, plan=call.plan, feature=call.workload.feature,
                                user=call.user), simulated_time(call.at):
            try:
                self._dispatch(call)
            except self._errors as exc:
                return describe_failure(exc)
        return None

    def _dispatch(self, call: PlannedCall) -> None:
        workload, headers = call.workload, call.headers()
        kind = workload.kind
        if kind == "embedding":
            self.openai.embeddings.create(model=workload.model, input=[_DOCUMENT.format(
                tokens=call.input_tokens)], extra_headers=headers)
        elif kind == "reasoning":
            self.openai.responses.create(model=workload.model, input=_QUESTION,
                                         reasoning={"effort": "high"}, extra_headers=headers)
        elif kind == "chat" or self.anthropic is None:
            self._openai_chat(call, headers)
        elif kind == "summary":
            self.anthropic.messages.create(
                model=workload.model, max_tokens=2_048, extra_headers=headers,
                messages=[{"role": "user", "content": "Summarise this document:\n"
                           + _DOCUMENT.format(tokens=call.input_tokens)}])
        else:  # cached_qa: the knowledge base is a cached system prompt (1h TTL)
            self.anthropic.messages.create(
                model=workload.model, max_tokens=1_024, extra_headers=headers,
                system=[{"type": "text", "text": _DOCUMENT.format(tokens=call.input_tokens),
                         "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
                messages=[{"role": "user", "content": _QUESTION}])

    def _openai_chat(self, call: PlannedCall, headers: dict[str, str]) -> None:
        messages = [{"role": "system", "content": "You are a helpful support assistant."},
                    {"role": "user", "content": _QUESTION}]
        model = self.model_for(call)[1]
        if call.stream:
            for _chunk in self.openai.chat.completions.create(model=model, messages=messages,  # type: ignore[arg-type]
                                                              stream=True, extra_headers=headers):
                pass
        else:
            self.openai.chat.completions.create(model=model, messages=messages,  # type: ignore[arg-type]
                                                extra_headers=headers)


def describe_failure(exc: Exception) -> str:
    """What a failed call was, in words (the SDKs' exception classes share these names)."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status == 429:
        return "rate-limit error (HTTP 429)"
    if isinstance(status, int):
        return f"HTTP {status} error ({name})"
    if name == "APITimeoutError":
        return "timeout (the provider did not answer in time)"
    if name == "APIConnectionError":
        return "connection error (the provider could not be reached)"
    return f"error ({name})"
