"""The demo build's exports, read back as a lead would get them: per grouping a workbook (openpyxl), CSV (csv
module) and Parquet (pyarrow), checked against the published marts queried here, unsuppressed."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
import re
from pathlib import Path

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest

# Child counts of the marts, named here and not read from the dbt docs the exporter uses; each equation is
# (total, parts) in one row, each group is (count, key columns) summed over rows.
CHILD_COUNTS = {
    "mart_placement_stability": ["children_looked_after", "one_placement", "two_placements",
                                 "three_or_more_placements"],
    "mart_placement_imports": ["placements", "female", "male", "residential_placements", "residential_female",
                               "residential_male"],
    "mart_placement_distance": ["placements", "with_distance", "over_20_miles"],
    "mart_residential_occupancy": ["own_children", "other_la_children"],
    "mart_unregistered_placements": ["no_urn", "urn_not_registered", "unregistered_placements"],
    "mart_la_sufficiency": ["children_looked_after", "placed_inside_la", "placed_outside_la", "over_20_miles",
                            "children_from_other_las", "own_children_placed_outside", "starters"],
    "mart_placement_costs": ["placements", "children_supported", "new_placements"],
}
EQUATIONS = {
    "mart_placement_stability": [("children_looked_after", ["one_placement", "two_placements",
                                                            "three_or_more_placements"])],
    "mart_placement_imports": [("placements", ["female", "male"]),
                               ("residential_placements", ["residential_female", "residential_male"])],
    "mart_unregistered_placements": [("unregistered_placements", ["no_urn", "urn_not_registered"])],
}
GROUPS = {
    "mart_placement_imports": [("placements", ["collection_year", "host_la_gss_code"])],
}
DERIVED = {"mart_placement_distance": [("share_over_20_miles", ["over_20_miles"])]}


def _workbooks(build_dir: Path) -> dict[str, Path]:
    """Grouping name (from each workbook's own cover) -> workbook."""
    found = {}
    for path in sorted((build_dir / "exports").glob("*/*.xlsx")):
        title = openpyxl.load_workbook(path, read_only=True)["cover"]["A1"].value
        found[title.split(" (")[0]] = path
    return found


@functools.lru_cache(maxsize=4)
def _book(workbook: Path) -> dict[str, list[tuple]]:
    """Every sheet's rows, read once per module."""
    book = openpyxl.load_workbook(workbook, read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def _sheet(workbook: Path, name: str) -> tuple[list[str], list[tuple]]:
    rows = _book(workbook)[name]
    return list(rows[0]), [tuple(r) for r in rows[1:]]


@pytest.fixture(scope="module")
def published(demo_build):
    con = duckdb.connect(str(demo_build.db.parent / "published" / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def eastern(demo_build):
    return _workbooks(demo_build.db.parent)["Eastern Region"]


def _codes(published, grouping: str) -> list[str]:
    return [c for (c,) in published.execute(
        "select la_gss_code from marts.bridge_local_authority_grouping where grouping_name = ? and is_current",
        [grouping]).fetchall()]


def test_a_workbook_csv_and_parquet_for_every_region_and_consortium(demo_build, published):
    assert demo_build.returncode == 0, demo_build.output[-4000:]
    groupings = {name for (name,) in published.execute(
        "select distinct grouping_name from marts.bridge_local_authority_grouping").fetchall()}
    assert {"Eastern Region", "Peninsula", "South West", "London"} <= groupings
    workbooks = _workbooks(demo_build.db.parent)
    assert set(workbooks) == groupings
    marts = {t for (t,) in published.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
    for path in workbooks.values():
        sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
        assert sheets[0] == "cover" and sheets[-1] == "columns"
        assert sorted(sheets[1:-1]) == sorted(m.removeprefix("mart_") for m in marts)
        assert {p.stem for p in (path.parent / "csv").glob("*.csv")} == marts
        assert {p.stem for p in (path.parent / "parquet").glob("*.parquet")} == marts
        # nothing written outside the grouping's folder
        assert path.parent.parent == demo_build.db.parent / "exports"


def test_the_cover_holds_build_coverage_for_the_grouping(published, eastern):
    rows = _book(eastern)["cover"]
    assert rows[0][0] == "Eastern Region (consortium): placement sufficiency"
    at = next(i for i, r in enumerate(rows) if r[:2] == ("source", "la_gss_code"))
    header = rows[at]
    shown = {(r[header.index("source")], r[header.index("la_gss_code")], r[header.index("period")],
              r[header.index("status")]) for r in rows[at + 1:] if r[0]}
    expected = set(published.execute(
        "select source, la_gss_code, period, status from marts.build_coverage "
        "where la_gss_code is null or list_contains(?, la_gss_code)", [_codes(published, "Eastern Region")]
    ).fetchall())
    assert shown == expected and len(expected) > 100
    assert any(r[:2] == ("Completeness", "Every return of the grouping's authorities in the inbox was included.")
               for r in rows[:12])


def _suppressed_cells(header, rows, columns) -> set[tuple[int, str]]:
    return {(i, c) for i, r in enumerate(rows) for c in columns if c in header and r[header.index(c)] == "c"}


@pytest.mark.parametrize("mart", sorted(CHILD_COUNTS))
def test_no_count_of_fewer_than_5_children_can_be_read_or_worked_out(published, eastern, mart):
    header, rows = _sheet(eastern, mart.removeprefix("mart_"))
    counts = CHILD_COUNTS[mart]
    # the mart, unsuppressed, in the sheet's order
    truth = published.execute(
        f"select * from marts.{mart} where "
        + ("list_contains($codes, host_la_gss_code) or list_contains($codes, placing_la_gss_code)"
           if mart == "mart_placement_imports" else "list_contains($codes, la_gss_code)")
        + " order by all", {"codes": _codes(published, "Eastern Region")}).fetchall()
    assert len(truth) == len(rows) > 0
    small = 0
    for shown, real in zip(rows, truth):
        for column in counts:
            i = header.index(column)
            value = real[i]
            if value is not None and 1 <= value <= 4:
                small += 1
                assert shown[i] == "c", (mart, column, shown)  # primary
            elif shown[i] != "c":
                assert shown[i] == value, (mart, column, shown, real)  # nothing else changed
    for total, parts in EQUATIONS.get(mart, []):  # secondary: no total reveals one cell
        for shown in rows:
            hidden = sum(shown[header.index(c)] == "c" for c in [total, *parts])
            assert hidden != 1, (mart, total, parts, shown)
    for column, keys in GROUPS.get(mart, []):
        by_group: dict[tuple, list] = {}
        for shown in rows:
            by_group.setdefault(tuple(shown[header.index(k)] for k in keys), []).append(shown[header.index(column)])
        for key, values in by_group.items():
            assert not (len(values) > 1 and values.count("c") == 1), (mart, column, key, values)
    for column, sources in DERIVED.get(mart, []):
        for shown in rows:
            if any(shown[header.index(s)] == "c" for s in sources):
                assert shown[header.index(column)] == "c", (mart, column, shown)
    if mart in ("mart_placement_imports", "mart_placement_distance", "mart_placement_costs"):
        assert small > 0  # the demo region has small counts here: the check above checked something


def _same(workbook_value, text_value) -> bool:
    """A workbook cell and the CSV's / Parquet's text for it."""
    if workbook_value is None:
        return text_value in ("", None, "None", "nan", "NaT")
    if isinstance(workbook_value, bool):
        return str(text_value).lower() == str(workbook_value).lower()
    if isinstance(workbook_value, dt.datetime):
        return str(text_value)[:10] == workbook_value.date().isoformat()
    if isinstance(workbook_value, (int, float)):
        try:
            return math.isclose(float(text_value), float(workbook_value), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(text_value) == str(workbook_value)


@pytest.mark.parametrize("mart", ["mart_placement_imports", "mart_la_spend", "mart_provider_group_spend",
                                  "dim_provider_group", "build_coverage", "mart_market_supply"])
def test_csv_and_parquet_equal_the_workbook(eastern, mart):
    header, rows = _sheet(eastern, mart.removeprefix("mart_"))
    with open(eastern.parent / "csv" / f"{mart}.csv", newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    assert records[0] == header and len(records) - 1 == len(rows)
    table = pq.read_table(eastern.parent / "parquet" / f"{mart}.parquet")
    assert table.column_names == header and table.num_rows == len(rows)
    parquet_rows = list(zip(*[table.column(c).to_pylist() for c in header]))
    for shown, text, stored in zip(rows, records[1:], parquet_rows):
        for column, a, b, c in zip(header, shown, text, stored):
            assert _same(a, b), (mart, column, a, b)
            assert _same(a, c if not isinstance(c, (dt.date, dt.datetime)) else c.isoformat()), (mart, column, a, c)


def test_formats_a_lead_expects(eastern):
    book = openpyxl.load_workbook(eastern)
    sheet = book["provider_group_spend"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    row = sheet[2]
    assert row[header.index("spend")].number_format == "£#,##0.00"
    assert row[header.index("spend_share")].number_format == "0.0%"
    assert row[header.index("buying_las")].number_format == "#,##0"
    assert sheet.column_dimensions["A"].width >= len("grouping_type")
    market = book["market_supply"]
    cell = market.cell(row=2, column=[c.value for c in market[1]].index("snapshot_date") + 1)
    assert isinstance(cell.value, dt.datetime) and cell.number_format == "dd/mm/yyyy"
    columns = book["columns"]
    described = {(r[1], r[2]): r[3] for r in columns.iter_rows(min_row=2, values_only=True)}
    assert described[("mart_provider_group_spend", "spend")]


def test_a_grouping_name_never_leaves_the_exports_folder(tmp_path):
    from exports.groupings import Grouping, inside, slug

    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("'; drop table marts.x; --") == "drop-table-marts-x"
    assert slug("Hérault & Côte") == "herault-cote"
    with pytest.raises(ValueError):
        inside(tmp_path, "../outside")
    assert Grouping("consortium", "x", slug("../x"), ()).slug == "x"


def test_the_readmes_ready_queries_answer_on_the_demo_build(published):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## For regional leads")[1].split("\n## ")[0]
    queries = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert len(queries) == 5
    for query in queries:
        rows = published.execute(query).fetchall()
        assert rows, query
    # the headline query gives the region's largest group's spend, as the provider-group mart ranks it
    headline = published.execute(queries[2]).fetchall()
    for year, _, _, largest_name, largest_spend, *_ in headline:
        top = published.execute(
            "select sum(spend) from marts.mart_provider_group_spend "
            "where grouping_name = 'Eastern Region' and financial_year = ? and spend_rank = 1", [year]).fetchone()[0]
        assert top == largest_spend, year
