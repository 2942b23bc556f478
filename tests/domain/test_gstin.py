"""GSTIN: the state code, the PAN, the entity character, 'Z', and the mod-36 check character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.in_ import gstin as stdnum_gstin

from shared.domain.errors import ValidationFailed
from shared.domain.gstin import (
    ALPHABET,
    PAN_HOLDER_TYPES,
    Gstin,
    check_character,
    check_gstin_state,
    gstin_problem,
    parse_gstin,
)
from shared.domain.india import GSTIN_STATES, STATES

# The example GSTIN of python-stdnum's documentation.
KNOWN = [("27AAPFU0939F1ZV", "Maharashtra")]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


@st.composite
def valid_gstins(draw: st.DrawFn) -> str:
    """Any GSTIN the rules allow, its check character computed by python-stdnum (an
    implementation of the GSTN scheme that is not ours)."""
    state = draw(st.sampled_from(sorted(GSTIN_STATES)))
    pan = (
        draw(st.text(LETTERS, min_size=3, max_size=3))
        + draw(st.sampled_from(PAN_HOLDER_TYPES))
        + draw(st.sampled_from(LETTERS))
        + draw(st.text(DIGITS, min_size=4, max_size=4))
        + draw(st.sampled_from(LETTERS))
    )
    entity = draw(st.sampled_from(ALPHABET[1:]))
    first14 = f"{state}{pan}{entity}Z"
    return first14 + luhn.calc_check_digit(first14, ALPHABET)


def error_of(text: object) -> str:
    with pytest.raises(ValidationFailed) as refused:
        parse_gstin(text)
    (error,) = refused.value.errors
    assert error.field == "gstin"
    return error.message


def test_the_check_character_worked_by_hand() -> None:
    """27AAPFU0939F1Z: the characters are worth 2 7 10 10 25 15 30 0 9 3 9 15 1 35; every
    second one doubled and folded (7 -> 14, 10 -> 20, 15 -> 30, 0, 3 -> 6, 15 -> 30, 35 -> 70
    -> 1 + 34 = 35) gives 2 14 10 20 25 30 30 0 9 6 9 30 1 35, 221 in all; 221 + 31 = 252 =
    7 x 36, and 31 is "V"."""
    assert check_character("27AAPFU0939F1Z") == "V"


@pytest.mark.parametrize(("number", "state"), KNOWN)
def test_published_gstins_are_valid_and_name_their_state(number: str, state: str) -> None:
    gstin = parse_gstin(number)
    assert gstin == Gstin(number)
    assert gstin.state.name == state
    assert gstin.pan == number[2:12]
    assert stdnum_gstin.is_valid(number)


def test_a_gstin_may_be_typed_in_lower_case_with_spaces_around() -> None:
    assert parse_gstin("  27aapfu0939f1zv ").value == "27AAPFU0939F1ZV"


@given(valid_gstins())
def test_every_generated_valid_gstin_passes(number: str) -> None:
    assert gstin_problem(number) is None
    assert parse_gstin(number).state.code == number[:2]


@given(st.text(ALPHABET, min_size=14, max_size=14))
def test_the_check_character_is_the_gstn_scheme(first14: str) -> None:
    assert check_character(first14) == luhn.calc_check_digit(first14, ALPHABET)


@given(valid_gstins(), st.integers(0, 14), st.characters(codec="ascii"))
def test_every_single_character_change_fails(number: str, position: int, char: str) -> None:
    changed = number[:position] + char + number[position + 1 :]
    if changed.upper() == number:  # not a change (or only of case, which is no error)
        return
    assert gstin_problem(changed) is not None
    with pytest.raises(ValidationFailed):
        parse_gstin(changed)


@given(valid_gstins(), st.integers(0, 14), st.sampled_from(ALPHABET))
def test_every_mistyped_character_fails_by_the_check_alone(
    number: str, position: int, char: str
) -> None:
    """Within the alphabet, a changed character always changes the check character: the
    checksum alone catches what the format checks let through."""
    if number[position] == char:
        return
    changed = number[:position] + char + number[position + 1 :]
    assert check_character(changed[:14]) != changed[14]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("27AAPFU0939F1Z", "must be 15 characters (found 14)"),
        ("27AAPFU0939F1ZVX", "must be 15 characters (found 16)"),
        ("27AAPFU-939F1ZV", "has only letters A-Z and digits 0-9 (found '-' at position 8)"),
        ("41AAPFU0939F1ZV", "41 is not one (01 to 38, or 97)"),
        ("25AAPFU0939F1ZV", "state code 25, which is retired"),
        ("271APFU0939F1ZV", "has the holder's PAN at positions 3-12"),
        ("27AAPXU0939F1ZV", "4th letter ('X', position 6) is no PAN holder type"),
        ("27AAPFU0939F0ZV", "1-9 or A-Z, never 0"),
        ("27AAPFU0939F1YV", "has Z at position 14 (found 'Y')"),
        ("27AAPFU0939F1ZW", "does not add up"),
    ],
)
def test_a_wrong_gstin_is_refused_naming_the_part_to_fix(number: str, message: str) -> None:
    assert message in error_of(number)


def test_a_wrong_checksum_does_not_reveal_the_right_one() -> None:
    """Told the expected character, a person fixes the check, not the typo."""
    assert "V" not in error_of("27AAPFU0939F1ZW")


def test_a_character_outside_the_alphabet_is_named_even_when_it_is_not_ascii() -> None:
    assert "(found 'ß' at position 15)" in error_of("27AAPFU0939F1Zß")


def test_a_gstin_that_is_not_text_is_refused() -> None:
    assert "15-character GSTIN" in error_of(270939)


def test_the_gstin_and_its_address_are_in_one_state() -> None:
    gstin = parse_gstin("29AABCT1332L1ZA")
    check_gstin_state(gstin, STATES["29"])
    with pytest.raises(ValidationFailed) as refused:
        check_gstin_state(gstin, STATES["32"])
    assert refused.value.errors[0].message.startswith(
        "is registered in Karnataka (29) but the address is in Kerala (32)"
    )
