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


# ------------------------------------------------------------------------------------------------ names by meaning
# Expected values below come from the file as written, read back with the csv module (_records), never from a run.
def _expected(path: Path, date_col: str, amount_col: str, supplier_col: str):
    _, rows = _records(path)
    return (sum(Decimal(r[amount_col]) for r in rows), {r[supplier_col] for r in rows},
            min(_date(r[date_col]) for r in rows), max(_date(r[date_col]) for r in rows))


def _landed(con, outcome):
    total, suppliers, first, last = con.execute(
        "select sum(amount), list(distinct supplier_name), min(payment_date), max(payment_date) "
        "from raw.spend_lines where file_sha256 = ?", [outcome.sha256]).fetchone()
    return total, set(suppliers), first, last


def _chosen(con, outcome) -> dict:
    return dict(con.execute("select role, column_name from audit.spend_column_choices where sha256 = ?",
                            [outcome.sha256]).fetchall())


# Names of an amount without VAT as councils publish them; two of them name no synonym and are read by the rule.
NET_OF_VAT = ["Invoice Line Value (net of VAT)", "Total (excludes VAT)", "Amount exc VAT", "Value ex VAT",
              "Amount excluding VAT", "Invoice Nett Amount", "Nett Amount"]


@pytest.mark.parametrize("net", NET_OF_VAT)
@pytest.mark.parametrize("gross_first", [True, False])
def test_an_amount_without_vat_is_the_amount_beside_vat_and_gross(tmp_path, net, gross_first):
    money = [f'"{net}"', "VAT Amount", "Amount inc VAT"]
    values = [("1000.00", "200.00", "1200.00"), ("250.50", "50.10", "300.60"), ("-99.99", "-20.00", "-119.99")]
    if gross_first:
        money, values = money[::-1], [v[::-1] for v in values]
    lines = ["Payment Date,Supplier Name," + ",".join(money)] + [
        f"{d},{s},{','.join(v)}" for d, s, v in zip(["03/05/2023", "17/05/2023", "31/05/2023"],
                                                     ["Acme Care Ltd", "Brook Homes Ltd", "Acme Care Ltd"], values)]
    con, outcomes = _loaded(tmp_path, {"spend_2023-05.csv": lines})
    o = outcomes["spend_2023-05.csv"]
    assert o.status == "loaded", o.error
    path = tmp_path / "spend" / "Salford" / "spend_2023-05.csv"
    assert _landed(con, o) == _expected(path, "Payment Date", net, "Supplier Name")
    assert _chosen(con, o)["amount"] == net
    runner_up, why = con.execute("select runner_up, why from audit.spend_column_choices where role = 'amount'"
                                 ).fetchone()
    assert runner_up == "Amount inc VAT" and "without VAT" in why  # gross passed over; VAT itself never a candidate


def test_a_lone_amount_including_vat_is_the_amount_and_vat_itself_never(tmp_path):
    con, outcomes = _loaded(tmp_path, {
        "gross_2023-05.csv": ["Payment Date,Supplier Name,Irrecoverable VAT,Amount inc VAT",
                              "03/05/2023,Acme Care Ltd,20.00,120.00", "04/05/2023,Brook Homes Ltd,0.00,2500.10"],
        "vat_only_2023-05.csv": ["Payment Date,Supplier Name,VAT Amount,Description",
                                 "03/05/2023,Acme Care Ltd,20.00,Fees", "04/05/2023,Brook Homes Ltd,41.50,Fees"],
    })
    gross = outcomes["gross_2023-05.csv"]
    assert gross.status == "loaded", gross.error
    path = tmp_path / "spend" / "Salford" / "gross_2023-05.csv"
    assert _landed(con, gross) == _expected(path, "Payment Date", "Amount inc VAT", "Supplier Name")
    vat_only = outcomes["vat_only_2023-05.csv"]
    assert vat_only.status == "failed" and vat_only.error.startswith("[NOT_A_LEDGER]")


