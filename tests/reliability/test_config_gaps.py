"""Config gaps (issue 18, item 10): endpoints must be URLs with a port in range, and a ledger that
cannot be opened names the config file and key that set it."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmledger
from llmledger import ConfigError, load_config


@pytest.mark.parametrize("endpoint", ["not a url at all", "http://127.0.0.1:99999", "http://127.0.0.1:0",
                                      "127.0.0.1:4317", "ftp://collector:4317", "http://:4317"])
def test_bad_otlp_endpoint_is_refused_naming_file_and_key(tmp_path: Path, endpoint: str) -> None:
    config = tmp_path / "llmledger.yaml"
    config.write_text(f"otlp_endpoint: '{endpoint}'\n")
    with pytest.raises(ConfigError) as error:
        load_config(config, env={})
    assert str(config) in str(error.value)
    assert "otlp_endpoint" in str(error.value)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:4317", "https://collector.example:443/otlp",
                                      "http://localhost"])
def test_good_otlp_endpoints_pass(endpoint: str) -> None:
    assert load_config(None, env={}, otlp_endpoint=endpoint).otlp_endpoint == endpoint


def test_environment_endpoint_error_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="LLMLEDGER_OTLP_ENDPOINT"):
        load_config(None, env={"LLMLEDGER_OTLP_ENDPOINT": "http://h:70000"})


@pytest.mark.parametrize("value", ["0", "-1", "forever", "301"])
def test_shutdown_timeout_is_bounded_seconds(value: str) -> None:
    with pytest.raises(ConfigError, match="shutdown_timeout"):
        load_config(None, env={}, shutdown_timeout=value)


def test_bad_ledger_path_names_the_config_file_and_key(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = tmp_path / "llmledger.yaml"
    config.write_text(f"ledger: {blocker / 'ledger.db'}\nproviders: [openai]\n")
    with pytest.raises(ConfigError) as error:
        llmledger.init(config_file=str(config), tracer_provider=object(), meter_provider=object())
    message = str(error.value)
    assert message.startswith(f"{config}, key 'ledger'"), message
    assert "ledger.db" in message
    llmledger.shutdown()
