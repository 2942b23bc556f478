"""A document as the PDF adapter draws it: plain data that says everything the page says.

Tax invoices, credit notes and seller's statements are built as a `Document` by pure functions
(`invoices`, `credit_notes`, `statements`), so their content is tested without a PDF; the
adapter (`shared/adapters/invoice_pdf.py`) only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """A titled run of lines: a party's name, address, GSTIN."""

    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """Rows of cells under `columns`; the columns from `numeric_from` on are amounts
    (right-aligned). `totals` is the last row, drawn bold."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    totals: tuple[str, ...]
    numeric_from: int


@dataclass(frozen=True)
class Document:
    kind: str  # the heading: "TAX INVOICE", "CREDIT NOTE", "SELLER'S STATEMENT"
    label: str  # its number, top right: "INV-000042", "CN-000001"
    title: str  # the PDF's metadata title
    subject: str  # the PDF's metadata subject: the item
    facts: tuple[tuple[str, str], ...]  # labelled lines under the heading
    parties: tuple[Block, ...] = ()  # side by side
    table: Table | None = None
    summary: tuple[tuple[str, str], ...] = ()  # the totals, right-aligned; the last one bold
    words: str | None = None  # the last total in words
    notes: tuple[str, ...] = ()  # small print at the foot
    void: bool = False  # drawn across the page
