"""GSTIN, the Goods and Services Tax identification number: 15 characters, read left to right.

    29  AAPFU0939F  1  Z  V
    |   |           |  |  check character (Luhn mod 36 over the first 14)
    |   |           |  'Z' in every regular registration
    |   |           the holder's registration count in that state: 1-9, then A-Z (never 0)
    |   the holder's PAN: 5 letters (the 4th says who holds it), 4 digits, 1 letter
    the GST state code of the state or union territory it is registered in

The check character is the GSTN's mod-36 scheme (Luhn mod N over the alphabet 0-9A-Z): each of
the first 14 characters is worth its index in that alphabet, every second one (the 2nd, 4th...)
counts double, a doubled value of 36 or more counts as the sum of its two base-36 digits, and
the check character brings the total to a multiple of 36. A single mistyped character always
breaks it (doubling is a permutation of 0-35 once its digits are summed), and so does a swap of
two neighbours, but for "0Z" and "Z0".

Written here rather than taken from `python-stdnum`, whose GSTIN module has the state table of
2021 (no Ladakh, old spellings) and reports only "invalid component": a person needs to know
which part is wrong. The tests hold this checksum to stdnum's on random numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.domain.errors import FieldError, ValidationFailed
from shared.domain.india import GSTIN_STATES, RETIRED_STATE_CODES, IndianState

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LENGTH = 15
# The PAN's 4th letter: Association of persons, Body of individuals, Company, Firm (and LLP),
# Government, HUF, Artificial juridical person, Local authority, Person, Trust.
PAN_HOLDER_TYPES = "ABCFGHJLPT"
_PAN = re.compile(r"^[A-Z]{5}[0-9]{4}[A-Z]$")


@dataclass(frozen=True)
class Gstin:
    value: str  # the 15 characters, upper case

    @property
    def state(self) -> IndianState:
        return GSTIN_STATES[self.value[:2]]

    @property
    def pan(self) -> str:
        return self.value[2:12]

    def __str__(self) -> str:
        return self.value


def check_character(first14: str) -> str:
    """The 15th character of a GSTIN that starts with `first14` (characters of ALPHABET)."""
    total = 0
    for position, char in enumerate(first14):
        value = ALPHABET.index(char) * (2 if position % 2 else 1)
        total += value // 36 + value % 36
    return ALPHABET[-total % 36]


def gstin_problem(text: str) -> str | None:
    """What is wrong with `text` as a GSTIN (upper case, no spaces), or None. The first problem
    found, from the left, in words that say what to fix."""
    if len(text) != LENGTH:
        return f"must be 15 characters (found {len(text)})"
    for position, char in enumerate(text, start=1):
        if char not in ALPHABET:
            return f"has only letters A-Z and digits 0-9 (found {char!r} at position {position})"
    state = text[:2]
    if state in RETIRED_STATE_CODES:
        return f"starts with state code {state}, which is retired ({RETIRED_STATE_CODES[state]})"
    if state not in GSTIN_STATES:
        return (
            f"starts with the code of the state it is registered in; {state} is not one "
            "(01 to 38, or 97)"
        )
    pan = text[2:12]
    if not _PAN.match(pan):
        return (
            f"has the holder's PAN at positions 3-12: 5 letters, 4 digits, 1 letter (found {pan})"
        )
    if pan[3] not in PAN_HOLDER_TYPES:
        return (
            f"has a PAN whose 4th letter ({pan[3]!r}, position 6) is no PAN holder type "
            f"(one of {', '.join(PAN_HOLDER_TYPES)})"
        )
    if text[12] == "0":
        return "counts the holder's registrations at position 13: 1-9 or A-Z, never 0"
    if text[13] != "Z":
        return f"has Z at position 14 (found {text[13]!r})"
    if check_character(text[:14]) != text[14]:
        return (
            "does not add up: its last character is a check character that does not match "
            "the other 14, so one of them is mistyped"
        )
    return None


def parse_gstin(text: object, field: str = "gstin") -> Gstin:
    """A GSTIN as a person may type it (any case, surrounding spaces), or a refusal naming the
    part that is wrong."""
    if not isinstance(text, str):
        raise ValidationFailed([FieldError(field, "must be text: a 15-character GSTIN")])
    value = text.strip()
    # Upper-casing only ASCII: "ß".upper() is "SS", and a length error would hide the real one.
    value = value.upper() if value.isascii() else value
    problem = gstin_problem(value)
    if problem is not None:
        raise ValidationFailed([FieldError(field, problem)])
    return Gstin(value)


def check_gstin_state(gstin: Gstin, state: IndianState, field: str = "gstin") -> None:
    """A GSTIN belongs to one state: the address that goes with it (the place of business on
    the seller's invoices) must be in that state."""
    if gstin.state.code != state.code:
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    f"is registered in {gstin.state} but the address is in {state}: give "
                    "the address of the place of business registered under this GSTIN",
                )
            ]
        )
