"""Signed notes and checkpoints (shared.domain.ledger.notes) against the Go reference
implementation's vectors (golang.org/x/mod/sumdb/note, note_test.go) and the C2SP
tlog-checkpoint text; the standalone verifier's parser held to the same notes."""

from __future__ import annotations

import base64

import pytest

import verify_auction
from shared.domain.ledger.notes import (
    Checkpoint,
    NoteError,
    checkpoint_origin,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_verifier_key,
    verifier_key,
)

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb"
    "6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WW"
    "d1RvMc+QQ=\n"
)


def test_the_reference_verifier_key_parses_and_rebuilds() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    assert peter.name == "PeterNeumann"
    assert peter.key_id.hex() == "c74f20a3"
    assert key_id(peter.name, peter.public_key) == peter.key_id
    assert verifier_key(peter.name, peter.public_key) == PETER_VKEY
    assert verify_auction.Key.parse(PETER_VKEY).public == peter.public_key


def test_every_mangling_of_the_verifier_key_is_refused() -> None:
    """As the reference test: every proper substring, every byte bumped by one."""
    manglings = {
        PETER_VKEY[i:j]
        for i in range(len(PETER_VKEY) + 1)
        for j in range(i + 1, len(PETER_VKEY) + 1)
        if (i, j) != (0, len(PETER_VKEY))
    }
    manglings |= {
        PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        for i in range(len(PETER_VKEY))
    }
    manglings |= {
        # a wrong key length (hash adjusted), an unknown algorithm (hash adjusted)
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    }
    for bad in manglings:
        with pytest.raises(NoteError):
            parse_verifier_key(bad)
        with pytest.raises(ValueError):
            verify_auction.Key.parse(bad)


def test_a_note_opens_with_the_key_that_signed_it() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(both, peter) == TEXT  # the other signature is a stranger's: ignored
    assert open_note(both, enoch) == TEXT
    note = parse_note(both)
    assert [(s.name, s.key_id.hex()) for s in note.signatures] == [
        ("PeterNeumann", "c74f20a3"),
        ("EnochRoot", "af0cfe78"),
    ]
    assert note.encode() == both


def test_a_note_without_the_keys_signature_does_not_open() -> None:
    with pytest.raises(NoteError, match="no signature"):
        open_note(TEXT + "\n" + ENOCH_SIG, parse_verifier_key(PETER_VKEY))


def test_a_broken_signature_by_the_key_is_an_error() -> None:
    broken = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann"):
        open_note(broken, parse_verifier_key(PETER_VKEY))
    with pytest.raises(NoteError):
        open_note(TEXT.replace("problem", "question") + "\n" + PETER_SIG,
                  parse_verifier_key(PETER_VKEY))  # fmt: skip


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
        "gKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(NoteError):
        open_note(message, parse_verifier_key(PETER_VKEY))


C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def test_the_c2sp_checkpoint_text() -> None:
    checkpoint = parse_checkpoint(C2SP_CHECKPOINT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert (
        base64.b64encode(checkpoint.root).decode() == "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    )
    assert checkpoint.text() == C2SP_CHECKPOINT
    extended = parse_checkpoint(C2SP_CHECKPOINT + "extension line\n")
    assert extended.extensions == ("extension line",)
    assert extended.text() == C2SP_CHECKPOINT + "extension line\n"


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",  # no final newline
        "example.com/log\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        "example.com/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  # not base64
        "example.com/log\n12\nAAAA\n",  # not 32 bytes
        "example.com/log\n12\n",
        "example.com/log\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nextension\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)


def test_an_auctions_origin() -> None:
    assert checkpoint_origin("auctions.example", "a1") == "auctions.example/auctions/a1"
    assert (
        Checkpoint("o", 0, bytes(32)).text()
        == "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    )


def test_open_checkpoint_needs_the_signature() -> None:
    with pytest.raises(NoteError):
        open_checkpoint(C2SP_CHECKPOINT + "\n" + PETER_SIG, parse_verifier_key(PETER_VKEY))
