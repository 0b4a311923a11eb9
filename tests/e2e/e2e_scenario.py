"""What the e2e workload does, shared by workload.py (which does it) and the tests (which check it)."""

from __future__ import annotations

SERVICE = "llmledger-e2e"
METRIC_CUSTOMER_CAP = 4
# The first customers to call, in order: they keep their own series on metrics (cap = 4);
# later ones are folded into "_other" (spans keep their real id).
METRIC_CUSTOMERS = ("cust-loss", "cust-pro", "cust-err", "cust-big")
FOLDED_CUSTOMERS = ("cust-small-1", "cust-small-2")
OTHER = "_other"
UNPRICED_MODEL = "e2e-unpriced-model"
# Monthly revenue per customer as configured (starter plan, pro plan, negotiated account).
REVENUE = {"cust-loss": 0.05, "cust-pro": 100.0, "cust-err": 100.0, "cust-big": 250.0}
UNPROFITABLE = "cust-loss"
CONTENT_CUSTOMER = "cust-content"
# Another OTel GenAI instrumentation (semconv metrics only, no llmledger counters) in its own service.
OTHER_INSTRUMENTATION_SERVICE = "e2e-other-instrumentation"
CONTENT_ATTRIBUTES = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                      "gen_ai.prompt", "gen_ai.completion")
PLANS_CONFIG = """\
service_name: {service}
providers: [openai, anthropic]
plans:
  starter: {{monthly_usd: 0.05}}
  pro: {{monthly_usd: 100}}
customers:
  cust-big: {{plan: pro, monthly_usd: 250}}
attribution:
  metric_customer_cap: {cap}
limits:                           # cust-loss passes 80% of its revenue from its second call: warned
  - plan: starter
    cost_share_of_revenue: 0.8
    action: warn
endpoints:
  127.0.0.1: openai          # the fake provider answers as OpenAI
"""


def metric_customer(customer_id: str) -> str:
    return customer_id if customer_id in METRIC_CUSTOMERS else OTHER
