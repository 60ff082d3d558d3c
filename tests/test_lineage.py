"""`warehouse lineage`: one mart row traced back to its source records, checked against the files themselves.

The demo build (its councils' ledgers written in the layouts councils publish, and the bundled Ofsted register,
built by the real CLI); one row of marts.mart_provider_group_spend is traced by the real CLI in a subprocess, and every
record it lists is re-read from its file here with the csv module (encodings and preambles handled here, by hand):
the amounts at the listed record numbers add up to the row's spend to the penny, and each listed sha256 is the
file's. Record numbers are the warehouse's source_row_number: the 1-based CSV record of the file, title and header
records counted (what csv.reader yields, blank lines included).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[1]
AMOUNT_HEADERS = ("Net Amount", "Amount")  # the amount column of the demo councils' layouts, named by hand
BOM_AS_CP1252 = "\u00ef\u00bb\u00bf"
MART = "mart_provider_group_spend"
CSV_COLUMNS = ["mart", "trace", "contributing_model", "contributing_row", "source_file", "file_sha256",
               "record_number", "load_id", "layers"]


@pytest.fixture(scope="module")
def lineage_build(demo_build):
    """The demo build: its councils' ledgers are CSV files in the layouts councils publish (demo/finance)."""
    assert demo_build.returncode == 0, demo_build.output[-6000:]
    return demo_build


