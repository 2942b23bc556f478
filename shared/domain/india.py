"""Indian states and union territories, postal addresses and phone numbers, as plain rules.

A state is known by its two-digit GST state code (the first two characters of a GSTIN, and the
code a tax invoice prints beside the place of supply), so an address's state and a GSTIN's can
be compared: `parse_state` reads a name ("Karnataka", "karnataka", "Orissa"), a GST code ("29")
or a vehicle/ISO code ("KA", "IN-KA") and gives the one `IndianState`.

Refusals are `ValidationFailed` with one `FieldError` per wrong field, each message saying
what to write instead, so that a person fixes every field in one go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared.domain.errors import FieldError, ValidationFailed
from shared.domain.text import name_problem


@dataclass(frozen=True)
class IndianState:
    code: str  # the GST state code, "29"
    name: str  # "Karnataka"
    # A union territory without a legislature levies UTGST where a state levies SGST.
    ut_without_legislature: bool = False

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def _state(
    code: str, name: str, *short: str, ut: bool = False, aliases: tuple[str, ...] = ()
) -> tuple[IndianState, tuple[str, ...], tuple[str, ...]]:
    """A row of the table: the state, its short codes (vehicle and ISO 3166-2:IN), and the
    other names people write it by."""
    return IndianState(code, name, ut), short, aliases


# The GST state codes (the GST portal's list). 25 (Daman and Diu) and 28 (Andhra Pradesh
# before 2014) are gone: their registrations moved to 26 and 37, so a GSTIN starting with them
# is no longer a live one. 97 ("Other Territory", offshore areas) names GSTINs, never a postal
# address; 99 (Centre Jurisdiction) is not a state at all.
_TABLE = (
    _state("01", "Jammu and Kashmir", "JK"),
    _state("02", "Himachal Pradesh", "HP"),
    _state("03", "Punjab", "PB"),
    _state("04", "Chandigarh", "CH", ut=True),
    _state("05", "Uttarakhand", "UK", aliases=("uttaranchal",)),
    _state("06", "Haryana", "HR"),
    _state("07", "Delhi", "DL", aliases=("new delhi", "nct of delhi")),
    _state("08", "Rajasthan", "RJ"),
    _state("09", "Uttar Pradesh", "UP"),
    _state("10", "Bihar", "BR"),
    _state("11", "Sikkim", "SK"),
    _state("12", "Arunachal Pradesh", "AR"),
    _state("13", "Nagaland", "NL"),
    _state("14", "Manipur", "MN"),
    _state("15", "Mizoram", "MZ"),
    _state("16", "Tripura", "TR"),
    _state("17", "Meghalaya", "ML"),
    _state("18", "Assam", "AS"),
    _state("19", "West Bengal", "WB"),
    _state("20", "Jharkhand", "JH"),
    _state("21", "Odisha", "OD", "OR", aliases=("orissa",)),
    _state("22", "Chhattisgarh", "CT", "CG", aliases=("chattisgarh",)),
    _state("23", "Madhya Pradesh", "MP"),
    _state("24", "Gujarat", "GJ"),
    _state(
        "26",
        "Dadra and Nagar Haveli and Daman and Diu",
        "DH",
        "DN",
        "DD",
        ut=True,
        aliases=("dadra and nagar haveli", "daman and diu"),
    ),
    _state("27", "Maharashtra", "MH"),
    _state("29", "Karnataka", "KA"),
    _state("30", "Goa", "GA"),
    _state("31", "Lakshadweep", "LD", ut=True),
    _state("32", "Kerala", "KL"),
    _state("33", "Tamil Nadu", "TN"),
    _state("34", "Puducherry", "PY", aliases=("pondicherry",)),
    _state("35", "Andaman and Nicobar Islands", "AN", ut=True, aliases=("andaman and nicobar",)),
    _state("36", "Telangana", "TG", "TS"),
    _state("37", "Andhra Pradesh", "AP"),
    _state("38", "Ladakh", "LA", ut=True),
)

STATES: dict[str, IndianState] = {state.code: state for state, _, _ in _TABLE}
OTHER_TERRITORY = IndianState("97", "Other Territory")
# What a GSTIN may start with: every state and union territory, and Other Territory.
GSTIN_STATES: dict[str, IndianState] = {**STATES, OTHER_TERRITORY.code: OTHER_TERRITORY}
RETIRED_STATE_CODES = {
    "25": "Daman and Diu, merged into 26 (Dadra and Nagar Haveli and Daman and Diu) in 2020",
    "28": "Andhra Pradesh before 2014; Andhra Pradesh is 37 now",
}


def _key(text: str) -> str:
    """ "Jammu & Kashmir", " jammu and  kashmir" and "JAMMU AND KASHMIR" are one key."""
    return re.sub(r"\s+", " ", text.strip().lower().replace("&", " and "))


_BY_NAME: dict[str, IndianState] = {}
for _entry, _short, _aliases in _TABLE:
    for _text in (_entry.name, _entry.code, *_short, *(f"IN-{s}" for s in _short), *_aliases):
        _BY_NAME[_key(_text)] = _entry


def find_state(text: str) -> IndianState | None:
    """The state or union territory `text` names, or None."""
    return _BY_NAME.get(_key(text))


STATE_HINT = 'a state or union territory of India, e.g. "Karnataka", "KA" or its GST code "29"'


def parse_state(text: str, field: str = "state") -> IndianState:
    state = find_state(text) if isinstance(text, str) else None
    if state is None:
        raise ValidationFailed([FieldError(field, f"must be {STATE_HINT}")])
    return state


# -- addresses ----------------------------------------------------------------------------------

MAX_ADDRESS_LINE = 200
MAX_CITY = 100
_PIN = re.compile(r"^[1-9][0-9]{5}$")
_INDIA = {"in", "ind", "india", "bharat"}


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: IndianState
    postal_code: str  # the 6-digit PIN code
    line2: str | None = None
    country: str = "IN"

    def lines(self) -> tuple[str, ...]:
        """As printed on an invoice: street lines, then city and PIN, then state and country."""
        street = (self.line1, self.line2) if self.line2 else (self.line1,)
        return (*street, f"{self.city} {self.postal_code}", f"{self.state}, India")


def parse_address(data: Any, field: str = "address") -> Address:
    """An Indian postal address from its JSON form `{line1, line2?, city, state, postalCode,
    country}`: every problem is reported at once, each under `address.<member>`."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            [
                FieldError(
                    field, "must be an object {line1, line2?, city, state, postalCode, country}"
                )
            ]
        )
    errors: list[FieldError] = []

    def text(member: str, limit: int, *, required: bool = True) -> str | None:
        value = data.get(member)
        where = f"{field}.{member}"
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors.append(FieldError(where, "is required"))
            return None
        if not isinstance(value, str):
            errors.append(FieldError(where, "must be text"))
            return None
        value = value.strip()
        problem = name_problem(value)
        if problem is not None:
            errors.append(FieldError(where, problem))
        elif len(value) > limit:
            errors.append(FieldError(where, f"must be at most {limit} characters"))
        return value

    line1 = text("line1", MAX_ADDRESS_LINE)
    line2 = text("line2", MAX_ADDRESS_LINE, required=False)
    city = text("city", MAX_CITY)

    state_text = data.get("state")
    state = find_state(state_text) if isinstance(state_text, str) else None
    if state_text is None or (isinstance(state_text, str) and not state_text.strip()):
        errors.append(FieldError(f"{field}.state", f"is required: {STATE_HINT}"))
    elif state is None:
        errors.append(FieldError(f"{field}.state", f"must be {STATE_HINT}"))

    pin = data.get("postalCode")
    pin_text = pin.strip().replace(" ", "") if isinstance(pin, str) else None
    if pin is None or pin_text == "":
        errors.append(FieldError(f"{field}.postalCode", "is required: the 6-digit PIN code"))
    elif pin_text is None or not _PIN.match(pin_text):
        errors.append(
            FieldError(
                f"{field}.postalCode",
                "must be a 6-digit PIN code that does not start with 0, e.g. 560001",
            )
        )

    country = data.get("country")
    if country is None or (isinstance(country, str) and not country.strip()):
        errors.append(FieldError(f"{field}.country", 'is required: "IN" (India)'))
    elif not isinstance(country, str) or country.strip().lower() not in _INDIA:
        errors.append(
            FieldError(f"{field}.country", 'must be "IN": only addresses in India are taken')
        )

    if errors:
        raise ValidationFailed(errors)
    assert line1 is not None and city is not None and state is not None and pin_text is not None
    return Address(
        line1=line1, line2=line2, city=city, state=state, postal_code=pin_text, country="IN"
    )


