"""Files that change or vanish, and names that attack: the one inbox walker (ingest/inbox.py) and the four sources.

Most tests call the walker and the sources' load_folder on small inboxes written here; one builds a hostile inbox
end to end. Expected counts come from the files as written, read again with the csv module, never from the loader.
A file "changes" or "vanishes" between the walker's listing and the source's read through a wrapped `inbox.walk`
(or a wrapped step of the source between its preparing and landing a file), as a copy in progress would.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import os
import re
import shutil
import stat
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ingest import inbox as inbox_walker
from ingest import ofsted, placement_costs, spend, ssda903
from ingest.errors import IngestError
from tests.conftest import OFSTED_FILES, REPO, run_build

SPEND_FILE = REPO / "tests" / "fixtures" / "real" / "spend" / "calderdale_clean_2022-06.csv"
SSDA903_HEADER = REPO / "tests" / "fixtures" / "ssda903" / "liia-2025-samples" / "SSDA903_2025_header.csv"
MODULES = {"ofsted": ofsted, "spend": spend, "ssda903": ssda903, "placement_costs": placement_costs}
SOURCES = tuple(MODULES)
GOOD = ("loaded", "loaded_with_quarantine")
# Names a user, a council's system or an attacker may give a file (each loads, or is refused, naming itself).
HOSTILE_NAMES = ("spaces in the name.csv", "it's \"quoted\".csv", "Caerdydd ŵ é ü.csv", "'; drop table marts.x; --.csv",
                 "*.csv", "t?o.csv", "[1].csv", "{a,b}.csv")
COST_HEADER = ["Placement Ref", "Placing Authority", "Provider", "Establishment", "URN", "Placement Type",
               "Commissioning Route", "Start Date", "End Date", "Weekly Cost", "Social Care Contribution",
               "Education Contribution", "Health Contribution", "Crisis Placement"]


def read_records(path: Path) -> list[list[str]]:
    """The file's CSV records, fields of any length (the csv module's limit is restored afterwards)."""
    limit = csv.field_size_limit(10_000_000)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle))
    finally:
        csv.field_size_limit(limit)


def write_to(path: Path, records: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


@dataclass(frozen=True)
class Source:
    """How to write a small valid file of a source: where it goes, its title lines, header, rows, a text column."""

    name: str
    folder: tuple[str, ...]  # below the source folder: the LA (and year) folders
    preamble: list[list[str]]
    header: list[str]
    rows: list[list[str]]
    text_column: int
    table: str

    def records(self, part: int, size: int = 12) -> list[list[str]]:
        """Title lines, header, and rows [part*size, (part+1)*size): different parts never share a row."""
        return [*self.preamble, self.header, *[list(r) for r in self.rows[part * size:(part + 1) * size]]]

    def write(self, root: Path, name: str, records: list[list[str]], subfolder: tuple[str, ...] = ()) -> Path:
        return write_to(root.joinpath(self.name, *self.folder, *subfolder, name), records)

    def good(self, root: Path, name: str, part: int, subfolder: tuple[str, ...] = ()) -> Path:
        return self.write(root, name, self.records(part), subfolder)

    def header_record(self) -> int:
        """1-based record number of the header in the files written."""
        return len(self.preamble) + 1


def _costs_rows() -> list[list[str]]:
    return [[f"P{k:05d}", "Devon", f"Provider {k} Ltd", "", "SC484212", "Independent children's home", "Spot",
             "01/04/2023", "", "5250.00", "4000.00", "1000.00", "250.00", "N"] for k in range(400)]


def _source(name: str) -> Source:
    if name == "ofsted":
        closed = read_records(OFSTED_FILES / "Closed_childrens_homes_31Mar23.csv")
        return Source(name, (), [["Closed children's homes as at 31 March 2023"]], closed[0], closed[1:], 1,
                      "raw.ofsted_closed_homes")
    if name == "spend":
        ledger = read_records(SPEND_FILE)
        return Source(name, ("Calderdale",), [], ledger[0], [r for r in ledger[1:] if r],
                      ledger[0].index("Extended Description"), "raw.spend_lines")
    if name == "ssda903":
        header = read_records(SSDA903_HEADER)
        return Source(name, ("Bedford", "2025"), [], header[0], [r for r in header[1:] if r and r[0].strip()],
                      header[0].index("UPN"), "raw.ssda903_header")
    return Source(name, ("Devon",), [["Placement costs 2023-24"]], COST_HEADER, _costs_rows(), 2,
                  "raw.placement_costs")


@pytest.fixture(scope="module")
def sources() -> dict[str, Source]:
    return {name: _source(name) for name in SOURCES}


def load(source: str, root: Path, db: Path, load_id: str = "faults") -> tuple[duckdb.DuckDBPyConnection, list]:
    con = duckdb.connect(str(db))
    return con, MODULES[source].load_folder(con, root / source, load_id)


def load_log(con) -> dict[str, dict]:
    """The latest audit.load_log row of each path."""
    cursor = con.execute("select * from audit.load_log order by loaded_at")
    names = [d[0] for d in cursor.description]
    return {row[1]: dict(zip(names, row)) for row in cursor.fetchall()}


def assert_reconciles(con) -> None:
    broken = con.execute("select path, rows_read, rows_loaded, rows_quarantined from audit.load_log "
                         "where rows_read <> rows_loaded + rows_quarantined").fetchall()
    assert broken == []


def raw_rows(con, table: str, path: Path) -> int:
    return con.execute(f"select count(*) from {table} where source_file = ?", [str(path)]).fetchone()[0]


def assert_loaded_whole(con, source: Source, path: Path) -> None:
    """Read, loaded and quarantined as the file holds them (counted with the csv module), and its raw rows its own."""
    row = load_log(con)[str(path)]
    expected = len([r for r in read_records(path)[source.header_record():] if r])
    assert row["status"] in GOOD, (path.name, row["error"])
    assert row["rows_read"] == expected, path.name
    assert raw_rows(con, source.table, path) == row["rows_loaded"], path.name


def tree(root: Path) -> dict[str, tuple]:
    """Every entry under root (links not followed): a file's size and time, a link's target, a folder's mark."""
    found: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = os.lstat(path)
            found[str(path.relative_to(root))] = (
                ("link", os.readlink(path)) if stat.S_ISLNK(info.st_mode) else ("dir",) if stat.S_ISDIR(info.st_mode)
                else ("file", info.st_size, info.st_mtime_ns))
    return found


