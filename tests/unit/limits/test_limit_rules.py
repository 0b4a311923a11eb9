"""Limit rules are validated at init(): errors name the file, the key and the value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from llmledger.config import load_config
from llmledger.errors import ConfigError


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "llmledger.yaml"
    path.write_text(text)
    return path


def test_rules_from_the_issue_example(tmp_path):
    path = config_file(tmp_path, """
plans: {starter: {monthly_usd: 19}, pro: {monthly_usd: 99}}
limits:
  - plan: starter
    usd_per_month: 15
    calls_per_minute: 20
    action: block
  - plan: pro
    cost_share_of_revenue: 0.8
    action: warn
  - customer: cust-123
    tokens_per_day: 5000
  - feature: summarize
    usd_per_day: 0.5
limits_store: redis://127.0.0.1:6379/0
limits_fail_closed: true
limit_response: 429
""")
    config = load_config(path, env={})
    rules = config.limits
    starter = rules.by_plan["starter"]
    assert [(c.key, c.metric, c.window, c.amount) for c in starter.caps] == [
        ("usd_per_month", "usd", "month", Decimal(15)), ("calls_per_minute", "calls", "minute", Decimal(20))]
    assert starter.action == "block" and rules.by_plan["pro"].action == "warn"
    assert rules.by_customer["cust-123"].action == "block"  # the default
    assert rules.store_url == "redis://127.0.0.1:6379/0" and rules.fail_closed is True
    assert config.limit_response == 429
    # most specific wins: customer, then feature, then plan
    assert rules.rule_for("cust-123", "starter", "summarize").name == "customer=cust-123"
    assert rules.rule_for("cust-9", "starter", "summarize").name == "feature=summarize"
    assert rules.rule_for("cust-9", "starter", "chat").name == "plan=starter"
    assert rules.rule_for("cust-9", None, None) is None


def test_no_rules_means_limits_off():
    config = load_config(None, env={})
    assert not config.limits and config.limit_response is None


@pytest.mark.parametrize(("text", "key", "value"), [
    ("limits: {plan: starter}", "'limits'", "{'plan': 'starter'}"),
    ("limits: [{plan: starter, usd_per_month: -1}]", "'limits[0].usd_per_month'", "-1"),
    ("limits: [{plan: starter, usd_per_month: lots}]", "'limits[0].usd_per_month'", "'lots'"),
    ("limits: [{plan: starter, calls_per_minute: 2.5}]", "'limits[0].calls_per_minute'", "2.5"),
    ("limits: [{plan: starter, usd_per_month: 1, action: stop}]", "'limits[0].action'", "'stop'"),
    ("limits: [{plan: starter, usd_per_mnth: 1}]", "'limits[0]'", "usd_per_mnth"),
    ("limits: [{plan: starter, customer: c, usd_per_day: 1}]", "'limits[0]'", "exactly one"),
    ("limits: [{plan: starter}]", "'limits[0]'", "no limit given"),
    ("limits: [{plan: a, usd_per_day: 1}, {plan: a, usd_per_day: 2}]", "'limits[1]'", "plan=a"),
    ("limits: [{plan: nopay, cost_share_of_revenue: 0.8}]", "'limits[0].cost_share_of_revenue'", "nopay"),
    ("limits_store: http://127.0.0.1:6379", "'limits_store'", "'http://127.0.0.1:6379'"),
    ("limits_fail_closed: maybe", "'limits_fail_closed'", "'maybe'"),
    ("limit_response: 200", "'limit_response'", "200"),
])
def test_bad_rules_name_file_key_and_value(tmp_path, text, key, value):
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    message = str(raised.value)
    assert str(path) in message and key in message and value in message, message


def test_keyword_arguments_and_environment(tmp_path):
    config = load_config(None, env={"LLMLEDGER_LIMITS_STORE": "redis://127.0.0.1:1/2",
                                    "LLMLEDGER_LIMIT_RESPONSE": "429"},
                         limits=[{"customer": "c", "calls_per_minute": 3}])
    assert config.limits.by_customer["c"].caps[0].amount == 3
    assert config.limits.store_url == "redis://127.0.0.1:1/2" and config.limit_response == 429
    with pytest.raises(ConfigError, match=r"environment variable LLMLEDGER_LIMITS_STORE.*'limits_store'"):
        load_config(None, env={"LLMLEDGER_LIMITS_STORE": "localhost:6379"})
    with pytest.raises(ConfigError, match=r"llmledger.init\(\).*'limits\[0\].tokens_per_day'.*0"):
        load_config(None, env={}, limits=[{"customer": "c", "tokens_per_day": 0}])
