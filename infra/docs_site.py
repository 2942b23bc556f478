"""The reference pages of the documentation site, written from the sources of truth.

Three pages are never written by hand, because each restates something the code already says
and a copy would drift: the REST API (the OpenAPI document the API serves, built from its
routes and response models), the WebSocket protocol (the socket node's AsyncAPI document,
built from `socket_node/protocol.py`), and the configuration (the settings class, with the
meaning of each variable from `.env.example`, which a test keeps in step with the class).

They are generated into the build, not committed: `infra/docs_hooks.py` adds them to every
`mkdocs build` (`make docs`, and the strict build in `make test`), so the site can never show
a stale copy and there is no generated file to keep current. `python -m infra.docs_site DIR`
writes them out as Markdown for reading without the site.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

REST_PAGE = "reference/rest-api.md"
WEBSOCKET_PAGE = "reference/websocket.md"
CONFIGURATION_PAGE = "reference/configuration.md"

GENERATED_NOTE = (
    '!!! note "Generated"\n'
    "    This page is generated at every build from {source}; edit that, not this page.\n"
)

Schema = Mapping[str, Any]


# -- Markdown helpers --------------------------------------------------------------------------


def cell(text: object) -> str:
    """Text for one table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def code(text: object) -> str:
    """Inline code, whatever backticks the text holds."""
    value = str(text)
    fence = "``" if "`" in value else "`"
    return f"{fence}{value}{fence}" if fence == "`" else f"{fence} {value} {fence}"


def sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".:!?)" else text + "."


def joined(*parts: str) -> str:
    """Clauses in one cell: a description, then its bounds."""
    kept = [part.strip() for part in parts if part and part.strip()]
    return "; ".join(p.rstrip(".") if i < len(kept) - 1 else p for i, p in enumerate(kept))


