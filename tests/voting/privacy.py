"""Privacy checks of a secret vote shared by the HTTP and browser tests: every row of every table,
read by reflection (so a table added later is covered too), searched for text that would join a
member to a sealed choice."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import MetaData


def all_rows(session: Any) -> dict[str, list[dict[str, Any]]]:
    """table name → its rows as plain values."""
    meta = MetaData()
    meta.reflect(bind=session.get_bind())
    session.rollback()
    rows = {name: [dict(r._mapping) for r in session.execute(table.select()).all()] for name, table in meta.tables.items()}
    session.rollback()
    return rows


def row_text(row: dict[str, Any]) -> str:
    """A row's values as one string to search (bytes as latin-1, JSON as text)."""
    def text(value: Any) -> str:
        if isinstance(value, (bytes, memoryview)):
            return bytes(value).decode("latin-1")
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    return " ".join(text(v) for v in row.values())


def assert_only_sealed_ballots_hold(rows: dict[str, list[dict[str, Any]]], needles: Iterable[str]) -> None:
    """The sealed_ballot table has no column that could name a member, a delegate, a time or an order
    of arrival, and no other table's row holds any of the needles (trackers, sealed bytes)."""
    assert set(rows["sealed_ballot"][0]) == {"vote_id", "tracker", "sealed", "leaf_index"}
    needles = set(needles)
    for table, table_rows in rows.items():
        if table == "sealed_ballot":
            continue
        for row in table_rows:
            text = row_text(row)
            assert not any(n in text for n in needles), f"{table} row names a tracker or a sealed ballot: {row}"
