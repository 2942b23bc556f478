"""Where a write came from, kept only as salted hashes: the source network (an IPv4 /24 or an
IPv6 /64, the block one household, office or phone usually holds) and the web app's device id.

Two people who share either with a seller are a lead for the shill signals (`trust`): the
seller bidding on their own items from another account, or a friend at the same desk. No
address or device id is ever stored: each becomes an HMAC-SHA256 with a secret of the
deployment (`SOURCE_HASH_KEY`), so the record can say "the same network as the seller" and
nothing else, and a leaked table cannot be reversed by hashing the whole IPv4 space. Marks
are forgotten 90 days after they were last seen.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache

KEEP_FOR = timedelta(days=90)

# The web app's device id: a random id it keeps in the browser's storage (a UUID). Anything
# else in the header is no device id (ignored, never refused: the header is optional).
DEVICE_HEADER = "X-Device-Id"
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class MarkKind(StrEnum):
    NETWORK = "net"
    DEVICE = "device"


@dataclass(frozen=True)
class Mark:
    kind: MarkKind
    hash: str  # 32 hex digits


def network_of(address: str | None) -> str | None:
    """The block an address belongs to (`203.0.113.0/24`, `2001:db8:1:2::/64`), or None for
    what says nothing about a person: no address, loopback (every local request), unspecified,
    link-local, multicast and reserved ones. An IPv4-mapped IPv6 address is its IPv4."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast or ip.is_reserved:
        return None
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def device_of(header: str | None) -> str | None:
    """The device id a header carries, or None."""
    if header is None:
        return None
    value = header.strip()
    return value if DEVICE_ID.match(value) else None


def _hash(key: bytes, kind: MarkKind, value: str) -> str:
    return hmac.new(key, f"{kind.value}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


# A pure function of its arguments, asked once per write: a bidder's next bids come from the
# same address and device, and parsing the address (`ipaddress`) and two HMACs cost ~60 µs.
@lru_cache(maxsize=4096)
def marks_of(key: bytes, address: str | None, device: str | None) -> tuple[Mark, ...]:
    """The marks of a request from `address` carrying the device header `device`."""
    out: list[Mark] = []
    network = network_of(address)
    if network is not None:
        out.append(Mark(MarkKind.NETWORK, _hash(key, MarkKind.NETWORK, network)))
    device_id = device_of(device)
    if device_id is not None:
        out.append(Mark(MarkKind.DEVICE, _hash(key, MarkKind.DEVICE, device_id)))
    return tuple(out)


def hash_key(configured: str | None, fallback_secret: str) -> bytes:
    """The HMAC key: `SOURCE_HASH_KEY` when set; else one derived from a secret every API
    instance of the deployment already holds (so that the hashes of two instances agree)."""
    if configured:
        return configured.encode()
    return hmac.new(fallback_secret.encode(), b"source-marks:v1", hashlib.sha256).digest()
