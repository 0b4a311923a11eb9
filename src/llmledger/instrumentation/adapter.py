"""What a provider adapter is: patch targets as data, plus pure SDK-object -> Usage mapping.

An adapter knows nothing about OpenTelemetry, prices or the call in flight. The generic lifecycle
(``lifecycle.py``) calls it before the SDK call (``request_info``), after it (``stream_place``: is
there a stream, and where does it live?), for a non-streamed result (``response_info``) and per
stream chunk (``StreamHandler``); ``streams.py`` does the rest. Every adapter method runs guarded:
an exception in it is logged and the user's call goes on untouched.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

if TYPE_CHECKING:
    from llmledger.endpoints import EndpointResolver


class MalformedUsage(ValueError):
    """The provider returned a usage field llmledger cannot read as a token count."""


CallStyle = Literal["sync", "async", "sync_gen", "async_gen"]
"""How the patched callable runs: a plain function, a coroutine function (or one returning an
awaitable), a generator function (work starts on first ``next``), an async generator function."""


@dataclass(frozen=True, slots=True)
class PatchTarget:
    module: str
    qualname: str
    """``Class.method`` inside ``module``."""
    operation: str
    """``gen_ai.operation.name``: chat, generate_content, text_completion, embeddings."""
    style: CallStyle = "sync"
    kind: str = ""
    """Adapter-specific discriminator (e.g. ``responses`` vs ``chat``)."""
    role: Literal["call", "hop"] = "call"
    """``call``: one LLM call, one span. ``hop``: a private per-HTTP-request method inside a call
    (e.g. google-genai's function-calling rounds); patched with ``adapter.hop_wrapper``, no span."""


@dataclass(slots=True)
class RequestInfo:
    provider: str
    model: str | None
    stream: bool = False
    server_address: str | None = None
    server_port: int | None = None
    modifiers: PriceModifiers = NO_MODIFIERS
    kwargs: dict[str, Any] | None = None
    """Replacement keyword arguments for the SDK call (e.g. ``include_usage`` asked for)."""
    state: dict[str, Any] = field(default_factory=dict)
    """Adapter state carried from the request to the response/stream handling."""
    around_call: contextlib.AbstractContextManager[Any] | None = None
    """Entered around the SDK call itself (google-genai makes its hop log current with it)."""


@dataclass(frozen=True, slots=True)
class StreamPlace:
    """Where a result's stream lives; the lifecycle observes it there."""

    kind: Literal["result", "item", "manager", "raw"] = "result"
    """``result``: the result is the stream (an SDK ``Stream``, an event stream, a generator);
    ``item``: ``result[name]`` (Bedrock's response dict); ``manager``: the result is a (sync or async)
    context manager whose enter sends the request, and the stream is the entered value's attribute
    ``name`` (Anthropic's ``messages.stream()``, Cohere's raw ``chat_stream``). If it is not there,
    the call ends at exit with ``response_info`` of the entered value. ``raw``: the result is a raw
    HTTP response whose body the user reads later (``raw_responses.py``); what they read is given
    to ``body_info`` or, for a streamed request, to the stream handler."""
    name: str = ""


STREAM_IS_RESULT = StreamPlace()
RAW_BODY = StreamPlace("raw")


@dataclass(slots=True)
class ResponseInfo:
    usage: Usage | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: tuple[str, ...] = ()
    modifiers: PriceModifiers | None = None
    """Price modifiers reported by the response; they win over the request's."""
    provider_cost: Decimal | None = None
    """The provider's own bill for the call in USD, when its response carries it (OpenRouter, xAI)."""


class StreamHandler(ABC):
    """Per-stream accumulator: looks at each chunk, answers the final ResponseInfo."""

    @abstractmethod
    def on_chunk(self, chunk: Any) -> bool:
        """Note what the chunk carries; return True to hide it from the user (rare)."""

    @abstractmethod
    def result(self) -> ResponseInfo:
        """What the stream said so far (called once, at its end, however it ended)."""


RESPONSE_LOST = object()
"""``error_result``: a response arrived (the call is billed) but the error does not hold it."""


class ProviderAdapter(ABC):
    """One SDK. Subclasses set the class attributes and implement the mapping methods."""

    name: str
    """Config key: ``openai``, ``anthropic``, ``google_genai``, ``bedrock``, ..."""
    distribution: str
    """The PyPI distribution whose version is checked (``openai``)."""
    import_name: str
    """A module whose import tells the SDK is installed (``openai``)."""
    supported: str
    """PEP 440 specifier of tested versions, e.g. ``>=3.57,<4``."""
    targets: tuple[PatchTarget, ...] = ()

    @abstractmethod
    def request_info(self, target: PatchTarget, instance: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> RequestInfo | None:
        """Read the request (never mutate ``kwargs``: return replacements in ``RequestInfo.kwargs``).

        None means "not an LLM call" (a shared patch point such as botocore's): it passes through.
        """

    @abstractmethod
    def response_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        """Read a non-streamed result."""

    def body_info(self, target: PatchTarget, request: RequestInfo, body: Any) -> ResponseInfo:
        """Read the body of a raw response once the user has read it (an SDK object, or the decoded
        JSON as ``raw_responses.Fields``)."""
        return self.response_info(target, request, body)

    def stream_place(self, target: PatchTarget, request: RequestInfo, result: Any) -> StreamPlace | None:
        """Where the result's stream lives; None for a non-streamed result."""
        return STREAM_IS_RESULT if request.stream else None

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        """A new handler for one stream; ``result``: what the SDK call returned (None for generator
        functions, whose stream starts later)."""
        raise NotImplementedError(f"{self.name} has no stream handler for {target.qualname}")

    def stream_step(self, target: PatchTarget, request: RequestInfo) -> Any:
        """A per-step scope for a generator stream (see ``streams.Step``), or None."""
        return None

    def error_result(self, target: PatchTarget, request: RequestInfo, error: BaseException) -> Any:
        """For an error the SDK raised about a response it received (it refused the answer, e.g.
        OpenAI's ``parse()``): the response, to read like a result, or ``RESPONSE_LOST`` when the
        error does not hold it. None otherwise (the usual case: the SDK's own error of a call)."""
        return None

    def configured(self, endpoints: EndpointResolver) -> ProviderAdapter:
        """This adapter under one instrumentation's settings (the OpenAI adapter names its clients'
        endpoints with ``endpoints``); the others have none and return themselves."""
        return self

    def hop_wrapper(self, target: PatchTarget) -> Any:
        """The wrapt wrapper for a ``role="hop"`` target (adapters that declare hop targets)."""
        raise NotImplementedError(f"{self.name} declares no hop wrapper for {target.qualname}")
