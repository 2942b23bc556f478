"""The API's own description: the OpenAPI document, and a page for people rendered from it on
the server (no script, no CDN: it works offline and under a strict CSP)."""

from __future__ import annotations

import html
import re
import threading
from typing import Any

import orjson
from chalice.app import Blueprint, Response

from ..openapi import document
from ..operations import Call, operation

bp = Blueprint(__name__)

# The page has inline styles and nothing else: no scripts, images, fonts or frames.
DOCS_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


@operation(
    bp,
    "GET",
    "/api/openapi.json",
    summary="This OpenAPI 3.1 document",
    tag="docs",
)
def get_openapi(call: Call) -> Response:
    return Response(
        body=_openapi_json(),
        status_code=200,
        headers={"Content-Type": "application/json"},
    )


@operation(
    bp,
    "GET",
    "/api/docs",
    summary="The API documentation as a web page",
    tag="docs",
    media_type="text/html",
)
def get_docs(call: Call) -> Response:
    return Response(
        body=_docs_html(),
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_CSP},
    )


_lock = threading.Lock()
_rendered: dict[str, str] = {}


def _once(key: str, make: Any) -> str:
    if key not in _rendered:
        with _lock:
            if key not in _rendered:
                _rendered[key] = make()
    return _rendered[key]


def _openapi_json() -> str:
    return _once("json", lambda: orjson.dumps(document()).decode())


def _docs_html() -> str:
    return _once("html", lambda: render(document()))


