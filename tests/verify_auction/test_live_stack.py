"""`python -m verify_auction` against the real stack: the API server and the socket node (whose
ticker signs the checkpoints and ends the auctions) as processes, bids over HTTP.

Auctions with proxy maxima answered at once, a soft close that moves the end, and a buy-now
verify while live and once ended (exit 0); every bid's receipt is covered by a signed
checkpoint within LEDGER_MMD_MS. Then PostgreSQL is tampered as an insider could: an amount
changed (text and leaf hash both), an entry deleted, two swapped: the verifier fails naming
the index. A log rewritten and re-signed with the platform's own key fails consistency with
the checkpoint the verifier kept from its earlier run.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from infra.embedded import free_port
from shared.domain.ledger.merkle import leaf_hash
from shared.domain.ledger.notes import parse_verifier_key, verify_receipt
from shared.services import ledger
from shared.services.context import Context
from shared.settings import REPO_ROOT
from tests.support.harness import TOKEN, Person, SuiteServices, live_auction, person
from tests.support.processes import FileLoggedStack, logged_stack
from tests.support.socket_node import wait_for


@pytest.fixture
def stack(services: SuiteServices, tmp_path: Path) -> Iterator[FileLoggedStack]:
    running = logged_stack(
        tmp_path,
        database_url=services.database_url,
        redis_url=services.redis_url,
        api_port=free_port(),
        socket_port=free_port(),
        bridge_port=None,  # the suite's bridge
        token=TOKEN,
    )
    try:
        running.start_api()
        running.start_socket_node()
        running.wait_healthy(60)
        yield running
    finally:
        running.stop()
        running.close_logs()


def verify(base: str, auction_id: uuid.UUID, state: Path) -> tuple[int, str]:
    process = subprocess.run(
        [sys.executable, "-m", "verify_auction", base, str(auction_id), "--state", str(state)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return process.returncode, process.stdout + process.stderr


def bid(base: str, who: Person, auction_id: uuid.UUID, **body: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{base}/api/auctions/{auction_id}/bids", json=body, headers=who.headers, timeout=10
    )
    assert answer.status_code == 201, answer.text
    placed: dict[str, Any] = answer.json()
    return placed


def signed_size(base: str, auction_id: uuid.UUID) -> int:
    note = httpx.get(f"{base}/api/auctions/{auction_id}/ledger/checkpoint", timeout=10).text
    return int(note.split("\n")[1])


def status(base: str, auction_id: uuid.UUID) -> str:
    state: str = httpx.get(f"{base}/api/auctions/{auction_id}", timeout=10).json()["status"]
    return state


def sql(ctx: Context, statement: str, **params: Any) -> None:
    with ctx.db.session() as session:
        session.execute(text(statement), params)


def test_real_auctions_verify_and_tampering_is_caught(
    stack: FileLoggedStack, ctx: Context, tmp_path: Path
) -> None:
    base = stack.api_url
    seller = person(ctx, "seller")
    asha, ravi, meera = (person(ctx, "buyer", n) for n in ("Asha", "Ravi", "Meera"))
    key = httpx.get(f"{base}/api/ledger/key", timeout=10).json()
    public = base64.b64decode(key["publicKey"])
    assert parse_verifier_key(key["vkey"]).public_key == public
    config = httpx.get(f"{stack.socket_url}/config.json", timeout=10).json()
    assert config["vkey"] == key["vkey"]

    # Live for 50 s of its minute, soft close 20 s: every bid below moves the end.
    soft = live_auction(
        ctx,
        seller,
        go_live_at=datetime.now(UTC) - timedelta(seconds=50),
        duration_mins=1,
        soft_close_secs=20,
    )
    receipts = [
        bid(base, asha, soft, maxAmount="300.00"),  # a maximum: bids the start price
        bid(base, ravi, soft, amount="150.00"),  # answered at once by Asha's proxy (160)
        bid(base, meera, soft, maxAmount="250.00"),  # beaten, answered at 260
        bid(base, ravi, soft, maxAmount="400.00"),  # takes the lead at 310
        bid(base, asha, soft, amount="420.00"),  # a plain bid above Ravi's maximum
    ]
    sent = time.monotonic()
    for placed in receipts:
        r = placed["receipt"]
        leaf = base64.b64decode(r["leafHash"])
        assert verify_receipt(public, str(soft), r["index"], leaf, base64.b64decode(r["signature"]))
    assert [p["receipt"]["index"] for p in receipts] == [0, 1, 3, 5, 6]
    # The promise of the receipts: a signed checkpoint covers them within LEDGER_MMD_MS.
    wait_for(lambda: signed_size(base, soft) >= 7, timeout=ctx.settings.ledger_mmd_ms / 1000)
    assert time.monotonic() - sent <= ctx.settings.ledger_mmd_ms / 1000 + 0.5

    # The buy-now: a maximum, a bid, then a bid at the buy-now price ends it at once.
    buy_now = live_auction(ctx, seller, reserve="400.00", buy_now="500.00")  # (stands below it)
    bid(base, asha, buy_now, maxAmount="200.00")
    bid(base, ravi, buy_now, amount="250.00")
    bid(base, meera, buy_now, amount="500.00")
    wait_for(lambda: status(base, buy_now) == "sold", timeout=15)

    # Retractions: far from the end (every bid of the bidder goes, their maximum with them),
    # then Asha's maximum answers again; the log gets one retraction entry per retraction.
    retracted = live_auction(ctx, seller, duration_mins=24 * 60)
    bid(base, asha, retracted, maxAmount="300.00")
    bid(base, ravi, retracted, amount="150.00")  # answered by Asha's proxy at 160
    ravis = bid(base, ravi, retracted, maxAmount="500.00")  # leads at 310
    answer = httpx.post(
        f"{base}/api/auctions/{retracted}/bids/{ravis['id']}/retract",
        json={"reason": "typo"},
        headers=ravi.headers,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["highestBid"]["bidderId"] == str(asha.id)
    bid(base, meera, retracted, amount="200.00")  # Asha's maximum answers again
    with ctx.db.session() as session:
        kinds = session.scalars(
            text(
                "SELECT entry::json->>'kind' FROM ledger_entries WHERE auction_id = :a ORDER BY idx"
            ),
            {"a": retracted},
        ).all()
    assert kinds.count("retraction") == 1 and kinds[-2:] == ["bid", "proxy"], kinds
    wait_for(lambda: signed_size(base, retracted) >= len(kinds), timeout=15)

    state = tmp_path / "seen.json"
    code, out = verify(base, retracted, state)
    assert code == 0, out
    assert "live: highest" in out
    code, out = verify(base, soft, state)  # live: checked as far as it goes
    assert code == 0, out
    assert "live: highest" in out
    code, out = verify(base, buy_now, state)
    assert code == 0, out
    assert "ended: winner" in out

    # The soft-closed auction ends by the ticker (its end moved by each bid), then verifies
    # to its winner, consistent with what the verifier saw while it was live.
    wait_for(lambda: status(base, soft) == "ended", timeout=60)
    code, out = verify(base, soft, state)
    assert code == 0, out
    assert "consistent with 1 earlier checkpoint(s)" in out
    me = httpx.get(f"{base}/api/me/bids", headers=asha.headers, timeout=10).json()
    mine = {item["auction"]["id"]: item["ledgerBidder"] for item in me["items"]}
    assert f"winner {mine[str(soft)]} at 420.00" in out
    close = httpx.get(f"{base}/api/auctions/{soft}/ledger/close", timeout=10).json()
    assert sorted(r["max"] for r in close["reveals"]) == ["250.00", "300.00", "400.00"]

    # -- tampering in PostgreSQL, each undone before the next --------------------------
    with ctx.db.session() as session:
        rows = {
            idx: (entry, bytes(leaf))
            for idx, entry, leaf in session.execute(
                text("SELECT idx, entry, leaf_hash FROM ledger_entries WHERE auction_id = :a"),
                {"a": soft},
            )
        }
    assert sorted(rows) == list(range(7))

    def restore() -> None:
        sql(ctx, "DELETE FROM ledger_entries WHERE auction_id = :a", a=soft)
        for idx, (entry, leaf) in rows.items():
            sql(
                ctx,
                "INSERT INTO ledger_entries (auction_id, idx, entry, leaf_hash) "
                "VALUES (:a, :i, :e, :h)",
                a=soft, i=idx, e=entry, h=leaf,
            )  # fmt: skip

    fresh = tmp_path / "fresh.json"  # a verifier that saw nothing before
    # An amount changed, its leaf hash made to match: the tree the checkpoint signed differs.
    changed = rows[3][0].replace('"amount":"250.00"', '"amount":"240.00"')
    assert changed != rows[3][0]
    sql(
        ctx,
        "UPDATE ledger_entries SET entry = :e, leaf_hash = :h WHERE auction_id = :a AND idx = 3",
        e=changed, h=leaf_hash(changed.encode()), a=soft,
    )  # fmt: skip
    code, out = verify(base, soft, fresh)
    assert code == 1 and "index 3:" in out, out
    restore()

    sql(ctx, "DELETE FROM ledger_entries WHERE auction_id = :a AND idx = 2", a=soft)
    code, out = verify(base, soft, fresh)
    assert code == 1 and "index 2:" in out, out
    restore()

    # Two entries swapped.

    swap = "UPDATE ledger_entries SET idx = :to WHERE auction_id = :a AND idx = :at"
    sql(ctx, swap, a=soft, at=4, to=1_000_005)
    sql(ctx, swap, a=soft, at=5, to=4)
    sql(ctx, swap, a=soft, at=1_000_005, to=5)
    code, out = verify(base, soft, fresh)
    assert code == 1 and "index 4:" in out, out
    restore()
    code, out = verify(base, soft, state)
    assert code == 0, out  # restored: the honest log again

    # The whole log rewritten (Meera's bid lower) and re-signed with the platform's key:
    # a fresh verifier cannot tell, the one that saw the earlier checkpoints can.
    sql(
        ctx,
        "UPDATE ledger_entries SET entry = :e, leaf_hash = :h WHERE auction_id = :a AND idx = 3",
        e=changed, h=leaf_hash(changed.encode()), a=soft,
    )  # fmt: skip
    sql(ctx, "DELETE FROM ledger_nodes WHERE auction_id = :a", a=soft)
    sql(ctx, "DELETE FROM ledger_checkpoints WHERE auction_id = :a", a=soft)
    with ctx.db.session() as session:
        ledger.sign_checkpoint(session, ctx.settings, soft)
    code, out = verify(base, soft, state)
    assert code == 1, out
    assert "not the ones signed before" in out or "consistency" in out, out
    kept = json.loads(state.read_text())
    assert any(origin.endswith(f"/auctions/{soft}") for origin in kept["checkpoints"])
