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
import pandas as pd
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
# the report sums the grouping's authorities by month (occupancy, unregistered) and by year and placement type
# (distance): no such sum may leave one cell to work out
GROUPS = {
    "mart_placement_imports": [("placements", ["collection_year", "host_la_gss_code"])],
    "mart_residential_occupancy": [("own_children", ["month"]), ("other_la_children", ["month"])],
    "mart_unregistered_placements": [(c, ["month"]) for c in ["no_urn", "urn_not_registered",
                                                               "unregistered_placements"]],
    "mart_placement_distance": [(c, ["collection_year", "placement_type"]) for c in ["placements", "with_distance",
                                                                                    "over_20_miles"]],
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


# The same children counted on two sheets, written here from what each mart counts (not read from the dbt docs
# the exporter uses): (sheet a, its keys, its cells) is tied to (sheet b, its keys, its cell summed over the rows
# sharing the keys), the keys paired in order; a row filter on b picks its rows. Each tie is checked to hold on the
# unsuppressed marts below, so a wrong one fails rather than passing vacuously.
PLACEMENT_TYPES = {"in_house_fostering": "in_house_fostering", "ifa_fostering": "ifa_fostering",
                   "kinship": "kinship", "own_residential": "own_residential",
                   "independent_residential": "independent_residential", "secure": "secure",
                   "semi_independent": "semi_independent", "residential_school": "residential_school",
                   "other_placements": "other"}
YEAR_LA = ["collection_year", "la_gss_code"]
TIES = [
    ("la_sufficiency", YEAR_LA, ["children_looked_after"], "placement_stability", YEAR_LA,
     "children_looked_after", None),
    ("la_sufficiency", YEAR_LA, ["children_looked_after"], "placement_distance", YEAR_LA, "placements", None),
    ("la_sufficiency", YEAR_LA, ["over_20_miles"], "placement_distance", YEAR_LA, "over_20_miles", None),
    ("la_sufficiency", YEAR_LA, ["children_looked_after", "-distance_unknown"], "placement_distance", YEAR_LA,
     "with_distance", None),
    *[("la_sufficiency", YEAR_LA, [column], "placement_distance", YEAR_LA, "placements",
       ("placement_type", value)) for column, value in PLACEMENT_TYPES.items()],
    ("la_sufficiency", YEAR_LA, ["children_from_other_las", "placed_inside_la"], "placement_imports",
     ["collection_year", "host_la_gss_code"], "placements", None),
    ("la_sufficiency", YEAR_LA, ["children_looked_after"], "placement_imports",
     ["collection_year", "placing_la_gss_code"], "placements", None),
    ("la_sufficiency", YEAR_LA, ["own_residential", "independent_residential", "secure"], "placement_imports",
     ["collection_year", "placing_la_gss_code"], "residential_placements", None),
    *[("grouping_sufficiency", ["collection_year"], [column], "la_sufficiency", ["collection_year"], column, None)
      for column in ["children_looked_after", *PLACEMENT_TYPES, "placed_inside_la", "over_20_miles",
                     "distance_unknown", "cla_age_under_1", "cla_age_1_to_4", "cla_age_5_to_9",
                     "cla_age_10_to_15", "cla_age_16_to_17", "starters", "uasc_looked_after"]],
    *[("provider_profile", ["la_gss_code", "financial_year", "provider_group_id"], [a], "placement_costs",
       ["la_gss_code", "financial_year", "provider_group_id"], b, None)
      for a, b in [("placements", "placements"), ("new_placements", "new_placements"),
                   ("children_placed", "children_supported")]],
]


def test_a_count_hidden_in_one_table_is_hidden_in_the_table_that_sums_it():
    """Two tables tied by a declared link, values chosen by hand: Essex's 3 secure children are hidden in both, and
    so is the next smallest cell of each equation that would give them away."""
    from exports.suppression import Link, Rules, suppression_masks

    totals = pd.DataFrame({"la": ["Essex", "Kent"], "children": [13, 40], "secure": [3, 0]})
    by_type = pd.DataFrame({"la": ["Essex", "Essex", "Kent"], "type": ["secure", "fostering", "fostering"],
                            "placements": [3, 10, 40]})
    rules = {"totals": Rules(counts=["children", "secure"]),
             "by_type": Rules(counts=["placements"], links=[
                 Link("placements", "totals", {"la": "la"}, ("children",)),
                 Link("placements", "totals", {"la": "la"}, column_from="type")])}
    masks = suppression_masks({"totals": totals, "by_type": by_type}, rules)
    assert masks["totals"]["secure"].tolist() == [True, False]  # primary
    # Essex: children 13 = placements 3 + 10 on the other table; with 3 hidden, 10 is the smallest cell left
    assert masks["by_type"]["placements"].tolist() == [True, True, False]
    assert masks["totals"]["children"].tolist() == [False, False]
    # without the links, 10 is shown beside the 13 of the other table: 13 - 10 gives the 3 away
    alone = suppression_masks({"totals": totals, "by_type": by_type},
                              {"totals": rules["totals"], "by_type": Rules(counts=["placements"])})
    assert alone["by_type"]["placements"].tolist() == [True, False, False]


def _frame(workbook: Path, sheet: str) -> pd.DataFrame:
    header, rows = _sheet(workbook, sheet)
    return pd.DataFrame(rows, columns=header)


def test_a_count_hidden_on_one_sheet_is_hidden_on_every_sheet_it_can_be_worked_out_from(eastern):
    ties_with_hidden_cells = 0
    for a, a_keys, a_cells, b, b_keys, b_cell, where in TIES:
        shown_a, shown_b = _frame(eastern, a), _frame(eastern, b)
        if where:
            shown_b = shown_b[shown_b[where[0]] == where[1]]
        # per row of a, its suppressed cells and those of the rows of b summed to it
        real_b = shown_b[[*b_keys]].copy()
        real_b["hidden"] = (shown_b[b_cell] == "c").astype(int)
        real_b["rows"] = 1
        groups = real_b.groupby(b_keys, dropna=False).agg(hidden=("hidden", "sum"), rows=("rows", "sum"))
        left = shown_a[[*a_keys]].copy()
        left["hidden"] = (shown_a[[c.lstrip("-") for c in a_cells]] == "c").sum(axis=1)
        joined = left.merge(groups, left_on=a_keys, right_index=True, how="inner", suffixes=("_a", "_b"))
        assert len(joined), (a, b, b_cell)
        hidden = joined["hidden_a"] + joined["hidden_b"]
        leaks = joined[hidden == 1]
        assert leaks.empty, (a, a_cells, b, b_cell, where, leaks.head().to_dict("records"))
        ties_with_hidden_cells += int((hidden >= 2).sum())
    assert ties_with_hidden_cells > 0  # the demo region has small counts on these sheets: something was checked


def _grouping_rows(published, sheet: str, codes: list[str]) -> pd.DataFrame:
    where = {"placement_imports": "list_contains($codes, host_la_gss_code) or list_contains($codes, placing_la_gss_code)",
             "grouping_sufficiency": "grouping_name = 'Eastern Region' and $codes is not null"}
    return published.execute(f"select * from marts.mart_{sheet} where "
                             + where.get(sheet, "list_contains($codes, la_gss_code)"), {"codes": codes}).df()


@pytest.mark.parametrize("tie", range(len(TIES)))
def test_the_ties_between_sheets_hold_in_the_published_marts(published, tie):
    a, a_keys, a_cells, b, b_keys, b_cell, where = TIES[tie]
    codes = _codes(published, "Eastern Region")
    rows_a, rows_b = _grouping_rows(published, a, codes), _grouping_rows(published, b, codes)
    if where:
        rows_b = rows_b[rows_b[where[0]] == where[1]]
    sums = rows_b.groupby(b_keys)[b_cell].sum().rename("summed").reset_index()
    joined = rows_a.merge(sums.rename(columns=dict(zip(b_keys, a_keys))), on=a_keys, how="left")
    cells = sum(-joined[c[1:]] if c.startswith("-") else joined[c] for c in a_cells)
    known = cells.notna() | joined["summed"].notna()  # a profile row with no placement costs has neither
    assert known.sum() > 0
    wrong = known & (joined["summed"].fillna(0) != cells)
    assert not wrong.any(), joined.loc[wrong, a_keys + ["summed"]].head()


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


def test_a_sheet_longer_than_the_limit_says_where_the_rest_is(published, tmp_path, monkeypatch):
    from exports.groupings import groupings
    from exports.workbooks import write_grouping_exports

    monkeypatch.setenv("WAREHOUSE_EXPORT_SHEET_ROWS", "40")
    peninsula = next(g for g in groupings(published) if g.name == "Peninsula")
    export = write_grouping_exports(published, peninsula, tmp_path, dt.datetime(2026, 12, 6, 9, 0))
    codes = _codes(published, "Peninsula")
    expected = published.execute(
        "select count(*) from marts.mart_placement_imports "
        "where list_contains($codes, host_la_gss_code) or list_contains($codes, placing_la_gss_code)",
        {"codes": codes}).fetchone()[0]
    assert expected > 40
    book = openpyxl.load_workbook(export.workbook, read_only=True)
    rows = list(book["placement_imports"].iter_rows(values_only=True))
    assert len(rows) == 41  # header and 40 rows
    assert f"placement_imports: {expected - 40:,} rows more in csv/mart_placement_imports.csv" in str(rows[0])
    with open(export.folder / "csv" / "mart_placement_imports.csv", newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in csv.reader(handle)) == expected + 1
    assert pq.read_table(export.folder / "parquet" / "mart_placement_imports.parquet").num_rows == expected
    cover = [r for r in book["cover"].iter_rows(values_only=True) if r[0] == "Long tables"]
    assert cover and "Sheets hold at most 40 rows" in str(cover[0])
