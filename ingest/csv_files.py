"""Reading published CSV files as they really come: any encoding, preamble lines, a header found by its content.

Python only looks at the first records of a file (to find the header and the encoding); DuckDB's CSV
reader does the row work. Nothing here loops over the rows of a file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from ingest import audit
from ingest.errors import IngestError

_CHUNK = 1 << 20
HEAD_BYTES = 256 * 1024
MAX_PREAMBLE_RECORDS = 12
# Spare columns beyond the header: a row with more fields than the header lands its surplus here,
# so it can be quarantined by rule instead of silently dropped or failing the whole file.
OVERFLOW_COLUMNS = 4


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def normalise_header(text: str | None) -> str:
    """'Latest full inspection\\ndate ' -> 'latest full inspection date': the key column synonyms are matched on."""
    text = (text or "").replace("\ufeff", "").lower()
    text = text.replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


_SYSTEM_SUFFIX = re.compile(r"\s*\([A-Za-z]\)\s*$")  # 'Supplier Name(T)': a finance system's type marker
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def header_key(cell: str | None) -> str:
    """A header cell as the words it says: 'PaymentDate' -> 'payment date', 'Supplier Name(T)' -> 'supplier name',
    then normalise_header. Header cells only (values keep normalise_header, which SQL twins copy)."""
    text = _SYSTEM_SUFFIX.sub("", (cell or "").replace("\ufeff", ""))
    return normalise_header(_CAMEL.sub(" ", text))


def _refuse_non_csv(path: Path, head: bytes) -> None:
    if not head.strip():
        raise IngestError(path, "FILE_EMPTY", "the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise IngestError(path, "FILE_NOT_CSV", "this is a zip/xlsx spreadsheet saved with a .csv name; export it as CSV")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError(path, "FILE_NOT_CSV", "this is an old-style .xls spreadsheet saved with a .csv name; export it as CSV")
    if head.startswith(b"%PDF"):
        raise IngestError(path, "FILE_NOT_CSV", "this is a PDF, not a CSV file")
    if head.startswith(b"\x1f\x8b"):
        raise IngestError(path, "FILE_NOT_CSV", "this file is gzip-compressed: unpack it (gunzip, 7-Zip) and drop the "
                          "CSV file it holds")
    sniff = head[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sniff.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<table")):
        raise IngestError(path, "FILE_NOT_CSV", "this is an HTML/XML page saved with a .csv name, not a CSV file")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 with BOM: decoded below
    if b"\x00" in head[:8192]:
        raise IngestError(path, "FILE_NOT_CSV", "binary content (NUL bytes): not a text CSV file")


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252 (latin-1 where cp1252 leaves a byte undefined)."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        _refuse_non_csv(path, head)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        except UnicodeDecodeError:
            pass
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        try:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                decoder.decode(chunk)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


# DuckDB takes these in a file name for a glob pattern: a file named '*.csv' would read every file beside it.
GLOB_CHARACTERS = re.compile(r"[*?\[\]{}]")


def as_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    """A path DuckDB can read as UTF-8: the file itself, or a streamed re-encoding of it in workdir (a link in
    workdir under a plain name when the path holds a glob character, which DuckDB would expand)."""
    if encoding in ("utf-8", "utf-8-sig"):
        if not GLOB_CHARACTERS.search(str(path)):
            return path
        target = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
        target.unlink()
        target.symlink_to(path.absolute())
        return target
    target = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
    with open(path, "r", encoding=encoding, newline="") as source, open(target, "w", encoding="utf-8", newline="") as out:
        shutil.copyfileobj(source, out, _CHUNK)
    return target


def head_records(path: Path, max_records: int = MAX_PREAMBLE_RECORDS + 2) -> list[list[str]]:
    """The first CSV records of a UTF-8 file, parsed with quotes (header cells may hold line breaks)."""
    with open(path, "rb") as handle:
        raw = handle.read(HEAD_BYTES)
    text = raw.decode("utf-8", errors="ignore").lstrip("\ufeff")
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text))
    try:
        for record in reader:
            records.append(record)
            if len(records) >= max_records:
                break
    except csv.Error:
        pass
    return records


@dataclass(frozen=True)
class HeaderMatch:
    index: int  # 0-based record index of the header
    cells: list[str]
    preamble: list[list[str]]  # records above the header (title lines, super-headers)

    @property
    def super_header(self) -> list[str]:
        """The record right above the header, forward-filled across its columns, when it looks like section labels."""
        if not self.preamble:
            return []
        above = self.preamble[-1]
        labels = [cell.strip() for cell in above]
        filled, current = [], ""
        if sum(1 for cell in labels if cell) < 2:
            return []
        for cell in labels:
            current = cell or current
            filled.append(current)
        return filled


def find_header(path: Path, records: list[list[str]], is_header: Callable[[list[str]], bool]) -> HeaderMatch:
    for index, record in enumerate(records[: MAX_PREAMBLE_RECORDS + 1]):
        if is_header([header_key(cell) for cell in record]):
            return HeaderMatch(index=index, cells=record, preamble=records[:index])
    if not records:
        raise IngestError(path, "FILE_EMPTY", "no CSV records found")
    raise IngestError(
        path,
        "HEADER_NOT_FOUND",
        f"no header row of the expected kind in the first {min(len(records), MAX_PREAMBLE_RECORDS + 1)} records "
        f"(first record: {', '.join(records[0][:6])!s:.200})",
    )


def line_ending(path: Path) -> str:
    """The separator that ends the file's first record (a line break outside quotes), as DuckDB's `new_line`
    option writes it. Given, not detected: with auto_detect off, DuckDB takes a line break inside a quoted
    header cell for the separator of a CRLF file and then reads no rows at all, without an error."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    quoted = False
    for match in re.finditer(rb'"|\r\n|\n|\r', head):
        token = match.group()
        if token == b'"':
            quoted = not quoted
        elif not quoted:
            return {b"\r\n": "\\r\\n", b"\n": "\\n", b"\r": "\\r"}[token]
    return "\\n"


