"""The bid ledger inside the product (shared.services.ledger), on real PostgreSQL and Redis:
the intake writes the bytes the receipt promised, a checkpoint covers only an unbroken
prefix, a state rebuilt from PostgreSQL continues the log and the maxima's commitments,
idempotent retries give the same receipt, and two signers at once sign one tree."""

from __future__ import annotations

import base64
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import text

from shared.domain.ledger import merkle
from shared.domain.ledger.entries import max_commitment, pseudonym
from shared.domain.ledger.notes import open_checkpoint, parse_verifier_key
from shared.services import bid_intake, bidding, ledger
from shared.services.context import Context
from tests.support.harness import Person, flush_redis, live_auction, person, tcp


def place(
    ctx: Context, auction_id: uuid.UUID, who: Person, amount: str, **kw: object
) -> bidding.BidReceipt:
    return bidding.place_bid(ctx, auction_id, who.id, Decimal(amount), **kw)  # type: ignore[arg-type]


def entries(ctx: Context, auction_id: uuid.UUID) -> dict[int, tuple[str, bytes]]:
    with ctx.db.session() as session:
        rows = session.execute(
            text("SELECT idx, entry, leaf_hash FROM ledger_entries WHERE auction_id = :a"),
            {"a": auction_id},
        )
        return {i: (e, bytes(h)) for i, e, h in rows}


def test_the_intake_writes_the_bytes_the_receipt_promised(ctx: Context, seller: Person) -> None:
    """The handler's insert lost (PostgreSQL was down): the outbox record drained later makes
    the very entries whose hashes the receipts signed."""
    auction = live_auction(ctx, seller)
    asha, ravi = person(ctx, "buyer", "Asha"), person(ctx, "buyer", "Ravi")
    first = place(ctx, auction, asha, "300", is_max=True)
    second = place(ctx, auction, ravi, "150")
    written = entries(ctx, auction)
    assert sorted(written) == [0, 1, 2]  # Ravi's bid and Asha's proxy answer
    with ctx.db.session() as session:
        session.execute(text("DELETE FROM ledger_entries WHERE auction_id = :a"), {"a": auction})
        session.execute(text("DELETE FROM bids WHERE auction_id = :a"), {"a": auction})
    bid_intake.drain(ctx)
    assert entries(ctx, auction) == written
    for receipt in (first.receipt, second.receipt):
        assert receipt is not None
        leaf = written[receipt["index"]][1]
        assert base64.b64encode(leaf).decode() == receipt["leafHash"]
    proxy = json.loads(written[0][0])
    with ctx.db.session() as session:
        secret = bytes(
            session.execute(
                text("SELECT ledger_secret FROM auctions WHERE id = :a"), {"a": auction}
            ).scalar_one()
        )
        (nonce,) = session.execute(
            text("SELECT nonce FROM ledger_maxima WHERE auction_id = :a"), {"a": auction}
        ).one()
    assert proxy["bidder"] == pseudonym(secret, asha.id) and proxy["kind"] == "proxy"
    assert proxy["maxCommit"] == max_commitment(30_000, nonce)
    assert json.loads(written[1][0])["maxCommit"] is None


def test_a_retry_with_the_same_key_gets_the_same_receipt(ctx: Context, seller: Person) -> None:
    auction = live_auction(ctx, seller)
    asha = person(ctx, "buyer", "Asha")
    once = place(ctx, auction, asha, "100", idempotency_key="k-1")
    again = place(ctx, auction, asha, "100", idempotency_key="k-1")
    assert again.replayed and again.receipt == once.receipt
    assert sorted(entries(ctx, auction)) == [0]


def test_a_leaders_raise_places_no_entry_and_no_receipt(ctx: Context, seller: Person) -> None:
    auction = live_auction(ctx, seller)
    asha = person(ctx, "buyer", "Asha")
    place(ctx, auction, asha, "200", is_max=True)
    raised = place(ctx, auction, asha, "300", is_max=True)
    assert raised.receipt is None
    assert sorted(entries(ctx, auction)) == [0]
    with ctx.db.session() as session:
        maxima = session.execute(
            text("SELECT max_amount FROM ledger_maxima WHERE auction_id = :a ORDER BY 1"),
            {"a": auction},
        ).scalars()
        assert list(maxima) == [Decimal("200.00"), Decimal("300.00")]  # both revealed later


