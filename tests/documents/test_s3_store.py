"""The S3-compatible document store, against a real S3 endpoint on 127.0.0.1:
moto's server (``moto[server]``, a dev dependency), run in a subprocess. It speaks
S3's HTTP API as boto3 sends it; what it does not show is a particular vendor's
behaviour (AWS, MinIO, Ceph): see docs/operations.md, "Documents"."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.documents.store import MissingContent, S3Store, store_for
from tests.documents.conftest import pdf, upload
from tests.test_api_conventions import assert_problem

BUCKET = "ledger-documents"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1, for this module's tests."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto's S3 server did not start on 127.0.0.1:{port}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)


@pytest.fixture
def bucket(s3_endpoint: str) -> Iterator[Any]:
    """An empty bucket; its client."""
    client = _client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    client.close()


def keys(client: Any) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_the_s3_store_keeps_content_under_its_sha256_once(bucket):
    store = S3Store(BUCKET, "/ledger/", bucket)
    content = b"Bank confirmation of transfer PAY-0001."
    sha = hashlib.sha256(content).hexdigest()

    assert store.exists(sha) is False
    assert store.put(sha, content) is True
    assert store.put(sha, content) is False
    assert store.exists(sha) is True
    assert store.get(sha) == content
    assert keys(bucket) == [f"ledger/{sha[:2]}/{sha[2:4]}/{sha}"]
    with pytest.raises(MissingContent):
        store.get("0" * 64)


@pytest.fixture
def s3_config(app, s3_endpoint, bucket) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The app configured to keep documents in the bucket, under ``fund-1``."""
    settings = {
        "DOCUMENTS_STORE": f"s3://{BUCKET}/fund-1",
        "DOCUMENTS_S3_ENDPOINT_URL": s3_endpoint,
        "DOCUMENTS_S3_REGION": "us-east-1",
        "DOCUMENTS_S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "DOCUMENTS_S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
    }
    kept = {k: app.config.get(k) for k in settings}
    app.config.update(settings)
    yield bucket
    app.config.update(kept)
    app.extensions.pop("ledger.documents.store", None)


def test_documents_attached_with_the_s3_store_are_served_and_verified(
    app, ledger, runner, s3_config
):
    world = ledger.approved("1000.00")
    content = pdf("Kept in the bucket.")
    sha = hashlib.sha256(content).hexdigest()

    response = upload(
        ledger, f"/spending-requests/{world['request']['id']}/documents", "clerk", content
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    document = response.get_json()
    assert keys(s3_config) == [f"fund-1/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert ledger.raw("GET", f"/documents/{document['id']}/content", "auditor").data == content
    with app.app_context():
        assert store_for(app).describe() == f"s3://{BUCKET}/fund-1"
    passed = runner.invoke(args=["documents", "verify"])
    assert passed.exit_code == 0, passed.output
    assert f"1 document(s) checked in s3://{BUCKET}/fund-1" in passed.output

    s3_config.put_object(Bucket=BUCKET, Key=f"fund-1/{sha[:2]}/{sha[2:4]}/{sha}", Body=b"other")

    failed = runner.invoke(args=["documents", "verify"])
    assert failed.exit_code == 1
    assert f"document {document['id']} ('contract.pdf', sha256 {sha})" in failed.output
    refused = ledger.raw("GET", f"/documents/{document['id']}/content", "auditor")
    assert_problem(refused, 409, "document_unavailable")
