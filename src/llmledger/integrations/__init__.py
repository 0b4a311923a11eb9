"""Web-framework integrations: ASGI and WSGI middleware that scope each request to its customer."""

from llmledger.integrations.asgi import LLMLedgerASGIMiddleware
from llmledger.integrations.wsgi import LLMLedgerWSGIMiddleware

__all__ = ["LLMLedgerASGIMiddleware", "LLMLedgerWSGIMiddleware"]
