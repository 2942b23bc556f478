"""Start selling: a signed-in user gives a seller's profile and becomes a seller (the role is
the record's, `users`); an admin sets anyone's role (`moderation.set_role`).

The profile is what the seller's invoices say of them: the name, the address they sell from
(the supplier's address on a tax invoice, where a pickup happens) and their GSTIN (a seller
with one issues GST tax invoices). Each sale takes a copy, so a later change of the profile
never changes an invoice already issued.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters.orm import SellerProfileRow, User
from shared.domain.errors import DomainError
from shared.domain.gstin import Gstin
from shared.domain.india import STATES, Address
from shared.domain.principal import Viewer
from shared.domain.sellers import (
    SellerProfile,
    address_view,
    parse_seller_profile,
    role_after_profile,
)
from shared.domain.times import iso
from shared.services import moderation, users
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work


def profile_of(row: SellerProfileRow) -> SellerProfile:
    """The profile as the record holds it."""
    return SellerProfile(
        display_name=row.display_name,
        phone=row.phone,
        address=Address(
            line1=row.line1,
            line2=row.line2,
            city=row.city,
            state=STATES[row.state_code],
            postal_code=row.postal_code,
            country=row.country,
        ),
        gstin=Gstin(row.gstin) if row.gstin else None,
    )


def profile_view(row: SellerProfileRow, role: str) -> dict[str, Any]:
    profile = profile_of(row)
    return {
        "userId": str(row.user_id),
        "displayName": profile.display_name,
        "phone": profile.phone,
        "address": address_view(profile.address),
        "gstin": str(profile.gstin) if profile.gstin else None,
        "gstRegistered": profile.registered,
        "role": role,
        "termsAcceptedAt": iso(row.terms_accepted_at),
        "updatedAt": iso(row.updated_at),
    }


def put_profile(
    ctx: Context,
    viewer: Viewer,
    *,
    display_name: Any,
    phone: Any,
    address: Any,
    gstin: Any,
    accept_terms: Any,
) -> dict[str, Any]:
    """Create or replace the caller's seller profile; a buyer becomes a seller (an admin
    stays one). A suspended user is refused (`account_suspended`), under the user's row lock,
    so a suspension racing this request wins."""
    profile = parse_seller_profile(
        display_name=display_name,
        phone=phone,
        address=address,
        gstin=gstin,
        accept_terms=accept_terms,
    )
    user_id = uuid.UUID(viewer.user_id or "")
    with unit_of_work(ctx) as uow:
        user = uow.session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
        if user is None:
            raise DomainError("not_found", "No such user")
        if user.suspended_at is not None:
            raise moderation.suspended_error()
        row = uow.session.get(SellerProfileRow, user_id)
        created = row is None
        if row is None:
            row = SellerProfileRow(user_id=user_id)
            uow.session.add(row)
        _write(row, profile, ctx)
        before = user.role
        user.role = role_after_profile(user.role)
        uow.session.flush()
        uow.session.refresh(row)
        uow.audit(
            viewer.user_id,
            "user.seller_profile",
            None,
            {
                "userId": str(user_id),
                "created": created,
                "gstRegistered": profile.registered,
                "role": {"from": before, "to": user.role},
            },
        )
        view = profile_view(row, user.role)
    users.forget(str(user_id))
    return view


def _write(row: SellerProfileRow, profile: SellerProfile, ctx: Context) -> None:
    a = profile.address
    row.display_name = profile.display_name
    row.phone = profile.phone
    row.line1, row.line2, row.city = a.line1, a.line2, a.city
    row.state_code, row.postal_code, row.country = a.state.code, a.postal_code, a.country
    row.gstin = str(profile.gstin) if profile.gstin else None
    row.terms_accepted_at = ctx.clock()


def get_profile(ctx: Context, viewer: Viewer) -> dict[str, Any]:
    """The caller's seller profile (404 before they start selling)."""
    with ctx.db.session() as session:
        return _view(session, uuid.UUID(viewer.user_id or ""))


def _view(session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    row = session.get(SellerProfileRow, user_id)
    user = session.get(User, user_id)
    if row is None or user is None:
        raise DomainError("not_found", "No seller profile yet: start selling first")
    return profile_view(row, user.role)
