"""Photos: a seller's upload is decoded, cleaned of every bit of metadata
(GPS first), turned upright, re-encoded to WebP with a thumbnail, stored and served; every
kind of bad upload is refused with its own code and leaves nothing behind."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from chalice.test import Client
from moto import mock_aws
from PIL import Image
from sqlalchemy import func, select

from shared.adapters.media_store import MediaStore, MediaStoreError
from shared.adapters.orm import AuctionImage
from shared.domain.marketplace import MAX_IMAGE_BYTES
from shared.services import media
from shared.services.context import Context
from shared.settings import REPO_ROOT
from tests.marketplace import images
from tests.support.actors import Seller, call
from tests.support.harness import Person, live_auction

MEDIA = REPO_ROOT / "var" / "media"


def image_rows(ctx: Context, auction_id: Any) -> int:
    with ctx.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuctionImage)
                .where(AuctionImage.auction_id == uuid.UUID(str(auction_id)))
            )
            or 0
        )


def stored_files(auction_id: Any) -> list[Path]:
    folder = MEDIA / "auctions" / str(auction_id)
    return sorted(folder.glob("*")) if folder.exists() else []


def local_file(url: str) -> Path:
    return MEDIA / url.split("/media/", 1)[1]


def test_a_phone_photo_is_stored_upright_without_metadata_with_a_thumbnail(
    client: Client, seller: Person
) -> None:
    auction = Seller(client, seller).create()
    photo = images.jpeg(900, 600, orientation=6)  # stored landscape, meant portrait
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the GPS is in there

    response = Seller(client, seller).upload(auction["id"], photo, "image/jpeg")

    assert response.status_code == 201, response.body
    body = response.json_body
    assert set(body) == {"id", "url", "thumbUrl", "width", "height"}
    assert (body["width"], body["height"]) == (600, 900)  # the orientation applied
    # Stored locally: host-relative, so a page opened at any address of the stack (127.0.0.1,
    # a container's host) loads it from its own origin under its own CSP. They were absolute
    # with APP_BASE_URL, and broken on every other address.
    for url in (body["url"], body["thumbUrl"]):
        assert url.startswith(f"/media/auctions/{auction['id']}/"), url
    shown = client.http.get(f"/api/auctions/{auction['id']}").json_body["images"]
    assert [(i["url"], i["thumbUrl"]) for i in shown] == [(body["url"], body["thumbUrl"])]
    stored = Image.open(local_file(body["url"]))
    assert stored.format == "WEBP" and stored.size == (600, 900)
    assert not stored.getexif() and "exif" not in stored.info and "xmp" not in stored.info
    assert b"PhoneCo" not in local_file(body["url"]).read_bytes()
    # The blue band was on the left of the stored picture: upright (turned 90 clockwise) it
    # is at the top.
    pixel = stored.convert("RGB").getpixel((300, 20))
    assert isinstance(pixel, tuple)  # an RGB picture's pixel is (r, g, b)
    r, _g, b = pixel
    assert b > 150 and r < 100
    thumb = Image.open(local_file(body["thumbUrl"]))
    assert thumb.format == "WEBP" and max(thumb.size) == 400 and thumb.size == (267, 400)
    shown = call(client, "GET", f"/api/auctions/{auction['id']}").json_body
    assert shown["images"] == [body]


def test_png_and_webp_are_taken_too(client: Client, seller: Person) -> None:
    auction = Seller(client, seller).create()
    for data, kind in ((images.png(), "image/png"), (images.webp(), "image/webp")):
        response = Seller(client, seller).upload(auction["id"], data, kind)
        assert response.status_code == 201, response.body
    listed = call(client, "GET", "/api/auctions").json_body["items"][0]
    assert [i["width"] for i in listed["images"]] == [120, 64]


def test_another_type_is_415(client: Client, seller: Person) -> None:
    auction = Seller(client, seller).create()
    response = Seller(client, seller).upload(auction["id"], b"GIF89a....", "image/gif")
    assert response.status_code == 415
    assert response.json_body["code"] == "unsupported_media_type"


def test_a_body_over_5_mib_is_413(client: Client, seller: Person) -> None:
    auction = Seller(client, seller).create()
    response = Seller(client, seller).upload(
        auction["id"], b"\xff" * (MAX_IMAGE_BYTES + 1), "image/jpeg"
    )
    assert response.status_code == 413
    assert response.json_body["code"] == "payload_too_large"


def test_the_64_kib_limit_stays_for_every_other_route(client: Client, seller: Person) -> None:
    auction = Seller(client, seller).create()
    big = {"reason": "x" * (70 * 1024)}
    response = call(client, "POST", f"/api/auctions/{auction['id']}/cancel", seller, big)
    assert response.status_code == 413


def test_a_truncated_jpeg_is_422(client: Client, seller: Person) -> None:
    auction = Seller(client, seller).create()
    photo = images.jpeg(800, 600)
    response = Seller(client, seller).upload(auction["id"], photo[: len(photo) // 2], "image/jpeg")
    assert response.status_code == 422, response.body
    assert response.json_body["code"] == "validation_error"
    assert image_rows(client_ctx(client), auction["id"]) == 0


def client_ctx(client: Client) -> Context:
    from chalicelib import runtime

    context: Context = runtime.context()
    return context


def test_a_png_that_says_it_is_a_jpeg_is_422(client: Client, seller: Person) -> None:
    auction = Seller(client, seller).create()
    response = Seller(client, seller).upload(auction["id"], images.png(), "image/jpeg")
    assert response.status_code == 422
    assert "JPEG" in response.json_body["detail"]


def test_a_50_megapixel_bomb_is_refused_before_it_is_decoded(
    client: Client, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    auction = Seller(client, seller).create()
    bomb = images.bomb()
    assert len(bomb) < 200_000  # small on the wire
    decoded: list[str] = []
    real_load = Image.Image.load

    def spying_load(self: Image.Image) -> Any:
        decoded.append(self.format or "")
        return real_load(self)

    monkeypatch.setattr(Image.Image, "load", spying_load)
    response = Seller(client, seller).upload(auction["id"], bomb, "image/png")
    assert response.status_code == 422
    assert "pixels" in response.json_body["detail"]
    assert decoded == []  # not one pixel decoded


def test_a_ninth_photo_is_409(ctx: Context, client: Client, seller: Person) -> None:
    auction = Seller(client, seller).create()
    small = images.webp(16, 16)
    for _ in range(8):
        assert Seller(client, seller).upload(auction["id"], small, "image/webp").status_code == 201
    response = Seller(client, seller).upload(auction["id"], small, "image/webp")
    assert response.status_code == 409
    assert response.json_body["code"] == "too_many_images"
    assert image_rows(ctx, auction["id"]) == 8


def test_only_the_seller_and_only_while_scheduled(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    auction = Seller(client, seller).create()
    assert Seller(client, buyer).upload(auction["id"], images.png(), "image/png").status_code == 403
    live = live_auction(ctx, seller)
    response = Seller(client, seller).upload(live, images.png(), "image/png")
    assert response.status_code == 409
    assert response.json_body["code"] == "auction_not_editable"


def test_delete_removes_the_row_and_both_objects(
    ctx: Context, client: Client, seller: Person
) -> None:
    auction = Seller(client, seller).create()
    image = Seller(client, seller).upload(auction["id"], images.png(), "image/png").json_body
    assert len(stored_files(auction["id"])) == 2
    response = call(client, "DELETE", f"/api/auctions/{auction['id']}/images/{image['id']}", seller)
    assert response.status_code == 204
    assert image_rows(ctx, auction["id"]) == 0
    assert stored_files(auction["id"]) == []
    again = call(client, "DELETE", f"/api/auctions/{auction['id']}/images/{image['id']}", seller)
    assert again.status_code == 404


def test_a_store_failure_leaves_no_object_and_no_row(
    ctx: Context, client: Client, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    auction = Seller(client, seller).create()
    real_put = MediaStore.put

    def put_then_fail(self: MediaStore, key: str, data: bytes) -> None:
        if key.endswith("_thumb.webp"):
            raise MediaStoreError("disk full")
        real_put(self, key, data)

    monkeypatch.setattr(MediaStore, "put", put_then_fail)
    response = Seller(client, seller).upload(auction["id"], images.png(), "image/png")
    assert response.status_code == 503
    assert image_rows(ctx, auction["id"]) == 0
    assert stored_files(auction["id"]) == []  # the main picture was written, then removed


def test_a_database_failure_leaves_no_orphan_object(
    ctx: Context, client: Client, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    auction = Seller(client, seller).create()
    real_count = media._count
    calls = {"n": 0}

    def count_then_fail(session: Any, auction_id: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:  # the second count is the one under the lock, before the insert
            raise OperationalError("INSERT", {}, Exception("connection lost"))
        return real_count(session, auction_id)

    monkeypatch.setattr(media, "_count", count_then_fail)
    response = Seller(client, seller).upload(auction["id"], images.png(), "image/png")
    assert response.status_code == 503
    assert image_rows(ctx, auction["id"]) == 0
    assert stored_files(auction["id"]) == []


def test_s3_holds_both_objects_under_media_bucket(
    ctx: Context, client: Client, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="auction-media")
        monkeypatch.setattr(ctx.settings, "media_bucket", "auction-media")
        monkeypatch.setattr(ctx.settings, "media_base_url", "https://media.example.com")
        media._stores.clear()
        try:
            auction = Seller(client, seller).create()
            body = (
                Seller(client, seller).upload(auction["id"], images.jpeg(), "image/jpeg").json_body
            )
            assert body["url"].startswith(f"https://media.example.com/auctions/{auction['id']}/")
            s3 = boto3.client("s3")
            key = body["url"].removeprefix("https://media.example.com/")
            obj = s3.get_object(Bucket="auction-media", Key=key)
            assert obj["ContentType"] == "image/webp"
            assert Image.open(io.BytesIO(obj["Body"].read())).format == "WEBP"
            thumb_key = body["thumbUrl"].removeprefix("https://media.example.com/")
            s3.head_object(Bucket="auction-media", Key=thumb_key)
            call(client, "DELETE", f"/api/auctions/{auction['id']}/images/{body['id']}", seller)
            listed = s3.list_objects_v2(Bucket="auction-media").get("KeyCount")
            assert listed == 0
        finally:
            media._stores.clear()


def test_the_stack_serves_a_stored_photo_as_given(client: Client, seller: Person) -> None:
    """Locally the socket node serves var/media at /media/ (the web app's origin)."""
    from tests.support.socket_node import InProcessNode

    auction = Seller(client, seller).create()
    body = Seller(client, seller).upload(auction["id"], images.png(), "image/png").json_body
    node = InProcessNode(client_ctx(client), ticker=False, jobs=False)
    try:
        response = httpx.get(f"{node.http_url}{body['url']}", timeout=5)  # host-relative
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/webp"
        assert Image.open(io.BytesIO(response.content)).size == (120, 80)
        assert httpx.get(f"{node.http_url}/media/../../pyproject.toml", timeout=5).status_code in (
            404,
            200,  # a path the client normalised away reaches the SPA's index, never the file
        )
        escape = httpx.get(f"{node.http_url}/media/%2e%2e/%2e%2e/pyproject.toml", timeout=5)
        assert b"[project]" not in escape.content
        missing = httpx.get(f"{node.http_url}/media/auctions/none/none.webp", timeout=5)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "not_found"
    finally:
        node.stop()
