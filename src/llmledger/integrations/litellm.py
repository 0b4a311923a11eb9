"""LiteLLM: one priced, attributed span per call, for every provider LiteLLM speaks to.

LiteLLM does not go through the provider SDKs' resource methods (OpenAI models are sent through
the client's ``post()``, Anthropic models through LiteLLM's own HTTP client), so the SDK patches
never see its calls. Instead llmledger registers a LiteLLM ``CustomLogger`` callback, the hook
every call passes whatever the provider (SDK, Router and proxy alike):

- ``log_pre_api_call`` runs on the caller's thread before each request: the customer current
  there is noted under the call's ``litellm_call_id`` (LiteLLM runs success callbacks of
  streams on its own threads, where the caller's context is gone);
- the success and failure events turn LiteLLM's normalised usage into a CallRecord, priced by
  llmledger's own pricing (never LiteLLM's ``response_cost``) and written by telemetry.

Customer: ``llmledger.customer(...)`` first; else, when ``attribution.litellm_customer_from``
is ``user`` or ``metadata``, LiteLLM's own field (off by default: on a LiteLLM proxy these come
from the client).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import wrapt

from llmledger.attribution import current_customer
from llmledger.instrumentation.adapter import MalformedUsage
from llmledger.integrations.litellm_usage import (
    OPERATIONS,
    customer_from_litellm,
    modifiers_from,
    provider_name,
    server_of,
    usage_from,
)
from llmledger.integrations.ownership import owning_wrapper
from llmledger.patches import unwrap_all
from llmledger.usage import CallRecord, CustomerContext

if TYPE_CHECKING:
    from llmledger.pricing import Pricer
    from llmledger.telemetry import Telemetry

logger = logging.getLogger("llmledger.integrations")

_MAX_PENDING = 10_000
"""Calls started but not yet ended whose customer is held; older ones are forgotten first."""
_warned: set[str] = set()


def _ns(value: object, default: int) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1e9)
    if isinstance(value, (int, float)) and value > 0:
        return int(value * 1e9)
    return default


def _call_id(kwargs: dict[str, Any]) -> str | None:
    call_id = kwargs.get("litellm_call_id") or (kwargs.get("litellm_params") or {}).get("litellm_call_id")
    return call_id if isinstance(call_id, str) else None


class LedgerCallback:
    """What the LiteLLM callback does, apart from LiteLLM's base class (mixed in at install)."""

    def __init__(self, telemetry: Telemetry, pricer: Pricer, customer_from: str) -> None:
        self._telemetry, self._pricer, self._customer_from = telemetry, pricer, customer_from
        self._pending: OrderedDict[str, CustomerContext | None] = OrderedDict()
        self._lock = threading.Lock()
        self.active = True

    # ---- LiteLLM hooks ---------------------------------------------------------------------------
    def log_pre_api_call(self, model: Any, messages: Any, kwargs: dict[str, Any]) -> None:
        try:
            call_id = _call_id(kwargs)
            if call_id is None or not self.active:
                return
            with self._lock:
                self._pending[call_id] = current_customer()
                while len(self._pending) > _MAX_PENDING:
                    self._pending.popitem(last=False)
        except Exception:
            logger.debug("llmledger: LiteLLM pre-call hook failed", exc_info=True)

    def log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    def log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        self._record(kwargs, None, start_time, end_time, kwargs.get("exception") or Exception())

    async def async_log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    async def async_log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._record(kwargs, None, start_time, end_time, kwargs.get("exception") or Exception())

    # ---- the record ------------------------------------------------------------------------------
    def _customer(self, kwargs: dict[str, Any]) -> CustomerContext | None:
        call_id = _call_id(kwargs)
        with self._lock:
            noted = self._pending.pop(call_id, None) if call_id is not None else None
        customer = noted or current_customer()
        if customer is None and self._customer_from != "none":
            customer = customer_from_litellm(kwargs, self._customer_from)
        return customer

    def _record(self, kwargs: dict[str, Any], response: Any, start_time: Any, end_time: Any,
                error: BaseException | None) -> None:
        """Never raises: LiteLLM's own logging goes on whatever happens here."""
        try:
            if not self.active:
                return
            operation = OPERATIONS.get(str(kwargs.get("call_type") or ""))
            if operation is None:
                return
            litellm_params = kwargs.get("litellm_params") or {}
            address, port = server_of(litellm_params.get("api_base") or kwargs.get("api_base"))
            now = int(datetime.now().timestamp() * 1e9)
            model = kwargs.get("model")
            record = CallRecord(
                provider=provider_name(kwargs.get("custom_llm_provider")
                                       or litellm_params.get("custom_llm_provider")),
                operation=operation, request_model=model if isinstance(model, str) else None,
                stream=bool(kwargs.get("stream")), start_time_ns=_ns(start_time, now),
                server_address=address, server_port=port, customer=self._customer(kwargs))
            record.end_time_ns = _ns(end_time, now)
            if record.stream and kwargs.get("completion_start_time") is not None:
                record.first_chunk_time_ns = _ns(kwargs.get("completion_start_time"), record.end_time_ns)
            if error is not None:
                record.error_type = type(error).__qualname__
            else:
                self._read_response(record, response)
            span = self._telemetry.start_span(record)
            self._telemetry.record(record, span)
        except Exception:
            logger.debug("llmledger: could not record a LiteLLM call", exc_info=True)

    def _read_response(self, record: CallRecord, response: Any) -> None:
        response_model = getattr(response, "model", None)
        record.response_model = response_model if isinstance(response_model, str) else None
        response_id = getattr(response, "id", None)
        record.response_id = response_id if isinstance(response_id, str) else None
        reasons = [getattr(choice, "finish_reason", None) for choice in getattr(response, "choices", ()) or ()]
        record.finish_reasons = tuple(r for r in reasons if isinstance(r, str))
        try:
            record.usage = usage_from(response)
        except MalformedUsage as exc:
            key = f"{record.provider}/{record.request_model}"
            if key not in _warned:
                _warned.add(key)
                logger.warning("llmledger: LiteLLM returned usage it cannot read for %s (%s); the call "
                               "is recorded without usage", key, exc)
            return
        modifiers = modifiers_from(response)
        if modifiers is not None:
            record.modifiers = modifiers
        if record.usage is not None:
            record.cost = self._pricer.price(record.provider, record.response_model or record.request_model,
                                             record.usage, record.modifiers, record.start_time_ns)


