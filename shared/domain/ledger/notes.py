"""Checkpoints as C2SP signed notes (`signed-note`, `tlog-checkpoint`), and bid receipts.

A checkpoint is the note text `<origin>\\n<tree size>\\n<base64 root>\\n` (origin
`<host>/auctions/<auctionId>`), then a blank line, then one line per signature:
`— <key name> <base64(4-byte key id || Ed25519 signature of the text)>`. The key id is the
first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key); the verifier key string
is `<name>+<key id hex>+<base64(0x01 || public key)>`. Written from the specifications (the
format is a few lines; no maintained Python package implements it) and held to the Go
reference implementation's test vectors (golang.org/x/mod/sumdb/note).

A receipt is an Ed25519 signature over `{auctionId}|{index}|{leafHash base64}`: the
platform's promise that the entry is in the log at that index within the merge delay.

Signing needs the private key and lives in `shared.adapters.ledger_signer`; everything here
is pure (verifying is arithmetic on public data).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "— "  # em dash, space
MAX_SIGNATURES = 100  # as the reference implementation: no spending forever on one note
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")


class NoteError(ValueError):
    """A note, key or checkpoint that is malformed, or whose signature does not verify."""


def valid_name(name: str) -> bool:
    """Non-empty, no Unicode space and no `+` (names are split on both)."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    if not valid_name(name) or len(public_key) != 32:
        raise NoteError("a key name without spaces or '+', and a 32-byte Ed25519 key")
    encoded = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    key_id: bytes
    public_key: bytes

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("not standard base64") from None


def parse_verifier_key(vkey: str) -> NoteVerifier:
    name, _, rest = vkey.partition("+")
    hex_id, _, encoded = rest.partition("+")
    if not valid_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteError("a verifier key is <name>+<8 hex digits>+<base64 key>")
    key = _b64(encoded)
    if len(key) != 33 or key[0] != ALG_ED25519:
        raise NoteError("the key must be an Ed25519 key (algorithm 1, 32 bytes)")
    if key_id(name, key[1:]).hex() != hex_id:
        raise NoteError("the key id does not match the name and key")
    return NoteVerifier(name, bytes.fromhex(hex_id), key[1:])


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    text: str  # ends with a newline; what the signatures sign
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def parse_note(message: str) -> Note:
    """Split a signed note into its text and signature lines (nothing verified yet)."""
    if any(ord(c) < 0x20 and c != "\n" for c in message):
        raise NoteError("a note has no control characters but newlines")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a note is its text, a blank line, and signature lines")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("the signature block ends with a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("a signature line starts with an em dash and a space")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        raw = _b64(encoded) if encoded else b""
        if not valid_name(name) or len(raw) < 5:
            raise NoteError("a signature line is `— <name> <base64 key id and signature>`")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
        if len(signatures) > MAX_SIGNATURES:
            raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(signatures))


def open_note(message: str, verifier: NoteVerifier) -> str:
    """The note's text once `verifier`'s key has signed it. Signatures by other keys are
    ignored (witnesses may cosign); one by this key that fails is an error."""
    note = parse_note(message)
    verified = False
    for signature in note.signatures:
        if signature.name != verifier.name or signature.key_id != verifier.key_id:
            continue
        if not verifier.verifies(note.text.encode(), signature.signature):
            raise NoteError(f"invalid signature for key {verifier.name}+{verifier.key_id.hex()}")
        verified = True
    if not verified:
        raise NoteError(f"no signature by key {verifier.name}+{verifier.key_id.hex()}")
    return note.text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"


def checkpoint_origin(host: str, auction_id: str) -> str:
    return f"{host}/auctions/{auction_id}"


def parse_checkpoint(text: str) -> Checkpoint:
    """The note text of a checkpoint: origin, decimal size, base64 root, then optional
    non-empty extension lines."""
    if not text.endswith("\n"):
        raise NoteError("a checkpoint's text ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("a checkpoint is at least three non-empty lines")
    origin, size, root = lines[:3]
    if not _SIZE.match(size):
        raise NoteError("the tree size is a decimal number without leading zeros")
    digest = _b64(root)
    if len(digest) != 32:
        raise NoteError("the root hash is 32 bytes")
    return Checkpoint(origin, int(size), digest, tuple(lines[3:]))


def open_checkpoint(message: str, verifier: NoteVerifier) -> Checkpoint:
    return parse_checkpoint(open_note(message, verifier))


def receipt_message(auction_id: str, index: int, leaf: bytes) -> bytes:
    return f"{auction_id}|{index}|{base64.b64encode(leaf).decode()}".encode()


def verify_receipt(
    public_key: bytes, auction_id: str, index: int, leaf: bytes, signature: bytes
) -> bool:
    verifier = NoteVerifier("receipt", b"", public_key)
    return verifier.verifies(receipt_message(auction_id, index, leaf), signature)
