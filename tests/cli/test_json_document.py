"""A --json document written piece by piece reads exactly as json.dumps writes it."""

from __future__ import annotations

import json

import pytest

from notify import secrets
from notify.cli.output import JsonRows, write_compact


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 1001, 2500])
def test_a_long_list_is_written_as_json_dumps_writes_it(count: int) -> None:
    document = {
        "update": 3,
        "deliveries": JsonRows(list(range(count)), lambda n: {"id": n, "to": f"+1415555{n:04}"}),
        "notes": [f"note {n} é" for n in range(count)],
        "totals": {"sent": count},
    }
    pieces: list[str] = []
    write_compact(document, pieces.append)

    written = "".join(pieces)
    assert written.endswith("}\n") and "\n" not in written[:-1], "one line for scripts"
    assert json.loads(written) == {
        "update": 3,
        "deliveries": [{"id": n, "to": f"+1415555{n:04}"} for n in range(count)],
        "notes": [f"note {n} é" for n in range(count)],
        "totals": {"sent": count},
    }


def test_a_secret_in_any_item_is_masked() -> None:
    token = "tw-auth-" + "9" * 24
    secrets.register(token)
    try:
        rows = [
            {"error": f"401 for token {token}" if n in (0, 999, 1000) else None}
            for n in range(1500)
        ]
        pieces: list[str] = []
        write_compact({"deliveries": rows}, pieces.append)
    finally:
        secrets.clear()
    written = "".join(pieces)
    assert token not in written
    assert written.count(secrets.MASK) == 3
