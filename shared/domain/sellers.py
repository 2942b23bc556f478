"""Who may sell, and what a seller's profile must say (pure).

Anyone signed in may start selling: they give the name buyers see on their invoices, a phone
number, the address they sell from (the supplier's address on a tax invoice, and where a
pickup happens), their GSTIN if they are registered for GST, and accept the seller's terms.
A seller with a GSTIN issues GST tax invoices; one without issues plain invoices.

Every problem of a profile is reported at once, one `FieldError` per field, so a person fixes
the whole form in one go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.errors import FieldError, ValidationFailed
from shared.domain.gstin import Gstin, check_gstin_state, parse_gstin
from shared.domain.india import STATES, Address, parse_address, parse_phone
from shared.domain.text import name_problem
from shared.domain.vocabulary import Role

MAX_DISPLAY_NAME = 100


@dataclass(frozen=True)
class SellerProfile:
    display_name: str
    phone: str  # E.164
    address: Address
    gstin: Gstin | None = None

    @property
    def registered(self) -> bool:
        """Registered for GST: the seller's invoices are tax invoices."""
        return self.gstin is not None


def parse_seller_profile(
    *,
    display_name: Any,
    phone: Any,
    address: Any,
    gstin: Any,
    accept_terms: Any,
) -> SellerProfile:
    """A profile from what the person typed, or every problem with it at once."""
    errors: list[FieldError] = []

    name = display_name.strip() if isinstance(display_name, str) else ""
    if not name:
        errors.append(FieldError("displayName", "is required: the name buyers see"))
    elif (problem := name_problem(name)) is not None:
        errors.append(FieldError("displayName", problem))
    elif len(name) > MAX_DISPLAY_NAME:
        errors.append(FieldError("displayName", f"must be at most {MAX_DISPLAY_NAME} characters"))

    def collect(parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            return None

    number = collect(parse_phone, phone, "phone")
    place = collect(parse_address, address, "address")
    registration = None
    if gstin is not None and not (isinstance(gstin, str) and not gstin.strip()):
        registration = collect(parse_gstin, gstin, "gstin")
    if registration is not None and place is not None:
        collect(check_gstin_state, registration, place.state, "gstin")
    if accept_terms is not True:
        errors.append(FieldError("acceptTerms", "must be true: selling needs the seller's terms"))

    if errors:
        raise ValidationFailed(errors)
    assert number is not None and place is not None
    return SellerProfile(display_name=name, phone=number, address=place, gstin=registration)


def address_record(address: Address) -> dict[str, Any]:
    """An address as the record keeps it (JSON on an invoice, columns on a profile): the state
    by its GST code, so a renamed state reads back the same."""
    return {
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "stateCode": address.state.code,
        "postalCode": address.postal_code,
        "country": address.country,
    }


def address_from_record(data: dict[str, Any]) -> Address:
    return Address(
        line1=str(data["line1"]),
        line2=data.get("line2") or None,
        city=str(data["city"]),
        state=STATES[str(data["stateCode"])],
        postal_code=str(data["postalCode"]),
        country=str(data.get("country") or "IN"),
    )


def address_view(address: Address) -> dict[str, Any]:
    """The API's address: `{line1, line2, city, state, stateCode, postalCode, country}` (the
    state by name, and its GST code beside it)."""
    return {
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "state": address.state.name,
        "stateCode": address.state.code,
        "postalCode": address.postal_code,
        "country": address.country,
    }


def role_after_profile(current: str) -> str:
    """Starting to sell makes a buyer a seller; an admin stays an admin."""
    return Role.SELLER.value if current == Role.BUYER else current