def anchor(prefix: str, name: str) -> str:
    return f"{prefix}-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# -- JSON Schema, in words ---------------------------------------------------------------------


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: Schema, link: str) -> str:
    """A schema's type in a few words, with a link for a named one (`link` makes the
    address of its anchor: `#{}` on the same page)."""
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        return f"[{name}]({link.format(anchor('schema', name))})"
    if "const" in schema:
        return code(_json(schema["const"]))
    if "enum" in schema:
        return " \\| ".join(code(_json(value)) for value in schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            parts = [type_of(part, link) for part in schema[combinator]]
            return " or ".join(dict.fromkeys(parts))
    if "allOf" in schema:
        return " and ".join(type_of(part, link) for part in schema["allOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array":
        return "array of " + type_of(schema.get("items", {}), link)
    if kind == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            return "object of " + type_of(extra, link)
        return "object"
    words = str(kind) if kind else "any"
    if "format" in schema:
        words += f" ({schema['format']})"
    return words


def limits_of(schema: Schema) -> str:
    """The bounds a value must keep: lengths, ranges, a pattern."""
    found = []
    for key, words in (
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minimum", "≥ {}"),
        ("exclusiveMinimum", "> {}"),
        ("maximum", "≤ {}"),
        ("exclusiveMaximum", "< {}"),
        ("minItems", "at least {} items"),
        ("maxItems", "at most {} items"),
    ):
        if key in schema:
            found.append(words.format(schema[key]))
    if "pattern" in schema:
        found.append("matches " + code(schema["pattern"]))
    for combinator in ("anyOf", "oneOf"):
        for part in schema.get(combinator, []):
            inner = limits_of(part)
            if inner and inner not in found:
                found.append(inner)
    return "; ".join(found)


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def description_of(schema: Schema) -> str:
    text = schema.get("description", "")
    if not text:
        for combinator in ("anyOf", "oneOf", "allOf"):
            for part in schema.get(combinator, []):
                if part.get("description"):
                    return str(part["description"])
    return str(text)


def properties_table(schema: Schema, link: str) -> str:
    properties: Mapping[str, Schema] = schema.get("properties", {})
    if not properties:
        return type_of(schema, link) + "\n"
    required = set(schema.get("required", []))
    rows = []
    for name, member in properties.items():
        meaning = description_of(member)
        bounds = limits_of(member)
        if "default" in member and member["default"] is not None:
            bounds = "; ".join(filter(None, [bounds, "default " + code(_json(member["default"]))]))
        rows.append(
            [
                code(name),
                type_of(member, link),
                "yes" if name in required else "no",
                joined(meaning, bounds),
            ]
        )
    note = ""
    if schema.get("additionalProperties") is False:
        note = "\nNo other member is allowed.\n"
    return table(["member", "type", "required", "meaning"], rows) + note


def schemas_section(schemas: Mapping[str, Schema], link: str, names: Iterable[str]) -> str:
    parts = []
    for name in names:
        schema = schemas[name]
        parts.append(f"### {name} {{#{anchor('schema', name)}}}\n")
        title = schema.get("title")
        if title and title != name and "properties" in schema:
            parts.append(f"*{title}*\n")
        if schema.get("description"):
            parts.append(str(schema["description"]).strip() + "\n")
        parts.append(properties_table(schema, link))
    return "\n".join(parts)


# -- the REST API ------------------------------------------------------------------------------

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def problem_codes(response: Schema) -> list[str]:
    """The `code`s a problem response lists (its schema narrows `code` to an enum)."""
    for content in response.get("content", {}).values():
        for part in content.get("schema", {}).get("allOf", []):
            codes = part.get("properties", {}).get("code", {}).get("enum")
            if codes:
                return [str(c) for c in codes]
    return []


def response_body(response: Schema, link: str) -> str:
    bodies = []
    for media, content in response.get("content", {}).items():
        schema = content.get("schema")
        if media == "application/problem+json":
            continue
        bodies.append(code(media) + (": " + type_of(schema, link) if schema else ""))
    return "; ".join(bodies)


def rest_page(document: Mapping[str, Any]) -> str:
    link = "#{}"
    info = document["info"]
    paths: Mapping[str, Mapping[str, Any]] = document["paths"]
    operations = [
        (path, method, operation)
        for path, item in paths.items()
        for method, operation in item.items()
        if method in METHODS
    ]
    out = [
        "# REST API reference\n",
        GENERATED_NOTE.format(
            source="the OpenAPI document the API serves (`GET /api/openapi.json`, built by "
            "`functions/chalicelib/openapi.py` from the routes and their models)"
        ),
    ]
    out.append(f"{info['title']}, version {info['version']} (OpenAPI {document['openapi']}).\n")
    out.append(str(info.get("description", "")).strip() + "\n")
    out.append(
        "A guide to the API's behaviour in words (authentication, errors, lists, limits) is "
        "[the REST API](../api.md); this page is the exact list.\n"
    )

    tags = [tag["name"] for tag in document.get("tags", [])]
    seen = {t for _, _, op in operations for t in op.get("tags", [])}
    tags += sorted(seen - set(tags))
    tag_text = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}

    out.append("## Routes\n")
    rows = []
    for path, method, operation in operations:
        op_anchor = anchor("op", operation.get("operationId", f"{method} {path}"))
        rows.append(
            [
                f"[{code(method.upper() + ' ' + path)}](#{op_anchor})",
                operation.get("summary", ""),
                ", ".join(operation.get("tags", [])),
                "token" if operation.get("security") else "none",
            ]
        )
    out.append(table(["route", "what", "area", "sign-in"], rows))

    errors: dict[str, dict[str, Any]] = {}
    for tag in tags:
        in_tag = [(p, m, o) for p, m, o in operations if (o.get("tags") or ["other"])[0] == tag]
        if not in_tag:
            continue
        out.append(f"## {tag}\n")
        if tag_text.get(tag):
            out.append(tag_text[tag].strip() + "\n")
        for path, method, operation in in_tag:
            out.append(operation_section(path, method, operation, link, errors))

    out.append("## Problem codes {#problem-codes}\n")
    out.append(
        "Every refusal is `application/problem+json` with a machine-readable `code`; these are "
        "all the codes the document lists, with the routes that may answer each.\n"
    )
    rows = []
    for problem, facts in sorted(errors.items()):
        routes = ", ".join(
            f"[{code(label)}](#{target})" for label, target in sorted(facts["routes"].items())
        )
        rows.append([code(problem), ", ".join(sorted(facts["statuses"])), facts["title"], routes])
    out.append(table(["code", "status", "title", "answered by"], rows))

    schemas = document.get("components", {}).get("schemas", {})
    out.append("## Schemas\n")
    out.append(schemas_section(schemas, link, sorted(schemas)))
    security = document.get("components", {}).get("securitySchemes", {})
    if security:
        out.append("## Sign-in\n")
        out.append(
            table(
                ["scheme", "kind", "meaning"],
                [
                    [
                        code(name),
                        " ".join(
                            filter(None, [s.get("type"), s.get("scheme"), s.get("bearerFormat")])
                        ),
                        s.get("description", ""),
                    ]
                    for name, s in security.items()
                ],
            )
        )
    return "\n".join(out)


def operation_section(
    path: str,
    method: str,
    operation: Mapping[str, Any],
    link: str,
    errors: dict[str, dict[str, Any]],
) -> str:
    op_id = operation.get("operationId", f"{method} {path}")
    op_anchor = anchor("op", op_id)
    out = [f"### {code(method.upper() + ' ' + path)} {{#{op_anchor}}}\n"]
    lead = sentence(operation.get("summary", ""))
    if operation.get("security"):
        lead += " Needs a token (`Authorization: Bearer`)."
    else:
        lead += " Anyone (a token that is sent must be valid)."
    out.append(lead.strip() + f" Operation `{op_id}`.\n")
    if operation.get("description"):
        out.append(str(operation["description"]).strip() + "\n")

    parameters = operation.get("parameters", [])
    if parameters:
        out.append(
            table(
                ["parameter", "in", "required", "type", "meaning"],
                [
                    [
                        code(p["name"]),
                        p["in"],
                        "yes" if p.get("required") else "no",
                        type_of(p.get("schema", {}), link),
                        joined(p.get("description", ""), limits_of(p.get("schema", {}))),
                    ]
                    for p in parameters
                ],
            )
        )
    body = operation.get("requestBody")
    if body:
        kinds = [
            code(media) + (": " + type_of(content["schema"], link) if "schema" in content else "")
            for media, content in body.get("content", {}).items()
        ]
        needed = "required" if body.get("required") else "optional"
        words = body.get("description", "")
        out.append(f"Body ({needed}): {'; '.join(kinds)}. {words}".strip() + "\n")

    rows = []
    for status, response in operation.get("responses", {}).items():
        codes = problem_codes(response)
        if codes:
            titles = dict(
                part.split(": ", 1)
                for part in (
                    p.strip().strip("`") for p in response.get("description", "").split("; ")
                )
                if ": " in part
            )
            titles = {k.strip("`"): v for k, v in titles.items()}
            for problem in codes:
                facts = errors.setdefault(
                    problem, {"statuses": set(), "title": titles.get(problem, ""), "routes": {}}
                )
                facts["statuses"].add(status)
                facts["routes"][f"{method.upper()} {path}"] = op_anchor
            what = "; ".join(
                f"{code(problem)}: {titles.get(problem, '')}".rstrip(": ") for problem in codes
            )
        else:
            what = "; ".join(
                filter(None, [response.get("description", ""), response_body(response, link)])
            )
        headers = ", ".join(code(name) for name in response.get("headers", {}))
        if headers:
            what += f" (headers: {headers})"
        rows.append([code(status), what])
    out.append(table(["status", "answer"], rows))
    return "\n".join(out)


# -- the WebSocket protocol --------------------------------------------------------------------


def resolve(document: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]


def websocket_page(document: Mapping[str, Any]) -> str:
    link = "#{}"
    info = document["info"]
    out = [
        "# WebSocket protocol reference\n",
        GENERATED_NOTE.format(
            source="the socket node's AsyncAPI document (`GET /asyncapi.json`, built by "
            "`socket_node/asyncapi.py` from the models in `socket_node/protocol.py`)"
        ),
    ]
    out.append(f"{info['title']}, version {info['version']} (AsyncAPI {document['asyncapi']}).\n")
    out.append(str(info.get("description", "")).strip() + "\n")
    out.append(
        "How the node keeps rooms, replay and limits is told in [Live rooms](../live-rooms.md).\n"
    )
    servers = document.get("servers", {})
    if servers:
        out.append("## Servers\n")
        out.append(
            table(
                ["server", "address", "meaning"],
                [
                    [code(name), code(f"{s['protocol']}://{s['host']}"), s.get("description", "")]
                    for name, s in servers.items()
                ],
            )
        )
    for channel in document.get("channels", {}).values():
        out.append(f"Channel address: {code(channel.get('address', ''))}.\n")

    schemas = document.get("components", {}).get("schemas", {})
    shown: list[str] = []
    for operation in document.get("operations", {}).values():
        out.append(f"## {operation.get('title', '')}\n")
        rows = []
        details = []
        for reference in operation.get("messages", []):
            message = resolve(document, reference["$ref"])
            if "$ref" in message:
                message = resolve(document, message["$ref"])
            name = str(message.get("name", ""))
            payload = message.get("payload", {})
            target = anchor("message", name)
            audience = ""
            if "$ref" in payload:
                payload_schema = resolve(document, payload["$ref"])
                audience = str(payload_schema.get("x-audience", ""))
            if not audience and operation.get("action") == "send":
                audience = "the connection"  # an answer to what it sent
            rows.append([f"[{code(name)}](#{target})", audience, message.get("summary", "")])
            details.append(f"### {code(name)} {{#{target}}}\n")
            details.append(str(message.get("summary", "")).strip() + "\n")
            if message.get("description"):
                details.append(str(message["description"]).strip() + "\n")
            if "$ref" in payload:
                payload_name = ref_name(payload["$ref"])
                shown.append(payload_name)
                details.append(properties_table(schemas[payload_name], link))
            else:
                details.append(properties_table(payload, link))
        if any(audience for _, audience, _ in rows):
            out.append(table(["message", "to", "what"], rows))
        else:
            out.append(table(["message", "what"], [[name, what] for name, _, what in rows]))
        out.extend(details)

    rest = [name for name in sorted(schemas) if name not in shown]
    out.append("## Schemas\n")
    out.append("The shapes the messages above name.\n")
    out.append(schemas_section(schemas, link, rest))
    return "\n".join(out)


# -- the configuration -------------------------------------------------------------------------


def env_example_groups(text: str) -> list[tuple[str, list[str]]]:
    """`.env.example` as it is laid out: each comment block with the run of variables under
    it (a blank line or a new comment ends a run; a run with no comment of its own gets "")."""
    groups: list[tuple[str, list[str]]] = []
    comment: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            comment, current = [], None
        elif stripped.startswith("#"):
            if current is not None:
                comment, current = [], None
            comment.append(stripped.lstrip("#").strip())
        elif "=" in stripped:
            if current is None:
                current = []
                groups.append((" ".join(comment), current))
            current.append(stripped.split("=", 1)[0].strip())
    return groups


def type_words(annotation: Any) -> str:
    """A settings field's type as a reader says it."""
    from typing import Literal, get_args, get_origin

    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(code(value) for value in get_args(annotation))
    words = {"str": "text", "int": "integer", "bool": "`true` or `false`", "Decimal": "decimal"}
    args = [a for a in get_args(annotation) if a is not type(None)]
    if args:  # X | None
        return " or ".join(words.get(a.__name__, a.__name__) for a in args)
    name = getattr(annotation, "__name__", str(annotation))
    return words.get(name, name)


def configuration_page(settings_class: Any, env_example: str) -> str:
    from pydantic import AliasChoices

    out = [
        "# Configuration reference\n",
        GENERATED_NOTE.format(
            source="the settings class (`shared/settings.py`, one pydantic-settings class) "
            "and the comments of `.env.example`, in its order"
        ),
    ]
    out.append(
        "Every variable the system reads, with its default. Nothing is required for "
        "`make run`: unset URLs start embedded PostgreSQL and Redis under `var/`. A wrong "
        "value stops the start with one line naming the variable, e.g. `configuration error: "
        "BID_RATE_LIMIT: expected RATE/UNIT[:BURST], e.g. 5/s or 5/s:10`. `.env.example` is "
        "the same list to copy and fill in (a test keeps it in step with the class).\n"
    )
    fields: dict[str, tuple[list[str], Any]] = {}
    for name, field in settings_class.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            names = [str(choice) for choice in field.validation_alias.choices]
        else:
            names = [field.alias or name.upper()]
        for variable in names:
            fields[variable] = (names, field)

    def row(variable: str) -> list[str]:
        names, field = fields[variable]
        others = [n for n in names if n != variable]
        shown = code(variable) + "".join(f" (`{n}` wins when set)" for n in others)
        default = field.default
        if default is None:
            default_text = "unset"
        else:
            default_text = code(str(default).lower() if isinstance(default, bool) else default)
        bounds = []
        for item in field.metadata:
            for key, words in (("ge", "≥ {}"), ("le", "≤ {}"), ("pattern", "matches `{}`")):
                value = getattr(item, key, None)
                if value is not None:
                    bounds.append(words.format(value))
        return [shown, type_words(field.annotation), default_text, ", ".join(bounds)]

    listed: set[str] = set()
    header = ["variable", "type", "default", "bounds"]
    for comment, variables in env_example_groups(env_example):
        known = [v for v in variables if v in fields]
        if not known:
            continue
        listed.update(known)
        if comment:
            out.append(comment + "\n")
        out.append(table(header, [row(v) for v in known]))
    rest = [v for v in fields if v not in listed and not set(fields[v][0]) & listed]
    if rest:
        out.append("Read by the settings class but not described in `.env.example`:\n")
        out.append(table(header, [row(v) for v in rest]))
    return "\n".join(out)


# -- the sources -------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The API's document, as `GET /api/openapi.json` serves it (the app registers its routes
    when imported; `functions/` is its root, as on Lambda)."""
    os.environ.setdefault("APP_ENV", "test")
    functions = str(REPO_ROOT / "functions")
    if functions not in sys.path:
        sys.path.insert(0, functions)
    import app  # noqa: F401  (registers every route)
    from chalicelib.openapi import document

    return document()


def asyncapi_document() -> dict[str, Any]:
    from socket_node.asyncapi import document

    return document()


def generated_pages() -> dict[str, str]:
    """Every generated page: its path under docs/ and its Markdown."""
    from shared.settings import Settings

    env_example = (REPO_ROOT / ".env.example").read_text()
    return {
        REST_PAGE: rest_page(openapi_document()),
        WEBSOCKET_PAGE: websocket_page(asyncapi_document()),
        CONFIGURATION_PAGE: configuration_page(Settings, env_example),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m infra.docs_site DIR  (writes the generated pages under DIR)")
        return 2
    target = Path(argv[0])
    for name, text in generated_pages().items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
