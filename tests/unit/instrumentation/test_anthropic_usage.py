"""Anthropic adapter: usage accounting, price modifiers, stream merging and provider names,
on the SDK's own types (no HTTP)."""

from __future__ import annotations

import pytest
from anthropic.types import Message, RawMessageDeltaEvent, RawMessageStartEvent
from anthropic.types import Usage as SDKUsage
from anthropic.types.beta import BetaUsage

from llmledger.instrumentation.adapter import MalformedUsage, RequestInfo
from llmledger.instrumentation.providers import anthropic as adapter
from llmledger.usage import NO_MODIFIERS, Iteration, PriceModifiers, Usage


def _request(modifiers: PriceModifiers = NO_MODIFIERS) -> RequestInfo:
    return RequestInfo(provider="anthropic", model="claude-haiku-4-5", modifiers=modifiers)


def test_input_tokens_get_cache_reads_and_writes_added():
    usage = SDKUsage(input_tokens=600, output_tokens=200, cache_read_input_tokens=300,
                     cache_creation_input_tokens=100,
                     cache_creation={"ephemeral_5m_input_tokens": 60, "ephemeral_1h_input_tokens": 40},
                     output_tokens_details={"thinking_tokens": 50},
                     server_tool_use={"web_search_requests": 2, "web_fetch_requests": 1})
    assert adapter.message_usage(usage) == Usage(
        input_tokens=1000, output_tokens=200, cache_read_tokens=300, cache_write_tokens=100,
        cache_write_1h_tokens=40, reasoning_tokens=50, web_searches=2)


def test_minimal_usage_and_no_usage():
    assert adapter.message_usage(SDKUsage(input_tokens=12, output_tokens=3)) == Usage(12, 3)
    assert adapter.message_usage(None) is None


def test_cache_creation_breakdown_without_the_total_still_counts():
    usage = {"input_tokens": 10, "output_tokens": 1,
             "cache_creation": {"ephemeral_5m_input_tokens": 7, "ephemeral_1h_input_tokens": 5}}
    result = adapter.message_usage(usage)
    assert result is not None
    assert (result.input_tokens, result.cache_write_tokens, result.cache_write_1h_tokens) == (22, 12, 5)


