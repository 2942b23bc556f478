"""Selling: anyone signed in starts selling (the seller's profile), an admin sets roles, and a
sale's documents beside its invoice (the seller's statement, the credit note of a voided
sale). Services are imported inside the handlers: a cold start that serves other routes never
loads them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from shared.domain.vocabulary import Role

from .. import runtime
from ..operations import Call, operation
from .auctions import auction_id

if TYPE_CHECKING:
    from ..schemas.api import SellerProfileIn, SetRole


bp = Blueprint(__name__)

ADMIN = (Role.ADMIN.value,)


def pdf(name: str, body: bytes) -> Response:
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@operation(
    bp,
    "PUT",
    "/api/me/seller-profile",
    summary="Start selling: the seller's profile (a buyer becomes a seller from the next request)",
    tag="selling",
    auth="required",
    body="SellerProfileIn",
    response="SellerProfileOut",
    errors=("unauthenticated", "account_suspended", "validation_error", "payload_too_large"),
)
def put_seller_profile(call: Call) -> dict[str, Any]:
    """Creates or replaces the caller's profile: the name buyers see, an E.164 phone, the
    address sold from, the GSTIN when registered for GST (its state must be the address's),
    and `acceptTerms: true`. The caller's role becomes `seller` (an admin stays admin); a
    suspended user is refused. Every wrong field is named at once (422)."""
    from shared.services import sellers

    b: SellerProfileIn = call.body
    return sellers.put_profile(
        runtime.context(),
        call.viewer,
        display_name=b.displayName,
        phone=b.phone,
        address=b.address.model_dump(),
        gstin=b.gstin,
        accept_terms=b.acceptTerms,
    )


@operation(
    bp,
    "GET",
    "/api/me/seller-profile",
    summary="The caller's seller profile (404 before they start selling)",
    tag="selling",
    auth="required",
    response="SellerProfileOut",
    errors=("unauthenticated", "not_found"),
)
def get_seller_profile(call: Call) -> dict[str, Any]:
    from shared.services import sellers

    return sellers.get_profile(runtime.context(), call.viewer)


@operation(
    bp,
    "PUT",
    "/api/admin/users/{user_id}/role",
    summary="Set a user's role (buyer, seller, admin); audited",
    tag="admin",
    auth="required",
    roles=ADMIN,
    body="SetRole",
    response="AdminUserOut",
    errors=("unauthenticated", "forbidden", "not_found", "validation_error"),
)
def set_user_role(call: Call) -> dict[str, Any]:
    """Roles live in the user record. The change bites on the user's next request (a
    demotion within 30 s in every API process: the role is cached that long where tokens are
    checked). A token whose role is admin stays an admin whatever the record says; an admin
    cannot change their own role (422)."""
    from shared.services import moderation

    b: SetRole = call.body
    return moderation.set_role(runtime.context(), call.viewer, call.params["user_id"], b.role)


@operation(
    bp,
    "GET",
    "/api/auctions/{auction_id}/statement",
    summary="The seller's statement of the sale (PDF: hammer price, shipping, platform fee, "
    "net); the seller and admins",
    tag="selling",
    auth="required",
    media_type="application/pdf",
    errors=("unauthenticated", "forbidden", "not_found", "invoice_not_issued"),
)
def get_statement(call: Call) -> Response:
    """Of the auction's newest sale; it bears the sale's invoice number. Before a tax invoice
    waiting for the payment is issued: 409 `invoice_not_issued`."""
    from shared.services import invoices

    return pdf(*invoices.statement(runtime.context(), auction_id(call), call.viewer))


@operation(
    bp,
    "GET",
    "/api/auctions/{auction_id}/credit-note",
    summary="The credit note of a voided sale (PDF, `CN-000001`); buyer, seller, admins",
    tag="invoices",
    auth="required",
    media_type="application/pdf",
    errors=("unauthenticated", "forbidden", "not_found", "unavailable"),
)
def get_credit_note(call: Call) -> Response:
    """A sale reported unpaid, or refunded after a dispute, keeps its invoice as issued; its
    credit note (a gap-free series of its own) cancels it in full. 404 when no sale of the
    auction was voided."""
    from shared.adapters.invoice_store import InvoiceStore
    from shared.services import invoices

    ctx = runtime.context()
    store = InvoiceStore.from_settings(ctx.settings)
    return pdf(*invoices.download_credit_note(ctx, auction_id(call), call.viewer, store))
