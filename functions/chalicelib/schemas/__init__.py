"""Request and answer models: they validate requests, serialise every success body (and every
problem), and generate the OpenAPI document.

A route names its models (`operation(body="PlaceBid", ...)`) and they are found here when the
route is first called (`model`), so a cold function instance builds the classes of the route it
serves and no others: creating the ~100 pydantic classes of every route took ~25 ms of each
cold start, for a bid that needs five. `base` holds the field types, the bases and the problem
body (every route may answer a problem); `bids` the bid route's; `api` every other route's.
`from chalicelib.schemas import X` finds X in whichever of them defines it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from pydantic import BaseModel

# Searched in this order: a bid finds its models without importing `api`.
_MODULES = ("base", "bids", "api")
_FOUND: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """A model or field type by name, from the first module that defines it."""
    if name.startswith("__"):
        raise AttributeError(name)
    found = _FOUND.get(name)
    if found is not None:
        return found
    for module in _MODULES:
        value = getattr(import_module(f"{__name__}.{module}"), name, None)
        if value is not None:
            _FOUND[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# A model as a route names it: by name (one of this package's), or the class itself (a model
# of the benchmarks' own routes, which are no part of the API).
ModelRef = str | type[BaseModel]


def model(ref: ModelRef) -> type[BaseModel]:
    """The request or answer model `ref` names."""
    if isinstance(ref, type):
        return ref
    found = __getattr__(ref)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise TypeError(f"{ref} is not a model")
    return found
