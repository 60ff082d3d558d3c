"""Per grouping: an Excel workbook (cover, one sheet per mart, column descriptions), and CSV and Parquet of the same
tables, under warehouse/exports/<grouping>/. Every table is suppressed (exports/suppression.py) and every text cell
made inert before it is written, so the three formats hold the same values.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import xlsxwriter

from exports.groupings import Grouping, inside
from exports.manifest import mart_docs
from exports.suppression import SUPPRESSED, suppress_tables
from exports.tables import grouping_tables
from orchestration.lib import settings

# A cell Excel, LibreOffice or Sheets would read as a formula (OWASP's list): prefixed with an apostrophe, which
# each shows as text. The same value goes to CSV and Parquet, so the formats agree.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_575
COVER_SHEET = "cover"
COLUMNS_SHEET = "columns"
COVERAGE_TITLE = "What this workbook holds (marts.build_coverage for the grouping)"

MONEY = re.compile(r"(spend|cost|contribution|fee|amount|price)s?$")
SHARE = re.compile(r"(^|_)(share|cr\d+)(_|$)")


@dataclass
class GroupingExport:
    grouping: Grouping
    folder: Path
    workbook: Path
    tables: dict[str, pd.DataFrame]  # as written: suppressed, inert
    incomplete: list[str]


def _text_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that may hold text: object (mixed, lists, "c") or pandas' string dtypes."""
    return [c for c in frame.columns
            if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, str))


