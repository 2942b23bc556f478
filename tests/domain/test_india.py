"""Indian states, postal addresses and E.164 phone numbers: what is taken, and the refusals a
person can act on."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.errors import ValidationFailed
from shared.domain.india import (
    GSTIN_STATES,
    STATES,
    Address,
    find_state,
    parse_address,
    parse_phone,
    parse_state,
)

ADDRESS = {
    "line1": "12 MG Road",
    "line2": "Shanthala Nagar",
    "city": "Bengaluru",
    "state": "Karnataka",
    "postalCode": "560001",
    "country": "IN",
}


def refusals(data: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        parse_address(data)
    return {e.field: e.message for e in refused.value.errors}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Karnataka", "29"),
        ("  karnataka ", "29"),
        ("KA", "29"),
        ("IN-KA", "29"),
        ("29", "29"),
        ("Orissa", "21"),
        ("Odisha", "21"),
        ("Pondicherry", "34"),
        ("Jammu & Kashmir", "01"),
        ("NCT of Delhi", "07"),
        ("TS", "36"),
        ("Ladakh", "38"),
        ("Daman and Diu", "26"),
    ],
)
def test_a_state_is_known_by_its_name_short_code_or_gst_code(text: str, code: str) -> None:
    assert parse_state(text).code == code


def test_every_state_is_known_by_its_own_name_and_code() -> None:
    for code, state in STATES.items():
        assert find_state(state.name) is state
        assert find_state(code) is state


def test_other_territory_names_gstins_but_no_postal_address() -> None:
    assert "97" in GSTIN_STATES
    assert find_state("97") is None


@pytest.mark.parametrize("text", ["Atlantis", "", "41", "XX", "Bavaria"])
def test_an_unknown_state_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_state(text)
    assert '"Karnataka", "KA"' in refused.value.errors[0].message


def test_union_territories_without_a_legislature_are_marked() -> None:
    marked = {code for code, state in STATES.items() if state.ut_without_legislature}
    assert marked == {"04", "26", "31", "35", "38"}


def test_an_indian_address_is_read_with_its_state() -> None:
    address = parse_address(ADDRESS)
    assert address == Address(
        line1="12 MG Road",
        line2="Shanthala Nagar",
        city="Bengaluru",
        state=STATES["29"],
        postal_code="560001",
    )
    assert address.lines() == (
        "12 MG Road",
        "Shanthala Nagar",
        "Bengaluru 560001",
        "Karnataka (29), India",
    )


def test_line2_is_optional_and_india_may_be_written_out() -> None:
    data = {**ADDRESS, "country": "India", "state": "ka"}
    del data["line2"]
    address = parse_address(data)
    assert (address.line2, address.country, address.state.name) == (None, "IN", "Karnataka")
    assert address.lines()[1] == "Bengaluru 560001"


def test_an_address_without_a_postal_code_is_refused() -> None:
    data = dict(ADDRESS)
    del data["postalCode"]
    assert refusals(data) == {"address.postalCode": "is required: the 6-digit PIN code"}


@pytest.mark.parametrize("pin", ["56000", "5600011", "060001", "56OOO1", "560-001", 560001])
def test_a_pin_code_is_six_digits_not_starting_with_zero(pin: object) -> None:
    assert refusals({**ADDRESS, "postalCode": pin}) == {
        "address.postalCode": "must be a 6-digit PIN code that does not start with 0, e.g. 560001"
    }


def test_every_problem_of_an_address_is_reported_at_once() -> None:
    found = refusals({"line1": " ", "state": "Bavaria", "postalCode": "1", "country": "DE"})
    assert set(found) == {
        "address.line1",
        "address.city",
        "address.state",
        "address.postalCode",
        "address.country",
    }
    assert found["address.line1"] == "is required"
    assert found["address.country"] == 'must be "IN": only addresses in India are taken'


def test_address_lines_are_one_printable_line_of_bounded_length() -> None:
    found = refusals({**ADDRESS, "line1": "12 MG Road\nBengaluru", "city": "B" * 101})
    assert "line-break" in found["address.line1"]
    assert found["address.city"] == "must be at most 100 characters"


def test_an_address_that_is_not_an_object_is_refused() -> None:
    assert "must be an object" in refusals("12 MG Road, Bengaluru")["address"]


@pytest.mark.parametrize("phone", ["+919845012345", "+14155550123", "+442071838750"])
def test_e164_phone_numbers_are_taken_as_given(phone: str) -> None:
    assert parse_phone(phone) == phone


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("+91 98450 12345", "must be written +919845012345 (E.164)"),
        ("0091-9845012345", "must be written +919845012345 (E.164)"),
        ("9845012345", "must be in E.164 form"),
        ("+91984501234", "an Indian number is +91 and 10 digits"),
        ("+910845012345", "an Indian number is +91 and 10 digits"),
        ("+0919845012345", "must be in E.164 form"),
        ("+1234567890123456", "must be in E.164 form"),
        ("", "is required"),
        (None, "is required"),
    ],
)
def test_a_phone_number_not_in_e164_is_refused_saying_how_to_write_it(
    phone: object, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_phone(phone)
    (error,) = refused.value.errors
    assert error.field == "phone"
    assert message in error.message
