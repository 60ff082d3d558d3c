"""The `audit` schema: one load_log row per source file and load, one quarantine row per rejected row."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

AUDIT_DDL = """
create schema if not exists raw;
create schema if not exists audit;
create table if not exists audit.load_log (
    load_id varchar not null,
    path varchar not null,
    file_name varchar not null,
    sha256 varchar,
    source varchar not null,
    kind varchar,
    la varchar,
    reference_date date,
    encoding varchar,
    header_record integer,
    rows_read bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_quarantined bigint not null default 0,
    status varchar not null,
    error varchar,
    notes varchar,
    loaded_at timestamp not null
);
create table if not exists audit.quarantine (
    load_id varchar not null,
    path varchar not null,
    sha256 varchar not null,
    row_number bigint,
    rule varchar not null,
    message varchar not null,
    raw_values varchar
);
-- A return (one LA's SSDA903 collection year, one ledger file, one register snapshot, one placement-cost extract)
-- that failed a blocking check at the raw or staging layer: one row per check x file. Checks replace their own
-- rows for the files they judged again; a hold on files no longer judged stays.
create table if not exists audit.return_holds (
    check_name varchar not null,
    layer varchar not null,
    file_sha256 varchar not null,
    message varchar not null,
    run_id varchar,
    recorded_at timestamp not null
);
-- Every loaded or failed file with the return it belongs to (its period is written by marts.build_coverage) and
-- its part of that return (version_key: the return and the file's kind, e.g. an LA's SSDA903 episodes of 2024).
-- A newer load of the same part replaces the older one whatever the files are called; load_loaded_at orders loads.
create or replace view audit.return_files as
select
    *,
    return_key || '|' || coalesce(kind, path) as version_key,
    max(loaded_at) over (partition by load_id) as load_loaded_at
from (
    select
        source,
        la as la_gss_code,
        source || '|' || coalesce(la, 'national') || '|'
            || case when source = 'spend' or reference_date is null then file_name
                    else cast(reference_date as varchar) end
            as return_key,
        path, file_name, sha256 as file_sha256, kind, reference_date, load_id, loaded_at, status, error
    from audit.load_log
    where status <> 'duplicate'
);
-- Held back: the files a blocking check failed, with every file of the same return landed in the same load.
create or replace view audit.held_back_files as
with submissions as (
    select distinct return_key, load_id
    from audit.return_files
    where file_sha256 in (select file_sha256 from audit.return_holds)
)
select distinct f.file_sha256
from audit.return_files as f
inner join submissions as s on f.return_key = s.return_key and f.load_id = s.load_id
where f.file_sha256 is not null;
-- What staging reads: of each part of each return, every file of the latest load that is not held back. A flawed
-- resubmission therefore leaves the last good version standing; a good one replaces it, under any file name.
create or replace view audit.included_files as
select source, la_gss_code, return_key, path, file_sha256, load_id, loaded_at
from (
    select *, dense_rank() over (partition by version_key order by load_loaded_at desc, load_id desc) as version_rank
    from audit.return_files
    where status in ('loaded', 'loaded_with_quarantine')
      and file_sha256 not in (select file_sha256 from audit.held_back_files)
)
where version_rank = 1;
"""

LOADED = "loaded"
LOADED_WITH_QUARANTINE = "loaded_with_quarantine"
FAILED = "failed"
DUPLICATE = "duplicate"
GOOD_STATUSES = (LOADED, LOADED_WITH_QUARANTINE)


def new_load_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def ensure_audit_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(AUDIT_DDL)


@dataclass
class FileLoad:
    """What happened to one file; written as one audit.load_log row."""

    load_id: str
    path: Path
    source: str
    sha256: str | None = None
    kind: str | None = None
    la: str | None = None
    reference_date: dt.date | None = None
    encoding: str | None = None
    header_record: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    status: str = FAILED
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, con: duckdb.DuckDBPyConnection, rule: str, message: str) -> None:
        """The whole file is refused: nothing of it stays loaded, and the log says why."""
        self.refuse(rule, message)
        self.write(con)

    def refuse(self, rule: str, message: str) -> None:
        """fail, but the log row is written later (with others, by write_all)."""
        self.status, self.error = FAILED, f"[{rule}] {message}"
        self.rows_loaded = self.rows_quarantined = self.rows_read = 0

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        write_all(con, [self])

    def log_values(self) -> list:
        """The audit.load_log row, but for loaded_at."""
        return [
            self.load_id, str(self.path), self.path.name, self.sha256, self.source, self.kind, self.la,
            self.reference_date, self.encoding, self.header_record, self.rows_read, self.rows_loaded,
            self.rows_quarantined, self.status, self.error, "; ".join(self.notes) or None,
        ]


def write_all(con: duckdb.DuckDBPyConnection, outcomes: list[FileLoad], chunk: int = 500) -> None:
    """One audit.load_log row per outcome, a few statements for many files."""
    for start in range(0, len(outcomes), chunk):
        part = outcomes[start:start + chunk]
        # A failed attempt at the same file is replaced, so the log keeps one row per file and outcome.
        con.execute(
            "delete from audit.load_log where status = ? and list_contains(?, path || '|' || coalesce(sha256, ''))",
            [FAILED, [f"{o.path}|{o.sha256 or ''}" for o in part]],
        )
        row = "(" + ", ".join(["?"] * 16) + ", current_timestamp)"
        con.execute(
            "insert into audit.load_log values " + ", ".join([row] * len(part)),
            [value for o in part for value in o.log_values()],
        )


def previous_load(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple[str, str] | None:
    """(path, status) of an earlier good load of the same bytes, if any."""
    row = con.execute(
        "select path, status from audit.load_log where sha256 = ? and status in (?, ?) order by loaded_at limit 1",
        [sha256, *GOOD_STATUSES],
    ).fetchone()
    return (row[0], row[1]) if row else None


def already_loaded(con: duckdb.DuckDBPyConnection, outcome: FileLoad) -> bool:
    """True when the file's bytes were loaded before (outcome then says so; a copy under a new name is logged
    once as a duplicate); False when the file is new and must be read."""
    earlier = previous_load(con, outcome.sha256)
    if not earlier:
        return False
    seen_as_duplicate = con.execute(
        "select count(*) from audit.load_log where path = ? and sha256 = ? and status = ?",
        [str(outcome.path), outcome.sha256, DUPLICATE],
    ).fetchone()[0]
    if earlier[0] == str(outcome.path) or seen_as_duplicate:
        outcome.status = "unchanged"  # adds nothing, logs nothing
        return True
    outcome.status = DUPLICATE
    outcome.error = f"same content as {earlier[0]}, already loaded: nothing added"
    outcome.write(con)
    return True


def logged_sha256s(con: duckdb.DuckDBPyConnection, sha256s: list[str]) -> set[str]:
    """Which of these contents audit.load_log has seen before, in one query: only those need already_loaded."""
    return {row[0] for row in con.execute(
        "select distinct sha256 from audit.load_log where list_contains(?, sha256)", [sha256s]).fetchall()}
