"""The production steps of docs/deploy.md, followed step by step as far as this machine allows.

- Supabase Auth: its JWKS URL, served here by a small HTTP server with an ES256 key (what a
  Supabase project with asymmetric signing keys publishes), with the project's issuer;
- Upstash: the suite's own REST bridge stands in for the REST URL and token, its Redis for the
  TCP URL; PostgreSQL is the suite's;
- S3: the invoice bucket, on moto's server (the API and the socket node are other processes);
- SendGrid: the local sink, with a key and a sender;
- the stack started with APP_ENV=production and the public URLs of a split deploy.

Then: both /health answer, there is no dev login (404, and /config.json says so), no demo data
was seeded, a token signed by the project's key works on REST and on the WebSocket (a forged
one does not), and a sale's invoice lands in the bucket and is served from it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx
import jwt
import pypdf
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from moto.server import ThreadedMotoServer
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from infra.embedded import free_port
from infra.seed import USERS
from shared.adapters.orm import Auction, User
from shared.adapters.tokens import dev_user_id
from shared.settings import REPO_ROOT
from tests.support import harness
from tests.support.harness import TOKEN, SuiteServices
from tests.support.sendgrid_sink import SendGridSink

DEMO_IDS = [uuid.UUID(dev_user_id(email)) for email, _, _ in USERS]
BUCKET = "auction-invoices-test"
REGION = "ap-south-1"


class SupabaseKeys:
    """A Supabase project's signing key and its JWKS endpoint
    (`<project>/auth/v1/.well-known/jwks.json`)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = uuid.uuid4().hex
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]})
        self.fetches = 0
        keys = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/auth/v1/.well-known/jwks.json":
                    self.send_error(404)
                    return
                keys.fetches += 1
                payload = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/auth/v1/.well-known/jwks.json"

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def token(self, email: str, role: str, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, email)),
            "email": email,
            "aud": "authenticated",
            "iss": self.issuer,
            "role": "authenticated",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=10)).timestamp()),
            "app_metadata": {"provider": "email", "role": role},
            "user_metadata": {"name": email.split("@")[0].title()},
        }
        return jwt.encode(claims, key or self.key, algorithm="ES256", headers={"kid": self.kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# One production stack for the module (starting one takes seconds on a shared machine).
@pytest.fixture(scope="module")
def supabase() -> Iterator[SupabaseKeys]:
    keys = SupabaseKeys()
    yield keys
    keys.close()


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[str, Any]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    httpx.post(f"{endpoint}/moto-api/reset", timeout=5)  # moto's state outlives one server
    client = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield endpoint, client
    server.stop()


@pytest.fixture(scope="module")
def sendgrid(sendgrid_sink: SendGridSink) -> SendGridSink:
    sendgrid_sink.reset()
    return sendgrid_sink


@pytest.fixture(scope="module")
def production(
    services: SuiteServices,
    supabase: SupabaseKeys,
    s3: tuple[str, Any],
    sendgrid: SendGridSink,
) -> Iterator[dict[str, str]]:
    from chalicelib import runtime

    harness.wipe(runtime.context())  # empty tables: whatever is there afterwards, the stack made
    api_port, socket_port = free_port(), free_port()
    urls = {
        "api": f"http://127.0.0.1:{api_port}",
        "socket": f"http://127.0.0.1:{socket_port}",
    }
    env = {
        **os.environ,
        # the production settings of docs/deploy.md, in its order
        "APP_ENV": "production",
        "LEDGER_SIGNING_KEY": "+vTsg9OUxCCOt7ml5U3yosp0WLzSLZzvtku01tO6sww=",  # (a test key)
        "SUPABASE_JWKS_URL": supabase.jwks_url,
        "JWT_ISSUER": supabase.issuer,
        "JWT_AUDIENCE": "authenticated",
        "JWT_PUBLIC_KEYS": "",
        "SUPABASE_JWT_SECRET": "",
        "SUPABASE_URL": supabase.url,
        "SUPABASE_ANON_KEY": "anon-public-key",
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "UPSTASH_REDIS_REST_URL": services.rest_url,
        "UPSTASH_REDIS_REST_TOKEN": TOKEN,
        "INVOICE_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": s3[0],  # moto's server instead of s3.amazonaws.com
        "SENDGRID_API_KEY": sendgrid.api_key,
        "SENDGRID_API_HOST": sendgrid.url,
        "EMAIL_FROM": "auctions@example.com",
        "API_PUBLIC_URL": urls["api"],
        "WS_PUBLIC_URL": f"ws://127.0.0.1:{socket_port}/ws",
        "APP_BASE_URL": urls["socket"],
        "CORS_ORIGINS": urls["socket"],
        "API_PORT": str(api_port),
        "SOCKET_PORT": str(socket_port),
    }
    env.pop("PORT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.stack"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        pending = {f"{urls['api']}/health", f"{urls['socket']}/health"}
        while pending:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, f"not healthy: {pending}"
            for url in list(pending):
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_production_has_no_dev_login_and_seeds_nothing(production: dict[str, str]) -> None:
    for url in production.values():
        health = httpx.get(f"{url}/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
    login = httpx.post(
        f"{production['api']}/api/dev/login",
        json={"email": "admin@example.com", "role": "admin"},
        timeout=5,
    )
    assert login.status_code == 404
    assert httpx.get(f"{production['socket']}/config.json", timeout=5).json()["devLogin"] is False
    # the stack migrated the database and seeded nothing: no demo user, no demo auction
    from chalicelib import runtime

    with runtime.context().db.session() as session:
        demo = [email for email, _, _ in USERS]
        assert session.scalars(select(User).where(User.email.in_(demo))).all() == []
        assert session.scalars(select(Auction).where(Auction.seller_id.in_(DEMO_IDS))).all() == []


def test_a_supabase_token_works_on_rest_and_on_the_websocket(
    production: dict[str, str], supabase: SupabaseKeys
) -> None:
    token = supabase.token("meera@example.com", "seller")
    me = httpx.get(
        f"{production['api']}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "meera@example.com" and me.json()["role"] == "seller"
    assert supabase.fetches >= 1  # the keys came from the project's JWKS URL

    forged = supabase.token(
        "meera@example.com", "admin", key=ec.generate_private_key(ec.SECP256R1())
    )
    refused = httpx.get(
        f"{production['api']}/api/me", headers={"Authorization": f"Bearer {forged}"}, timeout=5
    )
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"

    ws_url = production["socket"].replace("http://", "ws://") + "/ws"
    with connect(f"{ws_url}?token={token}", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
    # a forged token is refused: 401 at the handshake, or close code 4401
    try:
        with connect(f"{ws_url}?token={forged}", open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    except InvalidStatus as refusal:
        assert refusal.response.status_code == 401


def test_a_sales_invoice_is_kept_in_the_s3_bucket(
    production: dict[str, str],
    supabase: SupabaseKeys,
    s3: tuple[str, Any],
    sendgrid: SendGridSink,
) -> None:
    api = production["api"]
    seller = {"Authorization": f"Bearer {supabase.token('meera@example.com', 'seller')}"}
    buyer = {"Authorization": f"Bearer {supabase.token('kabir@example.com', 'buyer')}"}
    go_live = datetime.now(UTC) + timedelta(seconds=4)  # (a loaded machine took over 1 s to answer)
    created = httpx.post(
        f"{api}/api/auctions",
        headers=seller,
        json={
            "itemName": "Brass telescope",
            "description": "Production set-up test.",
            "startPrice": 1000,
            "bidIncrement": 100,
            "buyNowPrice": 5000,
            "goLiveAt": go_live.isoformat().replace("+00:00", "Z"),
            "durationMins": 5,
        },
        timeout=5,
    )
    assert created.status_code == 201, created.text
    auction_id = created.json()["id"]
    deadline = time.monotonic() + 30
    while True:
        bid = httpx.post(
            f"{api}/api/auctions/{auction_id}/bids", headers=buyer, json={"amount": 5000}, timeout=5
        )
        if bid.status_code != 409 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert bid.status_code == 201, bid.text

    deadline = time.monotonic() + 60
    while True:
        invoice = httpx.get(
            f"{api}/api/auctions/{auction_id}/invoice",
            headers={**buyer, "Accept": "application/pdf"},
            timeout=10,
        )
        if invoice.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert invoice.status_code == 200, invoice.text
    text = pypdf.PdfReader(io.BytesIO(invoice.content)).pages[0].extract_text()
    assert "Brass telescope" in text

    _, client = s3
    stored = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert len(stored) == 1 and stored[0]["Key"].endswith(".pdf")
    kept = client.get_object(Bucket=BUCKET, Key=stored[0]["Key"])["Body"].read()
    assert kept == invoice.content

    # the sale's emails go out through SendGrid, the invoice attached
    deadline = time.monotonic() + 60
    while len(sendgrid.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.25)
    sale_mails = [m for m in sendgrid.messages if m.attachments]
    assert {to for m in sale_mails for to in m.to} == {"meera@example.com", "kabir@example.com"}
    assert all(m.attachments[0].content == kept for m in sale_mails)
    # the seller's also carries their statement of the sale
    assert sorted(len(m.attachments) for m in sale_mails) == [1, 2]
