"""The background-work and LiteLLM keys of ``attribution:``: defaults, sources, clear errors."""

from __future__ import annotations

import pytest

from llmledger.config import load_config
from llmledger.errors import ConfigError


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.propagate_to_threads is True
    assert config.propagate_to_celery is True
    assert config.litellm_customer_from == "none"


def test_file_env_and_kwargs(tmp_path):
    path = tmp_path / "llmledger.yaml"
    path.write_text("attribution:\n  propagate_to_threads: false\n  litellm_customer_from: metadata\n")
    config = load_config(path, env={"LLMLEDGER_PROPAGATE_TO_CELERY": "off"})
    assert (config.propagate_to_threads, config.propagate_to_celery, config.litellm_customer_from) == (
        False, False, "metadata")
    assert load_config(path, env={}, litellm_customer_from="user").litellm_customer_from == "user"
    assert load_config(path, env={}, propagate_to_threads=True).propagate_to_threads is True


@pytest.mark.parametrize(("text", "key"), [
    ("attribution:\n  propagate_to_threads: sometimes\n", "attribution.propagate_to_threads"),
    ("attribution:\n  propagate_to_celery: 2\n", "attribution.propagate_to_celery"),
    ("attribution:\n  litellm_customer_from: header\n", "attribution.litellm_customer_from"),
])
def test_bad_values_name_file_key_and_value(tmp_path, text, key):
    path = tmp_path / "llmledger.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    message = str(raised.value)
    assert str(path) in message and key in message


def test_litellm_is_a_known_provider_key():
    assert load_config(env={}, providers=["litellm"]).providers == frozenset({"litellm"})
