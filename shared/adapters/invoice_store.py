"""Where invoice PDFs live: S3 (boto3) when INVOICE_BUCKET is set, else files under
var/invoices/.

`put` returns a storage key, which the invoice row keeps: `s3://bucket/key` or a file path
(relative to the repository when it lies inside it). `get` reads any key back, whichever
store wrote it, so changing INVOICE_BUCKET does not strand the invoices already issued.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from shared.settings import REPO_ROOT, Settings

S3_PREFIX = "invoices/"


class InvoiceStoreError(Exception):
    """The store could not be read or written (retry later)."""


class InvoiceStore:
    def __init__(self, *, bucket: str | None, directory: Path) -> None:
        self.bucket = bucket
        self.directory = directory
        self._s3: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> InvoiceStore:
        return cls(bucket=settings.invoice_bucket, directory=settings.var_dir / "invoices")

    def _client(self) -> Any:
        if self._s3 is None:
            import boto3

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            self._s3 = boto3.client("s3", region_name=region or None)
        return self._s3

    def put(self, name: str, pdf: bytes) -> str:
        if self.bucket:
            key = f"{S3_PREFIX}{name}"
            try:
                self._client().put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=pdf,
                    ContentType="application/pdf",
                    ContentDisposition=f'attachment; filename="{name}"',
                )
            except Exception as exc:  # botocore's errors share no useful base class
                raise InvoiceStoreError(f"S3 put of {key} failed: {exc}") from exc
            return f"s3://{self.bucket}/{key}"
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        # Write then rename: a reader never sees half a PDF.
        with tempfile.NamedTemporaryFile(dir=self.directory, delete=False, suffix=".part") as f:
            f.write(pdf)
            partial = Path(f.name)
        partial.replace(target)
        try:
            return str(target.relative_to(REPO_ROOT))
        except ValueError:
            return str(target)

    def get(self, storage_key: str) -> bytes:
        if storage_key.startswith("s3://"):
            bucket, _, key = storage_key.removeprefix("s3://").partition("/")
            try:
                body = self._client().get_object(Bucket=bucket, Key=key)["Body"]
                return bytes(body.read())
            except Exception as exc:
                raise InvoiceStoreError(f"S3 get of {storage_key} failed: {exc}") from exc
        path = Path(storage_key)
        if not path.is_absolute():
            path = REPO_ROOT / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InvoiceStoreError(f"invoice file {path} unreadable: {exc}") from exc