def land_records(con: duckdb.DuckDBPyConnection, csv_path: Path, table: str, skip: int, n_columns: int) -> int:
    """Read every data record after the header into temp table `table` (c0..cN all text, plus src_record).

    src_record is the 1-based record number in the file (title and header records counted), the same
    numbering DuckDB uses for rejected lines. The reader runs single-threaded: it counts `skip` and rejected
    lines in records, so header cells and values with line breaks inside them keep the numbering right, and
    DuckDB's parallel reader refuses some files with quoted line breaks when null_padding is on. Known gap:
    DuckDB passes over lines that are entirely empty (not even commas), so a record after one is numbered one
    lower than its place in the file. Returns how many records could not be parsed at all; those are left in
    temp table `<table>_rejects` (src_record, csv_line, error_message).
    """
    width = n_columns + OVERFLOW_COLUMNS
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    con.execute(f"drop table if exists {table}_read")
    con.execute(f"drop table if exists {table}_rejects")
    con.execute(f"drop table if exists {table}_errors")
    con.execute(f"drop table if exists {table}_scans")
    con.execute(
        f"""
        create temp table {table}_read as
        select * from read_csv(
            ?, header = false, skip = {int(skip)}, columns = {columns}, new_line = '{line_ending(csv_path)}',
            delim = ',', quote = '"', escape = '"', null_padding = true, auto_detect = false, parallel = false,
            ignore_errors = true, store_rejects = true,
            rejects_table = '{table}_errors', rejects_scan = '{table}_scans'
        )
        """,
        [str(csv_path)],
    )
    con.execute(
        f"""
        create temp table {table}_rejects as
        select line as src_record, any_value(csv_line) as csv_line, string_agg(distinct error_message, '; ') as error_message
        from {table}_errors group by line
        """
    )
    rejected = con.execute(f"select count(*) from {table}_rejects").fetchone()[0]
    if not rejected:  # the common case: records follow the header one by one
        con.execute(
            f"create or replace temp table {table} as "
            f"select {int(skip)} + row_number() over (order by rowid) as src_record, * from {table}_read"
        )
        con.execute(f"drop table {table}_read")
        return 0
    # Loaded rows keep file order; their record numbers are the ones the rejected lines did not take.
    con.execute(
        f"""
        create or replace temp table {table} as
        with loaded as (select row_number() over (order by rowid) as ordinal, * from {table}_read),
        total as (select (select count(*) from {table}_read) + (select count(*) from {table}_rejects) as n),
        record_numbers as (
            select row_number() over (order by r) as ordinal, r as src_record
            from range({int(skip) + 1}, {int(skip) + 1} + (select n from total)) as t(r)
            where r not in (select src_record from {table}_rejects)
        )
        select record_numbers.src_record, loaded.* exclude (ordinal)
        from loaded join record_numbers using (ordinal)
        """
    )
    con.execute(f"drop table {table}_read")
    return con.execute(f"select count(*) from {table}_rejects").fetchone()[0]