@pytest.mark.parametrize("header, date_col", [
    # Lambeth's older files (a real header; found by content: only two of its names are synonyms)
    ("Invoice Creation Date,Supplier Name,Department,Subj Description,Invoice Nett Amount", "Invoice Creation Date"),
    ("Created,Posting Date,Supplier,Amount", "Posting Date"),  # a posting date over the date a record was made
    ("Updated,Created,Supplier,Amount", "Created"),  # the date a record was made over the date it last changed
    ("Updated,Payment Date,Supplier,Amount", "Payment Date"),
    ("Updated,Supplier,Amount", "Updated"),  # no better date: the one there is
])
def test_a_creation_posting_or_update_date_is_the_payment_date_where_none_is_better(tmp_path, header, date_col):
    names = header.split(",")
    supplier_col = next(n for n in names if n.startswith("Supplier"))
    amount_col = next(n for n in names if "Amount" in n)
    rows = [("02/05/2023", "Acme Care Ltd", "1250.00"), ("09/05/2023", "Brook Homes Ltd", "2500.10"),
            ("16/05/2023", "Keys Group Ltd", "99.99")]
    lines = [header]
    for i, (day, supplier, amount) in enumerate(rows):
        values = {supplier_col: supplier, amount_col: amount, "Department": "Children", "Subj Description": "Fees"}
        # each date column its own days, so the one read is known from its values
        lines.append(",".join(values.get(n, f"{int(day[:2]) + 7 * names.index(n):02d}{day[2:]}") for n in names))
    con, outcomes = _loaded(tmp_path, {"spend_2023-05.csv": lines})
    o = outcomes["spend_2023-05.csv"]
    assert o.status == "loaded", o.error
    path = tmp_path / "spend" / "Salford" / "spend_2023-05.csv"
    assert _landed(con, o) == _expected(path, date_col, amount_col, supplier_col)
    assert _chosen(con, o) == {"date": date_col, "amount": amount_col, "supplier_name": supplier_col}


SUPPLIERS = ["Acme Care Ltd", "Brook Homes Ltd", "Keys Group Limited", "Acme Care Ltd", "Sunrise Foster Care"]


def test_supplier_names_under_an_id_like_name_with_the_date_under_updated(tmp_path):
    """A header seen in the wild: the names under 'Supplier ID(T)' (a finance system's text twin of an id), the
    payment date under 'Updated'. No column is named for the supplier's name."""
    lines = ["Body Name,Supplier ID(T),Updated,Invoice Nett Amount,Expense Type,Service Area,Transaction Number"]
    for i, supplier in enumerate(SUPPLIERS):
        lines.append(f"Salford City Council,{supplier},{i + 3:02d}/05/2023 10:1{i}:00,{1000 + 37 * i}.{i}5,"
                     f"Residential,Children's Services,{5001 + i}")
    con, outcomes = _loaded(tmp_path, {"spend_2023-05.csv": lines})
    o = outcomes["spend_2023-05.csv"]
    assert o.status == "loaded", o.error
    path = tmp_path / "spend" / "Salford" / "spend_2023-05.csv"
    _, rows = _records(path)
    total, suppliers, _, _ = _landed(con, o)
    assert (total, suppliers) == (sum(Decimal(r["Invoice Nett Amount"]) for r in rows),
                                  {r["Supplier ID(T)"] for r in rows})
    assert con.execute("select list(payment_date order by source_row_number) from raw.spend_lines").fetchone()[0] \
        == [dt.datetime.strptime(r["Updated"], "%d/%m/%Y %H:%M:%S").date() for r in rows]
    assert _chosen(con, o) == {"date": "Updated", "amount": "Invoice Nett Amount", "supplier_name": "Supplier ID(T)"}
    why = con.execute("select why from audit.spend_column_choices where role = 'supplier_name'").fetchone()[0]
    assert "named like an id, but its values are names" in why
    assert con.execute("select count(supplier_id) from raw.spend_lines").fetchone()[0] == 0  # not also an id


