"""ASGI and WSGI middleware scope each request to the customer its resolver names."""

from __future__ import annotations

import asyncio
from wsgiref.util import setup_testing_defaults

import openai
import pytest

from llmledger.integrations import LLMLedgerASGIMiddleware, LLMLedgerWSGIMiddleware

MSG = [{"role": "user", "content": "hi"}]


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode()
    return None


def test_asgi_requests_are_attributed(harness, fake_provider):
    client = openai.AsyncOpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)

    async def app(scope, receive, send):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def resolver(scope):
        tenant = header(scope, b"x-tenant")
        return {"id": tenant, "plan": "pro", "feature": scope["path"].strip("/")} if tenant else None

    wrapped = LLMLedgerASGIMiddleware(app, resolver)

    async def request(tenant: str | None, path: str) -> list:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        headers = [(b"x-tenant", tenant.encode())] if tenant else []
        await wrapped({"type": "http", "path": path, "headers": headers}, receive, send)
        return sent

    async def main():
        await asyncio.gather(request("acme", "/summarize"), request("globex", "/chat"), request(None, "/"))

    asyncio.run(main())
    seen = sorted((s.attributes.get("customer.id"), s.attributes.get("app.feature")) for s in harness.spans()
                  if s.attributes.get("customer.id"))
    assert seen == [("acme", "summarize"), ("globex", "chat")]
    assert len(harness.spans()) == 3


def test_wsgi_request_and_streamed_body_are_attributed(harness, fake_provider):
    client = openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)

    def app(environ, start_response):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        start_response("200 OK", [("content-type", "text/plain")])

        def body():
            client.chat.completions.create(model="gpt-4o-mini", messages=MSG)  # while streaming
            yield b"done"
        return body()

    wrapped = LLMLedgerWSGIMiddleware(app, lambda environ: environ.get("HTTP_X_TENANT"))
    environ: dict = {"HTTP_X_TENANT": "initech"}
    setup_testing_defaults(environ)
    body = wrapped(environ, lambda status, headers: None)
    assert b"".join(body) == b"done"
    body.close()
    assert [s.attributes.get("customer.id") for s in harness.spans()] == ["initech", "initech"]


def test_resolver_returning_garbage_is_a_clear_error():
    wrapped = LLMLedgerWSGIMiddleware(lambda e, s: [b""], lambda environ: 42)
    with pytest.raises(TypeError, match="customer resolver returned int"):
        wrapped({}, lambda *a: None)
