"""No full postcode, and no grid reference finer than the postcode district, anywhere in the warehouse file built
from the demo region (whose SSDA903 returns carry full home and placement postcodes) and the real Ofsted registers
(whose settings carry theirs). Every text column of every table is scanned for postcodes that exist in the ONS
Postcode Directory, and every pair of numeric columns for the grid reference of a postcode or a sector centroid."""

from __future__ import annotations

import itertools

import duckdb

from ingest import postcodes

TEXT = ("VARCHAR", "JSON")
NUMBER = ("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL", "SMALLINT")
# A postcode in the shapes people write it: outward code, optional space, inward code.
FULL_POSTCODE = r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b"


def q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _tables(con) -> list[tuple[str, str, list[tuple[str, str]]]]:
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() order by 1, 2, ordinal_position"
    ).fetchall()
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, kind in rows:
        grouped.setdefault((schema, table), []).append((column, kind))
    return [(s, t, cols) for (s, t), cols in grouped.items()]


def test_no_full_postcode_or_fine_grid_reference_is_stored(warehouse_db):
    directory = postcodes.directory()
    con = duckdb.connect(warehouse_db, read_only=True)
    con.execute(f"create temp view units as select * from read_parquet('{directory.units}')")
    con.execute(f"create temp view sectors as select * from read_parquet('{directory.sectors}')")
    tables = _tables(con)
    assert len(tables) > 50
    found, scanned_text, scanned_pairs = [], 0, 0
    for schema, table, columns in tables:
        name = f'"{schema}"."{table}"'
        for column, kind in columns:
            if not kind.startswith(TEXT):
                continue
            scanned_text += 1
            hits = con.execute(
                f"""
                select count(*), any_value(m) from (
                    select unnest(regexp_extract_all(upper(cast("{column}" as varchar)), '{FULL_POSTCODE}')) as m
                    from {name}
                ) where replace(m, ' ', '') in (select postcode from units)
                """
            ).fetchone()
            if hits[0]:
                found.append(f"{schema}.{table}.{column}: {hits[0]} postcode(s), e.g. {hits[1]}")
        numeric = [c for c, kind in columns if kind.startswith(NUMBER)]
        # a grid reference in England, Wales or Scotland has both coordinates above 5,000 m: columns that never
        # reach it (counts, shares, years) cannot hold one
        if numeric:
            tops = con.execute(f"select {', '.join(f'max(try_cast({q(c)} as double))' for c in numeric)} "
                               f"from {name}").fetchone()
            numeric = [c for c, top in zip(numeric, tops) if top is not None and top > 5000]
        for a, b in itertools.permutations(numeric, 2):
            scanned_pairs += 1
            hits = con.execute(
                f"""
                select count(*) from {name} as t
                where exists (select 1 from units where units.easting = t."{a}" and units.northing = t."{b}")
                   or exists (select 1 from sectors where sectors.easting = t."{a}" and sectors.northing = t."{b}")
                """
            ).fetchone()[0]
            if hits:
                found.append(f"{schema}.{table}.({a}, {b}): {hits} grid reference(s)")
    con.close()
    assert scanned_text > 200 and scanned_pairs > 10
    assert not found, "\n".join(found)
