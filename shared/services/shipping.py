"""A sale's way to its buyer (rules in `shared.domain.shipping`): the seller records the
shipment (carrier and tracking number) once the sale is paid, the buyer marks the item
received. Each step takes the auction's row lock, then the sale's, tells the other side
(`consequences`) and is audited. The shipping window's reminder is `deadlines.ship_due`."""

from __future__ import annotations

import uuid
from typing import Any

from shared.adapters.orm import Invoice
from shared.domain.events import ItemReceived, ItemShipped
from shared.domain.principal import Viewer
from shared.domain.shipping import Delivery, judge_receipt, judge_shipment
from shared.services import auctions, records
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work


def _delivery(invoice: Invoice | None) -> Delivery | None:
    if invoice is None:
        return None
    return Delivery(
        buyer_id=str(invoice.buyer_id),
        seller_id=str(invoice.seller_id),
        method=invoice.shipping_method,
        payment_status=invoice.payment_status,
        shipped_at=invoice.shipped_at,
        received_at=invoice.received_at,
    )


def ship(
    ctx: Context, auction_id: uuid.UUID, actor: Viewer, *, carrier: str, tracking_number: str
) -> dict[str, Any]:
    """The seller records the shipment of a paid (or confirmed) sale. Returns the auction."""
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        invoice = records.locked_sale(uow.session, auction)
        judge_shipment(_delivery(invoice), actor.user_id or "")
        assert invoice is not None
        invoice.shipped_at = ctx.clock()
        invoice.carrier = carrier
        invoice.tracking_number = tracking_number
        uow.session.flush()
        uow.record(ItemShipped(str(auction.id), auction.round, str(invoice.id)))
        uow.audit(
            actor.user_id,
            "seller.ship",
            auction.id,
            {
                "invoiceNumber": invoice.number,
                "carrier": carrier,
                "trackingNumber": tracking_number,
            },
        )
        return auctions.view_of(uow.session, ctx, auction, actor)


def receive(ctx: Context, auction_id: uuid.UUID, actor: Viewer) -> dict[str, Any]:
    """The buyer has the item. Returns the auction."""
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        invoice = records.locked_sale(uow.session, auction)
        judge_receipt(_delivery(invoice), actor.user_id or "")
        assert invoice is not None
        invoice.received_at = ctx.clock()
        uow.session.flush()
        uow.record(ItemReceived(str(auction.id), auction.round, str(invoice.id)))
        uow.audit(actor.user_id, "buyer.received", auction.id, {"invoiceNumber": invoice.number})
        return auctions.view_of(uow.session, ctx, auction, actor)
