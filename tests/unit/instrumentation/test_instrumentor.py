"""The instrumentor: entry point, patch once, restore originals, version range, missing targets."""

from __future__ import annotations

import importlib.metadata
import logging

import openai.resources.chat.completions.completions as chat_module
import pytest
import wrapt

from llmledger.config import Config
from llmledger.instrumentation import instrumentor as instrumentor_module
from llmledger.instrumentation.adapter import PatchTarget
from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor
from llmledger.instrumentation.providers.openai import ADAPTER


def test_entry_point_is_registered():
    (entry,) = [e for e in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
                if e.name == "llmledger"]
    assert entry.load() is LLMLedgerInstrumentor


def test_instrument_twice_patches_once_and_uninstrument_restores():
    original = chat_module.Completions.__dict__["create"]
    instrumentor = LLMLedgerInstrumentor()
    instrumentor.instrument(config=Config())
    try:
        patched = chat_module.Completions.__dict__["create"]
        assert isinstance(patched, wrapt.FunctionWrapper)
        LLMLedgerInstrumentor().instrument(config=Config())  # the singleton: a no-op
        assert chat_module.Completions.__dict__["create"] is patched
        assert patched.__wrapped__ is original
        assert instrumentor.instrumented_providers["openai"] == openai_version()
    finally:
        instrumentor.uninstrument()
    assert chat_module.Completions.__dict__["create"] is original
    LLMLedgerInstrumentor().uninstrument()  # twice is harmless
    assert chat_module.Completions.__dict__["create"] is original


def openai_version() -> str:
    return importlib.metadata.version("openai")


def test_providers_setting_limits_what_is_patched():
    original = chat_module.Completions.__dict__["create"]
    instrumentor = LLMLedgerInstrumentor()
    instrumentor.instrument(config=Config(providers=frozenset({"anthropic"})))
    try:
        assert chat_module.Completions.__dict__["create"] is original
    finally:
        instrumentor.uninstrument()


def test_unsupported_version_warns_with_range(monkeypatch, caplog):
    monkeypatch.setattr(type(ADAPTER), "supported", ">=99,<100")
    instrumentor = LLMLedgerInstrumentor()
    with caplog.at_level(logging.WARNING, logger="llmledger.instrumentation"):
        instrumentor.instrument(config=Config())
    try:
        assert any(">=99,<100" in r.getMessage() and "openai" in r.getMessage() for r in caplog.records)
        assert isinstance(chat_module.Completions.__dict__["create"], wrapt.FunctionWrapper)
    finally:
        instrumentor.uninstrument()


def test_missing_targets_are_skipped_with_debug_log(monkeypatch, caplog):
    targets = (*ADAPTER.targets,
               PatchTarget("openai.resources.chat.completions.completions", "Completions.vanished", "chat"),
               PatchTarget("openai.resources.not_a_module", "Thing.create", "chat"))
    monkeypatch.setattr(type(ADAPTER), "targets", targets)
    instrumentor = LLMLedgerInstrumentor()
    with caplog.at_level(logging.DEBUG, logger="llmledger.instrumentation"):
        instrumentor.instrument(config=Config())
    try:
        assert any("vanished" in r.getMessage() for r in caplog.records)
        assert any("not_a_module" in r.getMessage() for r in caplog.records)
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize(("version", "spec", "ok"), [
    ("3.57.0", ">=3.57.0,<4", True), ("4.0.0", ">=3.57.0,<4", False), ("garbage", ">=1", False)])
def test_version_supported(version, spec, ok):
    assert instrumentor_module.version_supported(version, spec) is ok


def test_hop_targets_are_patched_and_restored():
    import google.genai.models as genai_models

    original = genai_models.Models.__dict__["_generate_content"]
    instrumentor = LLMLedgerInstrumentor()
    instrumentor.instrument(config=Config())
    try:
        assert isinstance(genai_models.Models.__dict__["_generate_content"], wrapt.FunctionWrapper)
    finally:
        instrumentor.uninstrument()
    assert genai_models.Models.__dict__["_generate_content"] is original
