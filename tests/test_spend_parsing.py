"""Unit tests of the spend parsing pieces: the DuckDB amount and date macros (reusable by other finance
sources), file periods from names, and header synonyms. Expected values are written out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from ingest.spend import map_columns, period_from_name


@pytest.mark.parametrize("text, expected", [
    ("1234.56", "1234.56"),
    ("14229", "14229.00"),
    ("-1466.53", "-1466.53"),
    ("£18,402.30", "18402.30"),
    ("-£2,400.00", "-2400.00"),
    ("£-2,400.00", "-2400.00"),
    ("(£1,200.00)", "-1200.00"),
    ("(1200)", "-1200.00"),
    ("£980.00-", "-980.00"),
    ("1,200.00 CR", "-1200.00"),
    ("1,200.00 DR", "1200.00"),
    ("+12.5", "12.50"),
    (" £ 1 000.00 ", "1000.00"),
    ("Â£3.10", "3.10"),  # cp1252 '£' read as UTF-8 by an earlier tool
    ("\u22125.00", "-5.00"),  # Unicode minus
    ("1.005", "1.01"),  # rounded to the penny
])
def test_money_is_parsed_to_the_penny(macros, text, expected):
    assert macros.execute("select parse_money(?)", [text]).fetchone()[0] == Decimal(expected)


@pytest.mark.parametrize("text", ["see attached", "", "   ", None, "N/A", "12-3", "£", "(-5)", "--5", "1.2.3"])
def test_text_that_is_not_money_is_null(macros, text):
    assert macros.execute("select parse_money(?)", [text]).fetchone()[0] is None


@pytest.mark.parametrize("text, expected", [
    ("2023-07-03", dt.date(2023, 7, 3)),
    ("2022-05-03 00:00:00", dt.date(2022, 5, 3)),
    ("2023-07-03T10:15:00", dt.date(2023, 7, 3)),
    ("03/07/2023", dt.date(2023, 7, 3)),
    ("3/7/2023", dt.date(2023, 7, 3)),
    ("03/07/23", dt.date(2023, 7, 3)),
    ("04-Aug-23", dt.date(2023, 8, 4)),
    ("04-AUG-2023", dt.date(2023, 8, 4)),
    ("4 August 2023", dt.date(2023, 8, 4)),
    ("4 Aug 23", dt.date(2023, 8, 4)),
    ("04.08.2023", dt.date(2023, 8, 4)),
    ("45142", dt.date(2023, 8, 4)),  # Excel serial day
    (" 2023-07-03 ", dt.date(2023, 7, 3)),
    ("Friday, April 29, 2022", dt.date(2022, 4, 29)),  # the Cabinet Office's form
    ("29-April-2022", dt.date(2022, 4, 29)),
])
def test_dates_in_the_forms_councils_write(macros, text, expected):
    assert macros.execute("select parse_spend_date(?)", [text]).fetchone()[0] == expected


@pytest.mark.parametrize("text, expected", [
    ("04/28/2023", dt.date(2023, 4, 28)),
    ("4/3/2023", dt.date(2023, 4, 3)),
    ("04/03/23", dt.date(2023, 4, 3)),
    ("04-28-2023", dt.date(2023, 4, 28)),
    ("2023-04-28", dt.date(2023, 4, 28)),  # forms that cannot be month first read as ever
    ("Friday, April 29, 2022", dt.date(2022, 4, 29)),
    ("45142", dt.date(2023, 8, 4)),
])
def test_month_first_dates_for_a_column_decided_month_first(macros, text, expected):
    assert macros.execute("select parse_spend_date_month_first(?)", [text]).fetchone()[0] == expected


@pytest.mark.parametrize("text", ["28/04/2023", "13/13/2023", "x"])
def test_a_month_first_column_never_reads_a_day_first_date(macros, text):
    assert macros.execute("select parse_spend_date_month_first(?)", [text]).fetchone()[0] is None


@pytest.mark.parametrize("text", ["31/02/2023", "x", "", None, "03/07/0023", "13/13/2023", "2023"])
def test_impossible_dates_are_null(macros, text):
    assert macros.execute("select parse_spend_date(?)", [text]).fetchone()[0] is None


@pytest.mark.parametrize("day, label", [
    (dt.date(2023, 4, 1), "2023-24"), (dt.date(2024, 3, 31), "2023-24"), (dt.date(2000, 1, 5), "1999-00"),
])
def test_financial_year(macros, day, label):
    assert macros.execute("select financial_year(?)", [day]).fetchone()[0] == label


@pytest.mark.parametrize("name, start, end", [
    ("calderdale_clean_2022-06.csv", dt.date(2022, 6, 1), dt.date(2022, 6, 30)),
    ("E06000055_spend_over_500_Feb2024.csv", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
    ("Suffolk payments over £500 August 2023.csv", dt.date(2023, 8, 1), dt.date(2023, 8, 31)),
    ("Norfolk_payments_July_2023_bands.csv", dt.date(2023, 7, 1), dt.date(2023, 7, 31)),
    ("spend-Sept-23.csv", dt.date(2023, 9, 1), dt.date(2023, 9, 30)),
    ("payments_202311.csv", dt.date(2023, 11, 1), dt.date(2023, 11, 30)),
    ("Thurrock_spend_Q1_2023-24_revised.csv", dt.date(2023, 4, 1), dt.date(2023, 6, 30)),
    ("spend Q4 2023-24.csv", dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
    ("spend_over_500_2023-24.csv", dt.date(2023, 4, 1), dt.date(2024, 3, 31)),
])
def test_period_from_file_name(name, start, end):
    period = period_from_name(name)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("name", ["transparency.csv", "spend over 500.csv", "export (3).csv"])
def test_no_period_in_name(name):
    assert period_from_name(name) is None


def test_columns_recognised_by_synonyms_not_position():
    calderdale = ["Body", "Organisation Name", "Date", "Internal Ref Number", "Invoice Number", "Net Amount",
                  "Irrecoverable VAT", "Supplier(Beneficiary) Name", "Supplier Registered Company Number",
                  "Supplier Registered Charity Number", "Supplier ID", "VAT Registration Number", "Expense Area",
                  "Procurement Classification: Council's Procurement Category Name", "Expense Code", "BVACOP",
                  "Proclass", "Extended Description", "Source", "Subsource", "Definition",
                  "Purpose of Spend (Summary)", "Voluntary Community and Social Enterprise Supplier"]
    mapping, unused = map_columns(calderdale)
    assert mapping["body"] == (1,)  # 'Organisation Name' preferred to the 'Body' URL
    assert mapping["date"] == (2,) and mapping["transaction_id"] == (3,) and mapping["amount"] == (5,)
    assert mapping["supplier_name"] == (7,) and mapping["company_number"] == (8,)
    assert mapping["charity_number"] == (9,) and mapping["supplier_id"] == (10,)
    assert mapping["service_area"] == (12,) and mapping["expense_type"] == (13,)
    assert mapping["expense_code"] == (14,)
    assert mapping["description"] == (17, 21)  # both description columns, joined
    assert "Irrecoverable VAT" in unused and "Invoice Number" in unused
    # Same fields, another order and other names; a double-encoded BOM in front of the first cell.
    mapping, _ = map_columns(["\u00ef\u00bb\u00bfBody Name", "Service Area", "Expenses Type",
                              "Invoice Payment Date", "Transaction Number", "Net Amount", "Supplier Name"])
    assert mapping == {"body": (0,), "service_area": (1,), "expense_type": (2,), "date": (3,),
                       "transaction_id": (4,), "amount": (5,), "supplier_name": (6,)}
    mapping, _ = map_columns(["Supplier", "Amount", "Payment Date", "Transaction No", "Expense Type",
                              "Service Area"])
    assert mapping["amount"] == (1,) and mapping["date"] == (2,) and mapping["supplier_name"] == (0,)
    mapping, _ = map_columns(["Directorate", "Date Paid", "Reference", "Payee", "Description", "Value Band"])
    assert "amount" not in mapping  # a value band is not an amount