ENTRY_POINTS: tuple[tuple[str, str], ...] = tuple(
    (module, name) for module in ("litellm", "litellm.main")
    for name in ("completion", "acompletion", "embedding", "aembedding", "text_completion",
                 "atext_completion", "responses", "aresponses"))
"""(module, function): LiteLLM's entry points, marked as owning their call so that an instrumented
SDK underneath (Azure OpenAI goes through ``openai``'s resource methods) does not count it again.
A name missing from the installed LiteLLM is skipped."""

_CALLBACK_LISTS = ("callbacks", "input_callback", "success_callback", "failure_callback",
                   "_async_input_callback", "_async_success_callback", "_async_failure_callback")


class LiteLLMIntegration:
    """Registers the callback with LiteLLM when it is installed; ``uninstall`` removes it."""

    def __init__(self, telemetry: Telemetry, pricer: Pricer, customer_from: str) -> None:
        self._telemetry, self._pricer, self._customer_from = telemetry, pricer, customer_from
        self.callback: Any = None
        self._patched: list[tuple[Any, str]] = []
        self._wanted = False

    def install(self) -> None:
        """Hook in when LiteLLM is imported (now, if it already is): importing it here would cost
        every app that merely has it installed LiteLLM's slow import and its cost-map download."""
        if self._wanted or importlib.util.find_spec("litellm") is None:
            return
        self._wanted = True
        wrapt.register_post_import_hook(self._on_import, "litellm")

    def _on_import(self, litellm: Any) -> None:
        if not self._wanted or self.callback is not None:
            return  # uninstalled before LiteLLM was imported (wrapt keeps the hook registered)
        try:
            self._attach(litellm)
        except Exception:
            logger.warning("llmledger: could not hook into LiteLLM", exc_info=True)

    def _attach(self, litellm: Any) -> None:
        from litellm.integrations.custom_logger import CustomLogger

        class LLMLedgerLiteLLMCallback(LedgerCallback, CustomLogger):
            def __init__(self, telemetry: Telemetry, pricer: Pricer, customer_from: str) -> None:
                CustomLogger.__init__(self)
                LedgerCallback.__init__(self, telemetry, pricer, customer_from)

        self.callback = LLMLedgerLiteLLMCallback(self._telemetry, self._pricer, self._customer_from)
        litellm.callbacks.append(self.callback)
        for module_name, name in ENTRY_POINTS:
            module = importlib.import_module(module_name)
            original = vars(module).get(name)
            if original is None or isinstance(original, wrapt.FunctionWrapper):
                logger.debug("llmledger: %s.%s missing or already wrapped; skipped", module_name, name)
                continue
            wrapt.wrap_function_wrapper(module, name, owning_wrapper("litellm", original))
            self._patched.append((module, name))

    def uninstall(self) -> None:
        self._wanted = False
        if self.callback is None:
            return
        import litellm

        self.callback.active = False
        unwrap_all(self._patched)
        for name in _CALLBACK_LISTS:
            registered = getattr(litellm, name, None)
            if isinstance(registered, list):
                registered[:] = [cb for cb in registered if cb is not self.callback]
        self.callback = None