# ------------------------------------------------------------------------------------------------ the walker
def test_walker_lists_every_file_in_path_order_and_passes_over_hidden_and_temporary_ones(tmp_path, caplog):
    """Hidden files, editor locks and copies in progress (.part, .crdownload, ~$x, *.building) beside real files.
    The walker lists the real files in path order and names each file it passed over in the run's log."""
    folder = tmp_path / "inbox" / "spend"
    wanted = ["Calderdale/b.csv", "Calderdale/a b.csv", "Calderdale/sub/z.csv", "E08000033/x.txt", "notes.pdf"]
    ignored = [".DS_Store", "Calderdale/.~lock.b.csv#", "Calderdale/c.csv.part", "Calderdale/~$book.xlsx",
               "Calderdale/d.csv~", "Calderdale/e.csv.crdownload", ".hidden/f.csv", ".x.building/g.csv",
               "Calderdale/h.csv.partial", "Calderdale/i.tmp"]
    for name in wanted + ignored:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("a,b\n1,2\n")
    with caplog.at_level("WARNING", logger="ingest.inbox"):
        listing = inbox_walker.walk(folder)
    assert [f.parts for f in listing.files] == sorted(tuple(n.split("/")) for n in wanted)
    assert all(f.path == folder.resolve().joinpath(*f.parts) for f in listing.files)
    first_level = {n.split("/")[0] if n.startswith(".") else n for n in ignored}
    assert {str(s.path.relative_to(folder.resolve())) for s in listing.skipped} == first_level
    assert all(not s.recorded and s.rule == "IGNORED" for s in listing.skipped)
    for name in first_level:  # the run says what it passed over
        assert f"skipped spend/{name}" in caplog.text
    look = listing.files[0].look
    info = os.stat(listing.files[0].path)
    assert (look.size, look.mtime_ns) == (info.st_size, info.st_mtime_ns)