def ends_mid_record(path: Path, n_columns: int) -> bool:
    """A file cut off in transit stops without its final line break, inside its last record.

    Only the tail of the file is read: the last record is cut short if it has fewer fields than the header.
    """
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if size == 0:
            return False
        handle.seek(max(0, size - 65536))
        tail = handle.read()
    if tail.endswith((b"\n", b"\r")):
        return False
    last_line = tail.decode("utf-8", errors="ignore").splitlines()[-1]
    if last_line.count('"') % 2 == 1:
        return True  # stops inside a quoted field
    fields = next(csv.reader([last_line]), [])
    return len(fields) < n_columns


@contextmanager
def readable_copy(path: Path, outcome: audit.FileLoad, workdir: Path) -> Iterator[Path]:
    """The file as UTF-8 for DuckDB (itself, or a re-encoded copy removed afterwards); notes the encoding."""
    outcome.encoding = detect_encoding(path)
    readable = as_utf8(path, outcome.encoding, workdir)
    try:
        yield readable
    finally:
        if readable != path:
            readable.unlink(missing_ok=True)


def land_and_log(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    outcome: audit.FileLoad,
    header: HeaderMatch,
    judge: Callable[[bool], None],
    keep_rejected_line: bool = True,
) -> None:
    """Land every record below the header, let `judge(truncated)` store the good rows and quarantine the bad
    ones (setting the outcome's counts), add the unparsable lines, and log the file: one transaction, so a
    file is in the warehouse whole or not at all. Without keep_rejected_line the unparsable line is not kept
    in audit.quarantine (it may hold an identifier that must not be stored)."""
    n_columns = len(header.cells)
    truncated = ends_mid_record(readable, n_columns)
    con.execute("begin transaction")
    try:
        rejected = land_records(con, readable, "landed", header.index + 1, n_columns)
        judge(truncated)
        if rejected:
            line = "json_object('csv_line', csv_line)" if keep_rejected_line else "null"
            con.execute(
                "insert into audit.quarantine select ?, ?, ?, src_record, 'UNPARSABLE_ROW', error_message, "
                f"{line} from landed_rejects",
                [outcome.load_id, str(path), outcome.sha256],
            )
        outcome.rows_read += rejected
        outcome.rows_quarantined += rejected
        if truncated:
            outcome.notes.append("the file ends inside its last row: it looks truncated")
        outcome.status = audit.LOADED_WITH_QUARANTINE if outcome.rows_quarantined else audit.LOADED
        outcome.write(con)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def land_files(con: duckdb.DuckDBPyConnection, paths: list[Path], table: str, skip: int, n_columns: int) -> int:
    """land_records for many files of one layout (the same header at the same record), with one multi-file read.

    Every file must end its lines as the first does (line_ending). Gives temp view `table` (file_index = the file's position in `paths`, src_record, c0..cN) and temp table
    `<table>_rejects` (file_index, src_record, csv_line, error_message); returns the number of rejected lines.
    Records are numbered per file from the order DuckDB's single-threaded reader keeps (each file's rows
    follow each other, in file order). A file with a line the reader could not parse is left out of the
    multi-file read and landed again alone with land_records, which numbers its records around that line.
    """
    width = n_columns + OVERFLOW_COLUMNS
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    names = [f"{table}{suffix}" for suffix in ("", "_rejects", "_read", "_files", "_starts", "_errors", "_scans", "_extra")]
    for name, is_view in con.execute(
        "select view_name, true from duckdb_views() where temporary and list_contains(?, view_name) "
        "union all select table_name, false from duckdb_tables() where temporary and list_contains(?, table_name)",
        [names, names],
    ).fetchall():
        con.execute(f"drop {'view' if is_view else 'table'} {name}")  # land_records makes `table` a table
    con.execute(f"create temp table {table}_files as select unnest(?) as filename, "
                f"unnest(range({len(paths)})) as file_index", [[str(p) for p in paths]])
    con.execute(
        f"""
        create temp table {table}_read as
        select * from read_csv(
            ?, header = false, skip = {int(skip)}, columns = {columns}, new_line = '{line_ending(paths[0])}',
            delim = ',', quote = '"', escape = '"', null_padding = true, auto_detect = false, parallel = false,
            ignore_errors = true, store_rejects = true, filename = true,
            rejects_table = '{table}_errors', rejects_scan = '{table}_scans'
        )
        """,
        [[str(p) for p in paths]],
    )
    bad = [row[0] for row in con.execute(
        f"select distinct file_index from {table}_errors join {table}_scans using (scan_id, file_id) "
        f"join {table}_files on {table}_files.filename = {table}_scans.file_path order by 1"
    ).fetchall()]
    con.execute(
        f"""
        create temp table {table}_starts as
        select r.filename, any_value(f.file_index) as file_index, min(r.rowid) as first_rowid,
               max(r.rowid) - min(r.rowid) + 1 = count(*) as contiguous
        from {table}_read as r join {table}_files as f using (filename) group by r.filename
        """
    )
    if con.execute(f"select count(*) from {table}_starts where not contiguous").fetchone()[0]:
        raise RuntimeError("DuckDB returned the rows of a multi-file read out of file order")
    con.execute(f"create temp table {table}_extra as select 0::bigint as file_index, * from {table}_read limit 0")
    con.execute(f"alter table {table}_extra drop column filename")
    con.execute(f"alter table {table}_extra add column src_record bigint")
    con.execute(f"create temp table {table}_rejects (file_index bigint, src_record bigint, csv_line varchar, "
                "error_message varchar)")
    for file_index in bad:
        land_records(con, paths[file_index], f"{table}_one", skip, n_columns)
        cells = ", ".join(f"c{i}" for i in range(width))
        con.execute(f"insert into {table}_extra select {file_index}, {cells}, src_record from {table}_one")
        con.execute(f"insert into {table}_rejects select {file_index}, * from {table}_one_rejects")
        con.execute(f"drop table {table}_one")
        con.execute(f"drop table {table}_one_rejects")
    cells = ", ".join(f"c{i}" for i in range(width))
    con.execute(
        f"""
        create temp view {table} as
        select s.file_index, {int(skip)} + 1 + r.rowid - s.first_rowid as src_record, {cells}
        from {table}_read as r join {table}_starts as s using (filename)
        where s.file_index not in ({", ".join(str(i) for i in [-1, *bad])})
        union all
        select file_index, src_record, {cells} from {table}_extra
        """
    )
    return con.execute(f"select count(*) from {table}_rejects").fetchone()[0]
