"""The ledger's signing key (shared.adapters.ledger_signer): Go's reference signature byte for
byte, checkpoints that both verifiers open, receipts."""

from __future__ import annotations

import base64

import pytest

import verify_auction
from shared.adapters.ledger_signer import LedgerSigner, SigningKeyError, new_seed
from shared.domain.ledger.merkle import leaf_hash
from shared.domain.ledger.notes import (
    Checkpoint,
    open_checkpoint,
    parse_verifier_key,
    receipt_message,
    verify_receipt,
)
from tests.domain.test_ledger_notes import PETER_SIG, PETER_VKEY, TEXT

# golang.org/x/mod/sumdb/note's test signer key: PRIVATE+KEY+<name>+<id>+base64(0x01 || seed).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_SEED = base64.b64encode(base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]).decode()


def test_signs_as_the_reference_implementation() -> None:
    signer = LedgerSigner(PETER_SEED, "PeterNeumann")
    assert signer.vkey == PETER_VKEY
    assert signer.sign_note(TEXT) == TEXT + "\n" + PETER_SIG
    assert signer.key_document() == {
        "keyName": "PeterNeumann",
        "publicKey": base64.b64encode(parse_verifier_key(PETER_VKEY).public_key).decode(),
        "vkey": PETER_VKEY,
    }


def test_a_signed_checkpoint_opens_in_both_verifiers() -> None:
    signer = LedgerSigner(new_seed(), "auctions.example")
    checkpoint = Checkpoint("auctions.example/auctions/a1", 3, leaf_hash(b"root"))
    note = signer.sign_checkpoint(checkpoint)
    assert open_checkpoint(note, parse_verifier_key(signer.vkey)) == checkpoint
    opened = verify_auction.open_checkpoint(note, verify_auction.Key.parse(signer.vkey))
    assert (opened.origin, opened.size, opened.root) == (checkpoint.origin, 3, checkpoint.root)
    other = LedgerSigner(new_seed(), "auctions.example")  # same name, another key
    with pytest.raises(ValueError):
        verify_auction.open_checkpoint(note, verify_auction.Key.parse(other.vkey))


def test_a_receipt_signs_the_auction_the_index_and_the_leaf() -> None:
    signer = LedgerSigner(new_seed(), "auctions.example")
    leaf = leaf_hash(b'{"v":1}')
    assert receipt_message("a1", 7, leaf) == f"a1|7|{base64.b64encode(leaf).decode()}".encode()
    signature = base64.b64decode(signer.sign_receipt("a1", 7, leaf))
    assert verify_receipt(signer.public_key, "a1", 7, leaf, signature)
    assert not verify_receipt(signer.public_key, "a1", 8, leaf, signature)
    assert not verify_receipt(signer.public_key, "a2", 7, leaf, signature)
    assert not verify_receipt(signer.public_key, "a1", 7, leaf_hash(b"{}"), signature)


@pytest.mark.parametrize(
    ("seed", "name"),
    [
        ("not base64!", "auctions.example"),
        (base64.b64encode(bytes(31)).decode(), "auctions.example"),
        (base64.b64encode(bytes(32)).decode(), "two words"),
        (base64.b64encode(bytes(32)).decode(), "a+b"),
    ],
)
def test_a_bad_key_or_name_is_refused(seed: str, name: str) -> None:
    with pytest.raises(SigningKeyError):
        LedgerSigner(seed, name)
