"""Photos of an auction: upload (decoded, cleaned, re-encoded, stored), delete, and the image
objects an auction shows.

A failed upload leaves nothing behind: the picture is decoded and re-encoded before anything
is written; both objects are stored before the row is inserted (a row never points at a
missing object), and if either put or the insert fails, the objects already written are
deleted again. The one window left is a process dying between the puts and the commit: that
leaves an unreferenced object (never shown, never a half row).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.adapters import image_codec
from shared.adapters.auction_reads import ImageRow
from shared.adapters.media_store import MediaStore, MediaStoreError
from shared.adapters.orm import Auction, AuctionImage
from shared.domain.auctions import shown_status
from shared.domain.errors import DomainError, invalid
from shared.domain.marketplace import (
    IMAGE_TYPES,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_IMAGES,
    STORED_LONG_SIDE,
    THUMB_LONG_SIDE,
)
from shared.domain.principal import Viewer
from shared.domain.vocabulary import AuctionStatus
from shared.services import records
from shared.services.context import Context
from shared.settings import Settings

log = logging.getLogger(__name__)

_stores: dict[int, tuple[Settings, MediaStore]] = {}


def store_for(settings: Settings) -> MediaStore:
    """The configured store (built once per Settings object)."""
    cached = _stores.get(id(settings))
    if cached is None or cached[0] is not settings:
        cached = (settings, MediaStore.from_settings(settings))
        _stores[id(settings)] = cached
    return cached[1]


def image_view(image: AuctionImage | ImageRow, store: MediaStore) -> dict[str, Any]:
    return {
        "id": str(image.id),
        "url": store.url(image.storage_key),
        "thumbUrl": store.url(image.thumb_key),
        "width": image.width,
        "height": image.height,
    }


def images_of(
    session: Session, ctx: Context, auction_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The image objects of each auction, in upload order."""
    found: dict[uuid.UUID, list[dict[str, Any]]] = {aid: [] for aid in auction_ids}
    if not auction_ids:
        return found
    store = store_for(ctx.settings)
    for image in session.scalars(
        select(AuctionImage)
        .where(AuctionImage.auction_id.in_(auction_ids))
        .order_by(AuctionImage.auction_id, AuctionImage.position, AuctionImage.created_at)
    ):
        found[image.auction_id].append(image_view(image, store))
    return found


def media_type(content_type: str | None) -> str:
    """The Pillow format of a request's Content-Type; 415 for anything but JPEG, PNG, WebP."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence not in IMAGE_TYPES:
        raise DomainError(
            "unsupported_media_type",
            "Send the photo as the raw body with Content-Type image/jpeg, image/png or image/webp",
        )
    return IMAGE_TYPES[essence]


def _editable(ctx: Context, auction: Auction, viewer: Viewer) -> None:
    if viewer.user_id != str(auction.seller_id):
        raise DomainError("forbidden", "Only the auction's seller changes its photos")
    now = ctx.clock()
    if shown_status(auction.status, auction.go_live_at, auction.ends_at, now) != (
        AuctionStatus.SCHEDULED
    ):
        raise DomainError(
            "auction_not_editable", "Photos can be changed only while the auction is scheduled"
        )


def _count(session: Session, auction_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AuctionImage)
            .where(AuctionImage.auction_id == auction_id)
        )
        or 0
    )


def _too_many() -> DomainError:
    return DomainError("too_many_images", f"An auction has at most {MAX_IMAGES} images")


def upload(
    ctx: Context, auction_id: uuid.UUID, viewer: Viewer, content_type: str | None, data: bytes
) -> dict[str, Any]:
    """Add a photo to a scheduled auction of the caller's. Returns the image object."""
    with ctx.db.session() as session:
        auction = records.get_auction(session, auction_id)
        _editable(ctx, auction, viewer)
        if _count(session, auction.id) >= MAX_IMAGES:
            raise _too_many()
    pillow_format = media_type(content_type)
    if len(data) > MAX_IMAGE_BYTES:
        raise DomainError("payload_too_large", f"A photo is at most {MAX_IMAGE_BYTES} bytes")
    try:
        clean = image_codec.clean_image(
            data,
            pillow_format,
            max_pixels=MAX_IMAGE_PIXELS,
            long_side=STORED_LONG_SIDE,
            thumb_side=THUMB_LONG_SIDE,
        )
    except image_codec.BadImage as exc:
        raise invalid("body", f"the photo {exc}") from None

    image_id = uuid.uuid4()
    keys = (
        f"auctions/{auction_id}/{image_id}.webp",
        f"auctions/{auction_id}/{image_id}_thumb.webp",
    )
    store = store_for(ctx.settings)
    written: list[str] = []
    try:
        for key, body in zip(keys, (clean.webp, clean.thumb), strict=True):
            store.put(key, body)
            written.append(key)
        with ctx.db.session() as session:
            auction = records.locked_auction(session, auction_id)
            _editable(ctx, auction, viewer)  # again, under the lock: it may have gone live
            count = _count(session, auction.id)
            if count >= MAX_IMAGES:
                raise _too_many()
            last = session.scalar(
                select(func.max(AuctionImage.position)).where(AuctionImage.auction_id == auction.id)
            )
            image = AuctionImage(
                id=image_id,
                auction_id=auction.id,
                position=(last or 0) + 1,
                storage_key=keys[0],
                thumb_key=keys[1],
                width=clean.width,
                height=clean.height,
            )
            session.add(image)
            session.flush()
            view = image_view(image, store)
    except BaseException as exc:
        _discard(store, written)
        if isinstance(exc, MediaStoreError):
            raise DomainError("unavailable", "The photo could not be stored; retry") from exc
        raise
    return view


def _discard(store: MediaStore, keys: list[str]) -> None:
    for key in keys:
        try:
            store.delete(key)
        except MediaStoreError as exc:
            log.warning("orphan media object %s left behind: %s", key, exc)


def delete(ctx: Context, auction_id: uuid.UUID, image_id: str, viewer: Viewer) -> None:
    """Remove a photo: the row first (so no row ever points at a deleted object), then its
    objects (a failure there leaves an unreferenced object, logged)."""
    try:
        iid = uuid.UUID(image_id)
    except ValueError:
        raise DomainError("not_found", "No such image") from None
    with ctx.db.session() as session:
        auction = records.locked_auction(session, auction_id)
        _editable(ctx, auction, viewer)
        image = session.get(AuctionImage, iid)
        if image is None or image.auction_id != auction.id:
            raise DomainError("not_found", "No such image")
        keys = [image.storage_key, image.thumb_key]
        session.delete(image)
    _discard(store_for(ctx.settings), keys)
