"""Lambda SnapStart's runtime hooks (Python 3.12+ managed runtimes; `infra/package.py` turns
SnapStart on in the template when the runtime has it).

With SnapStart, Lambda runs the function's init once, when a version is published, snapshots
the initialised environment, and resumes every new instance from that snapshot: what `import
app` did is paid once per version, not per cold start. So, when the init is a snapshot's
(`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`), it also does what a first bid would otherwise
do: load the bid path's modules, the settings, the token verifier, the bid script's source and
the request and answer models' validators (`warm`). Nothing of it holds a connection.

What must not be in a snapshot, since every instance restored from it would share it:
- connections: a socket open at the snapshot is dead (or worse, shared) after a restore. The
  hooks close every connection before the snapshot and again after a restore (`runtime.
  close_connections`); requests open their own on demand.
- randomness: `random`'s state would be the same in every restored instance: reseeded after a
  restore. (Ids and secrets come from `uuid4`/`secrets`/`os.urandom`, which the kernel
  reseeds; nothing here draws an id from `random`.)

Without the library (the python3.11 runtime, where there is no SnapStart) nothing is
registered and nothing is warmed: a plain cold start imports only what `import app` needs.
"""

from __future__ import annotations

import os
import random

from . import runtime

SNAPSTART_INIT = "snap-start"


def before_snapshot() -> None:
    """No connection goes into the snapshot."""
    runtime.close_connections()


def after_restore() -> None:
    """A restored instance: its own random sequence, and no connection it did not open."""
    random.seed()
    runtime.close_connections()


def warm() -> None:
    """What every first bid would load, loaded into the snapshot instead."""
    from shared.adapters.redis_store import load_script
    from shared.services import bid_rows, bidding  # noqa: F401 (imported to be in the snapshot)

    from . import auth, schemas

    runtime.settings()
    auth.verifier()
    load_script("place_bid")
    for model in (schemas.model(name) for name in ("PlaceBid", "BidPlaced", "ProblemOut")):
        model.model_rebuild(force=True)
    runtime.context()  # the Context, its connections opened on demand (none yet)


def install() -> bool:
    """Register the hooks where the runtime has SnapStart (the library is there), and warm
    the init when it is a snapshot's. Returns whether the hooks were registered."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == SNAPSTART_INIT:
        warm()
    return True
