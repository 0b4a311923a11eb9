"""An encoder for AWS event-stream frames (``application/vnd.amazon.eventstream``).

Bedrock streams (``InvokeModelWithResponseStream``, ``ConverseStream``) answer with these binary
frames instead of SSE, so the fake provider needs to write them. Layout of one frame::

    total length (u32) | headers length (u32) | prelude CRC32 (u32)
    headers: name length (u8) | name | value type (u8, 7 = string) | value length (u16) | value
    payload
    message CRC32 (u32, over everything before it)

All integers are big-endian. Only string-valued headers are written: every header Bedrock sends is
a string. Decoding is left to the real clients (botocore's ``EventStreamBuffer``).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Mapping
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"

_STRING_HEADER = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")


def _crc32(data: bytes, start: int = 0) -> int:
    return binascii.crc32(data, start) & 0xFFFFFFFF


def _encode_headers(headers: Mapping[str, str]) -> bytes:
    parts = []
    for name, value in headers.items():
        raw_name = name.encode()
        raw_value = value.encode()
        if len(raw_name) > 255 or len(raw_value) > 65535:
            raise ValueError(f"event-stream header {name!r} is too long")
        parts.append(
            struct.pack(">B", len(raw_name))
            + raw_name
            + struct.pack(">BH", _STRING_HEADER, len(raw_value))
            + raw_value
        )
    return b"".join(parts)


def encode_event(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One complete frame: prelude, prelude CRC, headers, payload, message CRC."""
    encoded_headers = _encode_headers(headers)
    total = _PRELUDE.size + _CRC.size + len(encoded_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(encoded_headers))
    prelude_crc = _CRC.pack(_crc32(prelude))
    message = prelude + prelude_crc + encoded_headers + payload
    return message + _CRC.pack(_crc32(message))


def _payload(body: bytes | Mapping[str, Any]) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def event_frame(
    event_type: str, body: bytes | Mapping[str, Any], content_type: str = "application/json"
) -> bytes:
    """A normal event (``:message-type event``), e.g. ``chunk`` or Converse's ``contentBlockDelta``."""
    return encode_event(
        {":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, _payload(body)
    )


def chunk_frame(model_event: bytes | Mapping[str, Any]) -> bytes:
    """An ``InvokeModelWithResponseStream`` chunk: ``{"bytes": base64(<the model's own JSON event>)}``."""
    encoded = base64.b64encode(_payload(model_event)).decode()
    return event_frame("chunk", {"bytes": encoded})


def exception_frame(exception_type: str, message: str) -> bytes:
    """An in-stream error (``:message-type exception``), e.g. ``throttlingException``,
    ``modelStreamErrorException``, ``internalServerException``."""
    return encode_event(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )
