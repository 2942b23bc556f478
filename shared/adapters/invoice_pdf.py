"""Invoices, credit notes and seller's statements as PDFs (reportlab): draws what the domain
gives, the plain invoice's labelled lines (`shared.domain.invoices.invoice_lines`) or a
`Document` (a tax invoice, a credit note, a statement).

Deterministic: the same facts give the same bytes (reportlab's `invariant` mode fixes the
creation date and the document id), so a rebuilt invoice is byte-for-byte the one already
stored and sent. The font is Bitstream Vera, which ships inside reportlab, so the PDF looks
the same on every machine, and accented item names draw.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import reportlab
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from shared.domain.credit_notes import CreditNoteFacts, credit_note_document
from shared.domain.documents import Block, Document, Table
from shared.domain.invoices import (
    ISSUER,
    InvoiceFacts,
    amount_due,
    invoice_label,
    invoice_lines,
    price_text,
    tax_invoice_document,
)
from shared.domain.statements import StatementFacts, statement_document

FONT = "InvoiceSans"
FONT_BOLD = "InvoiceSans-Bold"
# The plain invoice's totals, drawn bold under a rule.
_BOLD_LINES = ("Final price", "Total due")
_fonts_lock = threading.Lock()
_fonts_ready = False


def _register_fonts() -> None:
    global _fonts_ready
    with _fonts_lock:
        if _fonts_ready:
            return
        fonts = Path(reportlab.__file__).with_name("fonts")
        pdfmetrics.registerFont(TTFont(FONT, str(fonts / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(fonts / "VeraBd.ttf")))
        _fonts_ready = True


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> list[str]:
    """Split `text` into lines no wider than `width` (long item names wrap, never overflow)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}".strip()
        if current and canvas.stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
        while canvas.stringWidth(current, font, size) > width and len(current) > 1:
            cut = len(current)
            while cut > 1 and canvas.stringWidth(current[:cut], font, size) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current or not lines:
        lines.append(current)
    return lines


def _void_mark(canvas: Canvas, width: float, height: float) -> None:
    """A void invoice says so across the page (and in its text layer, which pypdf reads)."""
    canvas.saveState()
    canvas.setFillColor(HexColor("#c0392b"), alpha=0.35)
    canvas.setFont(FONT_BOLD, 120)
    canvas.translate(width / 2, height / 2 - 20 * mm)
    canvas.rotate(35)
    canvas.drawCentredString(0, 0, "VOID")
    canvas.restoreState()
    canvas.setFillColor(HexColor("#c0392b"))
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawRightString(width - 20 * mm, height - 30 * mm, "VOID")


def render_invoice(facts: InvoiceFacts) -> bytes:
    """The sale's invoice: a GST tax invoice when the seller is registered, else the plain one."""
    if facts.gst is not None:
        return render_document(tax_invoice_document(facts))
    return _render_plain_invoice(facts)


def render_credit_note(facts: CreditNoteFacts) -> bytes:
    return render_document(credit_note_document(facts))


def render_statement(facts: StatementFacts) -> bytes:
    return render_document(statement_document(facts))


