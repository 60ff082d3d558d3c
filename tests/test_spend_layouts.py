"""Ledgers of any council, read right: the payment date, amount and supplier of ten publishers' layouts chosen
from their content as well as their names, and files that are not payments ledgers refused. Every expected value is
computed here with the csv module from the column a data engineer names (shared/data/spend/layouts/README.md),
never from the loader."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import spend

REPO = Path(__file__).resolve().parents[1]
LAYOUTS = REPO / "tests" / "fixtures" / "real" / "spend" / "layouts"
# file -> (date, amount, supplier) as a data engineer reads them (the shared folder's README)
RIGHT_COLUMNS = {
    "bradford_2017-12.csv": ("Payment date", "Net Amount", "Supplier Name"),
    "cabinetoffice_2022-04.csv": ("Date", "Amount", "Supplier"),
    "calderdale_card_2014-10.csv": ("Transaction Date", "Net Amount", "Supplier Name"),
    "gla_2015-P05.csv": ("Clearing Date", "Amount", "Vendor Name"),
    "harrogate_2016-07.csv": ("Payment date", "Net Amount", "Supplier Name(T)"),
    "manchester_2010-12.csv": ("Invoice Payment Date", "Amount", "Supplier Name"),
    "networkrail_2017-01.csv": ("Invoice GL Date", "Spend", "Supplier Name"),
    "salford_2011-08.csv": ("Date of Payment", "Net", "Supplier Name"),
    "sheffield_2011-01.csv": ("GL Date", "Invoiced Value", "Supplier Name"),
    "tfl_2021-P02.csv": ("Clearing Date", "Amount", "Vendor Name"),
}
CONTRACTS_REGISTER = "salford_2022-07_contracts_register.csv"


def _records(path: Path) -> tuple[list[str], list[dict]]:
    try:
        path.read_bytes().decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError:  # Bradford's file holds cp1252 bytes
        encoding = "cp1252"
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [dict(zip(header, r)) for r in reader if any(cell.strip() for cell in r)]
    return header, rows


def _date(text: str) -> dt.date:
    for form in ("%Y-%m-%d", "%A, %B %d, %Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), form).date()
        except ValueError:
            pass
    raise ValueError(text)


def _load(folder: Path, db: Path) -> tuple[duckdb.DuckDBPyConnection, dict]:
    con = duckdb.connect(str(db))
    outcomes = spend.load_folder(con, folder, "layout-test")
    return con, {o.path.name: o for o in outcomes}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """Every ledger of the layouts folder, dropped into an inbox that holds nothing else."""
    base = tmp_path_factory.mktemp("layouts")
    (base / "spend" / "Salford").mkdir(parents=True)
    for path in LAYOUTS.glob("*.csv"):
        shutil.copy(path, base / "spend" / "Salford" / path.name)
    con, outcomes = _load(base / "spend", base / "w.duckdb")
    yield con, outcomes
    con.close()


@pytest.mark.parametrize("name", sorted(RIGHT_COLUMNS))
def test_every_ledger_is_read_right(layouts, name):
    con, outcomes = layouts
    date_col, amount_col, supplier_col = RIGHT_COLUMNS[name]
    _, rows = _records(LAYOUTS / name)
    outcome = outcomes[name]
    assert outcome.status == "loaded", (outcome.error, outcome.notes)
    assert outcome.rows_read == outcome.rows_loaded == len(rows)
    total, suppliers, first, last = con.execute(
        "select sum(amount), list(distinct supplier_name), min(payment_date), max(payment_date) "
        "from raw.spend_lines where file_sha256 = ?", [outcome.sha256]).fetchone()
    assert total == sum(Decimal(r[amount_col].replace(",", "")) for r in rows)  # to the penny
    assert set(suppliers) == {r[supplier_col].strip() for r in rows if r[supplier_col].strip()}
    dates = [_date(r[date_col]) for r in rows]
    assert (first, last) == (min(dates), max(dates))
    chosen = dict(con.execute("select role, column_name from audit.spend_column_choices where sha256 = ?",
                              [outcome.sha256]).fetchall())
    assert chosen == {"date": date_col, "amount": amount_col, "supplier_name": supplier_col}


def test_the_contracts_register_is_refused_as_not_a_ledger(layouts):
    con, outcomes = layouts
    outcome = outcomes[CONTRACTS_REGISTER]
    assert outcome.status == "failed"
    assert outcome.error.startswith("[NOT_A_LEDGER] not a payments ledger")
    assert "Start Date" in outcome.error and "spend_layouts.yml" in outcome.error
    assert con.execute("select count(*) from raw.spend_lines where source_file like ?",
                       [f"%{CONTRACTS_REGISTER}"]).fetchone()[0] == 0


def test_each_choice_keeps_its_runner_up_and_evidence(layouts):
    con, outcomes = layouts
    amount, runner_up, evidence = con.execute(
        "select column_name, runner_up, evidence from audit.spend_column_choices "
        "where role = 'amount' and sha256 = ?", [outcomes["salford_2011-08.csv"].sha256]).fetchone()
    assert (amount, runner_up) == ("Net", "Gross")  # net over gross, a written rule
    assert '"money_share": 1.0' in evidence


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _loaded(tmp_path: Path, files: dict[str, list[str]], encoding: str = "utf-8", la: str = "Salford"):
    for name, lines in files.items():
        _write(tmp_path / "spend" / la / name, lines, encoding)
    return _load(tmp_path / "spend", tmp_path / "w.duckdb")


def test_camel_case_headers_and_columns_told_apart_by_content(tmp_path):
    """CamelCase names; a 'Value' column of dates is not the amount; an id column of numbers is not the supplier."""
    con, outcomes = _loaded(tmp_path, {"ledger_2023-05.csv": [
        "PaymentDate,Value,VendorName,SupplierName,TransactionAmount",
        "03/05/2023,03/05/2023,Acme Care Ltd,100234,1250.00",
        "17/05/2023,17/05/2023,Brook Homes Ltd,100235,\"£2,500.10\"",
        "31/05/2023,31/05/2023,Acme Care Ltd,100234,(99.99)",
    ]})
    o = outcomes["ledger_2023-05.csv"]
    assert o.status == "loaded", o.error
    rows = con.execute("select payment_date, amount, supplier_name from raw.spend_lines order by source_row_number"
                       ).fetchall()
    assert rows == [(dt.date(2023, 5, 3), Decimal("1250.00"), "Acme Care Ltd"),
                    (dt.date(2023, 5, 17), Decimal("2500.10"), "Brook Homes Ltd"),
                    (dt.date(2023, 5, 31), Decimal("-99.99"), "Acme Care Ltd")]


@pytest.mark.parametrize("dates, expected_month_first", [
    # ambiguous in every row: the file's period (May 2023) says day first
    (["01/05/2023", "02/05/2023", "12/05/2023"], False),
    # ambiguous in every row: read day first they would fall in Jan, Feb and Dec; month first, in May
    (["05/01/2023", "05/02/2023", "05/12/2023"], True),
    # a value over 12 in the first place settles it for the whole column, first rows ambiguous or not
    (["01/05/2023", "02/05/2023", "30/05/2023"], False),
])
def test_day_and_month_order_is_decided_per_column(tmp_path, dates, expected_month_first):
    lines = ["Payment Date,Amount,Supplier Name"] + [f"{d},{100 + i}.00,Supplier {i}" for i, d in enumerate(dates)]
    con, outcomes = _loaded(tmp_path, {"payments_2023-05.csv": lines})
    o = outcomes["payments_2023-05.csv"]
    assert o.status == "loaded", o.error
    got = [d for (d,) in con.execute("select payment_date from raw.spend_lines order by source_row_number").fetchall()]
    form = "%m/%d/%Y" if expected_month_first else "%d/%m/%Y"
    assert got == [dt.datetime.strptime(d, form).date() for d in dates]
    assert ("dates read month first (mm/dd)" in o.notes) == expected_month_first


def test_a_us_dated_column_with_a_day_over_12_is_read_month_first(tmp_path):
    lines = ["Date Paid,Amount,Supplier", "04/03/2023,10.00,A Ltd", "04/28/2023,20.00,B Ltd", "04/30/2023,30.00,C Ltd"]
    con, outcomes = _loaded(tmp_path, {"april_2023.csv": lines})
    assert outcomes["april_2023.csv"].status == "loaded", outcomes["april_2023.csv"].error
    assert con.execute("select min(payment_date), max(payment_date) from raw.spend_lines").fetchone() == \
        (dt.date(2023, 4, 3), dt.date(2023, 4, 30))


def test_the_override_file_wins_over_the_inference(tmp_path, monkeypatch):
    layouts_file = tmp_path / "spend_layouts.yml"
    layouts_file.write_text('layouts:\n  - la: Salford\n    file_pattern: "salford_*"\n'
                            '    columns: {amount: "Gross", date: "Date of Payment", supplier_name: "Supplier Name"}\n')
    monkeypatch.setenv("WAREHOUSE_SPEND_LAYOUTS", str(layouts_file))
    (tmp_path / "spend" / "Salford").mkdir(parents=True)
    shutil.copy(LAYOUTS / "salford_2011-08.csv", tmp_path / "spend" / "Salford")
    con, outcomes = _load(tmp_path / "spend", tmp_path / "w.duckdb")
    _, rows = _records(LAYOUTS / "salford_2011-08.csv")
    assert con.execute("select sum(amount) from raw.spend_lines").fetchone()[0] == \
        sum(Decimal(r["Gross"]) for r in rows)
    assert con.execute("select how from audit.spend_column_choices where role = 'amount'").fetchone()[0] == "override"


def test_a_supplier_column_blank_on_every_line_is_refused_naming_the_fix(tmp_path):
    con, outcomes = _loaded(tmp_path, {"spend_2023-05.csv": [
        "Payment Date,Amount,Supplier Name,Description", "03/05/2023,10.00,,Books", "04/05/2023,20.00,,Fuel"]})
    o = outcomes["spend_2023-05.csv"]
    assert o.status == "failed" and o.error.startswith("[NO_SUPPLIER_COLUMN]")
    assert "Supplier Name" in o.error and "spend_layouts.yml" in o.error and "supplier_name" in o.error
    assert con.execute("select count(*) from raw.spend_lines").fetchone()[0] == 0


def test_a_file_of_digit_suppliers_is_flagged(tmp_path):
    con, outcomes = _loaded(tmp_path, {"spend_2023-05.csv": [
        "Payment Date,Amount,Supplier Name", "03/05/2023,10.00,100234", "04/05/2023,20.00,100235",
        "05/05/2023,30.00,Acme Ltd"]})
    o = outcomes["spend_2023-05.csv"]
    assert o.status == "loaded" and o.rows_loaded == 3
    assert any(note.startswith("SUPPLIER_MOSTLY_DIGITS") for note in o.notes)


def test_a_header_below_title_lines_in_cp1252_loads_every_line(tmp_path):
    lines = ["Salford City Council", "Payments over £500", "Period: May 2023", "Published 1 June 2023",
             "Figures include VAT where not recoverable",
             "Date of Payment,Gross,VAT,Net,Supplier Name", "03/05/2023,\"£1,200.00\",200.00,\"£1,000.00\",Café Ltd",
             "04/05/2023,600.00,100.00,500.00,Bryn Ltd"]
    con, outcomes = _loaded(tmp_path, {"spend_2023-05.csv": lines}, encoding="cp1252")
    o = outcomes["spend_2023-05.csv"]
    assert o.status == "loaded" and (o.rows_read, o.rows_loaded, o.rows_quarantined) == (2, 2, 0)
    assert con.execute("select sum(amount), list(supplier_name order by source_row_number) from raw.spend_lines"
                       ).fetchone() == (Decimal("1500.00"), ["Café Ltd", "Bryn Ltd"])


def test_duplicate_headers_are_told_apart_by_content(tmp_path):
    """Two 'Date' columns (an accounting period code and the payment date) and two 'Amount' columns (a count of
    items and the money): the content decides which is which."""
    con, outcomes = _loaded(tmp_path, {"spend_2023-05.csv": [
        "Date,Date,Supplier Name,Amount,Amount",
        "P02,03/05/2023,Acme Care Ltd,3,1250.50",
        "P02,17/05/2023,Brook Homes Ltd,1,2500.10",
        "P02,31/05/2023,Acme Care Ltd,12,99.99",
    ]})
    o = outcomes["spend_2023-05.csv"]
    assert o.status == "loaded", o.error
    assert con.execute("select sum(amount), min(payment_date), max(payment_date) from raw.spend_lines").fetchone() \
        == (Decimal("3850.59"), dt.date(2023, 5, 3), dt.date(2023, 5, 31))
    chosen = dict(con.execute("select role, column_index from audit.spend_column_choices").fetchall())
    assert chosen == {"date": 1, "amount": 4, "supplier_name": 2}
