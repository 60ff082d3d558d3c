"""Which version of a return staging reads (audit.included_files, ingest/audit.py): a return is superseded by
return, not by file name. Rows written here into a bare audit schema; the expected files are named by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from ingest.audit import FileLoad, ensure_audit_schema, write_all

RETURN = dict(source="ssda903", la="E10000012", reference_date=dt.date(2024, 3, 31))


def _load(con, load_id: str, at: str, files: dict[str, str], status: str = "loaded") -> None:
    """One load: {path: kind}; each file's sha256 is its path (distinct contents)."""
    outcomes = [FileLoad(load_id=load_id, path=Path(path), sha256=f"sha-{path}", kind=kind, status=status,
                         **RETURN) for path, kind in files.items()]
    write_all(con, outcomes)
    con.execute("update audit.load_log set loaded_at = ? where load_id = ?", [dt.datetime.fromisoformat(at), load_id])


def _included(con) -> set[str]:
    return {path for (path,) in con.execute("select path from audit.included_files").fetchall()}


def test_a_good_resubmission_under_new_file_names_replaces_the_old_files():
    """An LA resends its 2024 return under new file names, the old files still in the inbox. Staging reads only the
    new files; the old ones stay in audit.load_log (and raw) for lineage."""
    con = duckdb.connect()
    ensure_audit_schema(con)
    _load(con, "l1", "2024-05-01 10:00", {"/in/essex/2024/header.csv": "header", "/in/essex/2024/episodes.csv": "episodes"})
    _load(con, "l2", "2024-06-01 10:00", {"/in/essex/2024/header_v2.csv": "header",
                                          "/in/essex/2024/episodes_v2.csv": "episodes"})
    assert _included(con) == {"/in/essex/2024/header_v2.csv", "/in/essex/2024/episodes_v2.csv"}
    assert con.execute("select count(*) from audit.load_log").fetchone() == (4,)


def test_a_resubmission_of_one_table_keeps_the_others_and_a_held_one_leaves_the_last_good_standing():
    """An LA resends only its episodes (its header unchanged, so not logged again), then sends a flawed episodes file
    that a check holds back. The header of the first load stays with the resent episodes; the flawed file leaves
    the last good episodes standing."""
    con = duckdb.connect()
    ensure_audit_schema(con)
    _load(con, "l1", "2024-05-01 10:00", {"/in/essex/2024/header.csv": "header", "/in/essex/2024/episodes.csv": "episodes"})
    _load(con, "l2", "2024-06-01 10:00", {"/in/essex/2024/episodes resent.csv": "episodes"})
    assert _included(con) == {"/in/essex/2024/header.csv", "/in/essex/2024/episodes resent.csv"}
    _load(con, "l3", "2024-07-01 10:00", {"/in/essex/2024/episodes july.csv": "episodes"})
    con.execute("insert into audit.return_holds values ('gx_raw_ssda903_episodes', 'raw', "
                "'sha-/in/essex/2024/episodes july.csv', 'two open episodes', 'r3', current_timestamp)")
    assert _included(con) == {"/in/essex/2024/header.csv", "/in/essex/2024/episodes resent.csv"}
