"""Reusable DuckDB SQL macros for amounts and dates as councils publish them (spend_macros.sql).

    install_macros(con)   -> parse_money(text), money_text(text), parse_spend_date(text), financial_year(date)

The macros are temporary (per connection): nothing is stored in the warehouse file, so dbt never depends on
them by accident. tests/test_spend_parsing.py holds their unit tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb

MACROS_FILE = Path(__file__).with_name("spend_macros.sql")


@lru_cache(maxsize=1)
def macros_sql() -> str:
    return MACROS_FILE.read_text(encoding="utf-8")


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(macros_sql())