def test_walker_never_follows_a_link_out_of_the_inbox(tmp_path):
    """Links out of the inbox (absolute, relative with .., to a folder), a dangling link, a link loop and a named
    pipe. None is read: each is refused with its rule (FILE_OUTSIDE_INBOX, FILE_VANISHED, LINK_LOOP, UNKNOWN_KIND);
    links inside the inbox are followed under their own names."""
    root = tmp_path / "inbox"
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.csv").write_text("a,b\n1,2\n")
    (outside / "folder" / "more.csv").write_text("a,b\n3,4\n")
    folder = root / "spend" / "Calderdale"
    folder.mkdir(parents=True)
    (root / "archive").mkdir()
    (root / "archive" / "kept.csv").write_text("a,b\n5,6\n")
    (folder / "real.csv").write_text("a,b\n7,8\n")
    (folder / "link_out.csv").symlink_to(outside / "secret.csv")
    (folder / "dotdot.csv").symlink_to(Path("..") / ".." / ".." / "outside" / "secret.csv")  # relative, with ..
    (folder / "folder_out").symlink_to(outside / "folder")
    (folder / "link_in.csv").symlink_to(root / "archive" / "kept.csv")
    (folder / "sibling.csv").symlink_to("real.csv")
    (folder / "folder_in").symlink_to(root / "archive")
    (folder / "dangling.csv").symlink_to(root / "gone.csv")
    (folder / "loop").symlink_to(folder)
    os.mkfifo(folder / "pipe.csv")
    listing = inbox_walker.walk(root / "spend")
    assert sorted("/".join(f.parts) for f in listing.files) == [
        "Calderdale/folder_in/kept.csv", "Calderdale/link_in.csv", "Calderdale/real.csv", "Calderdale/sibling.csv"]
    skipped = {s.path.name: (s.rule, s.recorded) for s in listing.skipped}
    assert skipped == {"link_out.csv": ("FILE_OUTSIDE_INBOX", True), "dotdot.csv": ("FILE_OUTSIDE_INBOX", True),
                       "folder_out": ("FILE_OUTSIDE_INBOX", True), "dangling.csv": ("FILE_VANISHED", True),
                       "loop": ("LINK_LOOP", True), "pipe.csv": ("UNKNOWN_KIND", True)}
    message = next(s.message for s in listing.skipped if s.path.name == "link_out.csv")
    assert str(outside / "secret.csv") in message and "never read" in message
    # a link inside the inbox keeps the name it was listed under (its folders name the LA)
    assert next(f for f in listing.files if f.path.name == "link_in.csv").path == \
        root.resolve() / "spend" / "Calderdale" / "link_in.csv"


def test_a_source_folder_that_leads_out_of_the_inbox_is_refused_whole(tmp_path):
    """A source folder that is itself a link out of the inbox. Nothing under it is listed; it is refused as
    FILE_OUTSIDE_INBOX."""
    (tmp_path / "elsewhere" / "Calderdale").mkdir(parents=True)
    (tmp_path / "elsewhere" / "Calderdale" / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "spend").symlink_to(tmp_path / "elsewhere")
    listing = inbox_walker.walk(tmp_path / "inbox" / "spend")
    assert listing.files == []
    assert [(s.path.name, s.rule) for s in listing.skipped] == [("spend", "FILE_OUTSIDE_INBOX")]


def test_the_second_look_tells_a_file_still_written_from_one_replaced_or_gone(tmp_path):
    """Files growing, replaced, touched or deleted between the listing and the read. The second look refuses each
    with FILE_CHANGING ("still being written ..., left for the next run") or FILE_VANISHED; an unchanged file passes."""
    folder = tmp_path / "inbox" / "ofsted"
    folder.mkdir(parents=True)
    for name in ("same.csv", "growing.csv", "replaced.csv", "gone.csv", "touched.csv"):
        (folder / name).write_text("a,b\n1,2\n")
    files = {f.path.name: f for f in inbox_walker.walk(folder).files}
    with open(folder / "growing.csv", "a") as handle:
        handle.write("3,4\n")
    (folder / "new.csv").write_text("a,b\n1,2\n")
    os.replace(folder / "new.csv", folder / "replaced.csv")  # same size, another file
    (folder / "gone.csv").unlink()
    info = os.stat(folder / "touched.csv")
    os.utime(folder / "touched.csv", ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))
    files["same.csv"].check()
    outcomes = {}
    for name in ("growing.csv", "replaced.csv", "gone.csv", "touched.csv"):
        with pytest.raises(IngestError) as raised:
            files[name].check()
        outcomes[name] = (raised.value.rule, raised.value.message)
    assert outcomes["growing.csv"][0] == "FILE_CHANGING"
    assert outcomes["growing.csv"][1].startswith("still being written: ofsted/growing.csv, left for the next run")
    assert outcomes["touched.csv"][0] == "FILE_CHANGING"
    replaced = "replaced after the inbox was listed: ofsted/replaced.csv, left for the next run"
    assert outcomes["replaced.csv"] == ("FILE_CHANGING", replaced)
    assert outcomes["gone.csv"][0] == "FILE_VANISHED" and "ofsted/gone.csv" in outcomes["gone.csv"][1]


