"""The container from the outside, as `docker run -p 8000:8000 -p 8080:8080 auction` gives it
to a newcomer: both servers answer on the host's ports, the bare image is the development stack
(dev login, demo data), and an auction goes from create to a bid seen live on a WebSocket, and
from buy-now to its PDF invoice.

`.ci/container` builds the image, starts it and names its published URLs in CONTAINER_API_URL
and CONTAINER_SOCKET_URL; without them (as in `make test`) these tests are skipped.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pypdf
import pytest
from websockets.sync.client import ClientConnection, connect

API_URL = os.environ.get("CONTAINER_API_URL", "").rstrip("/")
SOCKET_URL = os.environ.get("CONTAINER_SOCKET_URL", "").rstrip("/")

pytestmark = [
    pytest.mark.container,
    pytest.mark.skipif(
        not (API_URL and SOCKET_URL),
        reason="no running container: .ci/container builds and starts one and sets "
        "CONTAINER_API_URL and CONTAINER_SOCKET_URL",
    ),
]

# How long a cold container may take to be healthy (initdb of the embedded PostgreSQL,
# migrations, demo data) and an asynchronous step (the ticker, the invoice) to show: a
# readiness bound on a shared machine, not a speed claim.
READY_S = 180.0
EVENTUAL_S = 60.0


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = EVENTUAL_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s:.0f} s")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:

        def healthy() -> bool:
            try:
                return all(
                    client.get(f"{url}/health").status_code == 200 for url in (API_URL, SOCKET_URL)
                )
            except httpx.HTTPError:
                return False

        wait_for("both /health answering 200", healthy, READY_S)
        yield client


def sign_in(http: httpx.Client, role: str) -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    answer = http.post(f"{API_URL}/api/dev/login", json={"email": email, "role": role})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def create_auction(http: httpx.Client, seller: dict[str, str], **extra: Any) -> dict[str, Any]:
    go_live = datetime.now(UTC) + timedelta(seconds=2)
    body = {
        "itemName": f"Container smoke lot {uuid.uuid4().hex[:6]}",
        "description": "Made by the container smoke test.",
        "startPrice": 100,
        "bidIncrement": 10,
        "goLiveAt": go_live.isoformat().replace("+00:00", "Z"),
        "durationMins": 5,
        **extra,
    }
    answer = http.post(f"{API_URL}/api/auctions", json=body, headers=seller)
    assert answer.status_code == 201, answer.text
    auction: dict[str, Any] = answer.json()
    assert auction["status"] == "scheduled"
    return auction


def bid_once_live(
    http: httpx.Client, auction: dict[str, Any], bidder: dict[str, str], amount: int
) -> httpx.Response:
    """The bid, placed as soon as the server's clock has reached goLiveAt."""
    url = f"{API_URL}/api/auctions/{auction['id']}/bids"

    def placed() -> httpx.Response | None:
        answer = http.post(url, json={"amount": amount}, headers=bidder)
        if answer.status_code == 409 and answer.json().get("code") == "auction_not_live":
            return None
        return answer

    answer: httpx.Response = wait_for("the auction going live", placed)
    return answer


def next_message(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + EVENTUAL_S
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the awaited WebSocket message never came"
        message: dict[str, Any] = json.loads(ws.recv(timeout=remaining))
        if wanted(message):
            return message


def test_both_servers_answer_health_on_the_published_ports(http: httpx.Client) -> None:
    for url in (API_URL, SOCKET_URL):
        answer = http.get(f"{url}/health")
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "db": "ok", "redis": "ok"}


def test_a_bare_run_is_the_development_stack_with_its_demo_data(http: httpx.Client) -> None:
    config = http.get(f"{SOCKET_URL}/config.json").json()
    assert config["devLogin"] is True
    buyer = sign_in(http, "buyer")
    me = http.get(f"{API_URL}/api/me", headers=buyer)
    assert me.status_code == 200 and me.json()["role"] == "buyer"
    listed = http.get(f"{API_URL}/api/auctions", params={"limit": 100}).json()["items"]
    assert any(a["itemName"] == "Signed cricket bat, 2011 World Cup" for a in listed)
    # the web app itself is served
    page = http.get(f"{SOCKET_URL}/")
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_a_bid_is_seen_live_on_the_websocket(http: httpx.Client) -> None:
    seller, buyer = sign_in(http, "seller"), sign_in(http, "buyer")
    auction = create_auction(http, seller)
    ws_url = SOCKET_URL.replace("http://", "ws://", 1) + "/ws"
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "join", "auctionId": auction["id"], "lastEventId": None}))
        snapshot = next_message(ws, lambda m: m["type"] == "snapshot")
        assert snapshot["auctionId"] == auction["id"]
        # the socket node's ticker opens the auction at goLiveAt
        next_message(ws, lambda m: m["type"] == "auction:started")
        answer = bid_once_live(http, auction, buyer, 100)
        assert answer.status_code == 201, answer.text
        bid = answer.json()
        placed = next_message(ws, lambda m: m["type"] == "bid:placed")
    assert placed["auctionId"] == auction["id"]
    assert placed["data"]["bid"]["id"] == bid["id"]
    assert placed["data"]["bid"]["amount"] == "100.00"
    assert placed["data"]["minNextBid"] == "110.00"
    history = http.get(f"{API_URL}/api/auctions/{auction['id']}/bids").json()["items"]
    assert [b["id"] for b in history] == [bid["id"]]


def test_a_bought_now_auction_has_its_pdf_invoice(http: httpx.Client) -> None:
    seller, buyer = sign_in(http, "seller"), sign_in(http, "buyer")
    auction = create_auction(http, seller, buyNowPrice=500)
    answer = bid_once_live(http, auction, buyer, 500)
    assert answer.status_code == 201, answer.text
    sold = http.get(f"{API_URL}/api/auctions/{auction['id']}").json()
    assert sold["status"] == "sold"

    def invoice() -> httpx.Response | None:
        got = http.get(
            f"{API_URL}/api/auctions/{auction['id']}/invoice",
            headers={**buyer, "Accept": "application/pdf"},
        )
        return None if got.status_code == 404 else got  # 404 until the sale is recorded

    pdf: httpx.Response = wait_for("the invoice", invoice)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert auction["itemName"] in text
    assert "500.00" in text
