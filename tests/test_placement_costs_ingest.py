"""Placement-cost extracts at the door: columns recognised by synonyms, amounts and dates in their real forms, the
placement reference hashed, bad rows quarantined with a rule, bad files refused with a clear error, and every file
reconciling row by row. Expected values come from the files themselves (csv module) or are written in the test."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from demo.finance import COST_HEADER, write_faults
from ingest import placement_costs
from ingest.ssda903 import DEMO_CHILD_ID_KEY

DEVON = "E10000008"
SOMERSET = "E06000066"


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8",
              preamble: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes((preamble + buffer.getvalue()).encode(encoding))
    return path


def row(ref="P1", la="Devon", provider="Keys Child Care Ltd", establishment="", urn="SC484212",
        ptype="Independent children's home", route="Spot", start="01/04/2023", end="", weekly="5250.00",
        sc="4000.00", edu="1000.00", health="250.00", crisis="N") -> list[str]:
    return [ref, la, provider, establishment, urn, ptype, route, start, end, weekly, sc, edu, health, crisis]


def load(inbox: Path) -> tuple[duckdb.DuckDBPyConnection, list]:
    con = duckdb.connect(":memory:")
    return con, placement_costs.load_folder(con, inbox / "placement_costs", "test-load")


def log(con) -> dict[str, dict]:
    rows = con.execute("select file_name, la, rows_read, rows_loaded, rows_quarantined, status, error, reference_date, "
                       "encoding from audit.load_log").fetchall()
    keys = ("la", "rows_read", "rows_loaded", "rows_quarantined", "status", "error", "reference_date", "encoding")
    return {r[0]: dict(zip(keys, r[1:])) for r in rows}


def quarantine(con, name: str) -> dict[int, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in con.execute(
        "select row_number, rule, message from audit.quarantine where path like ? order by row_number",
        ["%/" + name]).fetchall()}


def expected_key(ref: str, gss: str) -> str:
    return hashlib.sha256(f"{DEMO_CHILD_ID_KEY}|{gss}|{ref}".encode()).hexdigest()[:32]


def data_records(path: Path, encoding: str = "utf-8-sig", header_record: int = 1) -> int:
    with open(path, encoding=encoding, newline="") as handle:
        return len(list(csv.reader(handle))) - header_record


# ------------------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize("text, pounds", [
    ("5250.00", Decimal("5250.00")), ("£4,950.00 pw", Decimal("4950.00")), ("£12,500", Decimal("12500.00")),
    (" 842.1 ", Decimal("842.10")), ("(£1,200.00)", Decimal("-1200.00")), ("980.00-", Decimal("-980.00")),
    ("£865.40 per week", Decimal("865.40")), ("see attached", None), ("12.345", None), ("", None), ("£", None),
])
def test_amounts_in_their_published_forms(macros, text, pounds):
    assert macros.execute("select parse_weekly_money(?)", [text]).fetchone()[0] == pounds


@pytest.mark.parametrize("text, iso", [
    ("01/04/2023", "2023-04-01"), ("2023-05-14", "2023-05-14"), ("14/05/2023 00:00:00", "2023-05-14"),
    ("31/02/2023", None), ("01/04/23", "2023-04-01"), ("soon", None),
])
def test_dates_day_first_or_iso(macros, text, iso):
    value = macros.execute("select parse_spend_date(?)", [text]).fetchone()[0]
    assert (value.isoformat() if value else None) == iso


# ------------------------------------------------------------------------------------------ demo fault files
@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    root = tmp_path_factory.mktemp("finance-faults")
    write_faults(root)
    con, outcomes = load(root)
    yield root, con, outcomes
    con.close()


def test_fault_file_contributions_missing_cost_and_unknown_type_quarantined(faults):
    root, con, _ = faults
    path = root / "placement_costs" / "Devon" / "placement_costs_2024_contributions.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    entry = log(con)[path.name]
    assert entry["rows_read"] == len(records) == 5
    assert (entry["rows_loaded"], entry["rows_quarantined"]) == (2, 3)
    assert entry["status"] == "loaded_with_quarantine" and entry["la"] == DEVON
    rules = {number: rule for number, (rule, _) in quarantine(con, path.name).items()}
    # record numbers count the header as 1: P90000003 is on record 4
    refs = {i + 2: r["Placement Ref"] for i, r in enumerate(records)}
    assert rules == {4: "CONTRIBUTIONS_MISMATCH", 5: "COST_MISSING", 6: "UNKNOWN_PLACEMENT_TYPE"}
    assert [refs[n] for n in sorted(rules)] == ["P90000003", "P90000004", "P90000005"]
    message = quarantine(con, path.name)[6][1]
    assert "placement_cost_types.csv" in message
    loaded = con.execute("select placement_key from raw.placement_costs where source_file = ? order by 1",
                         [str(path)]).fetchall()
    assert sorted(k for (k,) in loaded) == sorted(expected_key(r, DEVON) for r in ("P90000001", "P90000002"))


def test_fault_file_cp1252_report_with_other_column_names_loads(faults):
    root, con, _ = faults
    path = root / "placement_costs" / "Somerset" / "Placement costs 2023-24 (report).csv"
    entry = log(con)[path.name]
    assert entry["encoding"] == "cp1252"
    assert (entry["rows_read"], entry["rows_loaded"], entry["status"]) == (2, 2, "loaded")
    assert entry["rows_read"] == data_records(path, "cp1252", header_record=3)
    assert str(entry["reference_date"]) == "2024-03-31"
    rows = con.execute(
        "select placement_type, commissioning_route, start_date::varchar, end_date::varchar, weekly_cost, "
        "social_care_contribution, is_crisis, financial_year, la_gss_code from raw.placement_costs "
        "where source_file = ? order by source_row_number", [str(path)]).fetchall()
    assert rows == [
        ("independent_residential", "spot", "2023-04-03", None, Decimal("4950.00"), Decimal("4950.00"), False,
         "2023-24", SOMERSET),
        ("ifa_fostering", "framework", "2023-05-14", "2023-08-01", Decimal("842.10"), Decimal("842.10"), False,
         "2023-24", SOMERSET),
    ]


# ------------------------------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def bad_inbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("costs-bad")
    pc = root / "placement_costs"
    write_csv(pc / "Devon" / "placement_costs_2024.csv", COST_HEADER, [
        row("A1"),
        row("A2", weekly="see attached"),
        row("A3", sc="4000.00", edu="1000.00", health="250.01"),
        row("A4", start="01/09/2023", end="01/08/2023"),
        row("A5", ptype="IFA", weekly="£865.40", sc="£865.40", edu="£0.00", health="£0.00", start="2023-05-15",
            end="2023-09-30", route="Regional framework"),
        row("A6", edu="one thousand"),
        row("A1", weekly="6000.00", sc="6000.00", edu="0", health="0"),
        row("A7", crisis="maybe"),
        row("A8", start="01/05/2024"),
        row("A9", la="Cornwall"),
        row("A10", urn="12AB", route="Negotiated"),
        row("", weekly="100.00", sc="100.00", edu="0", health="0"),
    ])
    # the same bytes under a second name
    (pc / "Devon" / "placement_costs_2024_resent.csv").write_bytes((pc / "Devon" / "placement_costs_2024.csv").read_bytes())
    write_csv(pc / "Devon" / "placement_costs_2023_no_health.csv",
              [c for c in COST_HEADER if c != "Health Contribution"], [row("B1")[:12] + ["N"]])
    write_csv(pc / "Narnia" / "placement_costs_2024.csv", COST_HEADER, [row("C1")])
    (pc / "Essex").mkdir(parents=True)
    (pc / "Essex" / "placement_costs_2024.csv").write_bytes(
        b"<!DOCTYPE html><html><head><title>Not found</title></head><body>moved</body></html>\n")
    (pc / "Essex" / "placement_costs_2023.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64)
    (pc / "Essex" / "placement_costs_2022.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    write_csv(pc / "Essex" / "placement costs (latest).csv", COST_HEADER, [row("D1", la="Essex")])
    write_csv(pc / "loose_file_2024.csv", COST_HEADER, [row("E1")])
    write_csv(pc / "Plymouth" / "placement_costs_2024.csv", COST_HEADER, [
        row("F1", la="Plymouth", start="01/04/2023", weekly="1000.00", sc="1000.00", edu="0.00", health="0.00")])
    con, outcomes = load(root)
    yield root, con, outcomes
    con.close()


def test_bad_rows_are_quarantined_with_rule_and_row(bad_inbox):
    root, con, _ = bad_inbox
    rules = {number: rule for number, (rule, _) in quarantine(con, "placement_costs_2024.csv").items()
             if number}  # Devon's file: the only one of that name with rows
    assert rules == {
        3: "COST_NOT_NUMERIC",
        4: "CONTRIBUTIONS_MISMATCH",
        5: "END_BEFORE_START",
        7: "CONTRIBUTION_NOT_NUMERIC",
        8: "DUPLICATE_PLACEMENT",
        9: "CRISIS_FLAG_INVALID",
        10: "NOT_IN_FINANCIAL_YEAR",
        11: "PLACING_LA_MISMATCH",
        13: "REF_MISSING",
    }
    devon = root / "placement_costs" / "Devon" / "placement_costs_2024.csv"
    entry = con.execute("select rows_read, rows_loaded, rows_quarantined from audit.load_log where path = ?",
                        [str(devon)]).fetchone()
    assert entry == (data_records(devon), 3, 9)
    kept = dict(con.execute("select placement_key, warning_rules from raw.placement_costs where source_file = ?",
                            [str(devon)]).fetchall())
    assert kept == {expected_key("A1", DEVON): None, expected_key("A5", DEVON): None,
                    expected_key("A10", DEVON): "URN_FORMAT,ROUTE_UNKNOWN"}
    a5 = con.execute("select placement_type, commissioning_route, weekly_cost from raw.placement_costs "
                     "where placement_key = ?", [expected_key("A5", DEVON)]).fetchone()
    assert a5 == ("ifa_fostering", "framework", Decimal("865.40"))


def test_quarantine_messages_name_the_problem_and_never_the_reference(bad_inbox):
    _, con, _ = bad_inbox
    messages = quarantine(con, "placement_costs_2024.csv")
    assert "add up" in messages[4][1] and "to the penny" in messages[4][1]
    assert "before the start date" in messages[5][1]
    raw_values = " ".join(r[0] for r in con.execute("select raw_values from audit.quarantine").fetchall())
    assert "see attached" in raw_values  # the offending value is shown
    assert '"A2"' not in raw_values and expected_key("A2", DEVON) in raw_values


def test_bad_files_fail_with_a_clear_error_and_the_others_load(bad_inbox):
    root, con, _ = bad_inbox
    errors = {Path(p).relative_to(root / "placement_costs").as_posix(): (status, error) for p, status, error in
              con.execute("select path, status, error from audit.load_log").fetchall()}
    assert errors["Devon/placement_costs_2024_resent.csv"][0] == "duplicate"
    assert "placement_costs_2024.csv" in errors["Devon/placement_costs_2024_resent.csv"][1]
    status, error = errors["Devon/placement_costs_2023_no_health.csv"]
    assert status == "failed" and "[MISSING_COLUMN]" in error and "health_contribution" in error
    assert errors["Narnia/placement_costs_2024.csv"][0] == "failed"
    assert "[UNKNOWN_LA]" in errors["Narnia/placement_costs_2024.csv"][1] and "Narnia" in errors["Narnia/placement_costs_2024.csv"][1]
    assert "[FILE_NOT_CSV]" in errors["Essex/placement_costs_2024.csv"][1] and "HTML" in errors["Essex/placement_costs_2024.csv"][1]
    assert "[FILE_NOT_CSV]" in errors["Essex/placement_costs_2023.csv"][1] and "xlsx" in errors["Essex/placement_costs_2023.csv"][1]
    assert "[UNKNOWN_KIND]" in errors["Essex/placement_costs_2022.xlsx"][1]
    assert "[FINANCIAL_YEAR_UNKNOWN]" in errors["Essex/placement costs (latest).csv"][1]
    assert "[WRONG_FOLDER]" in errors["loose_file_2024.csv"][1]
    assert errors["Plymouth/placement_costs_2024.csv"] == ("loaded", None)
    # nothing of a failed or duplicate file is kept
    kept_files = {r[0] for r in con.execute("select distinct source_file from raw.placement_costs").fetchall()}
    assert kept_files == {str(root / "placement_costs" / "Devon" / "placement_costs_2024.csv"),
                          str(root / "placement_costs" / "Plymouth" / "placement_costs_2024.csv")}
    for status, read, loaded, quarantined in con.execute(
            "select status, rows_read, rows_loaded, rows_quarantined from audit.load_log").fetchall():
        assert read == loaded + quarantined
        if status in ("failed", "duplicate"):
            assert read == 0


def test_loading_the_same_inbox_again_adds_nothing(bad_inbox):
    root, con, _ = bad_inbox
    before = con.execute("select (select count(*) from raw.placement_costs), (select count(*) from audit.quarantine), "
                         "(select count(*) from audit.load_log where status <> 'failed')").fetchone()
    placement_costs.load_folder(con, root / "placement_costs", "second-load")
    after = con.execute("select (select count(*) from raw.placement_costs), (select count(*) from audit.quarantine), "
                        "(select count(*) from audit.load_log where status <> 'failed')").fetchone()
    assert after == before


# ------------------------------------------------------------------------------------------ synonyms, encodings
def test_other_column_names_bom_cp1252_and_a_financial_year_column(tmp_path):
    header = ["Ref", "Placing LA", "Supplier", "Home Name", "Ofsted URN", "Type of placement", "Sourcing",
              "Placement Start", "Placement End", "Total cost per week", "CSC", "SEND contribution", "ICB",
              "Emergency", "Financial Year"]
    rows = [
        ["X1", "Devon County Council", "Café Care Ltd", "Rosé House", "SC111111", "Children's Home", "Block",
         "2022-04-01", "", "£5,000.00", "£4,000.00", "£500.00", "£500.00", "Yes", "2022-23"],
        ["X1", "Devon County Council", "Café Care Ltd", "Rosé House", "SC111111", "Children's Home", "Block",
         "2022-04-01", "", "£5,200.00", "£4,200.00", "£500.00", "£500.00", "Yes", "2023/24"],
        ["X2", "878", "Fostering Ltd", "", "", "Agency fostering", "DPS", "03/03/2024", "", "900", "900", "", "",
         "", "2023-2024"],
        ["X3", "Devon", "Fostering Ltd", "", "", "Agency fostering", "", "03/03/2024", "", "900", "900", "", "",
         "", "next year"],
    ]
    pc = tmp_path / "placement_costs"
    write_csv(pc / "878" / "extract_all_years.csv", header, rows, encoding="cp1252")
    write_csv(pc / "E10000008" / "bom_2024.csv", COST_HEADER, [row("Y1")], encoding="utf-8-sig")
    con, _ = load(tmp_path)
    entries = log(con)
    assert entries["extract_all_years.csv"]["encoding"] == "cp1252"
    assert entries["bom_2024.csv"]["encoding"] == "utf-8-sig"
    assert (entries["extract_all_years.csv"]["rows_loaded"], entries["extract_all_years.csv"]["rows_quarantined"]) == (3, 1)
    assert quarantine(con, "extract_all_years.csv") == {
        5: ("FINANCIAL_YEAR_INVALID", "the financial year is blank or not a year such as 2023-24")}
    got = con.execute(
        "select financial_year, extract_financial_year, provider, establishment, placement_type, commissioning_route, "
        "weekly_cost, education_contribution, health_contribution, is_crisis, la_gss_code from raw.placement_costs "
        "where source_file like '%extract_all_years.csv' order by source_row_number").fetchall()
    assert got == [
        ("2022-23", "2023-24", "Café Care Ltd", "Rosé House", "independent_residential", "block", Decimal("5000.00"),
         Decimal("500.00"), Decimal("500.00"), True, DEVON),
        ("2023-24", "2023-24", "Café Care Ltd", "Rosé House", "independent_residential", "block", Decimal("5200.00"),
         Decimal("500.00"), Decimal("500.00"), True, DEVON),
        ("2023-24", "2023-24", "Fostering Ltd", None, "ifa_fostering", "framework", Decimal("900.00"),
         Decimal("0.00"), Decimal("0.00"), False, DEVON),
    ]
    assert entries["bom_2024.csv"]["rows_loaded"] == 1


def _references(path: Path) -> set[str]:
    """The placement references of a loaded extract, read with the csv module (first column below the header)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            with open(path, encoding=encoding, newline="") as handle:
                records = list(csv.reader(handle))
            break
        except UnicodeDecodeError:
            continue
    header = next(i for i, r in enumerate(records) if r and r[0] in ("Placement Ref", "Child ID"))
    return {r[0] for r in records[header + 1:] if r and r[0]}


