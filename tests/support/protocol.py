"""Every frame a test client receives, held to the socket node's AsyncAPI document: its `type`
must be a documented message and its body must match that message's schema (members, types,
formats of money and ids, the data of each event)."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema_rs

from socket_node.asyncapi import message_schema


@cache
def _validator(kind: str) -> Any:
    schema = message_schema(kind)
    if schema is None:
        return None
    return jsonschema_rs.Draft202012Validator(schema)


def frame_problems(message: Any) -> list[str]:
    """What is wrong with one received frame by the document (empty: nothing)."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return [f"not a message object with a type: {message!r:.200}"]
    validator = _validator(message["type"])
    if validator is None:
        return [f"a frame of an undocumented type {message['type']!r}"]
    return [
        f"{message['type']} at /{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(message)
    ]
