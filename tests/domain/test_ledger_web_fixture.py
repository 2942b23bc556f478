"""The browser's verifier (web/src/ledger.ts) is tested on a log this code writes and signs:
web/src/ledger.fixture.json. Rebuilt here byte for byte (Ed25519 signatures are
deterministic), so that fixture cannot drift from the entries, tree and notes the server
makes: when they change, this fails until the fixture is written again
(`WRITE_LEDGER_FIXTURE=1 pytest tests/domain/test_ledger_web_fixture.py`)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from shared.adapters.ledger_signer import LedgerSigner
from shared.domain.ledger.entries import PlacedEntry, ledger_entries, pseudonym
from shared.domain.ledger.merkle import root_of
from shared.domain.ledger.notes import Checkpoint, checkpoint_origin
from shared.settings import REPO_ROOT

FIXTURE = REPO_ROOT / "web" / "src" / "ledger.fixture.json"


def build() -> dict[str, Any]:
    auction_id = "0b6f3c1e-5d2a-4c1b-9a7e-3f1d2c4b5a60"
    secret, t, end = b"s" * 32, 1796000000000, 1796000600000
    placed = [
        PlacedEntry("bid", "asha", 10000, t, t + 3, end),
        PlacedEntry("bid", "bina", 11000, t + 1000, t + 1004, end),
        PlacedEntry("proxy", "asha", 12000, t + 2000, t + 2002, end, 30000, "ab" * 16),
        PlacedEntry("bid", "chen", 13000, t + 3000, t + 3001, end),
        PlacedEntry("retraction", "chen", 13000, t + 4000, t + 4001, end),
    ]
    entries = ledger_entries(auction_id, 0, placed, secret)
    signer = LedgerSigner(base64.b64encode(bytes(range(32))).decode(), "auction.example")
    origin = checkpoint_origin("auction.example", auction_id)

    def note(size: int) -> str:
        root = root_of([e.leaf_hash for e in entries[:size]])
        return signer.sign_checkpoint(Checkpoint(origin, size, root))

    return {
        "auctionId": auction_id,
        "key": signer.key_document(),
        "entries": [
            {"index": e.index, "entry": e.text, "leafHash": base64.b64encode(e.leaf_hash).decode()}
            for e in entries
        ],
        "checkpoints": {str(size): note(size) for size in (3, 5)},
        "pseudonyms": {user: pseudonym(secret, user) for user in ("asha", "bina", "chen")},
    }


def test_the_browsers_fixture_is_what_the_server_writes() -> None:
    built = build()
    if os.environ.get("WRITE_LEDGER_FIXTURE"):
        FIXTURE.write_text(json.dumps(built, indent=2) + "\n")
    assert json.loads(FIXTURE.read_text()) == built
