"""Anyone signed in can start selling: the seller's profile, roles held in PostgreSQL (the
token's role only seeds a new user), an admin's role control, and what a refusal leaves."""

from __future__ import annotations

import uuid

import pytest
from chalice.test import Client
from sqlalchemy import select, update

from shared.adapters.orm import AuditEntry, SellerProfileRow, User
from shared.adapters.tokens import Verifier
from shared.services import users
from shared.services.context import Context
from shared.settings import get_settings
from tests.support.actors import Actor, Admin, Seller
from tests.support.gst_samples import gstin_for
from tests.support.harness import Person, person
from tests.support.market import KARNATAKA, SELLER_GSTIN, profile, start_selling

NEW_AUCTION = {
    "itemName": "Brass compass",
    "startPrice": "100.00",
    "bidIncrement": "10.00",
    "goLiveAt": "2099-01-01T10:00:00Z",
    "durationMins": 30,
}


def me(client: Client, who: Person) -> dict[str, object]:
    response = Actor(client, who).get("/api/me")
    assert response.status_code == 200, response.body
    body: dict[str, object] = response.json_body
    return body


def role_in_record(ctx: Context, who: Person) -> str:
    with ctx.db.session() as session:
        return str(session.scalar(select(User.role).where(User.id == uuid.UUID(who.id))))


def token_for(ctx: Context, who: Person, role: str) -> Person:
    """The same person (same email, so the same id) with a token that claims `role`."""
    verifier = Verifier(get_settings())
    token = verifier.mint_dev_token(who.principal.email, who.principal.name, role)
    return Person(verifier.verify(token), token)


def test_a_buyer_starts_selling_and_is_a_seller_from_the_next_request(
    ctx: Context, client: Client
) -> None:
    asha = person(ctx, "buyer", "Asha Kumar")
    refused = Actor(client, asha).post("/api/auctions", NEW_AUCTION)
    assert (refused.status_code, refused.json_body["code"]) == (403, "forbidden")
    assert Actor(client, asha).get("/api/me/seller-profile").status_code == 404

    made = start_selling(client, asha, gstin=f" {SELLER_GSTIN.lower()} ")
    assert made["role"] == "seller" and made["gstRegistered"] is True
    assert made["gstin"] == SELLER_GSTIN  # upper case, trimmed
    assert made["address"] == {
        "line1": "12 MG Road",
        "line2": "Shanthala Nagar",
        "city": "Bengaluru",
        "state": "Karnataka",
        "stateCode": "29",
        "postalCode": "560001",
        "country": "IN",
    }
    assert me(client, asha)["role"] == "seller"
    assert Actor(client, asha).get("/api/me/seller-profile").json_body == made
    created = Actor(client, asha).post("/api/auctions", NEW_AUCTION)
    assert created.status_code == 201, created.body
    # The token still says buyer: the record's role stands.
    assert asha.principal.role == "buyer" and role_in_record(ctx, asha) == "seller"
    with ctx.db.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.seller_profile")
        ).one()
        assert entry.details["role"] == {"from": "buyer", "to": "seller"}

    # Updating the profile (no GSTIN now) keeps the role; an admin who sells stays an admin.
    again = start_selling(client, asha, displayName="Asha's Attic")
    assert (again["displayName"], again["gstin"], again["role"]) == ("Asha's Attic", None, "seller")
    admin = person(ctx, "admin")
    assert start_selling(client, admin)["role"] == "admin"


def test_the_token_seeds_the_role_once_and_an_admin_token_is_always_admin(
    ctx: Context, client: Client
) -> None:
    ravi = person(ctx, "buyer", "Ravi")
    claims_seller = token_for(ctx, ravi, "seller")
    users._seen.clear()
    assert me(client, claims_seller)["role"] == "buyer"  # the row's role stands
    assert Actor(client, claims_seller).post("/api/auctions", NEW_AUCTION).status_code == 403

    claims_admin = token_for(ctx, ravi, "admin")
    assert me(client, claims_admin)["role"] == "admin"
    listed = Actor(client, claims_admin).get("/api/admin/users")
    assert listed.status_code == 200
    assert role_in_record(ctx, ravi) == "buyer"  # the token never writes the role

    new = person(ctx, "seller", "Sita")  # first seen with a seller's token: seeded seller
    assert role_in_record(ctx, new) == "seller"


