"""Spend over £500 ingest (ingest/spend.py) on the councils' real files, the demo's faulty files and small bad
files of our own: every file reconciles, bad rows are quarantined by rule, bad files fail with a clear message
naming the file, other files still load. Expected counts and sums are computed here from the CSV files with the
csv module and Decimal, never from the loader."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from demo.finance_faults import write as write_faults
from ingest import spend

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "tests" / "fixtures" / "real" / "spend"
REAL_FILES = {"Calderdale": sorted(REAL.glob("calderdale_*.csv")), "Manchester": sorted(REAL.glob("manchester_*.csv"))}


def csv_records(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))


def data_records(path: Path, header_index: int = 0, encoding: str = "utf-8-sig") -> list[list[str]]:
    """Records below the header that hold anything (the csv module's own count of ledger lines)."""
    return [r for r in csv_records(path, encoding)[header_index + 1:] if r]


def load(inbox: Path, db: Path, load_id: str = "test-load"):
    con = duckdb.connect(str(db))
    outcomes = spend.load_folder(con, inbox / "spend", load_id)
    return con, {o.path.name: o for o in outcomes}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    base = tmp_path_factory.mktemp("spend-real")
    for la, files in REAL_FILES.items():
        (base / "inbox" / "spend" / la).mkdir(parents=True)
        for f in files:
            shutil.copy(f, base / "inbox" / "spend" / la / f.name)
    con, outcomes = load(base / "inbox", base / "w.duckdb")
    yield con, outcomes
    con.close()


def test_real_files_every_line_accounted_for(real):
    con, outcomes = real
    assert set(outcomes) == {f.name for files in REAL_FILES.values() for f in files}
    for files in REAL_FILES.values():
        for path in files:
            o = outcomes[path.name]
            expected = len(data_records(path))
            assert o.status == "loaded", (path.name, o.error, o.notes)
            assert o.rows_read == expected
            assert o.rows_read == o.rows_loaded + o.rows_quarantined
            logged = con.execute("select rows_read, rows_loaded, rows_quarantined, status from audit.load_log "
                                 "where file_name = ?", [path.name]).fetchone()
            assert logged == (expected, o.rows_loaded, o.rows_quarantined, "loaded")
            landed = con.execute("select count(*) from raw.spend_lines where source_file like ?",
                                 [f"%{path.name}"]).fetchone()[0]
            assert landed == o.rows_loaded


def test_real_amounts_and_dates_as_published(real):
    con, _ = real
    for la, files in REAL_FILES.items():
        for path in files:
            records = csv_records(path)
            header = [c.replace("\u00ef\u00bb\u00bf", "") for c in records[0]]
            amount_at = header.index("Net Amount")
            date_at = header.index("Date" if la == "Calderdale" else "Invoice Payment Date")
            expected_total = sum(Decimal(r[amount_at]) for r in records[1:] if r)
            expected_dates = sorted({r[date_at] for r in records[1:] if r})
            total, first, last = con.execute(
                "select sum(amount), strftime(min(payment_date), '%Y-%m-%d'), strftime(max(payment_date), '%Y-%m-%d') "
                "from raw.spend_lines where source_file like ?", [f"%{path.name}"]).fetchone()
            assert total == expected_total
            assert (first, last) == (expected_dates[0], expected_dates[-1])
    # Calderdale's credits are negative amounts; Manchester withholds individuals' names.
    assert con.execute("select count(*) from raw.spend_lines where amount < 0 and la_gss_code = 'E08000033'"
                       ).fetchone()[0] > 0
    assert con.execute("select count(*) from raw.spend_lines where supplier_name = 'Redacted Personal Information'"
                       ).fetchone()[0] > 0


def test_row_numbers_point_at_the_published_record(real):
    con, _ = real
    rows = con.execute("select source_file, source_row_number, transaction_id, amount_text, supplier_name, "
                       "la_gss_code, file_sha256, load_id from raw.spend_lines").fetchall()
    records = {}
    for source_file, number, txn, amount_text, supplier, la, sha, load_id in rows:
        if source_file not in records:
            records[source_file] = csv_records(Path(source_file))
        record = records[source_file][number - 1]
        assert txn in record and amount_text in record
        assert supplier is None or supplier in [c.strip() for c in record]
        assert la in ("E08000033", "E08000003") and len(sha) == 64 and load_id == "test-load"


def test_real_columns_mapped_by_synonym(real):
    con, _ = real
    cal = con.execute("select body_name, company_number is not null, service_area, expense_type, expense_code "
                      "from raw.spend_lines where la_gss_code = 'E08000033' and transaction_id = '31517688'"
                      ).fetchone()
    assert cal == ("The Borough of Calderdale", False, "Adult Services and Wellbeing-Adult Health & Social Care",
                   "Private Contractors", "88765599")
    man = con.execute("select body_name, service_area, expense_type, supplier_name from raw.spend_lines "
                      "where la_gss_code = 'E08000003' and transaction_id = '1700133884'").fetchone()
    assert man == ("Manchester City Council", "Regeneration Finance", "Gas", "SEFE ENERGY Ltd")


def test_loading_again_adds_nothing_and_a_renamed_copy_is_a_duplicate(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "spend" / "Calderdale").mkdir(parents=True)
    first = REAL_FILES["Calderdale"][0]
    shutil.copy(first, inbox / "spend" / "Calderdale" / first.name)
    con, outcomes = load(inbox, tmp_path / "w.duckdb")
    n = con.execute("select count(*) from raw.spend_lines").fetchone()[0]
    assert n == len(data_records(first))
    assert spend.load_folder(con, inbox / "spend", "again") == []
    shutil.copy(first, inbox / "spend" / "Calderdale" / "copy of it.csv")
    again = {o.path.name: o for o in spend.load_folder(con, inbox / "spend", "third")}
    assert again["copy of it.csv"].status == "duplicate"
    assert con.execute("select count(*) from raw.spend_lines").fetchone()[0] == n
    con.close()


# ------------------------------------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    base = tmp_path_factory.mktemp("spend-faults")
    inbox = base / "inbox"
    write_faults(inbox)
    shutil.rmtree(inbox / "placement_costs")
    folder = inbox / "spend"
    # Our own: a spreadsheet saved as .csv, an unknown LA, a file outside any LA folder, a good file beside a
    # bad one in one LA, a quoted line break inside a value, a cut-off file, a file of rows ending in commas.
    (folder / "Devon").mkdir()
    (folder / "Devon" / "spend_2023-05.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200)
    (folder / "Devon" / "Devon spend May 2023.csv").write_text(
        "Date,Transaction No,Supplier,Amount,Expense Type,Service Area\n"
        "05/05/2023,9001,Keys Child Care Ltd,\"£1,500.00\",Residential Placements,Children's Services\n"
        "06/05/2023,9002,\"Npower\nNorth\",£600.00,Electricity,Corporate\n"
        "07/05/2023,9003,Acme Ltd,£700.00,Stationery,Corporate\n", encoding="utf-8")
    (folder / "Narnia").mkdir()
    (folder / "Narnia" / "spend_2023-05.csv").write_text("Date,Supplier,Amount\n2023-05-01,A,1\n")
    (folder / "loose_file_2023-05.csv").write_text("Date,Supplier,Amount\n2023-05-01,A,1\n")
    (folder / "Torbay").mkdir()
    (folder / "Torbay" / "torbay_2023-06_cut.csv").write_bytes(
        b"Date,Supplier,Amount,Transaction Number\n2023-06-01,A Ltd,100.00,1\n2023-06-02,B Ltd,200.00,2\n"
        b"2023-06-03,C Ltd,30")
    (folder / "Torbay" / "torbay_2023-07_trailing_commas.csv").write_bytes(
        b"Date,Supplier,Amount,Transaction Number\n2023-07-01,A Ltd,100.00,1,\n2023-07-02,B Ltd,200.00,2,\n"
        b",,,,\n")
    (folder / "Torbay" / "torbay.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    con, outcomes = load(inbox, base / "w.duckdb")
    yield inbox, con, outcomes
    con.close()


def _quarantine(con, name):
    return {(row, rule): json.loads(values) if values else None for row, rule, values in con.execute(
        "select row_number, rule, raw_values from audit.quarantine where path like ? order by row_number",
        [f"%{name}"]).fetchall()}


def test_every_file_reconciles_or_fails_with_its_name(faults):
    inbox, con, outcomes = faults
    for o in outcomes.values():
        assert o.rows_read == o.rows_loaded + o.rows_quarantined, o.path
        if o.status == "failed":
            assert o.rows_read == 0 and o.error.startswith("[")
    logged = con.execute("select count(*) from audit.load_log where rows_read <> rows_loaded + rows_quarantined"
                         ).fetchone()[0]
    assert logged == 0
    errors = {Path(path).relative_to(inbox / "spend").as_posix(): error for path, error in con.execute(
        "select path, error from audit.load_log where status = 'failed'").fetchall()}
    assert errors["Luton/E06000032_spend_over_500_Jun2023.csv"].startswith("[FILE_NOT_CSV]")  # an HTML page
    assert "HTML" in errors["Luton/E06000032_spend_over_500_Jun2023.csv"]
    assert errors["Devon/spend_2023-05.csv"].startswith("[FILE_NOT_CSV]")
    assert "xlsx" in errors["Devon/spend_2023-05.csv"]
    norfolk = errors["Norfolk/Norfolk_payments_July_2023_bands.csv"]
    # amounts published as bands only: no per-payment amount, so not a payments ledger
    assert norfolk.startswith("[NOT_A_LEDGER]") and "amount" in norfolk and "Value Band" in norfolk
    assert errors["Narnia/spend_2023-05.csv"].startswith("[UNKNOWN_LA]") and "Narnia" in errors["Narnia/spend_2023-05.csv"]
    assert errors["loose_file_2023-05.csv"].startswith("[WRONG_FOLDER]")
    assert errors["Torbay/torbay.xlsx"].startswith("[UNKNOWN_KIND]")
    assert len(errors) == 6


def test_other_files_still_load(faults):
    inbox, con, outcomes = faults
    expected = {  # file -> lines the csv module finds under the header (title lines skipped by hand)
        "Essex_spend_over_500_Jul2023_with_title.csv": (4, "utf-8"),
        "Suffolk payments over £500 August 2023.csv": (0, "cp1252"),
        "Thurrock_spend_Jul2023.csv": (0, "utf-8"),
        "Thurrock_spend_Q1_2023-24_revised.csv": (0, "utf-8"),
        "Plymouth City Council Spend over 500 June 2023 (export).csv": (0, "utf-8"),
        "Devon spend May 2023.csv": (0, "utf-8"),
    }
    paths = {p.name: p for p in (inbox / "spend").rglob("*.csv")}
    for name, (header_index, encoding) in expected.items():
        o = outcomes[name]
        assert o.status == "loaded", (name, o.error)
        assert o.rows_read == o.rows_loaded == len(data_records(paths[name], header_index, encoding))
    assert outcomes["Essex_spend_over_500_Jul2023_with_title.csv"].header_record == 5
    assert outcomes["Suffolk payments over £500 August 2023.csv"].encoding == "cp1252"


def test_suffolk_credits_and_dates(faults):
    _, con, _ = faults
    rows = dict(con.execute("select transaction_id, amount from raw.spend_lines where la_gss_code = 'E10000029'"
                            ).fetchall())
    assert rows == {"554001": Decimal("3401.20"), "554002": Decimal("22150.00"), "554003": Decimal("-1200.00"),
                    "554004": Decimal("12400.10"), "554005": Decimal("-980.00"), "554006": Decimal("1113.00")}
    days = {str(d) for (d,) in con.execute("select payment_date from raw.spend_lines where la_gss_code = 'E10000029'"
                                           ).fetchall()}
    assert days == {"2023-08-04", "2023-08-10", "2023-08-15", "2023-08-22", "2023-08-29"}


def test_bad_rows_quarantined_by_rule_with_file_and_row(faults):
    _, con, outcomes = faults
    o = outcomes["somerset_spend_2023-09_faulty.csv"]
    assert (o.rows_read, o.rows_loaded, o.rows_quarantined) == (6, 4, 2)
    q = _quarantine(con, "somerset_spend_2023-09_faulty.csv")
    assert set(q) == {(4, "AMOUNT_NOT_NUMBER"), (5, "EXTRA_FIELDS")}
    assert q[(4, "AMOUNT_NOT_NUMBER")]["amount"] == "see attached"
    message = con.execute("select message from audit.quarantine where rule = 'AMOUNT_NOT_NUMBER'").fetchone()[0]
    assert "see attached" in message
    # The October-dated row of the September file is kept and flagged, and the load log names its row.
    flagged = con.execute("select source_row_number, warning_rules from raw.spend_lines "
                          "where source_file like '%somerset_spend_2023-09%' and warning_rules is not null").fetchall()
    assert flagged == [(6, "DATE_OUTSIDE_PERIOD")]
    assert "DATE_OUTSIDE_PERIOD" in "; ".join(o.notes) and "rows 6" in "; ".join(o.notes)
    # Rows with a comma too many, a cut-off last row, an all-empty row.
    cut = outcomes["torbay_2023-06_cut.csv"]
    assert (cut.rows_read, cut.rows_loaded, cut.rows_quarantined) == (3, 2, 1)
    assert set(_quarantine(con, "torbay_2023-06_cut.csv")) == {(4, "TRUNCATED_ROW")}
    trailing = outcomes["torbay_2023-07_trailing_commas.csv"]
    assert (trailing.rows_read, trailing.rows_loaded, trailing.rows_quarantined) == (3, 2, 1)
    assert set(_quarantine(con, "torbay_2023-07_trailing_commas.csv")) == {(4, "BLANK_ROW")}


def test_a_value_with_a_line_break_keeps_row_numbers(faults):
    _, con, _ = faults
    rows = con.execute("select source_row_number, transaction_id, supplier_name from raw.spend_lines "
                       "where source_file like '%Devon spend May 2023.csv' order by 1").fetchall()
    assert rows == [(2, "9001", "Keys Child Care Ltd"), (3, "9002", "Npower\nNorth"), (4, "9003", "Acme Ltd")]


def test_overlapping_files_both_land_with_their_period(faults):
    _, con, _ = faults
    periods = dict(con.execute("select distinct source_file, period_start::varchar || '..' || period_end::varchar "
                               "from raw.spend_lines where la_gss_code = 'E06000034'").fetchall())
    assert {Path(k).name: v for k, v in periods.items()} == {
        "Thurrock_spend_Jul2023.csv": "2023-07-01..2023-07-31",
        "Thurrock_spend_Q1_2023-24_revised.csv": "2023-04-01..2023-06-30"}
    flagged = con.execute("select count(*) from raw.spend_lines where source_file like '%Q1_2023-24%' "
                          "and warning_rules = 'DATE_OUTSIDE_PERIOD'").fetchone()[0]
    assert flagged == 4  # the July transactions repeated in the quarter file


def test_amounts_summed_per_file_match_plain_python(faults):
    inbox, con, outcomes = faults
    def pennies(text):
        t = text.replace("£", "").replace(",", "").strip()
        negative = t.startswith("(") or t.endswith("-") or t.startswith("-")
        return -abs(Decimal(t.strip("()-"))) if negative else Decimal(t)
    for name, amount_header, encoding in (("Essex_spend_over_500_Jul2023_with_title.csv", "Amount", "utf-8"),
                                          ("Suffolk payments over £500 August 2023.csv", "Amount", "cp1252"),
                                          ("Thurrock_spend_Q1_2023-24_revised.csv", "Amount", "utf-8")):
        path = next((inbox / "spend").rglob(name))
        records = [r for r in csv_records(path, encoding) if r]
        header_at = next(i for i, r in enumerate(records) if amount_header in r)
        at = records[header_at].index(amount_header)
        expected = sum(pennies(r[at]) for r in records[header_at + 1:])
        got = con.execute("select sum(amount) from raw.spend_lines where source_file like ?", [f"%{name}"]
                          ).fetchone()[0]
        assert got == expected, name


@pytest.mark.parametrize("line_end", ["\r\n", "\n"])
def test_a_header_cell_with_a_line_break_still_loads_every_line(tmp_path, line_end):
    """Calderdale's June file re-saved with 'Net\\nAmount' as a quoted header cell: DuckDB's line-ending guess is
    misled by it and would read no rows at all without saying so; every line must still load."""
    source = REAL_FILES["Calderdale"][0]
    records = csv_records(source)
    records[0][records[0].index("Net Amount")] = "Net\nAmount"
    target = tmp_path / "inbox" / "spend" / "Calderdale" / source.name
    target.parent.mkdir(parents=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator=line_end).writerows(records)
    con, outcomes = load(tmp_path / "inbox", tmp_path / "w.duckdb")
    outcome = outcomes[source.name]
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded) == ("loaded", len(records) - 1, len(records) - 1)
    expected = sum(Decimal(r[records[0].index("Net\nAmount")]) for r in records[1:])
    assert con.execute("select sum(amount) from raw.spend_lines").fetchone()[0] == expected


# ------------------------------------------------------------------------------------------------ classification
LAYOUTS = REAL / "layouts"
# file -> its classification columns in the order spend_columns.yml lists their names (ProClass, Thomson, SeRCOP /
# BVACOP, merchant category), as read off each file's header by hand
CLASSIFIED = {
    REAL / "calderdale_clean_2022-06.csv": ["Proclass", "BVACOP"],  # published, empty on every line
    LAYOUTS / "sheffield_2011-01.csv": ["Proclass Details Level 1", "Thomson Classification Description"],
    LAYOUTS / "calderdale_card_2014-10.csv": ["Merchant Category", "Merchant Category Group"],
    LAYOUTS / "gla_2015-P05.csv": ["Service Expenditure Analysis"],
}


@pytest.fixture(scope="module")
def classified(tmp_path_factory):
    base = tmp_path_factory.mktemp("spend-classified")
    (base / "inbox" / "spend" / "Calderdale").mkdir(parents=True)
    for path in CLASSIFIED:
        shutil.copy(path, base / "inbox" / "spend" / "Calderdale" / path.name)
    con, outcomes = load(base / "inbox", base / "w.duckdb")
    yield con, outcomes
    con.close()


@pytest.mark.parametrize("path", sorted(CLASSIFIED), ids=lambda p: p.name)
def test_every_classification_column_is_read_in_the_listed_order(classified, path):
    con, outcomes = classified
    assert outcomes[path.name].status == "loaded", outcomes[path.name].error
    records = csv_records(path)
    header = [cell.replace("\u00ef\u00bb\u00bf", "") for cell in records[0]]
    at = [header.index(name) for name in CLASSIFIED[path]]
    expected = {number: " | ".join(v for v in (records[number - 1][i].strip() for i in at) if v) or None
                for number in range(2, len(records) + 1) if records[number - 1]}
    got = dict(con.execute("select source_row_number, classification from raw.spend_lines where source_file like ?",
                           [f"%{path.name}"]).fetchall())
    assert got == expected
    if path.name.startswith("calderdale_clean"):
        assert set(got.values()) == {None}
    else:
        assert None not in got.values()


def test_classification_columns_by_name_never_steal_another_fields_column():
    header = ["Payment Date", "Supplier Name", "Amount", "ProClass Level 2 Description", "Merchant Name", "Category",
              "Merchant Category", "BVACOP Code", "Proclass", "Purpose of Spend", "SeRCOP"]
    mapping, unused = spend.map_columns(header)
    # the listed names first, in the listed order (Proclass, SeRCOP, Merchant Category), then names holding one
    # of the words, in the header's order
    assert mapping["classification"] == (8, 10, 6, 3, 7)
    assert mapping["expense_type"] == (5,) and mapping["description"] == (9,) and mapping["supplier_name"] == (1,)
    assert unused == ["Merchant Name"]
    # a role chosen by content keeps its column even if its name holds a classification word
    mapping, _ = spend.map_columns(header, {"date": 0, "amount": 2, "supplier_name": 6})
    assert mapping["supplier_name"] == (6,) and 6 not in mapping["classification"]


def test_a_warehouse_made_before_classification_gets_the_column(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(spend.RAW_DDL.replace("    classification varchar,\n", ""))  # the table as it was before
    con.execute("insert into raw.spend_lines (la_gss_code, payment_date, amount, period_start, period_end, "
                "period_from, source_file, file_sha256, source_row_number, load_id) values ('E08000006', "
                "'2011-01-04', 1, '2011-01-01', '2011-01-31', 'file name', 'old.csv', 'x', 2, 'old')")
    con.close()
    source = LAYOUTS / "sheffield_2011-01.csv"
    (tmp_path / "inbox" / "spend" / "Salford").mkdir(parents=True)
    shutil.copy(source, tmp_path / "inbox" / "spend" / "Salford" / source.name)
    con, outcomes = load(tmp_path / "inbox", db)
    assert outcomes[source.name].status == "loaded", outcomes[source.name].error
    records = csv_records(source)
    first = records[1]
    row = con.execute("select supplier_name, amount_text, classification from raw.spend_lines "
                      "where source_row_number = 2 and load_id = 'test-load'").fetchone()
    assert row == (first[records[0].index("Supplier Name")], first[records[0].index("Invoiced Value")],
                   f"{first[records[0].index('Proclass Details Level 1')]} | "
                   f"{first[records[0].index('Thomson Classification Description')]}")
    assert con.execute("select classification from raw.spend_lines where load_id = 'old'").fetchone() == (None,)
    con.close()


# ------------------------------------------------------------------------------------------------ header by content
LAMBETH_HEADER = "Invoice Creation Date,Supplier Name,Department,Subj Description,Invoice Nett Amount"


@pytest.mark.parametrize("line_end", ["\r\n", "\n"])
def test_a_header_of_unknown_names_is_found_by_the_content_under_it(tmp_path, line_end):
    """Two of the header's names are synonyms (one short of a header by name), under title lines, one of them
    with commas: the header is the record whose next records hold dates, money and names."""
    lines = ["London Borough of Lambeth", "Payments over £500,,,,", "Period: May 2023,,,,", "", LAMBETH_HEADER,
             "02/05/2023,Acme Care Ltd,Children's Services,Residential Placements,\"1,250.00\"",
             "09/05/2023,Brook Homes Ltd,Children's Services,Fostering,2500.10",
             "16/05/2023,\"Keys Group, Ltd\",Corporate,Stationery,(99.99)",
             "23/05/2023,Npower,Corporate,Electricity,600.00"]
    target = tmp_path / "inbox" / "spend" / "Lambeth" / "lambeth_2023-05.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(line_end.join(lines).encode("utf-8") + line_end.encode())
    con, outcomes = load(tmp_path / "inbox", tmp_path / "w.duckdb")
    o = outcomes[target.name]
    assert o.status == "loaded", (o.error, o.notes)
    records = [r for r in csv_records(target)]
    header_at = next(i for i, r in enumerate(records) if r == LAMBETH_HEADER.split(","))
    data = [r for r in records[header_at + 1:] if r]
    assert (o.header_record, o.rows_read, o.rows_loaded) == (header_at + 1, len(data), len(data))
    assert any(note.startswith("header found by content at record 5") for note in o.notes)
    amount_at, supplier_at = LAMBETH_HEADER.split(",").index("Invoice Nett Amount"), 1
    expected = sum(-Decimal(r[amount_at].strip("()")) if r[amount_at].startswith("(")
                   else Decimal(r[amount_at].replace(",", "")) for r in data)
    total, suppliers, rows = con.execute(
        "select sum(amount), list(supplier_name order by source_row_number), "
        "list(source_row_number order by source_row_number) from raw.spend_lines").fetchone()
    assert (total, suppliers) == (expected, [r[supplier_at] for r in data])
    assert rows == [header_at + 2 + i for i in range(len(data))]


def test_a_file_without_any_header_is_still_refused(tmp_path):
    """Records of data from the first line: no record over them names its columns, so there is no header."""
    target = tmp_path / "inbox" / "spend" / "Lambeth" / "lambeth_2023-05.csv"
    target.parent.mkdir(parents=True)
    target.write_text("02/05/2023,Acme Care Ltd,Children,Residential,1250.00\n"
                      "09/05/2023,Brook Homes Ltd,Children,Fostering,2500.10\n", encoding="utf-8")
    _, outcomes = load(tmp_path / "inbox", tmp_path / "w.duckdb")
    o = outcomes[target.name]
    assert o.status == "failed" and o.error.startswith("[HEADER_NOT_FOUND]")
