"""Each published mart as one grouping sees it: its LAs' rows, its own regional rows, the homes and groups it has.

Which rows belong to a grouping is read from the mart's columns, so a mart an analyst adds is exported without a
line here: grouping_type/grouping_name -> that grouping's rows; la_gss_code -> its LAs (build_coverage keeps the
national sources too); host/placing LA -> either in the grouping; provider_group_id alone -> groups with homes in
the grouping or bought from by its LAs. A mart with none of these is national reference and exported whole.
"""

from __future__ import annotations

import pandas as pd

from exports.groupings import Grouping

PROVIDER_GROUPS_OF_GROUPING = """
    select provider_group_id from marts.dim_provider where list_contains($codes, la_gss_code)
    union select provider_group_id from marts.mart_la_spend where list_contains($codes, la_gss_code)
    union select provider_group_id from marts.mart_provider_group_spend
          where grouping_type = $grouping_type and grouping_name = $grouping_name
"""


def published_marts(con) -> list[str]:
    return [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
    ).fetchall()]


def _columns(con, mart: str) -> list[str]:  # from the catalog: the only names pasted into SQL here
    return [row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
        "order by ordinal_position", [mart]).fetchall()]


def _filter(mart: str, columns: list[str], marts: set[str]) -> str | None:
    """The where clause (parameters $codes, $grouping_type, $grouping_name) that picks a grouping's rows."""
    if {"grouping_type", "grouping_name"} <= set(columns):
        return "grouping_type = $grouping_type and grouping_name = $grouping_name"
    if "la_gss_code" in columns:
        national = " or la_gss_code is null" if mart == "build_coverage" else ""
        return f"list_contains($codes, la_gss_code){national}"
    if {"host_la_gss_code", "placing_la_gss_code"} <= set(columns):
        return "list_contains($codes, host_la_gss_code) or list_contains($codes, placing_la_gss_code)"
    if "provider_group_id" in columns and {"dim_provider", "mart_la_spend", "mart_provider_group_spend"} <= marts:
        return f"provider_group_id in ({PROVIDER_GROUPS_OF_GROUPING})"
    return None


def grouping_table(con, mart: str, grouping: Grouping, marts: set[str] | None = None) -> pd.DataFrame:
    """The mart's rows for the grouping, unsuppressed, in the mart's own column order."""
    marts = marts if marts is not None else set(published_marts(con))
    columns = _columns(con, mart)
    where = _filter(mart, columns, marts)
    params = {}
    if where:
        params = {name: value for name, value in (
            ("codes", list(grouping.la_gss_codes)), ("grouping_type", grouping.grouping_type),
            ("grouping_name", grouping.name),
        ) if f"${name}" in where}
    sql = f'select * from marts."{mart}"' + (f" where {where}" if where else "") + " order by all"
    return con.execute(sql, params).df()


def grouping_tables(con, grouping: Grouping) -> dict[str, pd.DataFrame]:
    marts = published_marts(con)
    return {mart: grouping_table(con, mart, grouping, set(marts)) for mart in marts}