def test_an_admin_sets_roles_and_a_demotion_bites_within_the_cache_time(
    ctx: Context, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = person(ctx, "admin")
    asha = person(ctx, "buyer", "Asha")
    changed = Admin(client, admin).put(f"/api/admin/users/{asha.id}/role", {"role": "seller"})
    assert changed.status_code == 200, changed.body
    assert changed.json_body["role"] == "seller" and changed.json_body["id"] == asha.id
    assert Seller(client, asha).create()["sellerId"] == asha.id
    bad = Admin(client, admin).put(f"/api/admin/users/{asha.id}/role", {"role": "king"})
    assert (bad.status_code, bad.json_body["errors"][0]["field"]) == (422, "role")
    own = Admin(client, admin).put(f"/api/admin/users/{admin.id}/role", {"role": "buyer"})
    assert own.status_code == 422
    unknown = Admin(client, admin).put(f"/api/admin/users/{uuid.uuid4()}/role", {"role": "buyer"})
    assert unknown.status_code == 404
    assert (
        Actor(client, asha).put(f"/api/admin/users/{asha.id}/role", {"role": "admin"}).status_code
        == 403
    )

    # Another process demotes her (the record changes under this process's cache): her next
    # requests here still act as seller until the cached role expires, then they are refused.
    monkeypatch.setattr(users, "ROLE_CACHE_SECS", 0.5)
    assert me(client, asha)["role"] == "seller"
    Seller(client, asha).create()  # cached now
    with ctx.db.session() as session:
        session.execute(update(User).where(User.id == uuid.UUID(asha.id)).values(role="buyer"))
    Seller(client, asha).create()  # within the cache time: still a seller here
    import time

    time.sleep(0.6)
    assert Actor(client, asha).post("/api/auctions", NEW_AUCTION).status_code == 403

    # A promotion made elsewhere bites at once: a refused request reads the record again.
    with ctx.db.session() as session:
        session.execute(update(User).where(User.id == uuid.UUID(asha.id)).values(role="seller"))
    monkeypatch.setattr(users, "ROLE_CACHE_SECS", 3600)
    assert Actor(client, asha).post("/api/auctions", NEW_AUCTION).status_code == 201


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"gstin": SELLER_GSTIN[:-1] + ("A" if SELLER_GSTIN[-1] != "A" else "B")},
            "gstin",
            "does not add up",
        ),
        (
            {"address": {k: v for k, v in KARNATAKA.items() if k != "postalCode"}},
            "address.postalCode",
            "is required: the 6-digit PIN code",
        ),
        ({"address": {**KARNATAKA, "postalCode": "056001"}}, "address.postalCode", "6-digit"),
        ({"address": {**KARNATAKA, "state": "Narnia"}}, "address.state", "state or union"),
        ({"address": {**KARNATAKA, "country": "FR"}}, "address.country", "India"),
        ({"phone": "+91 98450 12345"}, "phone", "+919845012345"),
        ({"phone": "9845012345"}, "phone", "E.164"),
        ({"acceptTerms": False}, "acceptTerms", "must be true"),
        ({"displayName": "Sita\nAntiques"}, "displayName", ""),
        # Maharashtra's, with a Karnataka address
        ({"gstin": str(gstin_for("27"))}, "gstin", "registered in Maharashtra (27)"),
    ],
)
def test_a_bad_profile_is_refused_field_by_field_and_changes_nothing(
    ctx: Context, client: Client, changes: dict[str, object], field: str, words: str
) -> None:
    asha = person(ctx, "buyer", "Asha")
    refused = Actor(client, asha).put("/api/me/seller-profile", profile(**changes))
    assert refused.status_code == 422, refused.body
    assert refused.headers["Content-Type"] == "application/problem+json"
    errors = {e["field"]: e["message"] for e in refused.json_body["errors"]}
    assert field in errors, errors
    assert words in errors[field]
    with ctx.db.session() as session:
        assert session.get(SellerProfileRow, uuid.UUID(asha.id)) is None
    assert role_in_record(ctx, asha) == "buyer"


def test_every_problem_of_a_profile_is_named_at_once(ctx: Context, client: Client) -> None:
    asha = person(ctx, "buyer", "Asha")
    body = profile(
        phone="12345",
        gstin="29AABCS1429B1Z0",
        address={**KARNATAKA, "line1": " ", "postalCode": "1234"},
        acceptTerms=False,
    )
    refused = Actor(client, asha).put("/api/me/seller-profile", body)
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json_body["errors"]}
    assert fields == {"phone", "gstin", "address.line1", "address.postalCode", "acceptTerms"}


def test_a_suspended_user_cannot_start_selling(ctx: Context, client: Client) -> None:
    admin, asha = person(ctx, "admin"), person(ctx, "buyer", "Asha")
    assert (
        Admin(client, admin)
        .post(f"/api/admin/users/{asha.id}/suspend", {"reason": "fraud"})
        .status_code
        == 200
    )
    refused = Actor(client, asha).put("/api/me/seller-profile", profile())
    assert (refused.status_code, refused.json_body["code"]) == (403, "account_suspended")
    assert role_in_record(ctx, asha) == "buyer"
    with ctx.db.session() as session:
        assert session.get(SellerProfileRow, uuid.UUID(asha.id)) is None
