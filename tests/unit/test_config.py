"""Config: file + env + kwargs, validated once, errors name the file/variable and key."""

from __future__ import annotations

import pytest

from llmledger.config import load_config
from llmledger.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "llmledger.yaml"
    path.write_text(text)
    return path


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.config_file is None
    assert config.metric_customer_cap == 1000
    assert config.trust_inbound_baggage is False
    assert config.providers is None


def test_file_env_kwargs_priority(tmp_path):
    path = write(tmp_path, "service_name: from-file\nattribution:\n  metric_customer_cap: 10\n"
                           "otlp_endpoint: http://127.0.0.1:4317\n")
    config = load_config(path, env={"LLMLEDGER_METRIC_CUSTOMER_CAP": "20"})
    assert config.service_name == "from-file"
    assert config.metric_customer_cap == 20
    assert config.otlp_endpoint == "http://127.0.0.1:4317"
    config = load_config(path, env={"LLMLEDGER_METRIC_CUSTOMER_CAP": "20"}, metric_customer_cap=30)
    assert config.metric_customer_cap == 30


def test_config_file_from_env(tmp_path):
    path = write(tmp_path, "providers: [openai, anthropic]\n")
    config = load_config(env={"LLMLEDGER_CONFIG": str(path)})
    assert config.providers == frozenset({"openai", "anthropic"})
    assert config.config_file == str(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("attribution:\n  metric_customer_cap: -3\n", "key 'attribution.metric_customer_cap'"),
    ("attribution:\n  trust_inbound_baggage: maybe\n", "key 'attribution.trust_inbound_baggage'"),
    ("providers: [openai, acme]\n", "unknown provider(s) ['acme']"),
    ("otlp_protocol: carrier-pigeon\n", "key 'otlp_protocol'"),
    ("colour: blue\n", "unknown key(s) ['colour']"),
    ("attribution:\n  cap: 3\n", "key 'attribution'"),
    ("plans:\n  pro: {monthly_usd: lots}\n", "key 'plans.pro.monthly_usd'"),
    ("customers:\n  c1: {plan: gold}\n", "plan 'gold' is not defined"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("key: [unclosed\n", "invalid YAML"),
])
def test_bad_file_names_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


def test_bad_env_names_variable():
    with pytest.raises(ConfigError, match="LLMLEDGER_TRUST_INBOUND_BAGGAGE"):
        load_config(env={"LLMLEDGER_TRUST_INBOUND_BAGGAGE": "perhaps"})


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml", env={})


def test_unknown_kwarg():
    with pytest.raises(ConfigError, match="unknown argument"):
        load_config(env={}, colour="blue")


def test_plans_and_revenue(tmp_path):
    path = write(tmp_path, "plans:\n  starter: {monthly_usd: 19}\n  pro: {monthly_usd: 99}\n"
                           "customers:\n  c1: {plan: starter}\n  c2: {plan: pro, monthly_usd: 250}\n")
    plans = load_config(path, env={}).plans
    assert str(plans.revenue("c1")) == "19"
    assert str(plans.revenue("c2")) == "250"
    assert str(plans.revenue("unknown", "pro")) == "99"
    assert plans.revenue("unknown") is None
    assert plans.plan_of("c2") == "pro"
