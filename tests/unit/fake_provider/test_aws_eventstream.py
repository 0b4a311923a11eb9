"""The AWS event-stream encoder, checked by botocore's own decoder (the one every AWS client uses)."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from llmledger.fake_provider import aws_eventstream


def _decode(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_frame_round_trips_through_botocore():
    frame = aws_eventstream.encode_event({":event-type": "chunk", "x-custom": "é ok"}, b'{"a": 1}')
    [message] = _decode(frame)
    assert message.headers == {":event-type": "chunk", "x-custom": "é ok"}
    assert message.payload == b'{"a": 1}'
    # prelude: total length and headers length, both big-endian u32
    total, headers_length = struct.unpack(">II", frame[:8])
    assert total == len(frame)
    assert headers_length == len(frame) - 12 - len(b'{"a": 1}') - 4


def test_several_frames_in_one_buffer_and_split_across_reads():
    frames = [aws_eventstream.event_frame("messageStart", {"role": "assistant"}),
              aws_eventstream.event_frame("metadata", {"usage": {"inputTokens": 3}})]
    data = b"".join(frames)
    buffer = EventStreamBuffer()
    decoded = []
    for start in range(0, len(data), 7):  # arbitrary network chunking
        buffer.add_data(data[start:start + 7])
        decoded.extend(buffer)
    assert [m.headers[":event-type"] for m in decoded] == ["messageStart", "metadata"]
    assert json.loads(decoded[1].payload) == {"usage": {"inputTokens": 3}}
    assert decoded[0].headers[":message-type"] == "event"
    assert decoded[0].headers[":content-type"] == "application/json"


def test_chunk_frame_wraps_the_model_event_in_base64_bytes():
    [message] = _decode(aws_eventstream.chunk_frame({"type": "message_stop"}))
    assert message.headers[":event-type"] == "chunk"
    body = json.loads(message.payload)
    assert json.loads(base64.b64decode(body["bytes"])) == {"type": "message_stop"}
    assert message.to_response_dict()["status_code"] == 200


def test_exception_frame_is_an_error_for_the_client():
    [message] = _decode(aws_eventstream.exception_frame("throttlingException", "slow down"))
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "throttlingException"
    assert json.loads(message.payload) == {"message": "slow down"}
    assert message.to_response_dict()["status_code"] == 400


@pytest.mark.parametrize("position", [9, -2])  # inside the prelude CRC / the message CRC
def test_crcs_are_real(position):
    frame = bytearray(aws_eventstream.event_frame("chunk", b"{}"))
    frame[position] ^= 0xFF
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(frame))


def test_oversized_header_is_refused():
    with pytest.raises(ValueError, match="too long"):
        aws_eventstream.encode_event({"x": "v" * 70_000}, b"")
