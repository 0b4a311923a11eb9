"""Google GenAI adapter: usage accounting, modifiers, model names and the hop log, on the SDK's own
types (no HTTP)."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import types

from llmledger.instrumentation.adapter import MalformedUsage, RequestInfo
from llmledger.instrumentation.providers import google_genai as adapter
from llmledger.instrumentation.providers import google_genai_hops as hops
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage


def _meta(**fields) -> types.GenerateContentResponseUsageMetadata:
    return types.GenerateContentResponseUsageMetadata(**fields)


def _request(modifiers: PriceModifiers = NO_MODIFIERS) -> RequestInfo:
    return RequestInfo(provider="gcp.gemini", model="gemini-2.5-flash", modifiers=modifiers)


def test_thoughts_are_output_outside_candidates_and_tool_use_is_input():
    meta = _meta(prompt_token_count=980, cached_content_token_count=300, candidates_token_count=150,
                 thoughts_token_count=50, tool_use_prompt_token_count=20, total_token_count=1200)
    assert adapter.generate_usage(meta) == Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=300,
                                                 reasoning_tokens=50)


def test_audio_modalities_are_counted():
    meta = _meta(prompt_token_count=100, candidates_token_count=10,
                 prompt_tokens_details=[types.ModalityTokenCount(modality="AUDIO", token_count=60),
                                        types.ModalityTokenCount(modality="TEXT", token_count=40)],
                 candidates_tokens_details=[types.ModalityTokenCount(modality="AUDIO", token_count=4)])
    usage = adapter.generate_usage(meta)
    assert usage is not None
    assert (usage.input_audio_tokens, usage.output_audio_tokens) == (60, 4)


def test_cached_audio_and_image_output_are_counted():
    # A recorded gemini-2.5-flash body (cache with AUDIO) and a gemini-2.5-flash-image one (IMAGE output).
    cached = _meta(prompt_token_count=3297, cached_content_token_count=2918, candidates_token_count=55,
                   thoughts_token_count=95,
                   prompt_tokens_details=[types.ModalityTokenCount(modality="AUDIO", token_count=321)],
                   cache_tokens_details=[types.ModalityTokenCount(modality="AUDIO", token_count=284),
                                         types.ModalityTokenCount(modality="VIDEO", token_count=2561)])
    assert adapter.generate_usage(cached) == Usage(input_tokens=3297, output_tokens=150, cache_read_tokens=2918,
                                                   reasoning_tokens=95, input_audio_tokens=321,
                                                   cache_read_audio_tokens=284)
    image = _meta(prompt_token_count=9, candidates_token_count=1295,
                  candidates_tokens_details=[types.ModalityTokenCount(modality="TEXT", token_count=5),
                                             types.ModalityTokenCount(modality="IMAGE", token_count=1290)])
    assert adapter.generate_usage(image) == Usage(input_tokens=9, output_tokens=1295, output_image_tokens=1290)


def test_embedding_usage_metadata_counts_as_input():
    assert adapter.generate_usage(types.UsageMetadata(prompt_token_count=42, total_token_count=42)) == Usage(42)
    assert adapter.generate_usage(None) is None


@pytest.mark.parametrize("meta", [
    _meta(prompt_token_count=-5, candidates_token_count=1),
    _meta(prompt_token_count=10, cached_content_token_count=11),
])
def test_malformed_usage_is_refused(meta):
    with pytest.raises(MalformedUsage):
        adapter.generate_usage(meta)


@pytest.mark.parametrize(("traffic", "expected"), [
    (None, None),
    ("ON_DEMAND", None),
    ("ON_DEMAND_FLEX", PriceModifiers(service_tier="ON_DEMAND_FLEX")),
    ("ON_DEMAND_PRIORITY", PriceModifiers(service_tier="ON_DEMAND_PRIORITY")),
    ("PROVISIONED_THROUGHPUT", PriceModifiers(service_tier="PROVISIONED_THROUGHPUT")),
])
def test_traffic_type_is_the_price_modifier(traffic, expected):
    assert adapter.usage_modifiers(_meta(traffic_type=traffic), NO_MODIFIERS) == expected


def test_embedding_service_tier_is_the_price_modifier():
    meta = types.UsageMetadata(prompt_token_count=1, service_tier="flex")
    assert adapter.usage_modifiers(meta, NO_MODIFIERS) == PriceModifiers(service_tier="flex")
    assert adapter.usage_modifiers(types.UsageMetadata(service_tier="standard"), NO_MODIFIERS) is None


@pytest.mark.parametrize(("model", "expected"), [
    ("gemini-2.5-flash", "gemini-2.5-flash"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("google/gemini-2.5-flash", "gemini-2.5-flash"),
    ("publishers/google/models/gemini-2.5-pro", "gemini-2.5-pro"),
    ("projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro", "gemini-2.5-pro"),
    ("tunedModels/123", "tunedModels/123"),
    (None, None),
])
def test_model_names_are_normalised_to_price_ids(model, expected):
    assert adapter.normalize_model(model) == expected


def test_response_info_sums_every_hop_and_reads_the_response():
    response = types.GenerateContentResponse(
        model_version="gemini-2.5-flash", response_id="r1",
        candidates=[types.Candidate(finish_reason="STOP")],
        usage_metadata=_meta(prompt_token_count=1500, candidates_token_count=200))
    hop_1 = _meta(prompt_token_count=1000, candidates_token_count=40)
    info = adapter._generate_info(response, [hop_1, response.usage_metadata], _request())
    assert info.usage == Usage(input_tokens=2500, output_tokens=240)
    assert (info.response_model, info.response_id, info.finish_reasons) == ("gemini-2.5-flash", "r1", ("stop",))
    # without hops (hooks missing): the response's own usage
    assert adapter._generate_info(response, [], _request()).usage == Usage(1500, 200)


def test_predict_embeddings_sum_the_statistics():
    response = types.EmbedContentResponse(embeddings=[
        types.ContentEmbedding(values=[0.1], statistics=types.ContentEmbeddingStatistics(token_count=7.0)),
        types.ContentEmbedding(values=[0.2], statistics=types.ContentEmbeddingStatistics(token_count=5.0))])
    assert adapter._embed_info(response, _request()).usage == Usage(12)
    assert adapter._embed_info(types.EmbedContentResponse(embeddings=[]), _request()).usage is None


def test_stream_handler_keeps_the_last_running_total_per_round():
    log = hops.HopLog()
    handler = adapter.GenerateContentStreamHandler(_request(), log)
    log.start()
    for candidates in (10, 25, 40):  # one round: running totals, never summed
        handler.on_chunk(types.GenerateContentResponse(usage_metadata=_meta(prompt_token_count=1000,
                                                                             candidates_token_count=candidates)))
    log.start()
    handler.on_chunk(types.GenerateContentResponse(usage_metadata=None))
    handler.on_chunk(types.GenerateContentResponse(
        candidates=[types.Candidate(finish_reason="MAX_TOKENS")],
        usage_metadata=_meta(prompt_token_count=1500, candidates_token_count=200)))
    info = handler.result()
    assert info.usage == Usage(input_tokens=2500, output_tokens=240)
    assert info.finish_reasons == ("max_tokens",)


def test_hop_log_is_current_only_between_open_and_close():
    assert hops._current.get() is None
    log = hops.open_log()
    assert hops._current.get() is log
    assert hops.close_log(log) is True
    assert hops._current.get() is None
    hops.close_log(log)  # closing twice is harmless
    assert hops._current.get() is None


def test_a_log_displaced_by_another_is_not_trusted():
    outer = hops.open_log()
    hops.open_log()  # e.g. a nested call that failed before it could close its log
    assert hops.close_log(outer) is False
    assert hops._current.get() is None  # the context is restored all the same


def test_traced_streams_make_the_log_current_only_during_steps():
    seen = []

    def source():
        seen.append(hops._current.get())
        yield 1
        seen.append(hops._current.get())
        yield 2

    class FakeCall:
        def __init__(self):
            self.finished = []

        def on_chunk(self, chunk):
            return False

        def finish_stream(self, error):
            self.finished.append(error)

    log, call = hops.HopLog(), FakeCall()
    stream = hops.traced_stream(source(), call, log)  # type: ignore[arg-type]
    assert next(stream) == 1
    assert hops._current.get() is None  # the user's code between chunks runs without it
    assert list(stream) == [2]
    assert seen == [log, log]
    assert call.finished == [None]

    async def asource():
        seen.append(hops._current.get())
        yield "a"

    async def consume():
        return [chunk async for chunk in hops.traced_async_stream(asource(), call, log)]  # type: ignore[arg-type]

    assert asyncio.run(consume()) == ["a"]
    assert seen[-1] is log
    assert call.finished == [None, None]
