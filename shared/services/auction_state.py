"""An auction's state in Redis (what the bid script judges), written from the record in
PostgreSQL: at creation, on every status change, and whenever it is missing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid, ProxyMaximum, User
from shared.adapters.redis_records import AuctionState, HighestBid, schedule_wire
from shared.adapters.redis_store import StoreError, hash_to_dict, load_script
from shared.domain.errors import DomainError
from shared.domain.marketplace import public_name
from shared.domain.money import to_minor
from shared.domain.times import to_ms
from shared.services import ledger, records, schedules
from shared.services.context import Context


def _placed(session: Session, auction: Auction) -> str:
    """The round's standing bids, in order, as the bid script lists them (keys.placed_bids)."""
    rows = session.execute(
        select(Bid, User.name)
        .join(User, User.id == Bid.bidder_id)
        .where(Bid.auction_id == auction.id, Bid.round == auction.round, Bid.retracted_at.is_(None))
        .order_by(Bid.seq)
    ).all()
    entries = [
        {
            "id": str(bid.id),
            "u": str(bid.bidder_id),
            "a": to_minor(bid.amount),
            "s": bid.seq,
            "r": bid.round,
            "t": to_ms(bid.created_at),
            "p": bid.is_proxy,
            "n": public_name(name, str(bid.bidder_id)),
        }
        for bid, name in rows
    ]
    return orjson.dumps(entries).decode()


def _record(session: Session, auction: Auction) -> tuple[str, str, AuctionState]:
    top = records.highest_bid(session, auction)
    seq = session.scalar(select(func.max(Bid.seq)).where(Bid.auction_id == auction.id)) or 0
    maxima = session.scalars(
        select(ProxyMaximum).where(
            ProxyMaximum.auction_id == auction.id, ProxyMaximum.round == auction.round
        )
    ).all()
    proxies = {
        str(m.bidder_id): {"max": to_minor(m.max_amount), "at": to_ms(m.placed_at)} for m in maxima
    }
    log_size, nonces = ledger.state_of(session, auction)
    highest = ""
    if top is not None:
        own = proxies.get(str(top.bidder_id))
        amount = to_minor(top.amount)
        bidder = session.get(User, top.bidder_id)
        highest = HighestBid(
            bid_id=str(top.id),
            user_id=str(top.bidder_id),
            amount=amount,
            ts=to_ms(top.created_at),
            max=max(amount, own["max"]) if own else amount,
            max_at=own["at"] if own else to_ms(top.created_at),
            name=public_name(bidder.name, str(top.bidder_id)) if bidder else None,
            nonce=nonces.get((str(top.bidder_id), max(amount, own["max"]) if own else amount)),
        ).to_json()
    state = AuctionState.of(auction, seq, log_size, auction.ledger_secret.hex())
    return highest, orjson.dumps(proxies).decode() if proxies else "", state


def seed(ctx: Context, session: Session, auction: Auction, *, force: bool = False) -> bool:
    """Write the Redis state of `auction` from PostgreSQL (when missing, or always if `force`),
    with its schedule entries."""
    aid = str(auction.id)
    highest, proxies, state = _record(session, auction)
    schedule = orjson.dumps(schedule_wire(schedules.entries_of(session, auction))).decode()
    written = ctx.store.script(
        load_script("seed_state"),
        [keys.state(aid), keys.highest(aid), keys.proxies(aid), keys.placed_bids(aid)],
        [
            aid,
            1 if force else 0,
            highest,
            proxies,
            schedule,
            _placed(session, auction),
            *state.to_fields(),
        ],
    )
    return bool(written)


def rebuild(ctx: Context, auction_id: uuid.UUID) -> bool:
    """Rebuild a missing state from PostgreSQL. False when there is no such auction."""
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        if auction is None:
            return False
        seed(ctx, session, auction)
        return True


def read_state(ctx: Context, auction_id: str) -> AuctionState | None:
    """The state as Redis has it (None when missing)."""
    return AuctionState.from_hash(
        hash_to_dict(ctx.store.command("HGETALL", keys.state(auction_id)))
    )


@dataclass(frozen=True)
class Window:
    """An auction's bid window as Redis has it: `closed` once the end transition closed it,
    and the end (epoch ms; a soft close moves it)."""

    closed: bool
    ends_ms: int


def close_window(ctx: Context, auction_id: uuid.UUID) -> Window | None:
    """Close the bid window once endsAt + LATE_BID_GRACE_MS has passed by Redis's clock (one
    script, close_window.lua): from then on every bid is refused, so whatever is accepted is
    already in the bid outbox. Not yet due: `closed` False, with the end to come back at. A
    missing state is rebuilt from PostgreSQL first; None when there is no such auction.
    Raises StoreUnavailable / StoreError: without Redis the window cannot be closed, and the
    end must wait for it."""
    script = load_script("close_window")
    state_key: list[str] = [keys.state(str(auction_id))]
    grace: list[str | int | float] = [ctx.settings.late_bid_grace_ms]
    verdict, ends = ctx.store.script(script, state_key, grace)
    if verdict == "missing":
        if not rebuild(ctx, auction_id):
            return None
        verdict, ends = ctx.store.script(script, state_key, grace)
        if verdict == "missing":
            raise StoreError(f"the state of auction {auction_id} vanished while closing")
    return Window(closed=verdict == "closed", ends_ms=int(ends))


def apply_edit(ctx: Context, auction: Auction) -> None:
    """Put an edited scheduled auction's rules and window into the state the bid script
    judges, before the edit commits (`edit_state.lua`: only while it is still scheduled by
    Redis's clock). Raises DomainError `auction_not_editable` when it is too late; a missing
    state is rebuilt from the record (as committed: the old rules) and the edit applied."""
    flat = AuctionState.of(auction, 0).to_fields()
    rules: list[str | int | float] = []
    for name, value in zip(flat[::2], flat[1::2], strict=True):
        # The bid script's own counters (and the ledger's key) stay as they are.
        if name not in ("seq", "round", "ledger", "ledgerSecret"):
            rules += [name, value]
    script, state_key = load_script("edit_state"), [keys.state(str(auction.id))]
    outcome = ctx.store.script(script, state_key, rules)
    if outcome == "missing":
        rebuild(ctx, auction.id)
        outcome = ctx.store.script(script, state_key, rules)
    if outcome != "ok":
        raise DomainError(
            "auction_not_editable", "The auction has gone live: it can no longer be edited"
        )