# ------------------------------------------------------------------------------------------------ the sources
@pytest.mark.parametrize("source", SOURCES)
def test_a_link_out_of_the_inbox_is_refused_and_the_other_files_load(source, sources, tmp_path):
    """A link to a file and a link to a folder outside the inbox, in each source's folder. Neither is read (nothing
    outside reaches raw, the outside tree is unchanged), both are logged FILE_OUTSIDE_INBOX, the good file loads
    whole and every file reconciles."""
    spec = sources[source]
    root = tmp_path / "inbox"
    good = spec.good(root, "good.csv", 0)
    outside = tmp_path / "outside"
    secret = spec.write(outside, "secret.csv", spec.records(1))
    link = good.parent / "link_out.csv"
    link.symlink_to(secret)
    folder_link = good.parent / "folder_out"
    folder_link.symlink_to(secret.parent)
    before = tree(outside)
    con, outcomes = load(source, root, tmp_path / "w.duckdb")
    logged = load_log(con)
    assert_loaded_whole(con, spec, good)
    for path in (link, folder_link):
        assert logged[str(path)]["status"] == "failed"
        assert logged[str(path)]["error"].startswith("[FILE_OUTSIDE_INBOX] a link to ")
        assert str(path) in {str(o.path) for o in outcomes}
    assert not [p for p in logged if not p.startswith(str(root.resolve()))]
    assert con.execute(f"select count(*) from {spec.table} where source_file not like ?",
                       [str(root.resolve()) + "/%"]).fetchone()[0] == 0
    assert tree(outside) == before
    assert_reconciles(con)


@pytest.mark.parametrize("source", SOURCES)
def test_names_that_attack_load_as_themselves(source, sources, tmp_path):
    """Spaces, quotes, Welsh and accented letters, SQL and DuckDB glob characters in file and folder names. Each
    file loads its own rows (a file named '*.csv' must not read its neighbours), logged under its own name, and
    nothing is written outside the inbox and the database folder."""
    spec = sources[source]
    root = tmp_path / "inbox"
    paths = [spec.good(root, name, part) for part, name in enumerate(HOSTILE_NAMES)]
    if source != "ssda903":  # SSDA903 files sit exactly in <LA>/<YYYY>/
        paths += [spec.good(root, "in a folder.csv", len(paths) + part, (folder,))
                  for part, folder in enumerate(("'; drop table marts.x; --", "*", "é ŵ \"q\""))]
    (tmp_path / "db").mkdir()
    before = set(tree(tmp_path))
    con, _ = load(source, root, tmp_path / "db" / "w.duckdb")
    for path in paths:
        assert_loaded_whole(con, spec, path.parent.resolve() / path.name)
    assert len(load_log(con)) == len(paths)
    assert_reconciles(con)
    assert {p for p in set(tree(tmp_path)) - before if not p.startswith("db")} == set()


def test_folders_named_like_an_authority_that_does_not_exist_are_refused_naming_the_file(sources, tmp_path):
    """Folders named like LAs that do not exist (E99999999, 999, Narnia). Each file is refused as UNKNOWN_LA naming
    its folder, and every file reconciles."""
    root = tmp_path / "inbox"
    spend_file = sources["spend"].write(root, "x.csv", sources["spend"].records(0))
    unknown_spend = root / "spend" / "E99999999" / "x.csv"
    unknown_spend.parent.mkdir(parents=True)
    shutil.move(spend_file, unknown_spend)
    unknown_903 = root / "ssda903" / "999" / "2024" / "header.csv"
    unknown_903.parent.mkdir(parents=True)
    unknown_903.write_bytes(SSDA903_HEADER.read_bytes()[:2000].rsplit(b"\n", 1)[0] + b"\n")
    unknown_costs = sources["placement_costs"].write(root, "costs.csv", sources["placement_costs"].records(0))
    (root / "placement_costs" / "Narnia").mkdir()
    shutil.move(unknown_costs, root / "placement_costs" / "Narnia" / "costs.csv")
    for source, path, folder in (("spend", unknown_spend, "E99999999"), ("ssda903", unknown_903, "999"),
                                 ("placement_costs", root / "placement_costs" / "Narnia" / "costs.csv", "Narnia")):
        con, _ = load(source, root, tmp_path / f"{source}.duckdb")
        row = load_log(con)[str(path)]
        assert row["status"] == "failed" and row["error"].startswith(f"[UNKNOWN_LA] folder '{folder}' names no")
        assert_reconciles(con)


def test_a_name_that_is_not_utf8_is_refused_and_the_run_goes_on(sources, tmp_path):
    """A file name that is not valid UTF-8 (a latin-1 name from an unzipped archive). It is refused as UNREADABLE
    and the good file beside it loads whole."""
    spec = sources["spend"]
    root = tmp_path / "inbox"
    good = spec.good(root, "good.csv", 0)
    with open(os.fsencode(good.parent) + b"/caf\xe9.csv", "wb") as handle:  # a latin-1 name, as unzipped
        handle.write(good.read_bytes())
    con, _ = load("spend", root, tmp_path / "w.duckdb")
    assert_loaded_whole(con, spec, good)
    refused = {p: r for p, r in load_log(con).items() if r["status"] == "failed"}
    assert list(refused) == [str(good.parent) + "/caf\\xe9.csv"]
    assert refused[str(good.parent) + "/caf\\xe9.csv"]["error"].startswith("[UNREADABLE] the name is not valid UTF-8")
    assert_reconciles(con)


