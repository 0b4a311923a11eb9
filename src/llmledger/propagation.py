"""Whether the requests an LLM call sends carry llmledger's trace context (``traceparent``, baggage).

llmledger makes its span current around the SDK call (so the SDK's own spans and an instrumented
HTTP client nest under it). An SDK that propagates trace context itself (anthropic 2.x does, by
default) or an instrumented HTTP client would then send our trace and span ids, and any baggage, to
the provider: a third party. ``propagate_trace_context: false`` (the default) keeps them out: the
global propagator is wrapped so that it injects nothing while llmledger's call context is current,
and injects exactly as before everywhere else. ``true`` leaves propagation to the SDK and the app.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context, create_key, get_value, set_value
from opentelemetry.propagate import get_global_textmap, set_global_textmap
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)

_NO_PROPAGATION = create_key("llmledger-no-propagation")


class QuietPropagator(TextMapPropagator):
    """The app's propagator, silent inside an llmledger call whose requests must not propagate."""

    def __init__(self, inner: TextMapPropagator) -> None:
        self.inner = inner

    def inject(self, carrier: CarrierT, context: Context | None = None,
               setter: Setter[CarrierT] = default_setter) -> None:
        if get_value(_NO_PROPAGATION, context) is True:
            return
        self.inner.inject(carrier, context, setter)

    def extract(self, carrier: CarrierT, context: Context | None = None,
                getter: Getter[CarrierT] = default_getter) -> Context:
        return self.inner.extract(carrier, context, getter)

    @property
    def fields(self) -> set[str]:
        return self.inner.fields


def install_quiet_propagator(propagate: bool) -> None:
    """Unless ``propagate_trace_context``, wrap the app's global propagator (at instrument time) so
    that it honours :func:`call_context`'s quiet flag."""
    if not propagate and not isinstance(get_global_textmap(), QuietPropagator):
        set_global_textmap(QuietPropagator(get_global_textmap()))


def call_context(span: Any, propagate: bool) -> Context:
    """The context to make current during the SDK call: the call's span, quiet unless ``propagate``."""
    context = trace.set_span_in_context(span)
    if not propagate:
        context = set_value(_NO_PROPAGATION, True, context)
    return context
