"""The public bid ledger (docs/ledger.md): anyone may read an auction's log, its signed
checkpoint, inclusion and consistency proofs, and, once it has ended, the close certificate
that reveals the proxy maxima. `python -m verify_auction` reads exactly these.

Each view imports the ledger service when first called (it reads with SQLAlchemy), so that
`import app` on a cold function loads none of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from .. import runtime
from ..operations import Call, operation

if TYPE_CHECKING:
    from ..schemas.api import ConsistencyQuery, InclusionQuery, LedgerRange


bp = Blueprint(__name__)

_LOG = "/api/auctions/{auction_id}/ledger"


@operation(
    bp,
    "GET",
    "/api/ledger/key",
    summary="The key that signs every auction's log checkpoints and bid receipts",
    tag="ledger",
    response="LedgerKeyOut",
)
def get_ledger_key(call: Call) -> dict[str, Any]:
    from shared.services import ledger

    return ledger.key_document(runtime.settings())


@operation(
    bp,
    "GET",
    _LOG,
    summary="An auction's log entries from start (inclusive) to end (exclusive), at most 1,000",
    tag="ledger",
    query="LedgerRange",
    response="LedgerPage",
    errors=("not_found", "validation_error"),
)
def get_ledger(call: Call) -> dict[str, Any]:
    from shared.services import ledger

    q: LedgerRange = call.query
    return ledger.entries_page(runtime.context(), call.params["auction_id"], q.start, q.end)


@operation(
    bp,
    "GET",
    f"{_LOG}/checkpoint",
    summary="The log's latest checkpoint: a C2SP signed note (text/plain)",
    tag="ledger",
    media_type="text/plain",
    errors=("not_found",),
)
def get_ledger_checkpoint(call: Call) -> Response:
    from shared.services import ledger

    note = ledger.checkpoint_note(runtime.context(), call.params["auction_id"])
    return Response(
        body=note,
        status_code=200,
        headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"},
    )


@operation(
    bp,
    "GET",
    f"{_LOG}/proof",
    summary="The inclusion proof of entry `index` in the tree of `size` entries (RFC 9162)",
    tag="ledger",
    query="InclusionQuery",
    response="InclusionProofOut",
    errors=("not_found", "validation_error"),
)
def get_inclusion_proof(call: Call) -> dict[str, Any]:
    from shared.services import ledger

    q: InclusionQuery = call.query
    return ledger.inclusion(runtime.context(), call.params["auction_id"], q.index, q.size)


@operation(
    bp,
    "GET",
    f"{_LOG}/consistency",
    summary="The proof that the tree of `to` entries extends the tree of `from` (RFC 9162)",
    tag="ledger",
    query="ConsistencyQuery",
    response="ConsistencyProofOut",
    errors=("not_found", "validation_error"),
)
def get_consistency_proof(call: Call) -> dict[str, Any]:
    from shared.services import ledger

    q: ConsistencyQuery = call.query
    return ledger.consistency(runtime.context(), call.params["auction_id"], q.from_, q.to)


@operation(
    bp,
    "GET",
    f"{_LOG}/close",
    summary="Once ended: the final checkpoint, the outcome, and every proxy maximum revealed",
    tag="ledger",
    response="LedgerClose",
    errors=("not_found", "auction_not_ended"),
)
def get_ledger_close(call: Call) -> dict[str, Any]:
    from shared.services import ledger

    return ledger.close_certificate(runtime.context(), call.params["auction_id"])