@pytest.mark.parametrize("source", SOURCES)
def test_files_that_change_or_vanish_after_the_listing_wait_for_the_next_run(source, sources, tmp_path,
                                                                             monkeypatch, caplog):
    """In each source, files growing, replaced or deleted while the run reads its folder. They are refused for this
    run with FILE_CHANGING / FILE_VANISHED, the others load whole, and the next run loads the changed files."""
    spec = sources[source]
    root = tmp_path / "inbox"
    good = spec.good(root, "a_good.csv", 0)
    growing = spec.good(root, "b_growing.csv", 1)
    replaced = spec.good(root, "c_replaced.csv", 2)
    vanishing = spec.good(root, "d_vanishing.csv", 3)
    real_walk = inbox_walker.walk

    def copy_in_progress(folder):
        listing = real_walk(folder)
        with open(growing, "a", encoding="utf-8", newline="") as handle:  # the copy goes on: one more row
            csv.writer(handle, lineterminator="\r\n").writerow(spec.rows[60])
        spec.write(root, "c_replaced.new", spec.records(4))
        os.replace(replaced.with_suffix(".new"), replaced)
        vanishing.unlink()
        return listing

    monkeypatch.setattr(inbox_walker, "walk", copy_in_progress)
    with caplog.at_level("WARNING", logger="ingest.inbox"):
        con, outcomes = load(source, root, tmp_path / "w.duckdb", "first")
    assert_loaded_whole(con, spec, good)
    logged = load_log(con)
    shown = "/".join((source, *spec.folder))
    assert logged[str(growing)]["status"] == "failed"
    assert logged[str(growing)]["error"].startswith(
        f"[FILE_CHANGING] still being written: {shown}/b_growing.csv, left for the next run")
    assert f"still being written: {shown}/b_growing.csv, left for the next run" in caplog.text
    assert logged[str(replaced)]["error"] == (f"[FILE_CHANGING] replaced after the inbox was listed: "
                                              f"{shown}/c_replaced.csv, left for the next run")
    assert logged[str(vanishing)]["error"].startswith(f"[FILE_VANISHED] {shown}/d_vanishing.csv was deleted")
    for path in (growing, replaced, vanishing):
        assert raw_rows(con, spec.table, path) == 0
        assert logged[str(path)]["sha256"] is None
    assert {str(o.path) for o in outcomes} >= {str(growing), str(replaced), str(vanishing)}
    assert_reconciles(con)
    con.close()

    monkeypatch.setattr(inbox_walker, "walk", real_walk)  # the next run: the copies are complete
    con, _ = load(source, root, tmp_path / "w.duckdb", "second")
    logged = load_log(con)
    for path in (growing, replaced):
        assert_loaded_whole(con, spec, path)
        assert logged[str(path)]["load_id"] == "second"
    assert raw_rows(con, spec.table, vanishing) == 0
    assert_reconciles(con)