def test_compaction_iterations_are_billed_on_top_of_the_totals():
    usage = BetaUsage(input_tokens=100, output_tokens=20, cache_read_input_tokens=0,
                      iterations=[
                          {"type": "compaction", "input_tokens": 1800, "output_tokens": 35,
                           "cache_read_input_tokens": 200, "cache_creation_input_tokens": 0},
                          {"type": "message", "input_tokens": 100, "output_tokens": 20,
                           "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
                      ])
    # top level (100 in / 20 out) + the compaction run (1800 + 200 cache read in / 35 out); the
    # "message" iteration is already inside the top level. Each step is kept, to be priced alone.
    message = Usage(input_tokens=100, output_tokens=20)
    compaction = Usage(input_tokens=2000, output_tokens=35, cache_read_tokens=200)
    assert adapter.message_usage(usage) == Usage(
        input_tokens=2100, output_tokens=55, cache_read_tokens=200,
        iterations=(Iteration(message, kind="message"), Iteration(compaction, kind="compaction")))


NO_CACHE = {"cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}


def test_advisor_iterations_keep_their_own_model():
    # Recorded body (genai-prices usages corpus, claude-sonnet-5 with an advisor): the top level is the
    # two message steps; the advisor step ran on claude-opus-4-8 and is billed on top.
    usage = BetaUsage(input_tokens=2390, output_tokens=121, output_tokens_details={"thinking_tokens": 28},
                      iterations=[
                          {"type": "message", "input_tokens": 1128, "output_tokens": 110, **NO_CACHE},
                          {"type": "advisor_message", "model": "claude-opus-4-8", "input_tokens": 2518,
                           "output_tokens": 22, **NO_CACHE},
                          {"type": "message", "input_tokens": 1262, "output_tokens": 11, **NO_CACHE},
                      ])
    got = adapter.message_usage(usage)
    assert (got.input_tokens, got.output_tokens, got.reasoning_tokens) == (2390 + 2518, 121 + 22, 28)
    assert [(step.model, step.kind, step.usage.input_tokens) for step in got.iterations] == [
        (None, "message", 1128), (None, "message", 1262), ("claude-opus-4-8", "advisor_message", 2518)]


def test_message_steps_that_do_not_add_up_are_replaced_by_the_top_level():
    usage = BetaUsage(input_tokens=500, output_tokens=50,
                      iterations=[{"type": "message", "input_tokens": 10, "output_tokens": 1, **NO_CACHE},
                                  {"type": "compaction", "input_tokens": 300, "output_tokens": 30, **NO_CACHE}])
    got = adapter.message_usage(usage)
    assert [step.usage for step in got.iterations] == [Usage(500, 50), Usage(300, 30)]


def test_us_only_inference_is_a_price_modifier():
    usage = {"input_tokens": 3, "output_tokens": 1, "inference_geo": "us"}
    assert adapter.usage_modifiers(usage, PriceModifiers()) == PriceModifiers(inference_geo="us")
    for geo in ("global", "not_available"):
        assert adapter.usage_modifiers({**usage, "inference_geo": geo}, PriceModifiers()) is None


@pytest.mark.parametrize("usage", [
    {"input_tokens": "lots", "output_tokens": 3},
    {"input_tokens": 3, "output_tokens": -1},
    {"input_tokens": 3, "output_tokens": 1, "cache_creation_input_tokens": 2,
     "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 9}},
    {"input_tokens": 3, "output_tokens": 1, "output_tokens_details": {"thinking_tokens": 4}},
])
def test_malformed_usage_is_refused(usage):
    with pytest.raises(MalformedUsage):
        adapter.message_usage(usage)


@pytest.mark.parametrize(("tier", "speed", "expected"), [
    ("standard", "standard", None),
    (None, None, None),
    ("priority", None, PriceModifiers(service_tier="priority")),
    ("batch", "standard", PriceModifiers(service_tier="batch", batch=True)),
    ("standard", "fast", PriceModifiers(speed="fast")),
])
def test_service_tier_and_speed_become_modifiers(tier, speed, expected):
    usage = SDKUsage(input_tokens=1, output_tokens=1, service_tier=tier, speed=speed)
    assert adapter.usage_modifiers(usage, NO_MODIFIERS) == expected


def test_reported_tier_keeps_the_requested_fast_mode():
    usage = SDKUsage(input_tokens=1, output_tokens=1, service_tier="priority")
    assert adapter.usage_modifiers(usage, PriceModifiers(speed="fast")) == PriceModifiers(
        service_tier="priority", speed="fast")


def test_message_info_reads_the_message():
    message = Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "max_tokens", "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 7, "service_tier": "priority"}})
    info = adapter.message_info(message, _request())
    assert info.usage == Usage(5, 7)
    assert (info.response_model, info.response_id, info.finish_reasons) == (
        "claude-haiku-4-5-20251001", "msg_1", ("max_tokens",))
    assert info.modifiers == PriceModifiers(service_tier="priority")


def _start(usage: dict) -> RawMessageStartEvent:
    return RawMessageStartEvent.model_validate({"type": "message_start", "message": {
        "id": "msg_s", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage}})


def _delta(usage: dict, stop: str = "end_turn") -> RawMessageDeltaEvent:
    return RawMessageDeltaEvent.model_validate({"type": "message_delta", "usage": usage,
                                                "delta": {"stop_reason": stop, "stop_sequence": None}})


def test_stream_handler_merges_start_and_cumulative_delta_usage():
    handler = adapter.MessageStreamHandler(_request())
    start = _start({"input_tokens": 600, "output_tokens": 1, "cache_read_input_tokens": 300,
                    "cache_creation_input_tokens": 100,
                    "cache_creation": {"ephemeral_5m_input_tokens": 60, "ephemeral_1h_input_tokens": 40},
                    "speed": "fast"})
    assert handler.on_chunk(start) is False
    # cumulative deltas: the later one wins; fields a delta omits keep the message_start value
    handler.on_chunk(_delta({"output_tokens": 80}))
    handler.on_chunk(_delta({"output_tokens": 200, "cache_read_input_tokens": 350,
                             "output_tokens_details": {"thinking_tokens": 50},
                             "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0}}))
    info = handler.result()
    assert info.usage == Usage(input_tokens=1050, output_tokens=200, cache_read_tokens=350,
                               cache_write_tokens=100, cache_write_1h_tokens=40, reasoning_tokens=50,
                               web_searches=1)
    assert (info.response_model, info.response_id, info.finish_reasons) == (
        "claude-haiku-4-5", "msg_s", ("end_turn",))
    assert info.modifiers == PriceModifiers(speed="fast")


def test_stream_handler_with_only_message_start_keeps_partial_usage():
    handler = adapter.MessageStreamHandler(_request())
    handler.on_chunk(_start({"input_tokens": 10, "output_tokens": 1}))
    assert handler.result().usage == Usage(10, 1)
    assert adapter.MessageStreamHandler(_request()).result().usage is None


def test_provider_names_follow_the_client_class():
    import anthropic

    clients = {
        "anthropic": [anthropic.Anthropic(api_key="x"), anthropic.AsyncAnthropic(api_key="x"),
                      anthropic.AnthropicFoundry(api_key="x", resource="r"),
                      anthropic.AnthropicAWS(api_key="x", aws_region="us-east-1", workspace_id="w"),
                      anthropic.AnthropicGoogleCloud(project="p", location="us-east5", workspace_id="w",
                                                     skip_auth=True)],
        "aws.bedrock": [anthropic.AnthropicBedrock(aws_access_key="a", aws_secret_key="b",
                                                   aws_region="us-east-1"),
                        anthropic.AnthropicBedrockMantle(api_key="x", aws_region="us-east-1"),
                        anthropic.AsyncAnthropicBedrock(aws_access_key="a", aws_secret_key="b",
                                                        aws_region="us-east-1")],
        "gcp.vertex_ai": [anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t"),
                          anthropic.AsyncAnthropicVertex(region="us-east5", project_id="p", access_token="t")],
    }
    for expected, instances in clients.items():
        for client in instances:
            assert adapter.provider_name(client) == expected, type(client).__name__
            # the SDK's own spans use the same name
            assert client._gen_ai_provider_name == expected


def test_targets_cover_every_messages_class_and_put_the_copies_first():
    modules = [t.module for t in adapter.ADAPTER.targets]
    assert modules.index("anthropic.lib.bedrock._beta_messages") < modules.index(
        "anthropic.resources.beta.messages.messages")
    names = {(t.module.rsplit(".", 1)[-1], t.qualname, t.style) for t in adapter.ADAPTER.targets}
    for module in ("_beta_messages", "messages"):
        assert (module, "Messages.stream", "sync") in names
        assert (module, "AsyncMessages.stream", "sync") in names  # a plain def returning a manager
        assert (module, "AsyncMessages.create", "async") in names
        assert (module, "AsyncMessages.parse", "async") in names
    calls = [t for t in adapter.ADAPTER.targets if t.role == "call"]
    assert len(calls) == 4 * 2 * 3
    # anthropic < 1 only (absent, so skipped, in 1.x and 2.x): the stream metaclasses' isinstance check
    hops = {(t.module, t.qualname) for t in adapter.ADAPTER.targets if t.role == "hop"}
    assert hops == {("anthropic._streaming", "_SyncStreamMeta.__instancecheck__"),
                    ("anthropic._streaming", "_AsyncStreamMeta.__instancecheck__")}
