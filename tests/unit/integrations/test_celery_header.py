"""llmledger's Celery task header: what is written at publish and what a worker accepts back."""

from __future__ import annotations

import json

import pytest

from llmledger.integrations.celery import decode_customer, encode_customer
from llmledger.usage import CustomerContext


def test_round_trip_through_json():
    customer = CustomerContext("cust-1", "pro", "digest", "u-1", (("region", "eu"), ("seats", 3)))
    wire = json.loads(json.dumps(encode_customer(customer)))
    assert decode_customer(wire) == customer


@pytest.mark.parametrize("raw", [None, "cust-1", ["cust-1"], {}, {"id": ""}, {"id": 5}])
def test_anything_else_is_no_customer(raw):
    assert decode_customer(raw) is None


def test_malformed_extras_are_dropped_not_trusted():
    raw = {"id": "c", "plan": 3, "attrs": [["ok", 1], ["bad", {"x": 1}], "junk", [1, 2]]}
    assert decode_customer(raw) == CustomerContext("c", None, None, None, (("ok", 1),))