# -- phone numbers ------------------------------------------------------------------------------

# E.164 by hand rather than through `phonenumbers`: its numbering-plan metadata is megabytes in
# every function bundle, and what the product needs is the stored form (one "+", the country
# code, at most 15 digits) plus India's one rule, a 10-digit national number.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_INDIAN = re.compile(r"^\+91[1-9][0-9]{9}$")
_SEPARATORS = re.compile(r"[\s\-().]")

PHONE_HINT = '"+" and the country code, then the number, digits only, e.g. +919845012345'


def parse_phone(text: Any, field: str = "phone") -> str:
    """A phone number in E.164 form (`+919845012345`), as given: nothing is rewritten, so what
    is stored is what the person typed and saw."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed([FieldError(field, f"is required: {PHONE_HINT}")])
    value = text.strip()
    if not _E164.match(value):
        compact = _SEPARATORS.sub("", value)
        if compact.startswith("00"):
            compact = "+" + compact[2:]
        if _E164.match(compact) and (not compact.startswith("+91") or _INDIAN.match(compact)):
            raise ValidationFailed([FieldError(field, f"must be written {compact} (E.164)")])
        raise ValidationFailed([FieldError(field, f"must be in E.164 form: {PHONE_HINT}")])
    if value.startswith("+91") and not _INDIAN.match(value):
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    "an Indian number is +91 and 10 digits, not starting with 0, "
                    "e.g. +919845012345",
                )
            ]
        )
    return value
