"""The development demo data: seeded twice, added once; the demo seller has a seller's profile
(registered for GST) and the demo auctions their shipping terms."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from infra.seed import DEMO_GSTIN, USERS, seed
from shared.adapters.orm import Auction, SellerProfileRow
from shared.adapters.tokens import dev_user_id
from shared.domain.gstin import parse_gstin
from shared.services.context import Context
from tests.support.harness import SuiteServices


def test_the_demo_data_seeds_once_with_a_seller_who_sells(
    ctx: Context, services: SuiteServices
) -> None:
    assert seed(services.database_url) == 3
    assert seed(services.database_url) == 0
    seller = uuid.UUID(dev_user_id(USERS[0][0]))
    with ctx.db.session() as session:
        profile = session.get(SellerProfileRow, seller)
        assert profile is not None and profile.gstin == DEMO_GSTIN
        assert str(parse_gstin(DEMO_GSTIN)) == DEMO_GSTIN  # a valid one, check character too
        methods = session.execute(
            select(Auction.shipping_method, func.count()).group_by(Auction.shipping_method)
        ).all()
        assert dict(methods) == {"ship": 2, "pickup": 1}
