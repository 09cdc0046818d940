"""Where documents' bytes are kept: content-addressed, the sha256 of the bytes is
the key, so the same content is stored once however often it is attached.

Two stores behind one small interface (``Store``): a directory (the default,
``DOCUMENTS_DIR``, files under ``ab/cd/<sha256>``) and an S3-compatible bucket
(``DOCUMENTS_STORE = "s3://bucket/prefix"``, through boto3). ``store_for`` builds
the one the configuration names, once per configuration.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask


class MissingContent(Exception):
    """The store holds nothing under this key."""


class Store(Protocol):
    def put(self, sha256: str, content: bytes) -> bool:
        """Keep ``content`` under ``sha256`` (its hash, which the caller computed);
        False if it was there already (nothing is written)."""

    def get(self, sha256: str) -> bytes:
        """The bytes kept under ``sha256``, or ``MissingContent``."""

    def exists(self, sha256: str) -> bool: ...

    def describe(self) -> str:
        """Where the store is, for messages (no credentials)."""


def relative_key(sha256: str) -> str:
    """``ab/cd/abcd…``: two levels of 256 folders keep any one folder small."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class DirectoryStore:
    """Files under a directory. A file is written whole or not at all: to a
    temporary file beside it, flushed to disk, then renamed into place (a rename
    within one file system is atomic), so a reader or a crash never sees half a
    file under a document's key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / relative_key(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, sha256: str, content: bytes) -> bool:
        target = self.path(sha256)
        if target.is_file():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            # Two uploads of the same bytes may race here: both renames put the same
            # bytes in place, and either one wins.
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise MissingContent(sha256) from None

    def describe(self) -> str:
        return str(self.root)


class S3Store:
    """Objects in an S3-compatible bucket, under ``prefix/ab/cd/<sha256>``. S3
    writes an object whole or not at all. The bytes' SHA-256 goes with them
    (``x-amz-checksum-sha256``): a server that checks it (AWS S3 does) refuses bytes
    damaged in transit; the tests' local server (moto) does not check it."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def key(self, sha256: str) -> str:
        key = relative_key(sha256)
        return f"{self.prefix}/{key}" if self.prefix else key

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def put(self, sha256: str, content: bytes) -> bool:
        import base64

        if self.exists(sha256):
            return False
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.key(sha256),
            Body=content,
            ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
        )
        return True

    def get(self, sha256: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise MissingContent(sha256) from None
            raise
        body: bytes = answer["Body"].read()
        return body

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def _settings(app: Flask) -> tuple[Any, ...]:
    c = app.config
    return (
        c.get("DOCUMENTS_STORE"),
        c.get("DOCUMENTS_DIR"),
        c.get("DOCUMENTS_S3_ENDPOINT_URL"),
        c.get("DOCUMENTS_S3_REGION"),
        c.get("DOCUMENTS_S3_ACCESS_KEY_ID"),
        c.get("DOCUMENTS_S3_SECRET_ACCESS_KEY"),
    )


def store_for(app: Flask) -> Store:
    """The store the configuration names, built once per configuration (a boto3
    client is costly to make, and thread-safe to share)."""
    settings = _settings(app)
    cached = app.extensions.get("ledger.documents.store")
    if cached is not None and cached[0] == settings:
        store: Store = cached[1]
        return store
    store = _build(app, *settings)
    app.extensions["ledger.documents.store"] = (settings, store)
    return store


def _build(
    app: Flask,
    location: str | None,
    directory: str | None,
    endpoint: str | None,
    region: str | None,
    access_key: str | None,
    secret_key: str | None,
) -> Store:
    if not location:
        root = Path(directory) if directory else Path(app.instance_path) / "documents"
        return DirectoryStore(root)
    parts = urlsplit(location)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(
            f"DOCUMENTS_STORE must be unset (a directory, DOCUMENTS_DIR) or "
            f"s3://bucket/prefix, not {location!r}"
        )
    import boto3

    # Unset credentials: boto3's own chain (AWS_* variables, an instance role, ...).
    client = boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
    )
    return S3Store(parts.netloc, parts.path, client)
