"""SSDA903 files are landed in batches (one multi-file read per layout): a file in a batch lands exactly as it does
alone, and its rows keep their own record numbers.

The faulty returns come from `python -m demo --with-faults` (FAULTS.md says which records are faulty); record
numbers are checked against the files read with the csv module, never against the ingest code.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest import ssda903
from ingest.local_authorities import resolve_la

REPO = Path(__file__).resolve().parents[1]
LAS = ("Plymouth", "Torbay", "Suffolk")
BAD_LINE = '5555,"01/06/2024"x,S,C2,N1,U4,PR1,,X1,,MK40 1,MK42 7,\r\n'


def records(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    """The file's CSV records; record n of the file is records[n - 1]."""
    with open(path, newline="", encoding=encoding) as handle:
        return list(csv.reader(handle))


def child_hash(raw: str, gss: str) -> str:
    return hashlib.sha256(f"{ssda903.DEMO_CHILD_ID_KEY}|{gss}|{raw.strip()}".encode()).hexdigest()[:32]


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """The faulty returns under the LAs' names, the clean returns under their GSS codes (so most layouts have
    several files to batch), and one clean episodes file with an unparsable line in the middle."""
    base = tmp_path_factory.mktemp("ssda903-batches")
    subprocess.run([sys.executable, "-m", "demo", "--out", str(base / "demo"), "--truth", str(base / "truth"),
                    "--las", ",".join(LAS), "--with-faults", str(base / "faults"), "--no-finance", "--quiet"],
                   cwd=REPO, check=True, timeout=600)
    inbox = base / "inbox"
    shutil.copytree(base / "faults" / "ssda903", inbox / "ssda903")
    shutil.copy(base / "faults" / "FAULTS.md", base / "FAULTS.md")
    for la_folder in (base / "demo" / "ssda903").iterdir():
        if la_folder.is_dir() and resolve_la(la_folder.name):
            shutil.copytree(la_folder, inbox / "ssda903" / resolve_la(la_folder.name).gss_code)
    with open(base / "demo" / "ssda903" / "Torbay" / "2024" / "episodes.csv", newline="") as handle:
        lines = handle.readlines()
    lines.insert(40, BAD_LINE)
    target = inbox / "ssda903" / "Bedford" / "2024" / "episodes.csv"
    target.parent.mkdir(parents=True)
    with open(target, "w", newline="") as handle:
        handle.writelines(lines)
    return inbox


def load(folder: Path, db: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db))
    ssda903.load_folder(con, folder, "same-load")
    return con


TABLES = {
    "audit.load_log": "select * exclude (loaded_at) from {t}",
    "audit.quarantine": "select * from {t}",
    "raw.ssda903_episodes": "select * from {t}",
    "raw.ssda903_header": "select * from {t}",
    "raw.ssda903_uasc": "select * from {t}",
}


def contents(con: duckdb.DuckDBPyConnection, root: Path) -> dict[str, list]:
    """Every row of the audit and raw tables, paths relative to the inbox."""
    out = {}
    for table, sql in TABLES.items():
        rows = con.execute(sql.format(t=table)).fetchall()
        out[table] = sorted((tuple(v.replace(str(root), "") if isinstance(v, str) else v for v in row)
                             for row in rows), key=repr)
    return out


@pytest.fixture(scope="module")
def together(inbox, tmp_path_factory):
    con = load(inbox / "ssda903", tmp_path_factory.mktemp("together") / "w.duckdb")
    yield con
    con.close()


def test_a_file_lands_alike_in_a_batch_and_alone(inbox, together, tmp_path):
    # Alone: each return folder is the only one of its own inbox, so no two files of a layout meet.
    alone = {table: [] for table in TABLES}
    for i, folder in enumerate(sorted(p for p in (inbox / "ssda903").glob("*/*") if p.is_dir())):
        single = tmp_path / str(i)
        shutil.copytree(folder, single / "ssda903" / folder.parent.name / folder.name)
        con = load(single / "ssda903", tmp_path / f"{i}.duckdb")
        for table, rows in contents(con, single).items():
            alone[table] += rows
        con.close()
    batched = contents(together, inbox)
    # The same bytes in another folder: whichever file is read first is loaded, the other is its duplicate.
    # Alone, each copy is loaded; so duplicates are compared by the file loaded instead.
    log = {row[1]: row for row in batched["audit.load_log"]}
    duplicates = {path: re.search(r"same content as (.*), already", row[14]).group(1).replace(str(inbox), "")
                  for path, row in log.items() if row[13] == "duplicate"}
    assert duplicates  # the clean tables of the faulty returns, and "episodes - Copy.csv"
    for table in TABLES:
        expected = [row for row in alone[table] if row[1 if table == "audit.load_log" else
                                                       (1 if table == "audit.quarantine" else -4)] not in duplicates]
        got = [row for row in batched[table] if not (table == "audit.load_log" and row[13] == "duplicate")]
        assert got == sorted(expected, key=repr), table
    assert sum(1 for row in batched["audit.load_log"] if row[13] in ("loaded", "loaded_with_quarantine")) > 30


