"""Turn what a request resolver returns into a customer scope."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from llmledger.attribution import customer
from llmledger.usage import CustomerContext

ResolvedCustomer = None | str | CustomerContext | Mapping[str, Any]
"""A resolver answers None (no customer), a customer id, a CustomerContext, or a mapping with
``id`` and optionally ``plan``, ``feature``, ``user`` and extra attributes."""


def scope_for(resolved: ResolvedCustomer) -> AbstractContextManager[Any]:
    if resolved is None:
        return nullcontext()
    if isinstance(resolved, str):
        return customer(resolved)
    if isinstance(resolved, CustomerContext):
        return customer(resolved.id, resolved.plan, resolved.feature, resolved.user,
                        **dict(resolved.attrs))
    if isinstance(resolved, Mapping):
        fields = dict(resolved)
        customer_id = fields.pop("id", None)
        if not isinstance(customer_id, str):
            raise TypeError(f"the customer resolver returned a mapping without a string 'id': {resolved!r}")
        return customer(customer_id, **fields)
    raise TypeError(f"the customer resolver returned {type(resolved).__name__}; expected None, str, "
                    "CustomerContext or a mapping with 'id'")