def test_a_checkpoint_covers_only_an_unbroken_prefix(ctx: Context, seller: Person) -> None:
    auction = live_auction(ctx, seller)
    bidders = [person(ctx, "buyer") for _ in range(4)]
    for i, who in enumerate(bidders):
        place(ctx, auction, who, str(100 + 10 * i))
    with ctx.db.session() as session:
        session.execute(
            text("DELETE FROM ledger_entries WHERE auction_id = :a AND idx = 2"), {"a": auction}
        )
    assert ledger.checkpoint_grown(ctx) == 1
    verifier = parse_verifier_key(ledger.signer(ctx.settings).vkey)
    note = ledger.checkpoint_note(ctx, str(auction))
    signed = open_checkpoint(note, verifier)
    written = entries(ctx, auction)
    assert signed.size == 2
    assert signed.root == merkle.root_of([written[0][1], written[1][1]])
    assert signed.origin == f"{ctx.settings.ledger_host}/auctions/{auction}"
    bid_intake.drain(ctx)  # the missing entry arrives from the outbox
    assert ledger.checkpoint_grown(ctx) == 1
    signed = open_checkpoint(ledger.checkpoint_note(ctx, str(auction)), verifier)
    assert signed.size == 4
    proof = ledger.consistency(ctx, str(auction), 2, 4)["path"]
    old_root = merkle.root_of([written[0][1], written[1][1]])
    assert merkle.verify_consistency(
        2, 4, old_root, signed.root, [base64.b64decode(p) for p in proof]
    )


def test_two_signers_at_once_sign_one_tree(ctx: Context, seller: Person) -> None:
    auction = live_auction(ctx, seller)
    for i in range(5):
        place(ctx, auction, person(ctx, "buyer"), str(100 + 10 * i))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: ledger.checkpoint_grown(ctx, everything=True), range(4)))
    with ctx.db.session() as session:
        nodes = session.execute(
            text("SELECT count(*) FROM ledger_nodes WHERE auction_id = :a"), {"a": auction}
        ).scalar_one()
    assert nodes == 5 + 2 + 1  # leaves, the two pairs, the four
    assert (
        open_checkpoint(
            ledger.checkpoint_note(ctx, str(auction)),
            parse_verifier_key(ledger.signer(ctx.settings).vkey),
        ).size
        == 5
    )


def test_a_state_rebuilt_from_postgres_continues_the_log(ctx: Context, seller: Person) -> None:
    """Redis flushed: the next bid takes the next index, and the leader's answer commits to
    the maximum (and nonce) it committed to before."""
    auction = live_auction(ctx, seller)
    asha, ravi = person(ctx, "buyer", "Asha"), person(ctx, "buyer", "Ravi")
    place(ctx, auction, asha, "300", is_max=True)
    place(ctx, auction, ravi, "150")
    flush_redis()
    answered = place(ctx, auction, ravi, "200")
    assert answered.receipt is not None and answered.receipt["index"] == 3
    written = entries(ctx, auction)
    assert sorted(written) == [0, 1, 2, 3, 4]
    commits = {json.loads(written[i][0])["maxCommit"] for i in (0, 2, 4)}
    assert len(commits) == 1 and None not in commits


def test_a_forced_reseed_never_moves_the_log_counter_back(ctx: Context, seller: Person) -> None:
    """A status change rewrites the state from PostgreSQL; entries still in the outbox (not
    yet in PostgreSQL) keep their indices: the counter only goes forward."""
    from shared.adapters import keys
    from shared.adapters.orm import Auction
    from shared.services import auction_state

    auction = live_auction(ctx, seller)
    place(ctx, auction, person(ctx, "buyer"), "100")
    tcp().command("HSET", keys.state(str(auction)), "ledger", 5)
    with ctx.db.session() as session:
        row = session.get(Auction, auction)
        assert row is not None
        auction_state.seed(ctx, session, row, force=True)
    assert tcp().command("HGET", keys.state(str(auction)), "ledger") in ("5", b"5")
    placed = place(ctx, auction, person(ctx, "buyer"), "110")
    assert placed.receipt is not None and placed.receipt["index"] == 5