def fault_records(inbox: Path, fault: str) -> tuple[str, list[int]]:
    listing = (inbox.parent / "FAULTS.md").read_text(encoding="utf-8")
    line = next(line for line in listing.splitlines() if f"| {fault} |" in line)
    path = line.split("`")[1]
    return path, [int(n) for n in re.findall(r"records? ([\d, ]+)", line.split("|")[4])[0].replace(" ", "").split(",")
                  if n]


@pytest.mark.parametrize("fault, rule", [("blank child ids", "CHILD_MISSING"),
                                         ("extra fields on some rows", "EXTRA_FIELDS")])
def test_faulty_records_are_quarantined_by_record_number(inbox, together, fault, rule):
    path, numbers = fault_records(inbox, fault)
    got = together.execute("select row_number from audit.quarantine where path = ? and rule = ? order by 1",
                           [str(inbox / path), rule]).fetchall()
    assert [r[0] for r in got] == numbers


def test_rows_of_a_batch_keep_their_own_record_numbers(inbox, together):
    checked = 0
    for path in sorted((inbox / "ssda903").rglob("episodes.csv")):
        if not together.execute("select count(*) from audit.load_log where path = ? and status like 'loaded%'",
                                [str(path)]).fetchone()[0]:
            continue
        encoding = together.execute("select encoding from audit.load_log where path = ?", [str(path)]).fetchone()[0]
        file_records = records(path, "cp1252" if encoding == "cp1252" else "utf-8-sig")
        header = next(i for i, r in enumerate(file_records) if "CHILD" in r)
        names = [cell.split("(")[0].replace("\n", "").strip() for cell in file_records[header]]  # 'DECOM\n(note)'
        child, decom = names.index("CHILD"), names.index("DECOM")
        identity = resolve_la(path.parent.parent.name).gss_code
        rows = together.execute(
            "select source_row_number, child_id, strftime(decom, '%d/%m/%Y') from raw.ssda903_episodes "
            "where source_file = ?", [str(path)]).fetchall()
        assert rows
        for number, child_id, start in rows:
            record = file_records[number - 1]
            assert (child_hash(record[child], identity), record[decom]) == (child_id, start), (path, number)
        checked += 1
    assert checked > 15


def test_an_unparsable_line_in_a_batched_file_is_quarantined_alone(inbox, together):
    path = inbox / "ssda903" / "Bedford" / "2024" / "episodes.csv"
    with open(path, newline="") as handle:
        line_number = handle.readlines().index(BAD_LINE) + 1
    n_records = len(records(path)) - 1
    status, rows_read, rows_loaded, rows_quarantined = together.execute(
        "select status, rows_read, rows_loaded, rows_quarantined from audit.load_log where path = ?", [str(path)]
    ).fetchone()
    quarantined = together.execute("select row_number, rule, raw_values from audit.quarantine where path = ?",
                                   [str(path)]).fetchall()
    assert status == "loaded_with_quarantine"
    assert quarantined == [(line_number, "UNPARSABLE_ROW", None)]  # the line holds a raw child id: not kept
    assert (rows_read, rows_loaded, rows_quarantined) == (n_records, n_records - 1, 1)
    after = together.execute("select min(source_row_number) from raw.ssda903_episodes where source_file = ? "
                             "and source_row_number > ?", [str(path), line_number]).fetchone()[0]
    assert after == line_number + 1


def test_header_cells_with_line_breaks_and_notes_still_name_their_columns(inbox, tmp_path):
    """The demo fault 'header cells with line breaks' ('PLACE_\\nPROVIDER', 'DECOM\\n(date episode commenced)'):
    the file is an episodes table and every record below the header loads."""
    faults = (inbox.parent / "FAULTS.md").read_text()
    names = [line.split("|")[1].strip().strip("`") for line in faults.splitlines()
             if "header cells with line breaks" in line]
    assert names, "FAULTS.md lists no file with broken header cells"
    con = load(inbox / "ssda903", tmp_path / "w.duckdb")
    for name in names:
        path = inbox / name  # FAULTS.md names files from the faults folder, copied here as they are
        body = len(records(path)) - 1
        kind, status, read, loaded = con.execute(
            "select kind, status, rows_read, rows_loaded from audit.load_log where path = ?", [str(path.resolve())]
        ).fetchone()
        assert (kind, status, read, loaded) == ("episodes", "loaded", body, body), name