def lineage(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("WAREHOUSE_DB", None)
    return subprocess.run([sys.executable, "-m", "orchestration.cli", "lineage", *args, "--db", str(db)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def records_of(path: Path) -> list[list[str]]:
    """Every CSV record of the file as csv.reader reads it (blank lines are empty records)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return list(csv.reader(io.StringIO(text, newline="")))


def money(text: str) -> Decimal:
    t = text.replace("£", "").replace(",", "").strip()
    negative = t.startswith(("(", "-")) or t.endswith("-")
    value = Decimal(t.strip("()-"))
    return -value if negative else value


def amount_column(records: list[list[str]]) -> tuple[int, int]:
    """(record index of the header, index of its amount column), found by the header's names."""
    for at, record in enumerate(records[:12]):
        cells = [c.replace(BOM_AS_CP1252, "").strip() for c in record]
        for name in AMOUNT_HEADERS:
            if name in cells:
                return at, cells.index(name)
    raise AssertionError("no amount column in the first records")


@pytest.fixture(scope="module")
def traced_row(lineage_build):
    """A grouping x financial year x provider group paid in several lines by two or more of the Peninsula's
    councils, traced with the default CSV path."""
    with lineage_build.connect() as con:
        row = con.execute(
            f"select grouping_type, grouping_name, financial_year, provider_group_id, spend, transactions "
            f"from marts.{MART} where grouping_name = 'Peninsula' and transactions between 5 and 60 "
            f"and buying_las >= 2 order by transactions desc, grouping_type, provider_group_id limit 1").fetchone()
    assert row, "no provider group paid in several lines"
    grouping_type, grouping_name, year, group, spend, transactions = row
    quoted = grouping_name.replace("'", "''")
    before = {p.name for p in (lineage_build.db.parent / "lineage").glob(f"{MART}-*.csv")}
    completed = lineage(lineage_build.db, MART, "--where", f"grouping_type = '{grouping_type}'",
                        "--where", f"grouping_name = '{quoted}' and financial_year = '{year}'",
                        "--where", f"provider_group_id = '{group}'")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    written = [p for p in sorted((lineage_build.db.parent / "lineage").glob(f"{MART}-*.csv"))
               if p.name not in before]
    assert len(written) == 1 and str(written[0]) in completed.stdout
    with open(written[0], newline="", encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    return {"spend": spend, "transactions": transactions, "listed": listed, "stdout": completed.stdout,
            "header": list(listed[0].keys()) if listed else []}


def test_listed_records_add_up_to_the_mart_spend(traced_row):
    listed = traced_row["listed"]
    assert len(listed) == traced_row["transactions"] >= 3
    assert len({(r["source_file"], r["record_number"]) for r in listed}) == len(listed)
    total = Decimal(0)
    files: dict[str, list[list[str]]] = {}
    for r in listed:
        path = Path(r["source_file"])
        if r["source_file"] not in files:
            files[r["source_file"]] = records_of(path)
        records = files[r["source_file"]]
        header_at, amount_at = amount_column(records)
        number = int(r["record_number"])
        assert number > header_at + 1, r  # below the header
        amount = money(records[number - 1][amount_at])
        assert amount == Decimal(r["spend"]), (r["source_file"], number, records[number - 1])
        total += amount
    assert total == traced_row["spend"]  # to the penny: Decimal from the files, decimal(18, 2) from DuckDB
    assert len(files) >= 2
    assert f"traced {traced_row['spend']:,.2f}, mart {traced_row['spend']:,.2f}" in traced_row["stdout"]


def test_listed_sha256_is_the_files(traced_row):
    for name in {r["source_file"] for r in traced_row["listed"]}:
        digest = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        assert {r["file_sha256"] for r in traced_row["listed"] if r["source_file"] == name} == {digest}
        assert "/spend/" in name and name.endswith(".csv")  # a council's ledger in the inbox


def test_each_record_passed_through_every_layer(traced_row):
    assert traced_row["header"][:len(CSV_COLUMNS)] == CSV_COLUMNS
    layers = Counter(r["layers"] for r in traced_row["listed"])
    assert list(layers) == [f"marts.{MART} > intermediate.int_spend__lines_classified > "
                            "intermediate.int_spend__lines_grouped > staging.stg_spend__lines > raw.spend_lines"]
    assert all(r["load_id"] for r in traced_row["listed"])
    # the summary: files with their record counts, and the checks
    for name, n in Counter(r["source_file"] for r in traced_row["listed"]).items():
        assert name in traced_row["stdout"] and f"{n:,} record(s)" in traced_row["stdout"]
    assert "MISMATCH" not in traced_row["stdout"] and "PROBLEM" not in traced_row["stdout"]


@pytest.mark.parametrize(("where", "says"), [
    (["no_such_column = 'x'"], "unknown column 'no_such_column'"),
    (["grouping_name = 'Nowhere At All'"], "no row of marts.mart_provider_group_spend"),
    (["grouping_name = 'x''; drop table marts.mart_la_spend; --'"], "no row of"),
    (["financial_year = '2022-23'"], "rows of marts.mart_provider_group_spend have financial_year = '2022-23': "
                                     "add a --where on one of: grouping_type"),
    (["spend = 'lots'"], "for column 'spend'"),
    (["grouping_name"], "needs '= value'"),
])
def test_bad_conditions_are_clear_errors(lineage_build, where, says):
    args = [a for w in where for a in ("--where", w)]
    completed = lineage(lineage_build.db, MART, *args, "--out", str(lineage_build.db.parent / "never.csv"))
    assert completed.returncode != 0
    assert says in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (lineage_build.db.parent / "never.csv").exists()


def test_marts_without_source_records_say_so(lineage_build):
    completed = lineage(lineage_build.db, "dim_local_authority", "--where", "la_gss_code = 'E08000033'")
    assert completed.returncode == 2 and "cannot be traced" in completed.stderr
    completed = lineage(lineage_build.db, "../../etc/passwd", "--where", "a = 1")
    assert completed.returncode == 2 and "is no mart" in completed.stderr


def test_ssda903_row_traced_to_episode_records(demo_build, tmp_path):
    """A row of marts.mart_placement_imports (children of one LA placed in another's settings on 31 March): the
    records are rows of the LAs' episodes files, one placement or more each, and no child id is written."""
    with demo_build.connect() as con:  # the working warehouse, as lineage reads it (publishing aside)
        year, host, placing, placements = con.execute(
            "select collection_year, host_la_gss_code, placing_la_gss_code, placements "
            "from marts.mart_placement_imports where host_la_gss_code <> placing_la_gss_code and placements >= 5 "
            "order by placements, collection_year, host_la_gss_code, placing_la_gss_code limit 1").fetchone()
    out = tmp_path / "imports.csv"
    completed = lineage(demo_build.db, "mart_placement_imports", "--where",
                        f"collection_year = {year} and host_la_gss_code = '{host}'",
                        "--where", f"placing_la_gss_code = '{placing}'",
                        "--out", str(out))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with open(out, newline="", encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    assert list(listed[0]) == CSV_COLUMNS  # provenance only: no child id, no other column of the child
    assert len({r["contributing_row"] for r in listed}) == placements
    assert all(r["layers"].endswith("> intermediate.int_placement_spells_joined > staging.stg_ssda903__episodes "
                                    "> raw.ssda903_episodes") for r in listed)
    child_ids = set()
    for name in {r["source_file"] for r in listed}:
        path = Path(name)
        assert path.name == "episodes.csv"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == next(r["file_sha256"] for r in listed
                                                                     if r["source_file"] == name)
        records = records_of(path)
        child = records[0].index("CHILD")
        for r in listed:
            if r["source_file"] == name:
                record = records[int(r["record_number"]) - 1]
                assert len(record) == len(records[0]) and record != records[0]
                child_ids.add(record[child])
    cells = {cell for r in listed for cell in r.values()}
    words = set(completed.stdout.split())
    assert child_ids and not child_ids & cells and not child_ids & words