def inert(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists joined as text, and text that a spreadsheet would run as a formula prefixed with an apostrophe.
    Column-wise: only a column that holds lists is looked at value by value."""
    result = frame.copy()
    for column in _text_columns(result):
        values = result[column].astype(object)
        present = values.dropna()
        if len(present) and _is_list(present.iloc[0]):
            values = values.map(lambda v: "; ".join(str(x) for x in list(v)) if _is_list(v) else v)
        try:
            risky = values.str.startswith(FORMULA_START, na=False).astype(bool)
        except AttributeError:  # no text at all (numbers, Decimals, dates in an object column)
            continue
        result[column] = values.where(~risky, "'" + values.astype(str))
    return result


def sheet_name(mart: str) -> str:
    return mart.removeprefix("mart_")[:31]


def _column_format(name: str, series: pd.Series) -> str | None:
    """Dates as dates, money as £ with pence, shares as percentages, counts with thousands separators."""
    if pd.api.types.is_datetime64_any_dtype(series):
        has_time = (series.dropna().dt.normalize() != series.dropna()).any()
        return "dd/mm/yyyy hh:mm" if has_time else "dd/mm/yyyy"
    if pd.api.types.is_bool_dtype(series):
        return None
    values = series[series.notna() & (series.astype(object) != SUPPRESSED)]
    if values.empty:
        return None
    if series.dtype == object:
        if values.map(lambda v: isinstance(v, bool) or not isinstance(v, (int, float))).any():
            return None  # text, lists, Decimals are written as they are
    elif not pd.api.types.is_numeric_dtype(series):
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    if "year" in name:
        return "0"
    if SHARE.search(name):
        return "0.0%"
    if pd.api.types.is_integer_dtype(series) or (len(numbers) and (numbers % 1 == 0).all() and not MONEY.search(name)):
        return "#,##0"
    if MONEY.search(name):
        return "£#,##0.00"
    if name == "hhi" or name.startswith("hhi_"):
        return "#,##0"
    return "#,##0.0"


def _width(name: str, series: pd.Series) -> float:
    if pd.api.types.is_datetime64_any_dtype(series):
        return max(len(name), 17) + 2
    sample = series.head(2000).dropna()
    longest = max(len(name), int(sample.astype(str).str.len().max()) if len(sample) else 0)
    return min(max(longest + 2, 8), 60)


def _cells(series: pd.Series) -> list:
    """Python values XlsxWriter writes as they are: NaN/NaT -> empty, timestamps -> datetime."""
    values = series.astype(object).where(series.notna(), None)
    return [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in values]


def _write_table(workbook, sheet, frame: pd.DataFrame, first_row: int, formats: dict, freeze: bool = True) -> None:
    header = formats["header"]
    for col, name in enumerate(frame.columns):
        fmt = _column_format(name, frame[name])
        sheet.set_column(col, col, _width(name, frame[name]), formats.get(fmt))
        sheet.write_string(first_row, col, name, header)
        # strings_to_formulas and strings_to_urls are off for the workbook: write_column writes text as text
        sheet.write_column(first_row + 1, col, _cells(frame[name]))
    if len(frame.columns):
        sheet.autofilter(first_row, 0, first_row + max(len(frame), 1), len(frame.columns) - 1)
    if freeze:
        sheet.freeze_panes(first_row + 1, 0)


def _incomplete(coverage: pd.DataFrame) -> list[str]:
    """One line per return held back or carried forward, and one per source for the returns missing."""
    if coverage.empty:
        return []
    lines = []
    for row in coverage[coverage["status"].isin(["held_back", "carried_forward"])].itertuples():
        lines.append(f"{row.source} return of {row.la_name or row.la_gss_code or 'national'} for {row.period} "
                     f"{row.status.replace('_', ' ')}"
                     + (f": {row.reason}" if isinstance(row.reason, str) and row.reason else ""))
    missing = coverage[coverage["status"] == "missing"]
    for source, rows in missing.groupby("source", sort=True):
        names = sorted(set(rows["la_name"].fillna(rows["la_gss_code"]).fillna("national")))
        periods = sorted(set(rows["period"].astype(str)))
        lines.append(f"{source}: {len(rows)} return(s) missing, from {len(names)} authorit"
                     f"{'y' if len(names) == 1 else 'ies'} ({', '.join(names[:12])}{', ...' if len(names) > 12 else ''})"
                     f" for {periods[0]}{' to ' + periods[-1] if len(periods) > 1 else ''}")
    return lines


def more_rows_note(mart: str, more: int) -> str:
    return f"{sheet_name(mart)}: {more:,} rows more in csv/{mart}.csv and parquet/{mart}.parquet"


def _write_workbook(path: Path, grouping: Grouping, tables: dict[str, pd.DataFrame], built_at: datetime,
                    incomplete: list[str], source: str) -> None:
    docs = mart_docs()
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False, "nan_inf_to_errors": True,
                                               "default_date_format": "dd/mm/yyyy"})
    formats = {
        "header": workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": False}),
        # right-aligned, so that a suppressed "c" stands where its number would
        "£#,##0.00": workbook.add_format({"num_format": "£#,##0.00", "align": "right"}),
        "0.0%": workbook.add_format({"num_format": "0.0%", "align": "right"}),
        "#,##0": workbook.add_format({"num_format": "#,##0", "align": "right"}),
        "0": workbook.add_format({"num_format": "0", "align": "right"}),
        "#,##0.0": workbook.add_format({"num_format": "#,##0.0", "align": "right"}),
        "dd/mm/yyyy": workbook.add_format({"num_format": "dd/mm/yyyy"}),
        "dd/mm/yyyy hh:mm": workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"}),
    }
    title = workbook.add_format({"bold": True, "font_size": 16})
    bold = workbook.add_format({"bold": True})
    warning = workbook.add_format({"bold": True, "font_color": "#C00000", "text_wrap": True})
    good = workbook.add_format({"bold": True, "font_color": "#006100"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})

    cover = workbook.add_worksheet(COVER_SHEET)
    plain = workbook.add_format({})

    def note(row: int, text: str, fmt=None) -> None:
        """A line of the cover, across the columns the coverage table below uses, so that it reads whole."""
        cover.merge_range(row, 1, row, 12, text, fmt or plain)

    cover.set_column(0, 0, 28)
    cover.write_string(0, 0, f"{grouping.name} ({grouping.grouping_type}): placement sufficiency", title)
    cover.write_string(1, 0, "Built at", bold)
    note(1, built_at.strftime("%d/%m/%Y %H:%M %Z").strip())
    cover.write_string(2, 0, "From", bold)
    note(2, source)
    cover.write_string(3, 0, "Local authorities", bold)
    note(3, ", ".join(grouping.la_gss_codes))
    cover.write_string(4, 0, "Completeness", bold)
    if incomplete:
        note(4, "INCOMPLETE: figures built on these returns lack them (rows below, status not "
                                 "'included'):", warning)
        for offset, line in enumerate(incomplete[:40]):
            note(5 + offset, line, warning)
        first = 5 + min(len(incomplete), 40)
        if len(incomplete) > 40:
            note(first, f"... and {len(incomplete) - 40} more", warning)
            first += 1
    else:
        note(4, "Every return of the grouping's authorities in the inbox was included.", good)
        first = 5
    cover.write_string(first, 0, "Suppression", bold)
    note(first, "Counts of fewer than 5 children are shown as c, and so are the cells a total or a "
                             "difference would reveal them from (secondary suppression), and the shares and "
                             "averages built on them.")
    cover.write_string(first + 1, 0, "Text", bold)
    note(first + 1, "Text beginning with = + - @, a tab or a carriage return starts with an apostrophe, "
                             "so that no spreadsheet runs it as a formula.")
    limit = min(settings.export_sheet_rows(), EXCEL_MAX_ROWS)
    longer = [more_rows_note(mart, len(frame) - limit) for mart, frame in tables.items() if len(frame) > limit]
    if longer:
        first += 1
        cover.write_string(first + 1, 0, "Long tables", bold)
        note(first + 1, f"Sheets hold at most {limit:,} rows: " + "; ".join(longer), warning)
    files = _files_used(tables.get("build_coverage"))
    cover.write_string(first + 2, 0, "Files used", bold)
    note(first + 2, f"{len(files)} file(s); each coverage row below lists its own.")
    cover.write_string(first + 4, 0, COVERAGE_TITLE, bold)
    coverage = tables.get("build_coverage", pd.DataFrame())
    _write_table(workbook, cover, coverage, first + 5, formats, freeze=False)
    cover.set_column(0, 0, 28)
    cover.activate()

    for mart, frame in tables.items():
        sheet = workbook.add_worksheet(sheet_name(mart))
        shown = frame.head(limit)
        _write_table(workbook, sheet, shown, 0, formats)
        if len(frame) > len(shown):
            sheet.write_string(0, len(frame.columns) + 1, more_rows_note(mart, len(frame) - len(shown)), warning)

    columns = workbook.add_worksheet(COLUMNS_SHEET)
    rows = [{"sheet": sheet_name(mart), "mart": mart, "column": column,
             "description": docs[mart].columns.get(column, "") if mart in docs else ""}
            for mart, frame in tables.items() for column in frame.columns]
    descriptions = pd.DataFrame(rows, columns=["sheet", "mart", "column", "description"])
    _write_table(workbook, columns, descriptions, 0, formats)
    columns.set_column(3, 3, 100, wrap)
    workbook.close()


def _files_used(coverage: pd.DataFrame | None) -> list[str]:
    if coverage is None or coverage.empty or "files" not in coverage:
        return []
    names = set()
    for value in coverage["files"].dropna():
        names.update(str(value).split("; ") if isinstance(value, str) else [str(v) for v in value])
    return sorted(names)


def write_grouping_exports(con, grouping: Grouping, exports_dir: Path, built_at: datetime,
                           source: str = "warehouse/published/warehouse.duckdb") -> GroupingExport:
    """Writes exports_dir/<slug>/ whole, then swaps it in: a reader never sees half of a grouping's exports."""
    final = inside(exports_dir, grouping.slug)
    building = inside(exports_dir, f".{grouping.slug}.building")
    shutil.rmtree(building, ignore_errors=True)
    (building / "csv").mkdir(parents=True)
    (building / "parquet").mkdir()
    # suppressed together: a count hidden on one sheet stays hidden on every sheet that shows it or sums to it
    tables = {mart: inert(frame) for mart, frame in suppress_tables(grouping_tables(con, grouping)).items()}
    incomplete = _incomplete(tables.get("build_coverage", pd.DataFrame()))
    for mart, frame in tables.items():
        frame.to_csv(building / "csv" / f"{mart}.csv", index=False, date_format="%Y-%m-%d")
        _parquet_ready(frame).to_parquet(building / "parquet" / f"{mart}.parquet", index=False)
    workbook = building / f"{grouping.slug}.xlsx"
    _write_workbook(workbook, grouping, tables, built_at, incomplete, source)
    old = inside(exports_dir, f".{grouping.slug}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    building.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return GroupingExport(grouping, final, final / workbook.name, tables, incomplete)


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A column holding "c" among numbers is written as text, as in the CSV."""
    result = frame.copy()
    for column in _text_columns(result):
        values = result[column].astype(object)
        kinds = set(values.dropna().map(type))
        if len(kinds) > 1:
            result[column] = values.map(lambda v: None if pd.isna(v) else str(v))
    return result
