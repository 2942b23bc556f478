"""Names are one printable line: control characters, line breaks and bidi
overrides in an item name or a dev-login name are refused with 422 and change nothing, since
names reach email subjects; a description keeps its line breaks and tabs; a name that comes in
a token's claims is cleaned, not refused. The same rules hold on every way in: an edit
(PATCH) and a cancel's reason too."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from chalice.test import Client

from shared.domain.text import clean_name, name_problem
from shared.services.context import Context
from tests.adapters.test_tokens import SECRET, claims, reconfigure, sign  # noqa: F401
from tests.functions.test_routes import auction_count, draft, invalid_fields
from tests.support.actors import Seller, call
from tests.support.harness import Person

REFUSED_IN_NAMES = {
    "crlf-header-injection": "Lot 7\r\nBcc: everyone@example.com",
    "newline": "Lot\n7",
    "tab": "Lot\t7",
    "bell": "Lot \x07",
    "escape": "\x1b[31mLot",
    "del": "Lot\x7f",
    "c1-csi": "Lot \x9b2J",
    "next-line": "Lot \x85 7",
    "line-separator": "Lot \u2028 7",
    "right-to-left-override": "invoice\u202egpj.exe",
    "left-to-right-isolate": "Lot \u2066x\u2069",
}


@pytest.mark.parametrize("name", list(REFUSED_IN_NAMES), ids=list(REFUSED_IN_NAMES))
def test_an_item_name_with_control_characters_is_refused(
    client: Client, ctx: Context, seller: Person, name: str
) -> None:
    response = call(client, "POST", "/api/auctions", seller, draft(itemName=REFUSED_IN_NAMES[name]))
    assert invalid_fields(response) == {"itemName"}
    assert auction_count(ctx) == 0


@pytest.mark.parametrize("name", list(REFUSED_IN_NAMES), ids=list(REFUSED_IN_NAMES))
def test_a_dev_login_name_with_control_characters_is_refused(client: Client, name: str) -> None:
    body = {"email": "asha@example.com", "name": REFUSED_IN_NAMES[name], "role": "buyer"}
    response = call(client, "POST", "/api/dev/login", None, body)
    assert invalid_fields(response) == {"name"}


def test_names_in_any_script_with_marks_and_emoji_are_fine(client: Client, seller: Person) -> None:
    for name in ("Ravi Kumar", "अंगूठी, 1920", "خاتم ذهبي", "Ring 💍 (18k)", "Zoë\u200dx"):
        response = call(client, "POST", "/api/auctions", seller, draft(itemName=name))
        assert response.status_code == 201, (name, response.body)
        assert orjson.loads(response.body)["itemName"] == name


def test_a_description_keeps_line_breaks_and_tabs_but_not_other_controls(
    client: Client, seller: Person
) -> None:
    text = "Brass, 1890s.\n\n\tLens: original\r\nCase: leather"
    created = call(client, "POST", "/api/auctions", seller, draft(description=text))
    assert created.status_code == 201, created.body
    assert orjson.loads(created.body)["description"] == text.strip()
    refused = call(client, "POST", "/api/auctions", seller, draft(description="a\x1b[2Jb"))
    assert invalid_fields(refused) == {"description"}


def test_the_openapi_document_states_the_rule(client: Client) -> None:
    document = orjson.loads(client.http.get("/api/openapi.json").body)
    create = document["components"]["schemas"]["CreateAuction"]["properties"]
    assert "pattern" in create["itemName"] and "pattern" in create["description"]


def test_a_name_from_token_claims_is_cleaned_not_refused(
    client: Client,
    reconfigure: Any,  # noqa: F811 - the fixture imported above
) -> None:
    reconfigure(SUPABASE_JWT_SECRET=SECRET)
    body = claims(user_metadata={"name": "Ra\u202evi\r\nBcc: x@example.com\x07"})
    response = client.http.get(
        "/api/me", headers={"Authorization": f"Bearer {sign(body, SECRET, 'HS256')}"}
    )
    assert response.status_code == 200, response.body
    assert orjson.loads(response.body)["name"] == "Ravi Bcc: x@example.com"


def test_the_rules_as_functions() -> None:
    assert name_problem("Lot 7") is None
    assert "U+000A" in (name_problem("a\nb") or "")
    assert clean_name("  a\t\tb\u2028c\u202e  ") == "a b c"


def _shown(client: Client, auction_id: str) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(call(client, "GET", f"/api/auctions/{auction_id}").body)
    return body


@pytest.mark.parametrize("name", list(REFUSED_IN_NAMES), ids=list(REFUSED_IN_NAMES))
def test_an_edit_is_held_to_the_rules_of_creation(
    client: Client, seller: Person, name: str
) -> None:
    """PATCH once took any text: a seller could put a line break or a text-direction override
    into a name after creation, where creation refuses it."""
    auction = Seller(client, seller).create()
    path = f"/api/auctions/{auction['id']}"
    edited = call(client, "PATCH", path, seller, {"itemName": REFUSED_IN_NAMES[name]})
    assert invalid_fields(edited) == {"itemName"}
    assert _shown(client, auction["id"])["itemName"] == auction["itemName"]


def test_an_edited_description_keeps_line_breaks_but_not_other_controls(
    client: Client, seller: Person
) -> None:
    auction = Seller(client, seller).create()
    path = f"/api/auctions/{auction['id']}"
    refused = call(client, "PATCH", path, seller, {"description": "a\x1b[2Jb"})
    assert invalid_fields(refused) == {"description"}
    assert _shown(client, auction["id"])["description"] == auction["description"]
    kept = call(client, "PATCH", path, seller, {"description": "Brass.\n\tLens: original"})
    assert kept.status_code == 200, kept.body
    assert orjson.loads(kept.body)["description"] == "Brass.\n\tLens: original"


@pytest.mark.parametrize("name", list(REFUSED_IN_NAMES), ids=list(REFUSED_IN_NAMES))
def test_a_cancel_reason_is_one_printable_line(client: Client, seller: Person, name: str) -> None:
    """The reason reaches the bidders' notifications and emails, as a name does."""
    auction = Seller(client, seller).create()
    path = f"/api/auctions/{auction['id']}/cancel"
    refused = call(client, "POST", path, seller, {"reason": REFUSED_IN_NAMES[name]})
    assert invalid_fields(refused) == {"reason"}
    assert _shown(client, auction["id"])["status"] == "scheduled"