@pytest.mark.parametrize("source, step", [("spend", "measure_many"), ("ssda903", "_prepare")])
def test_a_file_changed_after_it_was_prepared_is_not_landed_with_its_batch(source, step, sources, tmp_path,
                                                                            monkeypatch):
    """A file changed after spend or SSDA903 prepared it (they read heads and hashes first and land a layout's files
    together later). It is looked at again before its batch is landed and left for the next run."""
    spec = sources[source]
    root = tmp_path / "inbox"
    good = spec.good(root, "a_good.csv", 0)
    changing = spec.good(root, "b_changing.csv", 1)
    module = MODULES[source]
    real_step = getattr(module, step)

    def then_written_to(*args, **kwargs):
        result = real_step(*args, **kwargs)
        with open(changing, "a", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\r\n").writerow(spec.rows[60])
        return result

    monkeypatch.setattr(module, step, then_written_to)
    con, _ = load(source, root, tmp_path / "w.duckdb")
    assert_loaded_whole(con, spec, good)
    row = load_log(con)[str(changing)]
    assert row["status"] == "failed" and row["error"].startswith("[FILE_CHANGING] still being written: ")
    assert raw_rows(con, spec.table, changing) == 0
    assert_reconciles(con)


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize("source", SOURCES)
def test_bad_contents_each_get_a_clear_error_and_hold_nothing_up(source, sources, tmp_path):
    """In each source, an empty file, a binary file, a gzip and an Excel workbook named .csv, a .xlsx, a 1.1 MB
    field and a line over DuckDB's 2 MB limit. Each gets a clear error naming the file (the long line quarantined
    with its record number, the 1.1 MB field loaded whole), the good file loads and every file reconciles."""
    spec = sources[source]
    root = tmp_path / "inbox"
    good = spec.good(root, "good.csv", 0)
    folder = good.parent
    (folder / "empty.csv").write_bytes(b"")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 16)
    (folder / "compressed.csv").write_bytes(gzip.compress(spec.write(tmp_path / "plain", "x.csv",
                                                                     spec.records(1)).read_bytes()))
    (folder / "workbook.csv").write_bytes(_xlsx())
    (folder / "workbook.xlsx").write_bytes(_xlsx())
    records = spec.records(2)
    long_at = spec.header_record() + 3  # record number of the row holding the long field
    records[long_at - 1][spec.text_column] = "x" * 1_100_000  # over a million characters: still one CSV field
    wide = spec.write(root, "wide_field.csv", records)
    records = spec.records(3)
    records[long_at - 1][spec.text_column] = "y" * 2_500_000  # over DuckDB's 2,000,000-byte line
    too_long = spec.write(root, "too_long_line.csv", records)
    con, _ = load(source, root, tmp_path / "w.duckdb")
    logged = load_log(con)
    expected = {"empty.csv": "[FILE_EMPTY] the file is empty",
                "binary.csv": "[FILE_NOT_CSV] binary content (NUL bytes)",
                "compressed.csv": "[FILE_NOT_CSV] this file is gzip-compressed: unpack it",
                "workbook.csv": "[FILE_NOT_CSV] this is a zip/xlsx spreadsheet",
                "workbook.xlsx": "[UNKNOWN_KIND] not a .csv file (.xlsx)"}
    for name, error in expected.items():
        row = logged[str(folder / name)]
        assert row["status"] == "failed" and row["error"].startswith(error), (name, row["error"])
    assert_loaded_whole(con, spec, good)
    assert_loaded_whole(con, spec, wide)
    kept = con.execute("select count(*) from audit.quarantine where path = ?", [str(too_long)]).fetchone()[0]
    if kept == 0:  # the long row landed whole
        assert_loaded_whole(con, spec, too_long)
    else:  # or it is quarantined, naming its record
        row = logged[str(too_long)]
        assert row["status"] == "loaded_with_quarantine"
        quarantined = con.execute("select row_number, rule from audit.quarantine where path = ?",
                                  [str(too_long)]).fetchall()
        assert (long_at, "UNPARSABLE_ROW") in quarantined
        assert row["rows_read"] == len(records) - spec.header_record()
    assert_reconciles(con)


# ------------------------------------------------------------------------------------------------ SQL and paths
PATH_NAME = re.compile(r"(path|file|file_?name|folder|dir|directory|inbox|readable|target|db|database)s?$", re.IGNORECASE)
READS = re.compile(r"(read_csv|read_csv_auto|read_parquet|read_json|read_json_auto|sniff_csv|glob|read_text|"
                   r"read_blob)\s*\(\s*'?$|\battach\s+'?$|\bto\s+'?$|\bfrom\s+'$", re.IGNORECASE)
SQL = re.compile(r"\b(select|insert\s+into|create\s|copy\s|attach\s|delete\s+from|update\s+\w+\s+set|read_csv|"
                 r"read_parquet|install\s|load\s)", re.IGNORECASE)


def _last_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str" and node.args:
        node = node.args[0]
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _last_name(node.value)
    return None


