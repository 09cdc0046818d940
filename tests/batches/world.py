"""A funded fund with a programme payee, and batch files to upload."""

from __future__ import annotations

import io
import uuid
from typing import Any

from tests.factories import LedgerDriver

HEADER = "name,national_id,original_script_name,account,amount,currency,reference"


def households(count: int, start: int = 1, amount: str = "100.00") -> list[str]:
    return [
        f"Household Member {i:06d},{400000000 + i},,PS-WALLET-{i:06d},{amount},USD,QA-{i:06d}"
        for i in range(start, start + count)
    ]


def csv_file(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def programme(ledger: LedgerDriver, received: str = "1000000.00") -> dict[str, Any]:
    world = ledger.funded(received)
    world["programme"] = ledger.payee("WFP cash-assistance programme, Gaza 2021")
    return world


def submit(ledger: LedgerDriver, world: dict[str, Any], data: bytes, *, expect: int = 201) -> Any:
    form = {
        "fund_id": str(world["fund"]["id"]),
        "project_id": str(world["project"]["id"]),
        "payee_id": str(world["programme"]["id"]),
        "name": "Qatar cash grant, tranche 1",
        "purpose": "USD 100 to each household",
        "currency": "USD",
        "file": (io.BytesIO(data), "batch.csv"),
    }
    response = ledger.client.post(
        "/api/v1/batches",
        data=form,
        content_type="multipart/form-data",
        headers={
            "Authorization": f"Bearer {ledger.tokens['clerk']}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    assert response.status_code == expect, response.get_data(as_text=True)[:2000]
    return response.get_json()
