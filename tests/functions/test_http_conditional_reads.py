"""Auction reads carry an ETag and answer If-None-Match with 304 while the copy is current:
an auction and its bid history, through the real app and through the local HTTP server."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import orjson
from chalicelib.conditional import entity_tag, none_match

from shared.services.context import Context
from tests.support.harness import Person, live_auction, person


def get(client: Any, path: str, who: Person | None = None, tag: str | None = None) -> Any:
    headers = {**(who.headers if who else {}), **({"If-None-Match": tag} if tag else {})}
    return client.http.request("GET", path, headers=headers, body=b"")


def bid(client: Any, who: Person, auction_id: Any, amount: str) -> None:
    headers = {"Content-Type": "application/json", **who.headers}
    body = orjson.dumps({"amount": amount})
    response = client.http.request(
        "POST", f"/api/auctions/{auction_id}/bids", headers=headers, body=body
    )
    assert response.status_code == 201, response.body


def test_the_tag_ignores_only_the_moment_of_the_answer() -> None:
    one = b'{"id":"a","currentPrice":"100.00","serverTime":"2026-01-01T00:00:00.000Z"}'
    later = b'{"id":"a","currentPrice":"100.00","serverTime":"2026-01-01T00:00:09.999Z"}'
    moved = b'{"id":"a","currentPrice":"110.00","serverTime":"2026-01-01T00:00:00.000Z"}'
    assert entity_tag(one) == entity_tag(later)
    assert entity_tag(one) != entity_tag(moved)
    assert entity_tag(one).startswith('W/"')


def test_if_none_match_compares_weakly_and_reads_lists() -> None:
    tag = 'W/"abc"'
    assert none_match('W/"abc"', tag)
    assert none_match('"abc"', tag)  # weak comparison: the W/ is no part of the match
    assert none_match('"zzz", W/"abc"', tag)
    assert none_match("*", tag)
    assert not none_match('"abcd"', tag)
    assert not none_match(None, tag)
    assert not none_match("", tag)


def test_an_auction_read_is_revalidated_until_a_bid_changes_it(
    ctx: Context, client: Any, seller: Person, buyer: Person
) -> None:
    aid = live_auction(ctx, seller)
    first = get(client, f"/api/auctions/{aid}")
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.headers["Vary"] == "Authorization, Origin"
    # From an allowed page, CORS's own Vary joins it, each name once.
    from_page = client.http.request(
        "GET", f"/api/auctions/{aid}", headers={"Origin": "http://localhost:8080"}, body=b""
    )
    assert from_page.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert from_page.headers["Vary"] == "Authorization, Origin"

    unchanged = get(client, f"/api/auctions/{aid}", tag=tag)
    assert unchanged.status_code == 304
    assert unchanged.body in (b"", "", None)
    assert unchanged.headers["ETag"] == tag

    bid(client, buyer, aid, "100.00")
    changed = get(client, f"/api/auctions/{aid}", tag=tag)
    assert changed.status_code == 200
    assert changed.json_body["highestBid"]["amount"] == "100.00"
    assert changed.headers["ETag"] != tag


def test_a_signed_in_viewers_copy_is_their_own(
    ctx: Context, client: Any, seller: Person, buyer: Person
) -> None:
    aid = live_auction(ctx, seller)
    anonymous = get(client, f"/api/auctions/{aid}")
    mine = get(client, f"/api/auctions/{aid}", buyer)
    assert mine.headers["Cache-Control"] == "private, no-cache"
    # The viewer's answer says whether they watch: not the anonymous copy.
    assert mine.headers["ETag"] != anonymous.headers["ETag"]
    assert get(client, f"/api/auctions/{aid}", buyer, mine.headers["ETag"]).status_code == 304


def test_bid_history_is_revalidated_and_unknown_auctions_are_not(
    ctx: Context, client: Any, seller: Person, buyer: Person
) -> None:
    aid = live_auction(ctx, seller)
    bid(client, buyer, aid, "100.00")
    page = get(client, f"/api/auctions/{aid}/bids")
    tag = page.headers["ETag"]
    assert get(client, f"/api/auctions/{aid}/bids", tag=tag).status_code == 304
    rival = person(ctx, "buyer", "rival")
    bid(client, rival, aid, "110.00")
    assert get(client, f"/api/auctions/{aid}/bids", tag=tag).status_code == 200
    missing = get(client, "/api/auctions/00000000-0000-4000-8000-000000000000", tag="*")
    assert missing.status_code == 404
    assert "ETag" not in missing.headers


def test_a_304_over_http_has_no_body_and_no_length(
    ctx: Context, api_url: str, seller: Person
) -> None:
    aid = live_auction(ctx, seller)
    with urllib.request.urlopen(f"{api_url}/api/auctions/{aid}") as first:
        tag = first.headers["ETag"]
    request = urllib.request.Request(
        f"{api_url}/api/auctions/{aid}", headers={"If-None-Match": tag}
    )
    try:
        urllib.request.urlopen(request)
        raise AssertionError("expected 304")
    except urllib.error.HTTPError as answer:
        assert answer.code == 304
        assert answer.headers["ETag"] == tag
        assert answer.headers["Content-Length"] is None
        assert answer.read() == b""
