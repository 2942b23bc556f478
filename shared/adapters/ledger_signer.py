"""The ledger's Ed25519 key: signs checkpoints (C2SP signed notes) and bid receipts.

The key is a base64 32-byte seed (`LEDGER_SIGNING_KEY`); the formats are
`shared.domain.ledger.notes`'s, so what this signs, that verifies."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.domain.ledger.notes import (
    Checkpoint,
    Note,
    NoteSignature,
    key_id,
    receipt_message,
    valid_name,
    verifier_key,
)


class SigningKeyError(ValueError):
    pass


def new_seed() -> str:
    """A fresh key, as the setting holds it (development makes one; production is given one)."""
    return base64.b64encode(os.urandom(32)).decode()


class LedgerSigner:
    def __init__(self, seed_b64: str, key_name: str) -> None:
        try:
            seed = base64.b64decode(seed_b64, validate=True)
        except (binascii.Error, ValueError):
            raise SigningKeyError("the signing key is base64") from None
        if len(seed) != 32:
            raise SigningKeyError("the signing key is a 32-byte Ed25519 seed")
        if not valid_name(key_name):
            raise SigningKeyError("a key name has no spaces and no '+'")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.key_name = key_name
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(key_name, self.public_key)
        self.vkey = verifier_key(key_name, self.public_key)

    def key_document(self) -> dict[str, str]:
        """`GET /api/ledger/key`."""
        return {
            "keyName": self.key_name,
            "publicKey": base64.b64encode(self.public_key).decode(),
            "vkey": self.vkey,
        }

    def sign_note(self, text: str) -> str:
        """`text` (ending in a newline) as a note signed by this key."""
        if not text.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = self._key.sign(text.encode())
        return Note(text, (NoteSignature(self.key_name, self.key_id, signature),)).encode()

    def sign_checkpoint(self, checkpoint: Checkpoint) -> str:
        return self.sign_note(checkpoint.text())

    def sign_receipt(self, auction_id: str, index: int, leaf: bytes) -> str:
        """The receipt's base64 signature over `{auctionId}|{index}|{leafHash base64}`."""
        signature = self._key.sign(receipt_message(auction_id, index, leaf))
        return base64.b64encode(signature).decode()
