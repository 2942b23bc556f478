"""The shill signals over the record (shared/services/trust.py) against real PostgreSQL: the
counts one SQL statement makes are the definition's (`shared.domain.trust.facts_of`) for every
pair of generated histories, planted shills come out on top through the same path the ticker
and the admin route take, and a bid's pair is scored within a tick of the bid."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from shared.adapters.orm import TrustScore
from shared.domain import trust as rules
from shared.services import rescoring, trust
from shared.services.context import Context
from tests.support import shill_histories
from tests.support.shill_histories import History


def _score_everything(ctx: Context, history: History) -> None:
    shill_histories.store(ctx, history)
    with ctx.db.session() as session:
        rescoring.mark(session, [(uuid.UUID(b), uuid.UUID(s)) for b, s in sorted(history.pairs())])
    while trust.refresh(ctx, batch=100):
        pass


def _expected(history: History, bidder: str, seller: str) -> rules.PairFacts:
    return rules.facts_of(
        bidder,
        seller,
        history.auctions,
        history.bids,
        shared_networks=history.shared_networks.get((bidder, seller), 0),
        shared_devices=history.shared_devices.get((bidder, seller), 0),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_the_record_counts_what_the_definition_says(ctx: Context, seed: int) -> None:
    history = shill_histories.generate(seed)
    _score_everything(ctx, history)
    with ctx.db.session() as session:
        stored = {
            (str(r.bidder_id), str(r.seller_id)): r for r in session.scalars(select(TrustScore))
        }
    assert set(stored) == history.pairs()
    for (bidder, seller), row in stored.items():
        expected = _expected(history, bidder, seller)
        assert rules.PairFacts.from_json(row.facts) == expected, (bidder, seller)
        assert row.score == rules.exact_score(expected).quantize(Decimal("0.001"))


def test_planted_shills_lead_the_admins_list(ctx: Context) -> None:
    history = shill_histories.generate(3)
    _score_everything(ctx, history)
    items = trust.suspects(ctx, limit=200, seller_id=None)["items"]
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    flagged = {
        (i["bidderId"], i["sellerId"])
        for i in items
        if Decimal(str(i["score"])) >= rules.DEFAULT_THRESHOLD
    }
    found = flagged & history.shills
    precision, recall = len(found) / len(flagged), len(found) / len(history.shills)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)
    top = items[0]
    assert (top["bidderId"], top["sellerId"]) in history.shills
    assert set(top["signals"]) == set(rules.SIGNALS)
    assert top["reasons"][0].startswith("Bid on ") and top["auctions"]
