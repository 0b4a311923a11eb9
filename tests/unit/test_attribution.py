"""Customer context: nesting, decorator, set/reset, baggage out, trusted baggage in."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context

import llmledger
from llmledger import attribution
from llmledger.attribution import current_customer


@pytest.fixture()
def baggage_settings():
    yield attribution.use_baggage_policy
    attribution.use_baggage_policy(attribution.DEFAULT_POLICY)


def test_nesting_restores_outer():
    with llmledger.customer("outer", plan="pro"):
        with llmledger.customer("inner", feature="x", region="eu"):
            ctx = current_customer()
            assert ctx is not None and ctx.id == "inner" and ctx.attrs == (("region", "eu"),)
        assert current_customer().id == "outer"
    assert current_customer() is None


def test_set_and_reset():
    token = llmledger.set_customer("c1", plan="free")
    assert current_customer().plan == "free"
    llmledger.reset_customer(token)
    assert current_customer() is None


def test_no_customer_block():
    with llmledger.customer("c1"), llmledger.no_customer():
        assert current_customer() is None


def test_decorated_async_functions_run_concurrently_with_their_own_customer():
    @llmledger.customer("a")
    async def a():
        await asyncio.sleep(0.01)
        return current_customer().id

    @llmledger.customer("b")
    async def b():
        await asyncio.sleep(0)
        return current_customer().id

    async def main():
        return await asyncio.gather(a(), b(), a())

    assert asyncio.run(main()) == ["a", "b", "a"]


def test_async_with():
    async def main():
        async with llmledger.customer("c-async"):
            return current_customer().id
    assert asyncio.run(main()) == "c-async"


@pytest.mark.parametrize(("args", "error"), [(("",), ValueError), ((None,), ValueError)])
def test_bad_customer_id(args, error):
    with pytest.raises(error):
        llmledger.customer(*args)


def test_bad_attribute_type():
    with pytest.raises(TypeError, match="customer attribute 'tags'"):
        llmledger.customer("c", tags=["a"])


def test_baggage_is_propagated_only_when_enabled(baggage_settings):
    with llmledger.customer("c1", plan="pro"):
        assert baggage.get_baggage("customer.id") is None
    baggage_settings(attribution.BaggagePolicy(propagate_baggage=True))
    with llmledger.customer("c1", plan="pro", user="u1"):
        assert baggage.get_baggage("customer.id") == "c1"
        assert baggage.get_baggage("customer.plan") == "pro"
        assert baggage.get_baggage("user.id") == "u1"
    assert baggage.get_baggage("customer.id") is None


def test_inbound_baggage_is_ignored_unless_trusted(baggage_settings):
    token = otel_context.attach(baggage.set_baggage("customer.id", "evil-tenant"))
    try:
        assert current_customer() is None
        baggage_settings(attribution.BaggagePolicy(trust_inbound_baggage=True))
        assert current_customer().id == "evil-tenant"
        with llmledger.customer("explicit"):
            assert current_customer().id == "explicit"  # an explicit scope always wins
    finally:
        otel_context.detach(token)