def _added(node: ast.AST) -> list:
    """The operands of a chain of +, in order, f-strings opened into their parts."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _added(node.left) + _added(node.right)
    return list(node.values) if isinstance(node, ast.JoinedStr) else [node]


def _quoting_helper(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "sql_path"


def pasted_paths(source: str) -> list[tuple[int, str]]:
    """(line, text) of each f-string (or + concatenation) of SQL that pastes a path into the statement: an
    interpolation quoted like a string literal whose name says path/file/folder/..., or any interpolation read
    as a file by read_csv/read_parquet/ATTACH/COPY ... TO, unless it goes through the quoting helper sql_path."""
    found = []
    for node in ast.walk(ast.parse(source)):
        pieces: list = []
        if isinstance(node, ast.JoinedStr):
            pieces = list(node.values)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            pieces = _added(node)
        if not pieces:
            continue
        text = "".join(p.value if isinstance(p, ast.Constant) and isinstance(p.value, str) else "{}" for p in pieces)
        if not SQL.search(text):
            continue
        before = ""
        for index, piece in enumerate(pieces):
            if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                before += piece.value
                continue
            value = piece.value if isinstance(piece, ast.FormattedValue) else piece
            after = pieces[index + 1] if index + 1 < len(pieces) else None
            after_text = after.value if isinstance(after, ast.Constant) and isinstance(after.value, str) else ""
            quoted = before.endswith("'") and after_text.startswith("'")
            name = _last_name(value)
            if not _quoting_helper(value) and (READS.search(before) or (quoted and name and PATH_NAME.search(name))):
                found.append((node.lineno, ast.unparse(node)[:160]))
                break
            before += "{}"
    return sorted(set(found))


def test_the_sql_detector_finds_pasted_paths():
    """SQL that pastes a path or file name into its text, beside SQL that passes them as parameters. The detector
    the next test runs finds every one of the first and none of the second."""
    bad = ['con.execute(f"select * from read_csv(\'{path}\', header = true)")',
           'con.execute(f"copy (select 1) to \'{target.units}\' (format parquet)")',
           'con.execute(f"attach \'{db}\' as w")',
           'con.execute(f"attach {str(self.db)} as w")',
           'con.execute("select * from read_parquet(\'" + str(folder) + "\')")',
           'con.execute(f"insert into t select * from x where source_file = \'{outcome.path}\'")',
           'con.execute(f"select * from read_csv({paths[0]!r})")']
    good = ['con.execute("select * from read_csv(?)", [str(path)])',
            'con.execute(f"attach {sql_path(warehouse.db)} as warehouse (read_only)")',
            'con.execute(f"select * from read_csv(?, new_line = \'{line_ending(path)}\')", [str(path)])',
            'raise ValueError(f"folder \'{folder}\' names no local authority")',
            'con.execute(f"select {level}, count(*) from units group by {level}")']
    assert [bool(pasted_paths(code)) for code in bad] == [True] * len(bad)
    assert [bool(pasted_paths(code)) for code in good] == [False] * len(good)


def test_no_sql_pastes_a_path_or_a_file_name():
    """SQL built by pasting a path or file name from the inbox (an injection). No line of ingest/, orchestration/ or
    exports/ does: paths go in as parameters."""
    found = []
    for package in ("ingest", "orchestration", "exports"):
        for path in sorted((REPO / package).rglob("*.py")):
            for line, text in pasted_paths(path.read_text(encoding="utf-8")):
                found.append(f"{path.relative_to(REPO)}:{line}: {text}")
    assert found == [], "SQL built with a path pasted in (use a ? / $name parameter, or sql_path for ATTACH / " \
                        "COPY targets from config):\n" + "\n".join(found)


# ------------------------------------------------------------------------------------------------ one build
class Writer(threading.Thread):
    """A copy still in progress: a line appended every few milliseconds while the build runs."""

    def __init__(self, path: Path, line: str):
        super().__init__(daemon=True)
        self.path, self.line, self.done = path, line, threading.Event()

    def run(self):
        while not self.done.is_set():
            with open(self.path, "a", encoding="utf-8", newline="") as handle:
                handle.write(self.line)
            time.sleep(0.005)


@pytest.mark.xdist_group("inbox-faults-build")
def test_a_hostile_inbox_builds_and_publishes_the_good_files(tmp_path, sources, dbt_manifest):
    """A whole build over a hostile inbox: attacking names, links out, a file written while the build runs, empty,
    binary, gzip and Excel files, a 1.1 MB field. The build publishes (exit 0 or 3), the good files load whole, each
    hostile file is in audit.load_log with its rule, nothing is written outside the inbox and the warehouse folder,
    and every file reconciles."""
    root = tmp_path / "inbox"
    outside = tmp_path / "outside"
    spend_spec, costs_spec = sources["spend"], sources["placement_costs"]
    # good files: one Ofsted register, one council's ledger, and ledger parts under attacking names
    (root / "ofsted").mkdir(parents=True)
    register = root / "ofsted" / "provider_at_march_2021.csv"
    shutil.copy(OFSTED_FILES / register.name, register)
    calderdale = root / "spend" / "Calderdale"
    calderdale.mkdir(parents=True)
    shutil.copy(SPEND_FILE, calderdale / "calderdale 2022-06.csv")
    named = [spend_spec.write(root, name, spend_spec.records(part, 5))
             for part, name in enumerate(("it's \"quoted\" é ü ŵ.csv", "'; drop table marts.x; --.csv", "*.csv"))]
    records = spend_spec.records(3, 5)
    records[2][spend_spec.text_column] = "z" * 1_100_000
    wide = spend_spec.write(root, "wide field.csv", records)
    # hostile files, each with the rule it must be refused with
    spend_spec.write(outside, "secret.csv", spend_spec.records(4, 5))
    (outside / "spend" / "Calderdale" / "leaked.csv").write_bytes(b"never,read\n")
    hostile = {
        "ofsted/empty.csv": ("FILE_EMPTY", lambda p: p.write_bytes(b"")),
        "ofsted/binary.csv": ("FILE_NOT_CSV", lambda p: p.write_bytes(bytes(range(256)) * 8)),
        "ofsted/register_2024.csv": ("FILE_NOT_CSV", lambda p: p.write_bytes(
            gzip.compress(register.read_bytes()[:20000]))),
        "ofsted/register_2024_book.csv": ("FILE_NOT_CSV", lambda p: p.write_bytes(_xlsx())),
        "ofsted/register_2024.xlsx": ("UNKNOWN_KIND", lambda p: p.write_bytes(_xlsx())),
        "spend/Calderdale/link_out.csv": ("FILE_OUTSIDE_INBOX", lambda p: p.symlink_to(
            outside / "spend" / "Calderdale" / "secret.csv")),
        "spend/Calderdale/up.csv": ("FILE_OUTSIDE_INBOX", lambda p: p.symlink_to(
            Path("..") / ".." / ".." / "outside" / "spend" / "Calderdale" / "leaked.csv")),
        "spend/Leeds": ("FILE_OUTSIDE_INBOX", lambda p: p.symlink_to(outside / "spend" / "Calderdale")),
        "spend/E99999999/x.csv": ("UNKNOWN_LA", lambda p: write_to(p, spend_spec.records(5, 5))),
        "spend/Calderdale/zz still copying.csv": ("FILE_CHANGING", lambda p: spend_spec.write(
            root, p.name, spend_spec.records(6, 5))),
        "ssda903/999/2024/header.csv": ("UNKNOWN_LA", lambda p: p.write_bytes(
            SSDA903_HEADER.read_bytes()[:2000].rsplit(b"\n", 1)[0] + b"\n")),
        "placement_costs/Devon/link.csv": ("FILE_OUTSIDE_INBOX", lambda p: p.symlink_to(
            costs_spec.write(outside, "costs.csv", costs_spec.records(0)))),
    }
    for name, (_, make) in hostile.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        make(root / name)
    (root / "spend" / ".DS_Store").write_bytes(b"\x00\x00")
    (calderdale / "calderdale 2022-07.csv.part").write_bytes(b"half a file")
    db = tmp_path / "wh" / "warehouse.duckdb"
    parent = tmp_path.parent
    before = tree(parent)
    writer = Writer(calderdale / "zz still copying.csv", ",".join(spend_spec.rows[100]) + "\r\n")
    writer.start()
    try:
        build = run_build(root, db)
    finally:
        writer.done.set()
        writer.join()
    assert build.returncode in (0, 3), build.output[-6000:]
    assert "still being written: spend/Calderdale/zz still copying.csv, left for the next run" in build.output
    assert "skipped spend/.DS_Store" in build.output and "calderdale 2022-07.csv.part" in build.output

    after = tree(parent)
    created = {p for p in set(after) - set(before)}
    inside = str((tmp_path / "wh").relative_to(parent))
    assert {p for p in created if not p.startswith(inside)} == set()  # nothing written beside the warehouse
    changed = {p for p in set(before) & set(after) if before[p] != after[p]}
    assert changed <= {str((calderdale / "zz still copying.csv").relative_to(parent))}  # only the copy went on
    assert set(before) - set(after) == set()

    inbox_real = str(root.resolve())
    with duckdb.connect(str(db), read_only=True) as con:
        logged = load_log(con)
        for name, (rule, _) in hostile.items():
            row = logged[str(root.resolve() / name)]
            assert row["status"] == "failed" and row["error"].startswith(f"[{rule}]"), (name, row["error"])
        assert not [p for p in logged if not p.startswith(inbox_real + "/")]
        assert not [p for p in logged if ".DS_Store" in p or p.endswith(".part")]
        assert_reconciles(con)
        # the good files loaded, every record counted again here with the csv module
        records = read_records(register)
        header = next(i for i, r in enumerate(records) if "URN" in [c.strip() for c in r])
        row = logged[str(register)]
        assert row["rows_read"] == len(records) - header - 1 == row["rows_loaded"] + row["rows_quarantined"]
        assert raw_rows(con, "raw.ofsted_providers", register) == row["rows_loaded"] > 0
        staged = con.execute("select count(*) from staging.stg_ofsted__providers where source_file = ?",
                             [str(register)]).fetchone()[0]
        assert staged == row["rows_loaded"]
        for path in [calderdale / "calderdale 2022-06.csv", *named, wide]:
            row = logged[str(path)]
            lines = [r for r in read_records(path)[1:] if r]
            assert row["status"] in GOOD and row["rows_read"] == len(lines), (path.name, row["error"])
            assert raw_rows(con, "raw.spend_lines", path) == row["rows_loaded"], path.name
        assert con.execute("select count(*) from raw.spend_lines where source_file = ? and contains(description, ?)",
                           [str(wide), "z" * 1_100_000]).fetchone()[0] == 1  # the million-character field, whole
        for table in ("raw.ofsted_providers", "raw.spend_lines", "raw.ssda903_header", "raw.placement_costs"):
            assert con.execute(f"select count(*) from {table} where source_file not like ?",
                               [inbox_real + "/%"]).fetchone()[0] == 0, table
        assert con.execute("select count(*) from information_schema.tables where table_schema = 'marts'"
                           ).fetchone()[0] > 10
