"""Generic query helpers the aggregate modules share: rows as dicts or as a table of tuples, and
COPY of many rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row


def fetch_all(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Every row of `sql`, each as a dict keyed by column name."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@dataclass(frozen=True, slots=True)
class RowTable:
    """Rows as plain tuples and their column names: what the API encodes straight to JSON
    (10,000 dicts cost more than the query that produced them)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def fetch_table(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> RowTable:
    """Every row of `sql` as a tuple, with the column names."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
        columns = tuple(column.name for column in cur.description or ())
    return RowTable(columns, rows)


def fetch_one(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> dict[str, Any] | None:
    """The first row of `sql` as a dict, or None when there is none."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def copy_rows(
    cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """COPY `rows` into `table`'s `columns` (text format); returns how many were written."""
    count = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
