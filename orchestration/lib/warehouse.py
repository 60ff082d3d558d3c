"""The DuckDB warehouse as a Dagster resource: short-lived connections, read-only where nothing is written."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from orchestration.lib import settings


class WarehouseResource(dg.ConfigurableResource):
    """Paths come from WAREHOUSE_DB / WAREHOUSE_INBOX, read when a step runs (not when code loads), so that
    dbt, GX and the ingest steps of one run always agree on the file."""

    @property
    def db(self) -> Path:
        return settings.warehouse_db()

    @property
    def inbox_dir(self) -> Path:
        return settings.inbox_dir()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.db.parent.mkdir(parents=True, exist_ok=True)
        con = connect_warehouse(self.db, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


def connect_warehouse(db: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection with the warehouse's settings (memory_limit, from one place: settings.memory_limit)."""
    return duckdb.connect(str(db), read_only=read_only, config={"memory_limit": settings.memory_limit()})


def sql_path(path: Path | str) -> str:
    """A file path as a DuckDB string literal, for the statements that take no parameter (ATTACH, COPY ... TO)."""
    return "'" + str(path).replace("'", "''") + "'"
