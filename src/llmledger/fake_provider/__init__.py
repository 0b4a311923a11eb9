"""A local fake provider server speaking the real wire formats (tests and ``llmledger demo``)."""

from llmledger.fake_provider.server import FakeProviderServer, FakeRequest, FakeResponse

__all__ = ["FakeProviderServer", "FakeRequest", "FakeResponse"]