# -- rendering ----------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232b;
background:#f7f8fa}
header{background:#1d2b3a;color:#fff;padding:20px 32px}header h1{margin:0;font-size:24px}
header a{color:#9cd2ff}.layout{display:flex;align-items:flex-start}
nav{position:sticky;top:0;max-height:100vh;overflow:auto;width:290px;flex:none;padding:16px 20px;
box-sizing:border-box;font-size:13px;border-right:1px solid #dde1e6;background:#fff}
nav h2{font-size:12px;text-transform:uppercase;color:#68727d;margin:16px 0 4px}
nav a{display:flex;align-items:baseline;color:#1d232b;text-decoration:none;padding:2px 0;
word-break:break-all}nav a:hover{color:#0b63c5}nav .m{flex:none}
main{padding:16px 32px 64px;max-width:1000px;min-width:0}
.op{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 18px;margin:14px 0}
.op h3{margin:4px 0;font-size:16px;font-weight:600}
.m{display:inline-block;min-width:54px;text-align:center;border-radius:4px;color:#fff;
font-size:12px;padding:2px 6px;margin-right:8px;font-family:ui-monospace,monospace}
.get{background:#1f7a4d}.post{background:#0b63c5}.put,.patch{background:#a15c00}
.delete{background:#b3261e}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;
font-size:13px;background:#eef1f4;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{text-align:left;border-bottom:1px solid #e6e9ed;padding:4px 8px;vertical-align:top}
th{color:#68727d;font-weight:600}.auth{color:#68727d;font-size:13px}
.req{color:#b3261e;font-size:11px}h4{margin:10px 0 2px;font-size:13px;color:#3a4551}
.s2{color:#1f7a4d}.s4{color:#a15c00}.s5{color:#b3261e}
"""

_CODE = re.compile(r"`([^`]+)`")


def _text(value: str) -> str:
    """Plain text with `code` spans, escaped."""
    return _CODE.sub(r"<code>\1</code>", html.escape(value, quote=False))


def _anchor(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_label(schema: dict[str, Any]) -> str:
    """A short human description of a JSON schema: `string (date-time)`, `Bid | null`..."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#{_anchor("schema", name)}">{html.escape(name)}</a>'
    for key, joiner in (("anyOf", " | "), ("oneOf", " | "), ("allOf", " &amp; ")):
        if key in schema:
            labels = [type_label(s) for s in schema[key]]
            # allOf narrowing parts (a problem's `code` enum) say nothing on their own here.
            return joiner.join(label for label in labels if label != "any") or "any"
    if "const" in schema:
        return f"<code>{html.escape(orjson.dumps(schema['const']).decode())}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(
            f"<code>{html.escape(orjson.dumps(v).decode())}</code>" for v in schema["enum"]
        )
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if kind == "array":
        return "array of " + type_label(schema.get("items", {}))
    label = html.escape(str(kind))
    if "format" in schema:
        label += f" ({html.escape(schema['format'])})"
    return label


_LIMITS = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("pattern", "matches {}"),
    ("default", "default {}"),
)


def _notes(schema: dict[str, Any]) -> str:
    notes = []
    if schema.get("description"):
        notes.append(_text(schema["description"]))
    for key, template in _LIMITS:
        if key in schema:
            value = orjson.dumps(schema[key]).decode() if key == "default" else schema[key]
            notes.append(html.escape(template.format(value)))
    return "; ".join(notes)


def _fields(schema: dict[str, Any]) -> str:
    properties = schema.get("properties") or {}
    if not properties:
        return ""
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code>"
        f"{' <span class=req>required</span>' if name in required else ''}</td>"
        f"<td>{type_label(prop)}</td><td>{_notes(prop)}</td></tr>"
        for name, prop in properties.items()
    )
    return f"<table><tr><th>field</th><th>type</th><th>notes</th></tr>{rows}</table>"


def _auth(spec: dict[str, Any]) -> str:
    security = spec.get("security", [])
    if not security:
        return "Anyone."
    if {} in security:
        return "Anyone; a bearer token, when sent, must be valid."
    return "Bearer token. " + _text(spec.get("description", ""))


def _operation(path: str, method: str, spec: dict[str, Any]) -> str:
    parts = [
        f'<section class="op" id="{_anchor(spec["operationId"])}">',
        f'<h3><span class="m {method}">{method.upper()}</span><code>{html.escape(path)}</code>'
        "</h3>",
        f"<div>{_text(spec.get('summary', ''))}</div>",
        f'<div class="auth">{_auth(spec)}</div>',
    ]
    parameters = spec.get("parameters", [])
    if parameters:
        parameter_rows = "".join(
            f"<tr><td><code>{html.escape(p['name'])}</code>"
            f"{' <span class=req>required</span>' if p.get('required') else ''}</td>"
            f"<td>{html.escape(p['in'])}</td><td>{type_label(p.get('schema', {}))}</td>"
            f"<td>{_notes({**p.get('schema', {}), 'description': p.get('description', '')})}"
            "</td></tr>"
            for p in parameters
        )
        parts.append(
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th>"
            f"<th>notes</th></tr>{parameter_rows}</table>"
        )
    body = spec.get("requestBody")
    if body:
        (media, content), *_ = body["content"].items()
        parts.append(
            f"<h4>Body ({html.escape(media)})</h4><div>{type_label(content['schema'])}</div>"
        )
    rows = []
    for status, response in spec.get("responses", {}).items():
        content = response.get("content", {})
        shapes = ", ".join(
            f"{html.escape(media)}: {type_label(c.get('schema', {}))}"
            for media, c in content.items()
        )
        rows.append(
            f'<tr><td class="s{status[0]}">{status}</td>'
            f"<td>{_text(response.get('description', ''))}</td><td>{shapes}</td></tr>"
        )
    parts.append(
        "<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>"
        f"{''.join(rows)}</table></section>"
    )
    return "".join(parts)


def render(spec: dict[str, Any]) -> str:
    """The whole page, from the OpenAPI document alone."""
    info = spec["info"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append((path, method, op))
    tags = [t for t in spec.get("tags", []) if t["name"] in by_tag]
    tags += [{"name": n} for n in by_tag if n not in {t["name"] for t in tags}]
    nav, main = [], []
    intro = "".join(f"<p>{_text(p)}</p>" for p in info.get("description", "").split("\n\n"))
    main.append(f'<section id="overview"><h2>Overview</h2>{intro}</section>')
    for tag in tags:
        name = tag["name"]
        nav.append(f"<h2>{html.escape(name)}</h2>")
        main.append(f'<h2 id="{_anchor("tag", name)}">{html.escape(name)}</h2>')
        if tag.get("description"):
            main.append(f"<p>{_text(tag['description'])}</p>")
        for path, method, op in by_tag[name]:
            nav.append(
                f'<a href="#{_anchor(op["operationId"])}"><span class="m {method}">'
                f"{method.upper()}</span>{html.escape(path)}</a>"
            )
            main.append(_operation(path, method, op))
    nav.append("<h2>schemas</h2>")
    main.append('<h2 id="schemas">Schemas</h2>')
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        nav.append(f'<a href="#{_anchor("schema", name)}">{html.escape(name)}</a>')
        description = _text(schema.get("description", ""))
        main.append(
            f'<section class="op" id="{_anchor("schema", name)}"><h3>{html.escape(name)}</h3>'
            f"<div>{description}</div>{_fields(schema) or type_label(schema)}</section>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(info['title'])}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(info['title'])}</h1><div>Version "
        f"{html.escape(info['version'])} · OpenAPI {html.escape(spec['openapi'])} · "
        '<a href="openapi.json">openapi.json</a></div></header>'
        f'<div class="layout"><nav>{"".join(nav)}</nav><main>{"".join(main)}</main></div>'
        "</body></html>"
    )
