"""The three statements a fan-out runs per delivery (read, claim, finish), prepared once per
connection and run straight through libpq.

A 10,000-SMS send runs 30,000 of them, and psycopg's general path (a cursor, the parameters
adapted, a non-blocking send and a wait loop) costs about twice libpq's own blocking call in
wall time and CPU (measured: ~95 us against ~50 us a statement on a local server). So these
three go through `Connection.pgconn`, psycopg's documented libpq wrapper for low-level use;
everything else uses psycopg as usual. Parameters and results are in text format.
"""

from __future__ import annotations

import json
from typing import Any, cast

import psycopg
from psycopg import pq

from notify.journal.base import Delivery
from notify.journal.postgres.migrations import NOW_SQL
from notify.journal.postgres.rows import DELIVERY_COLUMNS

# name -> statement with $n parameters (the psycopg versions are in writes.py).
STATEMENTS = {
    b"notify_get_delivery": f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1",
    b"notify_claim": (
        f"UPDATE deliveries SET status = 'unknown', owner = $1, updated_at = {NOW_SQL}"
        " WHERE id = $2 AND (status IN ('pending', 'failed')"
        " OR (status = 'unknown' AND (owner IS NULL OR owner = $1)))"
    ),
    b"notify_finish": (
        "UPDATE deliveries SET status = $1, attempts = $2, provider_message_id = $3,"
        f" thread_data = $4::json, error = $5, owner = NULL, updated_at = {NOW_SQL} WHERE id = $6"
    ),
}

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


class HotStatements:
    """STATEMENTS prepared on one connection. The caller serialises calls (the journal's lock)
    and maps psycopg.Error, which every failure here raises, as for any other statement."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._pgconn = conn.pgconn
        for name, sql in STATEMENTS.items():
            self._check(self._pgconn.prepare(name, sql.encode()))

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        result = self._run(b"notify_get_delivery", [str(delivery_id).encode()])
        if not result.ntuples:
            return None
        value = result.get_value
        text = [None if (v := value(0, i)) is None else v.decode() for i in range(15)]
        # Columns in Delivery's field order (rows.DELIVERY_COLUMNS); ints and JSON decoded.
        return Delivery(
            int(text[0] or 0),
            int(text[1] or 0),
            text[2] or "",
            text[3] or "",
            text[4] or "",
            text[5] or "",
            text[6] or "",
            int(text[7] or 0),
            text[8],
            json.loads(text[9]) if text[9] and text[9] != "{}" else {},
            text[10],
            int(text[11]) if text[11] is not None else None,
            text[12],
            text[13] or "",
            text[14] or "",
        )

    def claim(self, delivery_id: int, owner: str) -> bool:
        result = self._run(b"notify_claim", [owner.encode(), str(delivery_id).encode()])
        return result.command_tuples == 1

    def finish(self, values: tuple[Any, ...]) -> int:
        """writes.finish_row's values; the number of rows updated."""
        params = [None if v is None else str(v).encode() for v in values]
        return self._run(b"notify_finish", params).command_tuples or 0

    def _run(self, name: bytes, params: list[bytes | None]) -> pq.abc.PGresult:
        # A None parameter is SQL NULL (libpq's NULL pointer), which psycopg's type hints omit.
        return self._check(self._pgconn.exec_prepared(name, cast("list[bytes]", params)))

    @staticmethod
    def _check(result: pq.abc.PGresult) -> pq.abc.PGresult:
        if result.status not in _OK:
            raise psycopg.errors.error_from_result(result)
        return result
