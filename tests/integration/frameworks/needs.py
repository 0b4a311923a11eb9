"""Frameworks that cannot install next to the main venv's SDK pins (openai 3) are tested in a
``scripts/matrix.sh`` cell. Here they skip with the reason; with ``LLMLEDGER_REQUIRE_FRAMEWORKS=1``
(set by the matrix) a missing framework fails instead."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def framework(module: str, why: str, cell: str = "sdk-previous") -> ModuleType:
    """Import ``module`` or skip the calling test module (fail under LLMLEDGER_REQUIRE_FRAMEWORKS=1)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if os.environ.get("LLMLEDGER_REQUIRE_FRAMEWORKS") == "1":
            raise ImportError(f"{module} must be installed in this venv (LLMLEDGER_REQUIRE_FRAMEWORKS=1)") from error
        pytest.skip(f"{module} is not installed: {why}; `bash scripts/matrix.sh {cell}` runs these tests",
                    allow_module_level=True)