def test_a_real_id_column_still_loses_to_names(tmp_path):
    """Wolverhampton's header: 'Supplier ID' holds the ids, 'Supplier ID(T)' the names. A code column under an
    id-like name beside a name column stays the id; with no name column at all, codes are never the supplier."""
    wolverhampton = ["Supplier ID,Supplier ID(T),Amount,Account,Account(T),Payment Date,TransNo,Service(T),"
                     "Cost Centre(T)"] + [
        f"{100200 + i},{s},{500 + i}.00,5100,Agency Staff,0{i + 1}/05/2023,{9000 + i},Children,Placements"
        for i, s in enumerate(SUPPLIERS)]
    codes_and_names = ["Supplier ID(T),Supplier Name,Payment Date,Amount,Expense Type"] + [
        f"SUP{i:05d},{s},0{i + 1}/05/2023,{500 + i}.00,Fees" for i, s in enumerate(SUPPLIERS)]
    codes_only = ["Supplier ID(T),Payment Date,Amount,Expense Type,Service Area"] + [
        f"SUP{i:05d},0{i + 1}/05/2023,{500 + i}.00,Fees,Children" for i in range(len(SUPPLIERS))]
    con, outcomes = _loaded(tmp_path, {"wolves_2023-05.csv": wolverhampton, "codes_2023-05.csv": codes_and_names,
                                       "codes_only_2023-05.csv": codes_only})
    for name, supplier_col, id_col in (("wolves_2023-05.csv", "Supplier ID(T)", "Supplier ID"),
                                       ("codes_2023-05.csv", "Supplier Name", "Supplier ID(T)")):
        o = outcomes[name]
        assert o.status == "loaded", o.error
        _, rows = _records(tmp_path / "spend" / "Salford" / name)
        assert _chosen(con, o)["supplier_name"] == supplier_col
        assert set(con.execute("select list((supplier_name, supplier_id)) from raw.spend_lines where file_sha256 = ?",
                               [o.sha256]).fetchone()[0]) == {(r[supplier_col], r[id_col]) for r in rows}
    refused = outcomes["codes_only_2023-05.csv"]
    assert refused.status == "failed" and refused.error.startswith("[NO_SUPPLIER_COLUMN]")


def test_a_classification_column_is_never_taken_for_the_supplier(tmp_path):
    """A card file's 'Merchant Category' is the merchant's trade, not who was paid: mapped to classification, it
    is not a supplier candidate, so a file without a supplier column is refused rather than loaded with trades."""
    con, outcomes = _loaded(tmp_path, {"card_2023-05.csv": [
        "Transaction Date,Net Amount,Merchant Category,Expense Type",
        "03/05/2023,4.95,Grocery Stores,Catering", "04/05/2023,368.00,Glass/Paint/Wallpaper Store,Materials"]})
    o = outcomes["card_2023-05.csv"]
    assert o.status == "failed" and o.error.startswith("[NO_SUPPLIER_COLUMN]")


@pytest.mark.parametrize("net", NET_OF_VAT)
def test_the_written_rules_read_vat_without_synonyms(net):
    """The rule, not the synonym list: with no synonyms at all, an amount without VAT wins over one with it, and
    a VAT column is ruled out whatever its content."""
    from ingest.spend_layout import Evidence, choose

    def money(index, header):
        return Evidence(index, header, values=50, money_share=1.0, pennies_share=1.0, digits_share=0.0,
                        distinct_share=0.9)
    evidence = [Evidence(0, "Payment Date", values=50, date_share=1.0, distinct_share=0.5),
                Evidence(1, "Supplier Name", values=50, letters_share=1.0, words_share=1.0, distinct_share=0.6),
                money(2, "VAT"), money(3, "Gross Amount (inc VAT)"), money(4, net), money(5, "Irrecoverable VAT")]
    choices = choose(evidence, {}, {}, set())
    assert (choices["amount"].index, choices["amount"].runner_up) == (4, 3)
    only_vat = choose([e for e in evidence if e.index not in (3, 4)], {}, {}, set())
    assert only_vat["amount"].index is None