def test_the_scheduled_tick_signs_a_log_the_socket_nodes_ticker_missed(
    ctx: Context, seller: Person
) -> None:
    """Entries older than the ticker's window (its socket node was down for a while) are
    signed by the scheduled function's tick, which looks at every log."""
    from shared.services import ticker

    auction = live_auction(ctx, seller)
    place(ctx, auction, person(ctx, "buyer"), "100")
    with ctx.db.session() as session:
        session.execute(
            text("UPDATE ledger_entries SET recorded_at = now() - interval '1 hour'"),
        )
    assert ledger.checkpoint_grown(ctx) == 0
    assert ticker.tick(ctx).checkpoints == 1
    assert ledger.checkpoint_note(ctx, str(auction)).split("\n")[1] == "1"


def checkpoints(ctx: Context, auction_id: uuid.UUID) -> list[tuple[int, str]]:
    with ctx.db.session() as session:
        rows = session.execute(
            text("SELECT size, note FROM ledger_checkpoints WHERE auction_id = :a"),
            {"a": auction_id},
        )
        return [(size, note) for size, note in rows]


def test_the_end_signs_the_final_checkpoint_and_the_close_only_reads(
    ctx: Context, seller: Person
) -> None:
    """No ticker runs here: the checkpoint over the whole log is the end transition's, signed
    as it decides; the close certificate shows it and writes nothing."""
    import time
    from datetime import UTC, datetime, timedelta

    from shared.services import transitions

    ends_at = datetime.now(UTC) + timedelta(seconds=0.4)
    auction = live_auction(ctx, seller, ends_at=ends_at)
    place(ctx, auction, person(ctx, "buyer"), "100")
    place(ctx, auction, person(ctx, "buyer"), "110")
    assert checkpoints(ctx, auction) == []
    time.sleep(max(0.0, (ends_at - datetime.now(UTC)).total_seconds()))
    time.sleep(ctx.settings.late_bid_grace_ms / 1000 + 0.05)
    assert transitions.end(ctx, auction)
    [(size, note)] = checkpoints(ctx, auction)
    assert size == 2
    close = ledger.close_certificate(ctx, str(auction))
    assert close["checkpoint"] == note
    assert close["outcome"]["price"] == "110.00"
    with ctx.db.session() as session:
        nodes = session.execute(
            text("SELECT count(*) FROM ledger_nodes WHERE auction_id = :a"), {"a": auction}
        ).scalar_one()
    ledger.close_certificate(ctx, str(auction))
    assert checkpoints(ctx, auction) == [(size, note)]
    with ctx.db.session() as session:
        assert (
            session.execute(
                text("SELECT count(*) FROM ledger_nodes WHERE auction_id = :a"), {"a": auction}
            ).scalar_one()
            == nodes
        )


def test_a_buy_now_sale_signs_the_final_checkpoint(ctx: Context, seller: Person) -> None:
    auction = live_auction(ctx, seller, buy_now="500")
    assert place(ctx, auction, person(ctx, "buyer"), "500").buy_now
    [(size, note)] = checkpoints(ctx, auction)
    assert size == 1
    assert ledger.close_certificate(ctx, str(auction))["checkpoint"] == note


def test_a_signer_waits_for_the_window_closing_instead_of_deadlocking(
    ctx: Context, seller: Person, caplog: pytest.LogCaptureFixture
) -> None:
    """The window's close holds the auction's row and then signs; the ticker signing the same
    log at that moment must queue behind the row, not take the log's lock first (the rows it
    writes reference the auction, so it would then wait for the row: a deadlock, which
    PostgreSQL breaks by failing one of them)."""
    import threading
    import time

    from shared.services import records

    auction = live_auction(ctx, seller)
    place(ctx, auction, person(ctx, "buyer"), "100")
    place(ctx, auction, person(ctx, "buyer"), "110")
    ticker: dict[str, object] = {}

    def tick() -> None:
        ticker["signed"] = ledger.checkpoint_grown(ctx, everything=True)

    with ctx.db.session() as closing:
        assert records.lock_auction(closing, auction) is not None
        signer = threading.Thread(target=tick)
        signer.start()
        time.sleep(0.5)  # the ticker is on its way: waiting on the row (or, unfixed, holding
        # the log's lock and waiting on the row to write its nodes)
        sealed = ledger.sign_checkpoint(closing, ctx.settings, auction)
        assert sealed is not None and sealed.size == 2
    signer.join(10)
    assert "signed" in ticker  # it finished, after the close committed
    assert "postponed" not in caplog.text  # ... and was not the deadlock's victim
    assert checkpoints(ctx, auction)[0][0] == 2
