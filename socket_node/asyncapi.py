"""The WebSocket protocol as an AsyncAPI 3.0 document, built from `socket_node.protocol`'s
models (the one source) and served by the node at `/asyncapi.json`.

The document describes the node: what it receives from clients (join, leave, ping, auth) and
what it sends (snapshot, pong, authed, error, and every event with its `data`). `make types`
generates the web app's socket types from it; `make types-check` validates it with the
AsyncAPI parser; the tests hold every frame a test client receives to its schemas.
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from pydantic.json_schema import models_json_schema

from shared.domain.vocabulary import EventType
from socket_node import protocol

REF = "#/components/schemas/{model}"
CHANNEL = "live"

ABOUT = """Live auction rooms. Connect to `/ws` (a signed-in user adds `?token=<JWT>`; anonymous
connections get room events only), `join` rooms, and receive a snapshot, the events missed since
`lastEventId` (replay reaches back at least 1,000 events per room), then live events. Events
for one user (outbid, decisions, offers, payments, notifications) reach all of that user's
connections whether or not they joined the room.

Every message is one JSON object with a `type`. eventIds are Redis stream ids: unique and
increasing within a room; no connection receives an event twice. Bad input is answered with an
`error` message and the connection stays usable. Limits: 20 messages a second per connection
(burst 40); past it `error` `rate_limited`, and a connection that keeps going is closed with
1008. An invalid token is refused at the handshake (HTTP 401) or closed with 4401."""


def _type_of(model: type[protocol.Message]) -> str:
    """The `type` a message model's Literal names."""
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


def _message_name(event: EventType) -> str:
    return event.value.replace(":", "_")


def _envelope(
    event: EventType, data_model: type[protocol.Message], audience: str
) -> dict[str, Any]:
    """The schema of one event's message: the envelope every event shares, its data's model."""
    return {
        "type": "object",
        "title": f"{event.value} event",
        "properties": {
            "type": {"const": event.value},
            "eventId": {
                "type": "string",
                "pattern": r"^\d+-\d+$",
                "description": "The room stream's id (room events; replay starts after it) "
                "or the live feed's (user events).",
            },
            "auctionId": {
                "type": "string",
                "description": "The auction it is about (empty for a user event about none).",
            },
            "data": {"$ref": REF.format(model=data_model.__name__)},
            "ts": {"type": "string", "description": "When it happened, ISO 8601 UTC."},
        },
        "required": ["type", "eventId", "auctionId", "data", "ts"],
        "additionalProperties": False,
        "x-audience": audience,
    }


@cache
def document() -> dict[str, Any]:
    models: list[type[protocol.Message]] = [
        *protocol.CLIENT_MESSAGES,
        *protocol.SERVER_MESSAGES,
        *{model for _, model, _ in protocol.EVENTS.values()},
    ]
    _, defs = models_json_schema([(model, "serialization") for model in models], ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    messages: dict[str, Any] = {}
    for model in protocol.CLIENT_MESSAGES + protocol.SERVER_MESSAGES:
        name = _type_of(model)
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (model.__doc__ or name).strip().splitlines()[0],
            "payload": {"$ref": REF.format(model=model.__name__)},
        }
    for event, (audience, data_model, summary) in protocol.EVENTS.items():
        name = _message_name(event)
        schemas[f"Event_{name}"] = _envelope(event, data_model, audience)
        messages[name] = {
            "name": event.value,
            "title": event.value,
            "summary": f"{'Room' if audience == protocol.ROOM else 'User'} event. {summary}",
            "payload": {"$ref": REF.format(model=f"Event_{name}")},
        }
    received = [_type_of(m) for m in protocol.CLIENT_MESSAGES]
    sent = [name for name in messages if name not in received]

    def refs(names: list[str]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"} for name in names]

    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Auction platform: live rooms", "version": "1.0.0", "description": ABOUT},
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:8080",
                "protocol": "ws",
                "description": "The socket node of `make run` (SOCKET_PORT; behind TLS, wss).",
            }
        },
        "channels": {
            CHANNEL: {
                "address": "/ws",
                "title": "The live connection",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {
                    "ws": {
                        "query": {
                            "type": "object",
                            "properties": {
                                "token": {
                                    "type": "string",
                                    "description": "A signed-in user's access token (JWT).",
                                }
                            },
                        }
                    }
                },
            }
        },
        "operations": {
            "clientMessages": {
                "action": "receive",
                "title": "What a client sends",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": refs(received),
            },
            "serverMessages": {
                "action": "send",
                "title": "What the node sends: answers and events",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": refs(sent),
            },
        },
        "components": {"schemas": schemas, "messages": messages},
    }


def message_schema(kind: str) -> dict[str, Any] | None:
    """The payload schema of the message a frame of `type` `kind` is (None: not documented),
    with the document's components, for a validator."""
    doc = document()
    name = kind.replace(":", "_")
    message = doc["components"]["messages"].get(name)
    if message is None:
        return None
    return {
        "$ref": message["payload"]["$ref"],
        "components": {"schemas": doc["components"]["schemas"]},
    }
