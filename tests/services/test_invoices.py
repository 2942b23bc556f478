"""Invoices: gap-free numbers, one PDF per sale (files or S3), downloadable by the sale's
parties and admins only."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import boto3
import pypdf
import pytest
from chalice.test import Client
from moto import mock_aws
from sqlalchemy import select

from shared.adapters.invoice_store import InvoiceStore
from shared.adapters.orm import Auction, Invoice
from shared.domain.errors import DomainError
from shared.services import email_jobs, invoices, sales
from shared.services.context import Context
from tests.support import harness
from tests.support.actors import call
from tests.support.after_sale import ended_auction, run_jobs
from tests.support.harness import Person
from tests.support.invoice_sample import SAMPLE_FACTS, render_sample
from tests.support.sendgrid_sink import SendGridSink


@pytest.fixture
def rival(ctx: Context) -> Person:
    return harness.person(ctx, "buyer", "Ravi Kumar")


def sell(
    ctx: Context, client: Client, seller: harness.Person, buyer: harness.Person, amount: str
) -> uuid.UUID:
    auction_id = ended_auction(ctx, client, seller, [(buyer, amount)], item_name="Teak chair")
    response = call(
        client, "POST", f"/api/auctions/{auction_id}/decision", seller, {"action": "accept"}
    )
    assert response.status_code == 200, response.body
    return auction_id


def download(
    client: Client, who: harness.Person | None, auction_id: uuid.UUID | str, accept: str
) -> Any:
    path = f"/api/auctions/{auction_id}/invoice"
    return call(client, "GET", path, who, headers={"Accept": accept})


class CountingStore(InvoiceStore):
    """The real store, counting how often a PDF is written."""

    def __init__(self, directory: Path) -> None:
        super().__init__(bucket=None, directory=directory)
        self.puts = 0

    def put(self, name: str, pdf: bytes) -> str:
        self.puts += 1
        return super().put(name, pdf)


def test_invoice_numbers_are_gap_free_even_when_a_sale_rolls_back(
    ctx: Context, client: Client, seller: Person, rival: Person
) -> None:
    first = sell(ctx, client, seller, rival, "150.00")
    doomed = ended_auction(ctx, client, seller, [(rival, "150.00")])
    with pytest.raises(RuntimeError), ctx.db.session() as session:
        auction = session.get_one(Auction, doomed)
        invoice = sales.complete_sale(
            session,
            ctx,
            auction,
            buyer_id=uuid.UUID(rival.id),
            price=auction.start_price,
            reason="accepted",
        )
        assert invoice.number == 2
        raise RuntimeError("the sale fails after taking its number")
    second = sell(ctx, client, seller, rival, "150.00")
    with ctx.db.session() as session:
        numbers = {i.auction_id: i.number for i in session.scalars(select(Invoice))}
    assert numbers == {first: 1, second: 2}


def test_concurrent_sales_take_consecutive_numbers(
    ctx: Context, client: Client, api_url: str, seller: Person, rival: Person
) -> None:
    import httpx

    auctions = [ended_auction(ctx, client, seller, [(rival, "150.00")]) for _ in range(6)]
    barrier = threading.Barrier(len(auctions))
    statuses: list[int] = []

    def accept(auction_id: uuid.UUID) -> None:
        barrier.wait()
        response = httpx.post(
            f"{api_url}/api/auctions/{auction_id}/decision",
            json={"action": "accept"},
            headers=seller.headers,
            timeout=30,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=accept, args=(a,)) for a in auctions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 6
    with ctx.db.session() as session:
        assert sorted(session.scalars(select(Invoice.number))) == [1, 2, 3, 4, 5, 6]


def test_the_invoice_pdf_names_everything_and_is_built_once(
    ctx: Context, client: Client, seller: Person, rival: Person, sink: SendGridSink, tmp_path: Path
) -> None:
    auction_id = sell(ctx, client, seller, rival, "120000.00")
    store = CountingStore(tmp_path)

    run_jobs(ctx, outlets=email_jobs.Outlets(email_jobs.outlets_for(ctx.settings).mailer, store))
    assert store.puts == 1  # two emails, one PDF
    invoice, pdf = invoices.ensure_pdf(ctx, auction_id, store)
    assert store.puts == 1
    assert invoice.storage_key == str(tmp_path / f"INV-000001-{auction_id}.pdf")
    assert all(m.attachments[0].content == pdf for m in sink.messages)
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in (
        "INV-000001",
        f"seller <{seller.principal.email}>",
        f"Ravi Kumar <{rival.principal.email}>",
        "Teak chair",
        "INR 1,20,000.00",
        "Currency",
        " IST",
    ):
        assert expected in text


def test_a_lost_pdf_is_rebuilt_byte_for_byte(
    ctx: Context, client: Client, seller: Person, rival: Person, tmp_path: Path
) -> None:
    auction_id = sell(ctx, client, seller, rival, "150.00")
    store = CountingStore(tmp_path)
    _, original = invoices.ensure_pdf(ctx, auction_id, store)
    (tmp_path / f"INV-000001-{auction_id}.pdf").unlink()
    _, rebuilt = invoices.ensure_pdf(ctx, auction_id, store)
    assert rebuilt == original
    assert store.puts == 2


@pytest.mark.parametrize("accept", ["application/pdf", "*/*"])
def test_buyer_seller_and_admins_download_the_invoice(
    ctx: Context, client: Client, seller: Person, rival: Person, admin: Person, accept: str
) -> None:
    auction_id = sell(ctx, client, seller, rival, "150.00")
    bodies = set()
    for who in (rival, seller, admin):
        response = download(client, who, auction_id, accept)
        assert response.status_code == 200, response.body
        assert response.headers["Content-Type"] == "application/pdf"
        assert f"INV-000001-{auction_id}.pdf" in response.headers["Content-Disposition"]
        assert response.body.startswith(b"%PDF-")
        bodies.add(response.body)
    assert len(bodies) == 1


def test_nobody_else_downloads_an_invoice(
    ctx: Context, client: Client, seller: Person, rival: Person, buyer: Person
) -> None:
    auction_id = sell(ctx, client, seller, rival, "150.00")
    response = download(client, buyer, auction_id, "application/pdf")
    assert response.status_code == 403
    assert response.json_body["code"] == "forbidden"
    assert download(client, None, auction_id, "application/pdf").status_code == 401


def test_no_invoice_before_a_sale_or_for_unknown_auctions(
    ctx: Context, client: Client, seller: Person, rival: Person
) -> None:
    unsold = ended_auction(ctx, client, seller, [(rival, "150.00")])
    for auction_id in (unsold, uuid.uuid4(), "nope"):
        response = download(client, seller, auction_id, "application/pdf")
        assert response.status_code == 404
        assert response.json_body["code"] == "not_found"


def test_a_client_that_does_not_accept_pdf_gets_a_clear_problem(
    ctx: Context, client: Client, seller: Person, rival: Person
) -> None:
    auction_id = sell(ctx, client, seller, rival, "150.00")
    response = download(client, seller, auction_id, "application/json")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Accept" in response.json_body["detail"]


def test_with_a_bucket_invoices_live_in_s3(
    ctx: Context, client: Client, seller: Person, rival: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-south-1")
        s3.create_bucket(
            Bucket="auction-invoices",
            CreateBucketConfiguration={"LocationConstraint": "ap-south-1"},
        )
        monkeypatch.setattr(
            ctx, "settings", ctx.settings.model_copy(update={"invoice_bucket": "auction-invoices"})
        )
        auction_id = sell(ctx, client, seller, rival, "150.00")
        response = download(client, rival, auction_id, "application/pdf")
        assert response.status_code == 200, response.body
        key = f"invoices/INV-000001-{auction_id}.pdf"
        stored = s3.get_object(Bucket="auction-invoices", Key=key)
        assert stored["ContentType"] == "application/pdf"
        assert stored["Body"].read() == response.body
        with ctx.db.session() as session:
            invoice = session.scalars(select(Invoice)).one()
        assert invoice.storage_key == f"s3://auction-invoices/{key}"
        # Read back through the store, whichever store is configured now.
        plain = InvoiceStore(bucket=None, directory=Path("/nonexistent"))
        assert plain.get(str(invoice.storage_key)) == response.body


def test_an_unreachable_bucket_is_a_503_not_a_500(
    ctx: Context, client: Client, seller: Person, rival: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    with mock_aws():  # the bucket was never created
        monkeypatch.setattr(
            ctx, "settings", ctx.settings.model_copy(update={"invoice_bucket": "missing-bucket"})
        )
        auction_id = sell(ctx, client, seller, rival, "150.00")
        response = download(client, rival, auction_id, "application/pdf")
    assert response.status_code == 503
    assert response.json_body["code"] == "unavailable"


def test_download_service_refuses_strangers_before_building_anything(
    ctx: Context, client: Client, seller: Person, rival: Person, buyer: Person, tmp_path: Path
) -> None:
    from shared.domain.principal import Viewer

    auction_id = sell(ctx, client, seller, rival, "150.00")
    store = CountingStore(tmp_path)
    with pytest.raises(DomainError) as caught:
        invoices.download(ctx, auction_id, Viewer(buyer.id, "buyer"), store)
    assert caught.value.code == "forbidden"
    assert store.puts == 0


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None,
    reason="pdftoppm is not installed (Debian: apt-get install poppler-utils)",
)
def test_the_first_page_renders_to_png(tmp_path: Path) -> None:
    png = render_sample(tmp_path / "invoice.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert 0.68 < width / height < 0.73  # an A4 page, portrait
    # A page that drew nothing would be one flat colour and compress to almost nothing.
    assert len(data) > 10_000
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "invoice.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert re.search(r"^Title:\s+Invoice INV-000042$", info, re.M)
    assert f"Subject:         {SAMPLE_FACTS.item_name}" in info


def test_a_request_without_accept_gets_the_pdf_over_http(
    ctx: Context, client: Client, api_url: str, seller: Person, rival: Person
) -> None:
    """No Accept header means anything is acceptable (RFC 9110); urllib sends none."""
    import http.client
    from urllib.parse import urlsplit

    auction_id = sell(ctx, client, seller, rival, "150.00")
    parts = urlsplit(api_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.putrequest("GET", f"/api/auctions/{auction_id}/invoice", skip_accept_encoding=True)
    conn.putheader("Authorization", seller.headers["Authorization"])
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/pdf"
    assert body.startswith(b"%PDF-")
