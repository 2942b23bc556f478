"""`python -m verify_auction` end to end, over HTTP: an auction's log as the ledger's pure
functions build it (bench.ledger.AuctionLog), served on the public routes by a small local
server, then tampered as a database could be (an amount changed, an entry deleted, two
swapped), rewritten and re-signed with the platform's own key, or signed by another key.
The real routes are the lead's, with their end-to-end tests; this is the verifier's input."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.ledger import AuctionLog, big_auction, serve
from shared.adapters.ledger_signer import LedgerSigner, new_seed
from shared.domain.bidding import AuctionRules, Offer
from shared.domain.ledger.entries import pseudonym
from shared.settings import REPO_ROOT

T = 1_790_000_000_000


def run(base: str, auction_id: str, state: Path, *more: str) -> tuple[int, str]:
    """The verifier's exit code and what it printed (both streams)."""
    process = subprocess.run(
        [sys.executable, "-m", "verify_auction", base, auction_id, "--state", str(state), *more],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return process.returncode, process.stdout + process.stderr


@pytest.fixture
def site() -> Iterator[tuple[AuctionLog, str]]:
    """An ended auction of 400 entries (bids, maxima, answers) on a local port."""
    log = big_auction(entries=400, seed=3)
    with serve(log) as base:
        yield log, base


def pseudonym_of(log: AuctionLog, user_id: str) -> str:
    return pseudonym(log.secret, user_id)


def test_the_verifier_is_one_file_of_standard_library_and_cryptography() -> None:
    package = REPO_ROOT / "verify_auction"
    assert sorted(p.name for p in package.glob("*.py")) == ["__init__.py", "__main__.py"]
    imported = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module is not None
                imported.add(node.module.split(".")[0])
    outside = imported - set(sys.stdlib_module_names) - {"cryptography", "verify_auction"}
    assert outside == set(), f"the verifier imports {outside}"


def test_an_honest_ended_auction_verifies(site: tuple[AuctionLog, str], tmp_path: Path) -> None:
    log, base = site
    code, out = run(base, log.auction_id, tmp_path / "state.json")
    assert code == 0, out
    assert out.startswith("verified: ")
    leader = log.book.leader
    assert leader is not None
    assert f"{len(log.rows)} entries" in out
    assert f"winner {pseudonym_of(log, leader.user_id)} at " in out
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["keys"] == {log.origin: log.signer.vkey}
    assert state["checkpoints"][log.origin] == [
        {"size": len(log.rows), "root": base64.b64encode(log.edge.root()).decode()}
    ]


def live_auction(*offers: Offer) -> AuctionLog:
    """A live auction; by default a's maximum of 50.00 and b's 20.00, answered (3 entries)."""
    log = AuctionLog(
        "3c9a0f4e-1b2d-4e5f-8a7b-6c5d4e3f2a1b",
        AuctionRules(start_price=1_000, increment=100, seller_id="seller"),
        go_live_ms=T,
        duration_mins=60,
    )
    for offer in offers or (Offer("a", 5_000, True, T + 1), Offer("b", 2_000, False, T + 2)):
        log.offer(offer)
    return log


def test_a_live_auction_verifies_as_far_as_it_goes_and_then_extends(tmp_path: Path) -> None:
    log = live_auction()
    state = tmp_path / "state.json"
    with serve(log) as base:
        code, out = run(base, log.auction_id, state)
        assert code == 0, out
        assert "live: highest" in out and "consistent with 0 earlier" in out
        log.offer(Offer("c", 6_000, False, T + 3))
        log.offer(Offer("b", 7_000, True, T + 4))
        code, out = run(base, log.auction_id, state)
        assert code == 0, out
        assert "consistent with 1 earlier" in out  # the consistency proof from 3 to 5
        assert [c["size"] for c in json.loads(state.read_text())["checkpoints"][log.origin]] == [
            3, 5
        ]  # fmt: skip


def retext(row: dict[str, object], **changes: object) -> dict[str, object]:
    """The row with its entry's fields changed, text and leaf hash rewritten to match."""
    document = json.loads(str(row["entry"]))
    document.update(changes)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    leaf = hashlib.sha256(b"\x00" + text.encode()).digest()
    return {**row, "entry": text, "leafHash": base64.b64encode(leaf).decode()}


POSITIONS = [0, 1, 137, 255, 256, 399]


@pytest.mark.parametrize("index", POSITIONS)
def test_an_amount_changed_in_the_database_is_named(
    site: tuple[AuctionLog, str], tmp_path: Path, index: int
) -> None:
    log, base = site
    amount = json.loads(log.rows[index]["entry"])["amount"]
    log.rows[index] = retext(log.rows[index], amount=f"{float(amount) + 1:.2f}")
    code, out = run(base, log.auction_id, tmp_path / "state.json")
    assert code == 1, out
    assert out.startswith(f"NOT verified: index {index}: the entries do not make the signed root")


def test_a_text_changed_without_its_hash_is_named(
    site: tuple[AuctionLog, str], tmp_path: Path
) -> None:
    log, base = site
    changed = retext(log.rows[42], amount="1.00")
    log.rows[42] = {**changed, "leafHash": log.rows[42]["leafHash"]}
    code, out = run(base, log.auction_id, tmp_path / "state.json")
    assert (code, out.strip()) == (1, "NOT verified: index 42: its leaf hash is not the hash "
                                      "of its text")  # fmt: skip


@pytest.mark.parametrize("index", POSITIONS)
def test_a_deleted_entry_is_named(site: tuple[AuctionLog, str], tmp_path: Path, index: int) -> None:
    log, base = site
    del log.rows[index]
    code, out = run(base, log.auction_id, tmp_path / "state.json")
    assert code == 1, out
    assert out.startswith(f"NOT verified: index {index}: ")


@pytest.mark.parametrize(("first", "second"), [(0, 1), (10, 11), (100, 300), (398, 399)])
def test_two_swapped_entries_are_named(
    site: tuple[AuctionLog, str], tmp_path: Path, first: int, second: int
) -> None:
    log, base = site
    a, b = log.rows[first], log.rows[second]
    log.rows[first] = {**b, "index": first}
    log.rows[second] = {**a, "index": second}
    code, out = run(base, log.auction_id, tmp_path / "state.json")
    assert code == 1, out
    assert out.startswith(f"NOT verified: index {first}: it says it is index {second}")


def test_a_log_rewritten_and_re_signed_fails_against_a_checkpoint_seen_before(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    honest = live_auction()
    with serve(honest) as base:
        assert run(base, honest.auction_id, state)[0] == 0
    # The platform rewrites history with its own key: b's bid never happened, c's did.
    rewritten = live_auction(
        Offer("a", 5_000, True, T + 1),
        Offer("c", 2_500, False, T + 2),
        Offer("d", 9_000, False, T + 3),
    )
    with serve(rewritten) as base:
        code, out = run(base, rewritten.auction_id, state)
    assert code == 1, out
    assert "the first 3 entries are not the ones signed before" in out
    # And a log cut short.
    shorter = live_auction(Offer("a", 5_000, True, T + 1))
    with serve(shorter) as base:
        code, out = run(base, shorter.auction_id, state)
    assert (code, "the log had 3 entries before, now 1" in out) == (1, True), out


def test_another_signing_key_is_refused(site: tuple[AuctionLog, str], tmp_path: Path) -> None:
    log, base = site
    state = tmp_path / "state.json"
    assert run(base, log.auction_id, state)[0] == 0
    original = log.signer
    log.signer = LedgerSigner(new_seed(), original.key_name)  # a new key, published
    code, out = run(base, log.auction_id, state)
    assert code == 1 and "this log's signing key changed since an earlier run" in out, out
    # A checkpoint signed by a key other than the published one.
    published = log.signer.key_document()
    log.signer = original
    log.signer.key_document = lambda: published  # type: ignore[method-assign]
    code, out = run(base, log.auction_id, tmp_path / "fresh.json")
    assert code == 1 and "NOT verified: the checkpoint: no signature by" in out, out


def test_a_close_naming_another_winner_is_refused(
    site: tuple[AuctionLog, str], tmp_path: Path
) -> None:
    log, base = site
    honest = log.close
    loser = pseudonym_of(log, "someone else")

    def close() -> dict[str, object] | None:
        document = honest()
        assert document is not None
        return {**document, "outcome": {**document["outcome"], "winner": loser}}

    log.close = close  # type: ignore[method-assign]
    code, out = run(base, log.auction_id, tmp_path / "state.json")
    assert code == 1, out
    assert out.startswith(f"NOT verified: index {len(log.rows) - 1}: the close names {loser}")


def test_network_and_usage_errors_exit_2(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    code, out = run(f"http://127.0.0.1:{closed_port}", "a1", tmp_path / "state.json")
    assert code == 2 and out.startswith("error: GET "), out
    with serve(live_auction()) as base:
        code, out = run(base, "no-such-auction", tmp_path / "state.json")
    assert code == 2 and "HTTP 404" in out, out
    assert run("ftp://example", "a1", tmp_path / "state.json")[0] == 2
    assert run("http://127.0.0.1:1", "a1", tmp_path / "s.json", "--proofs", "x")[0] == 2
