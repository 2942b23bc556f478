"""What people type, as it may be shown and mailed.

Names (a user's name, an item's name) are one line: they go into email subjects, page titles
and invoice lines. In them: no control characters (C0, DEL, C1: a line break in a subject is a
header of its own), no line or paragraph separators, and no bidi embeddings, overrides or
isolates (U+202A-U+202E, U+2066-U+2069), which make a name display as another ("Trojan Source":
`invoice\u202egpj.exe`). Longer text (a description) keeps its line breaks and tabs, and loses
only the other controls. Requests are refused (422); a name that comes in a token's claims is
not ours to refuse, so it is cleaned instead.
"""

from __future__ import annotations

import re

# ECMA-262 and Python syntax alike: the OpenAPI document carries it as the fields' `pattern`.
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

_NOT_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NOT_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"[\t\n\x0b\x0c\r\x85\u2028\u2029]+")


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a name, or None."""
    found = _NOT_IN_NAMES.search(value)
    if found is None:
        return None
    return (
        f"must be one line of printable text (found {_describe(found.group())}: control, "
        "line-break and text-direction characters are not allowed)"
    )


def text_problem(value: str) -> str | None:
    """Why `value` cannot be a longer text (line breaks and tabs are fine), or None."""
    found = _NOT_IN_TEXT.search(value)
    if found is None:
        return None
    return f"must not contain control characters (found {_describe(found.group())})"


def clean_name(value: str) -> str:
    """A name from elsewhere, made one printable line: breaks become spaces, the rest of what
    `name_problem` refuses is dropped, runs of spaces collapse."""
    value = _BREAKS.sub(" ", value)
    value = _NOT_IN_NAMES.sub("", value)
    return re.sub(r" {2,}", " ", value).strip()
