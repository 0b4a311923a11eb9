"""The package version, read from the installed distribution metadata."""

from __future__ import annotations

import importlib.metadata

try:
    __version__ = importlib.metadata.version("llmledger")
except importlib.metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
