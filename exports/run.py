"""Every grouping's exports and report, written from the published marts, a grouping per process.

Writing a workbook is Python per cell (XlsxWriter), so the groupings are spread over the machine's cores; each
process opens the published file read-only, which DuckDB allows any number of processes to do.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from exports.groupings import Grouping, groupings, inside


@dataclass
class GroupingOutput:
    grouping: str
    slug: str
    workbook: str
    report: str
    incomplete: list[str]
    charts: dict[str, int]
    seconds: float


def write_grouping(published_db: Path, grouping: Grouping, exports_dir: Path, reports_dir: Path,
                   built_at: datetime) -> GroupingOutput:
    from exports.report import write_report_from
    from exports.workbooks import write_grouping_exports

    started = time.monotonic()
    with duckdb.connect(str(published_db), read_only=True) as con:
        export = write_grouping_exports(con, grouping, exports_dir, built_at)
        report = inside(reports_dir, f"{grouping.slug}.html")
        charts = write_report_from(con, grouping, report, built_at)
    return GroupingOutput(grouping.name, grouping.slug, str(export.workbook), str(report), export.incomplete,
                          charts, round(time.monotonic() - started, 2))


def selected_groupings(published_db: Path, wanted: set[str] | None) -> list[Grouping]:
    with duckdb.connect(str(published_db), read_only=True) as con:
        every = groupings(con)
    return [g for g in every if wanted is None or {g.name.lower(), g.slug} & wanted]


def write_all(published_db: Path, exports_dir: Path, reports_dir: Path, built_at: datetime,
              wanted: set[str] | None = None, workers: int | None = None) -> list[GroupingOutput]:
    exports_dir.mkdir(parents=True, exist_ok=True)
    reports_dir.mkdir(parents=True, exist_ok=True)
    chosen = selected_groupings(published_db, wanted)
    workers = max(1, min(workers or os.cpu_count() or 1, len(chosen)))
    if workers == 1:
        return [write_grouping(published_db, g, exports_dir, reports_dir, built_at) for g in chosen]
    # spawn, not fork: the Dagster process that calls this holds threads
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(write_grouping, published_db, g, exports_dir, reports_dir, built_at)
                   for g in chosen]
        return [f.result() for f in futures]
