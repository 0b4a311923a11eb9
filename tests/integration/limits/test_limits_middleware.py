"""ASGI/WSGI middleware answers a refused call with 429 and Retry-After when configured."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx
import openai
import pytest
from limits_harness import limited

from llmledger.errors import LimitExceeded
from llmledger.integrations import LLMLedgerASGIMiddleware, LLMLedgerWSGIMiddleware

MSG = [{"role": "user", "content": "hi"}]
CENT = {"x-fake-input-tokens": "4000", "x-fake-output-tokens": "0"}  # gpt-4o: $0.01 per call
RULES = [{"customer": "acme", "calls_per_minute": 1}]


def test_wsgi_429_with_retry_after(fake_provider):
    client = openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)

    def app(environ, start_response):
        client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    with limited(RULES):
        wrapped = LLMLedgerWSGIMiddleware(app, lambda environ: "acme", limit_response=429)
        with httpx.Client(transport=httpx.WSGITransport(app=wrapped), base_url="http://app") as http:
            assert http.get("/").status_code == 200
            refused = http.get("/")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["rule"] == "customer=acme" and refused.json()["window"] == "minute"
        # off by default: the exception goes up as without llmledger
        plain = LLMLedgerWSGIMiddleware(app, lambda environ: "acme")
        with httpx.Client(transport=httpx.WSGITransport(app=plain), base_url="http://app") as http, \
                pytest.raises(LimitExceeded):
            http.get("/")


def test_asgi_429_from_the_config(fake_provider, monkeypatch):
    client = openai.AsyncOpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)

    async def app(scope, receive, send):
        await client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def run() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=LLMLedgerASGIMiddleware(app, lambda scope: "acme"))
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            return await http.get("/"), await http.get("/")

    import llmledger

    with limited(RULES, limit_response=429) as h:
        # what init() keeps: its config (the harness instruments without init())
        monkeypatch.setattr(llmledger, "_started", SimpleNamespace(config=h.instrumentor_config))
        first, second = asyncio.run(run())
    assert first.status_code == 200 and second.status_code == 429
    assert "retry-after" in second.headers
