"""Patching of provider SDKs: the instrumentor, the generic call lifecycle, stream proxies."""
