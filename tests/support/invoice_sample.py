"""The documentation's sample invoices: fixed facts, rendered to PDF and the first page to PNG.

`python -m tests.support.invoice_sample` rewrites docs/invoice-sample.png (the plain invoice)
and docs/tax-invoice-sample.png (a GST tax invoice) (needs pdftoppm, from the Debian package
poppler-utils).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from shared.adapters.invoice_pdf import render_invoice
from shared.domain.invoices import InvoiceFacts, Party
from shared.settings import REPO_ROOT

SAMPLE_FACTS = InvoiceFacts(
    number=42,
    auction_id="5b0c6f0e-2a41-4c3e-9d51-1f3c0b9a7e21",
    item_name="Brass table lamp, 1920s, with its original silk shade",
    seller=Party("Sita Sharma", "seller@example.com"),
    buyer=Party("Asha Rao", "asha@example.com"),
    amount=Decimal("120000.00"),
    currency="INR",
    sold_at=datetime(2026, 11, 26, 9, 37, tzinfo=UTC),
    tz="Asia/Kolkata",
)


def render_sample(png: Path, *, dpi: int = 80, facts: InvoiceFacts = SAMPLE_FACTS) -> Path:
    """Write the sample's PDF beside `png` and its first page as `png`."""
    pdf = png.with_suffix(".pdf")
    pdf.write_bytes(render_invoice(facts))
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(png.with_suffix("")),
        ],
        check=True,
    )
    return png


if __name__ == "__main__":
    from tests.support.gst_samples import BUYER_IN_MAHARASHTRA, tax_facts

    samples = {
        "invoice-sample.png": SAMPLE_FACTS,
        "tax-invoice-sample.png": tax_facts(BUYER_IN_MAHARASHTRA),
    }
    for name, facts in samples.items():
        target = REPO_ROOT / "docs" / name
        target.parent.mkdir(exist_ok=True)
        render_sample(target, facts=facts)
        target.with_suffix(".pdf").unlink()
        print(target, file=sys.stderr)