def test_the_placement_reference_is_never_stored(bad_inbox, faults):
    for root, con, _ in (bad_inbox, faults):
        loaded = [Path(p) for (p,) in con.execute(
            "select path from audit.load_log where status in ('loaded', 'loaded_with_quarantine')").fetchall()]
        refs = set().union(*(_references(path) for path in loaded))
        assert len(refs) >= 4, root
        stored = {str(v) for table in ("raw.placement_costs", "audit.quarantine", "audit.load_log")
                  for r in con.execute(f"select * from {table}").fetchall() for v in r}
        quarantined_values = [json for (json,) in con.execute("select raw_values from audit.quarantine").fetchall()]
        assert not refs & stored
        assert not [ref for ref in refs for json in quarantined_values if f'"{ref}"' in json]


def test_a_somerset_extract_before_the_reorganisation_belongs_to_the_county(tmp_path):
    pc = tmp_path / "placement_costs"
    write_csv(pc / "Somerset" / "placement_costs_2022-23.csv", COST_HEADER, [
        row("S1", la="Somerset", start="01/05/2022")])
    write_csv(pc / "Somerset" / "placement_costs_2023-24.csv", COST_HEADER, [
        row("S1", la="Somerset", start="01/05/2022", weekly="5500.00", sc="4250.00")])
    con, _ = load(tmp_path)
    got = con.execute("select financial_year, la_gss_code, placement_key from raw.placement_costs order by 1").fetchall()
    assert [(fy, gss) for fy, gss, _ in got] == [("2022-23", "E10000027"), ("2023-24", SOMERSET)]
    assert got[0][2] == got[1][2] == expected_key("S1", SOMERSET)  # one placement across the reorganisation
