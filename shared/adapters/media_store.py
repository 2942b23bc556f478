"""Where auction photos live: S3 (boto3) under MEDIA_BUCKET when it is set, else files under
var/media/ (served by the socket node at /media/, the web app's own origin).

Keys are `auctions/{auctionId}/{imageId}.webp` and `..._thumb.webp`; a key names one
immutable object (a new photo gets a new id), so caches may keep it for good. `url` is the
public address of a key: `MEDIA_BASE_URL` (a CloudFront distribution in front of the bucket,
say), else the bucket's own S3 address, else the host-relative `/media/...`: files kept
locally are served by the socket node on the web app's own origin, whatever address the page
was opened at (absolute URLs with `APP_BASE_URL` were broken images, under the page's own CSP,
for a page opened at 127.0.0.1 or at a container's host address).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from shared.settings import Settings

CONTENT_TYPE = "image/webp"
CACHE_CONTROL = "public, max-age=31536000, immutable"
LOCAL_PREFIX = "/media"  # where the socket node serves var/media (socket_node/http_routes.py)


class MediaStoreError(Exception):
    """The store could not be written (the upload is refused with 503, nothing is kept)."""


class MediaStore:
    def __init__(self, *, bucket: str | None, directory: Path, base_url: str) -> None:
        self.bucket = bucket
        self.directory = directory
        self.base_url = base_url.rstrip("/")
        self._s3: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStore:
        if settings.media_base_url:
            base = settings.media_base_url
        elif settings.media_bucket:
            base = f"https://{settings.media_bucket}.s3.amazonaws.com"
        else:
            base = LOCAL_PREFIX
        return cls(
            bucket=settings.media_bucket, directory=settings.var_dir / "media", base_url=base
        )

    def _client(self) -> Any:
        if self._s3 is None:
            import boto3

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            self._s3 = boto3.client("s3", region_name=region or None)
        return self._s3

    def url(self, key: str) -> str:
        return f"{self.base_url}/{key}"

    def put(self, key: str, data: bytes) -> None:
        if self.bucket:
            try:
                self._client().put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    ContentType=CONTENT_TYPE,
                    CacheControl=CACHE_CONTROL,
                )
            except Exception as exc:  # botocore's errors share no useful base class
                raise MediaStoreError(f"S3 put of {key} failed: {exc}") from exc
            return
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a reader never sees half a picture.
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as f:
                f.write(data)
                partial = Path(f.name)
            partial.replace(target)
        except OSError as exc:
            raise MediaStoreError(f"writing {target} failed: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove an object (absent already is fine). Raises MediaStoreError."""
        if self.bucket:
            try:
                self._client().delete_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                raise MediaStoreError(f"S3 delete of {key} failed: {exc}") from exc
            return
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise MediaStoreError(f"deleting {key} failed: {exc}") from exc

    def get(self, key: str) -> bytes:
        if self.bucket:
            try:
                return bytes(self._client().get_object(Bucket=self.bucket, Key=key)["Body"].read())
            except Exception as exc:
                raise MediaStoreError(f"S3 get of {key} failed: {exc}") from exc
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise MediaStoreError(f"reading {key} failed: {exc}") from exc

    def _path(self, key: str) -> Path:
        path = (self.directory / key).resolve()
        if not str(path).startswith(str(self.directory.resolve())):
            raise MediaStoreError(f"{key!r} is outside the media directory")
        return path