def _render_plain_invoice(facts: InvoiceFacts) -> bytes:
    """The layout of every invoice issued before tax invoices: unchanged, so that a lost file
    is rebuilt byte for byte."""
    _register_fonts()
    buffer = io.BytesIO()
    width, height = A4
    label = invoice_label(facts.number)
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(f"Invoice {label}{' (VOID)' if facts.void else ''}")
    canvas.setAuthor(ISSUER)
    canvas.setSubject(facts.item_name)
    canvas.setCreator(ISSUER)

    left, right = 20 * mm, width - 20 * mm
    canvas.setFillColor(HexColor("#1f4e79"))
    canvas.rect(0, height - 38 * mm, width, 38 * mm, stroke=0, fill=1)
    canvas.setFillColor(HexColor("#ffffff"))
    canvas.setFont(FONT_BOLD, 24)
    canvas.drawString(left, height - 22 * mm, "INVOICE")
    canvas.setFont(FONT, 11)
    canvas.drawString(left, height - 30 * mm, ISSUER)
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawRightString(right, height - 22 * mm, label)

    canvas.setFillColor(HexColor("#222222"))
    y = height - 56 * mm
    value_x = left + 42 * mm
    for name, value in invoice_lines(facts):
        bold = name in _BOLD_LINES
        font = FONT_BOLD if bold else FONT
        size = 13 if bold else 11
        if bold:
            y -= 4 * mm
            canvas.setStrokeColor(HexColor("#999999"))
            canvas.line(left, y + 7 * mm, right, y + 7 * mm)
        canvas.setFont(FONT, 10)
        canvas.setFillColor(HexColor("#666666"))
        canvas.drawString(left, y, name)
        canvas.setFillColor(HexColor("#222222"))
        for line in _fit(canvas, value, font, size, right - value_x):
            canvas.setFont(font, size)
            canvas.drawString(value_x, y, line)
            y -= 6 * mm
        y -= 3 * mm

    canvas.setFont(FONT, 9)
    canvas.setFillColor(HexColor("#666666"))
    due = amount_due(facts)
    canvas.drawString(
        left,
        24 * mm,
        f"Amount due from the buyer to the seller: {price_text(due, facts.currency)}."
        if due == facts.amount
        else f"Amount due from the buyer: {price_text(due, facts.currency)}.",
    )
    canvas.drawString(left, 19 * mm, f"Generated by {ISSUER} for auction {facts.auction_id}.")
    if facts.void:
        _void_mark(canvas, width, height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# -- documents: tax invoices, credit notes, statements -----------------------------------------

_INK = HexColor("#222222")
_MUTED = HexColor("#666666")
_RULE = HexColor("#999999")
_BAND = HexColor("#1f4e79")
_SHADE = HexColor("#e8eef5")
_MARGIN = 20 * mm
_BOTTOM = 22 * mm
_LINE = 4.6 * mm  # one line of 9-10 pt text


class _Page:
    """A cursor down the page that starts a new page (with a slim header) when the next piece
    would not fit: a long item name or address never runs off the foot."""

    def __init__(self, canvas: Canvas, doc: Document) -> None:
        self.canvas = canvas
        self.doc = doc
        self.width, self.height = A4
        self.left, self.right = _MARGIN, self.width - _MARGIN
        self.y = self.height - 50 * mm
        self._header(full=True)

    def _header(self, *, full: bool) -> None:
        canvas, doc = self.canvas, self.doc
        band = 38 * mm if full else 18 * mm
        canvas.setFillColor(_BAND)
        canvas.rect(0, self.height - band, self.width, band, stroke=0, fill=1)
        canvas.setFillColor(HexColor("#ffffff"))
        if full:
            canvas.setFont(FONT_BOLD, 22)
            canvas.drawString(self.left, self.height - 22 * mm, doc.kind)
            canvas.setFont(FONT, 11)
            canvas.drawString(self.left, self.height - 30 * mm, ISSUER)
            canvas.setFont(FONT_BOLD, 14)
            canvas.drawRightString(self.right, self.height - 22 * mm, doc.label)
        else:
            canvas.setFont(FONT_BOLD, 11)
            canvas.drawString(self.left, self.height - 11 * mm, f"{doc.kind} {doc.label}")
            canvas.setFont(FONT, 9)
            canvas.drawRightString(self.right, self.height - 11 * mm, "continued")
        if doc.void:
            _void_mark(canvas, self.width, self.height)

    def need(self, space: float) -> None:
        if self.y - space < _BOTTOM:
            self.canvas.showPage()
            self._header(full=False)
            self.y = self.height - 28 * mm

    def text(self, x: float, text: str, font: str, size: float, color: HexColor = _INK) -> None:
        self.canvas.setFont(font, size)
        self.canvas.setFillColor(color)
        self.canvas.drawString(x, self.y, text)


def _facts(page: _Page, facts: tuple[tuple[str, str], ...]) -> None:
    value_x = page.left + 40 * mm
    for name, value in facts:
        lines = _fit(page.canvas, value, FONT, 10, page.right - value_x)
        page.need(len(lines) * _LINE)
        page.text(page.left, name, FONT, 9, _MUTED)
        for line in lines:
            page.text(value_x, line, FONT, 10)
            page.y -= _LINE
        page.y -= 0.8 * mm


def _parties(page: _Page, blocks: tuple[Block, ...]) -> None:
    if not blocks:
        return
    gap = 8 * mm
    column = (page.right - page.left - gap * (len(blocks) - 1)) / len(blocks)
    wrapped = [
        [line for text in block.lines for line in _fit(page.canvas, text, FONT, 9, column)]
        for block in blocks
    ]
    page.y -= 3 * mm
    page.need(_LINE + max(len(lines) for lines in wrapped) * 4.2 * mm)
    top = page.y
    bottom = top
    for index, (block, lines) in enumerate(zip(blocks, wrapped, strict=True)):
        x = page.left + index * (column + gap)
        page.y = top
        page.text(x, block.heading, FONT_BOLD, 10)
        page.y -= _LINE
        for line in lines:
            page.text(x, line, FONT, 9)
            page.y -= 4.2 * mm
        bottom = min(bottom, page.y)
    page.y = bottom - 2 * mm


def _cell(
    canvas: Canvas, text: str, x: float, width: float, y: float, font: str, *, right: bool
) -> None:
    """An amount in its column: shrunk (never below 5 pt) rather than overflowing into the
    next one, for the crores of the largest sales."""
    size = 8.5
    while size > 5 and canvas.stringWidth(text, font, size) > width - 2 * mm:
        size -= 0.5
    canvas.setFont(font, size)
    if right:
        canvas.drawRightString(x + width - 1 * mm, y, text)
    else:
        canvas.drawString(x + 1 * mm, y, text)


def _table(page: _Page, table: Table) -> None:
    canvas = page.canvas
    count = len(table.columns)
    fixed = {0: 7 * mm}
    if table.numeric_from == 3:
        fixed[2] = 14 * mm
    amount = 23 * mm if count - table.numeric_from > 3 else 27 * mm
    for index in range(table.numeric_from, count):
        fixed[index] = amount
    widths = [fixed.get(i, 0.0) for i in range(count)]
    widths[1] = page.right - page.left - sum(widths)
    xs = [page.left + sum(widths[:i]) for i in range(count)]
    row_height = 4.2 * mm

    def row(cells: tuple[str, ...], font: str, *, shade: bool = False) -> None:
        described = _fit(canvas, cells[1], font, 8.5, widths[1] - 2 * mm)
        height = len(described) * row_height + 1.6 * mm
        page.need(height + 2 * mm)
        if shade:
            canvas.setFillColor(_SHADE)
            canvas.rect(
                page.left,
                page.y - height + row_height,
                page.right - page.left,
                height,
                stroke=0,
                fill=1,
            )
        canvas.setFillColor(_INK)
        for index, text in enumerate(cells):
            if index == 1:
                for number, line in enumerate(described):
                    canvas.setFont(font, 8.5)
                    canvas.drawString(xs[1] + 1 * mm, page.y - number * row_height, line)
            else:
                right = index >= table.numeric_from
                _cell(canvas, text, xs[index], widths[index], page.y, font, right=right)
        page.y -= height

    page.y -= 3 * mm
    row(table.columns, FONT_BOLD, shade=True)
    for cells in table.rows:
        row(cells, FONT)
    page.need(row_height * 2)
    canvas.setStrokeColor(_RULE)
    canvas.line(
        page.left, page.y + row_height - 0.4 * mm, page.right, page.y + row_height - 0.4 * mm
    )
    row(table.totals, FONT_BOLD)


def _summary(page: _Page, summary: tuple[tuple[str, str], ...]) -> None:
    value_width = 50 * mm
    label_right = page.right - value_width - 3 * mm
    widest = max(page.canvas.stringWidth(name, FONT_BOLD, 11) for name, _ in summary)
    page.y -= 3 * mm
    for index, (name, value) in enumerate(summary):
        last = index == len(summary) - 1
        page.need(_LINE * 2)
        if last:
            page.y -= 1.5 * mm
            page.canvas.setStrokeColor(_RULE)
            rule = page.y + 4 * mm
            page.canvas.line(label_right - widest, rule, page.right, rule)
        font, size = (FONT_BOLD, 11.0) if last else (FONT, 10.0)
        page.canvas.setFillColor(_INK)
        page.canvas.setFont(font, size)
        page.canvas.drawRightString(label_right, page.y, name)
        size_value = size
        while size_value > 6 and page.canvas.stringWidth(value, font, size_value) > value_width:
            size_value -= 0.5
        page.canvas.setFont(font, size_value)
        page.canvas.drawRightString(page.right, page.y, value)
        page.y -= _LINE + (1 * mm if last else 0)


def _paragraph(page: _Page, text: str, font: str, size: float, color: HexColor) -> None:
    lines = _fit(page.canvas, text, font, size, page.right - page.left)
    page.need(len(lines) * (size + 3))
    for line in lines:
        page.text(page.left, line, font, size, color)
        page.y -= size + 3


def render_document(doc: Document) -> bytes:
    """A document on A4 pages: heading and number, facts, parties side by side, the table of
    lines, the totals, the total in words, the notes. Deterministic like the invoice."""
    _register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(doc.title)
    canvas.setAuthor(ISSUER)
    canvas.setSubject(doc.subject)
    canvas.setCreator(ISSUER)
    page = _Page(canvas, doc)
    _facts(page, doc.facts)
    _parties(page, doc.parties)
    if doc.table is not None:
        _table(page, doc.table)
    if doc.summary:
        _summary(page, doc.summary)
    if doc.words:
        page.y -= 2 * mm
        _paragraph(page, f"Amount in words: {doc.words}", FONT_BOLD, 9.5, _INK)
    if doc.notes:
        page.y -= 3 * mm
        for note in doc.notes:
            _paragraph(page, note, FONT, 8.5, _MUTED)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
