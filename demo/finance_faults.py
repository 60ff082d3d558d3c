"""Realistic faulty finance files for the warehouse's reliability tests (write_faults).

Each file carries the faults councils' real exports show; FAULTS.md (appended to, never overwritten) names
every file, its fault and what a loader is expected to do. The files are small and fixed (no randomness), in
the same layouts as the clean demo files, for LAs of the default demo region.
"""

from __future__ import annotations

from pathlib import Path

from demo.finance_layouts import CALDERDALE_HEADER, MANCHESTER_HEADER, TRANSPARENCY_HEADER

_CAL_BODY = "http://statistics.data.gov.uk/id/statistical-geography/E06000066"
_CYPS = "Children and Young People's Services-Childrens Care Services"
_AP = ["IV", "AP", "Accounts Payable Invoices", "Payment of accounts payable invoices"]


def _q(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v


def _line(fields) -> str:
    return ",".join(_q(str(f)) for f in fields)


def _tc(date, txn, inv, amount, supplier, area, etype, code, narrative, body="Essex County Council",
        gss="E10000012"):
    return [body, gss, date, txn, inv, amount, supplier, "SUP" + str(txn)[-5:], "", area, etype, code, narrative]


_TC_ROWS = [
    ("03/07/2023", 7100101, "INV004411", "£18,402.30", "Keys Child Care Ltd", "Children's Social Care - Looked After Children",
     "Independent Residential Placements", "5301", "Residential placement fees June 2023"),
    ("05/07/2023", 7100102, "SI-20931", "£3,512.75", "Foster Care Associates Limited",
     "Children's Social Care - Looked After Children", "Independent Fostering Agency Placements", "5302",
     "Fostering agency fees June 2023"),
    ("05/07/2023", 7100103, "88213", "£1,240.00", "Npower", "Property Services", "Energy Costs", "2201",
     "Electricity and gas July 2023"),
    ("12/07/2023", 7100104, "CN-0091", "-£2,400.00", "Keys Child Care Ltd",
     "Children's Social Care - Looked After Children", "Independent Residential Placements", "5301",
     "Credit note: duplicate payment"),
    ("19/07/2023", 7100105, "INV004502", "£26,930.14", "Cambian Childcare Ltd",
     "Children's Social Care - Looked After Children", "Independent Residential Placements", "5301",
     "Residential placement fees June 2023"),
    ("26/07/2023", 7100106, "77120", "£640.50", "Dell Computer Corporation Ltd", "Corporate Resources",
     "ICT Hardware and Software", "4301", "ICT hardware, software and licences July 2023"),
]


def write(root: Path) -> list[Path]:
    written: list[tuple[Path, str, str]] = []

    def put(rel: str, data: bytes, fault: str, expect: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append((path, fault, expect))

    # 1. Preamble lines above the header (Transparency Code layout).
    text = "Essex County Council\nPayments to suppliers over £500\nPeriod: July 2023\n\n" + _line(TRANSPARENCY_HEADER) + "\n"
    text += "\n".join(_line(_tc(*r)) for r in _TC_ROWS) + "\n"
    put("spend/Essex/Essex_spend_over_500_Jul2023_with_title.csv", text.encode("utf-8"),
        "four preamble lines (title, subtitle, period, blank) above the header row",
        "header found below the preamble; 6 rows loaded")

    # 2. cp1252 with £, dd-Mon-yy dates, brackets and trailing minus for credits.
    header = ["Service Area", "Expense Type", "Payment Date", "Transaction No", "Supplier", "Amount"]
    rows = [
        ["Children's Services", "Independent Fostering Agency", "04-Aug-23", "554001", "Foster Care Associates Ltd", "£3,401.20"],
        ["Children's Services", "Residential Placements", "04-Aug-23", "554002", "KEYS CHILD CARE LTD.", "£22,150.00"],
        ["Children's Services", "Residential Placements", "10-Aug-23", "554003", "Keys Child Care Ltd", "(£1,200.00)"],
        ["Adults & Health", "Residential Care", "15-Aug-23", "554004", "Anchor Trust", "£12,400.10"],
        ["Corporate", "Electricity", "22-Aug-23", "554005", "Npower", "£980.00-"],
        ["Children's Services", "Supported Accommodation", "29-Aug-23", "554006", "Redacted", "£1,113.00"],
    ]
    text = _line(header) + "\r\n" + "\r\n".join(_line(r) for r in rows) + "\r\n"
    put("spend/Suffolk/Suffolk payments over £500 August 2023.csv", text.encode("cp1252"),
        "cp1252 encoding (£ is byte A3), CRLF line ends, dd-Mon-yy dates, amounts with £ and thousands commas, "
        "credits in brackets '(£1,200.00)' and with a trailing minus '£980.00-'",
        "decoded as cp1252; dates 2023-08-04 etc.; credits -1200.00 and -980.00; 6 rows loaded")

    # 3. A row with one field too many, text in an amount column, a date outside the file's month (Calderdale).
    def cal(date, ref, inv, amount, supplier, area=_CYPS, proc="Private Contractors", code="72255550"):
        return [_CAL_BODY, "Somerset Council", date, ref, inv, amount, "N/A", supplier, "", "", "S" + ref[-5:], "",
                area, proc, code, "", "", ""] + _AP + [""]
    rows = [
        cal("2023-09-04", "40100001", "INV1001", "15843.17", "Horizon Care And Education Group Ltd"),
        cal("2023-09-05", "40100002", "INV1002", "3262.13", "Compass Fostering North Limited", code="72465550"),
        cal("2023-09-06", "40100003", "INV1003", "see attached", "Meadows Care Ltd"),
        cal("2023-09-07", "40100004", "INV1004", "20026.97", "Meadows Care Ltd"),
        cal("2023-10-02", "40100005", "INV1005", "4083.01", "By The Bridge North West Ltd"),
        cal("2023-09-11", "40100006", "INV1006", "5440.00", "Gravitascare Ltd"),
    ]
    rows[3][7] = "Meadows Care Ltd, Unit 4"  # written unquoted below: one field too many
    lines = [_line(CALDERDALE_HEADER)]
    for i, r in enumerate(rows):
        lines.append(",".join(r) if i == 3 else _line(r))
    put("spend/Somerset/somerset_spend_2023-09_faulty.csv", ("\n".join(lines) + "\n").encode("utf-8"),
        "line 5 has 24 fields for a 23-column header (an unquoted comma in the supplier name); "
        "line 4 has 'see attached' in Net Amount; line 6 is dated 2023-10-02 in the September 2023 file",
        "the extra-field row and the text-amount row quarantined (EXTRA_FIELDS, amount not a number); the "
        "October-dated row loaded with its own date or flagged (date outside the file's month); 4 rows usable")

    # 4. No recognisable amount column.
    header = ["Directorate", "Date Paid", "Reference", "Payee", "Description", "Value Band"]
    rows = [["Children's Services", "03/07/2023", "PO-88110", "Keys Child Care Ltd", "Residential placement",
             "£10,000 - £25,000"],
            ["Place", "07/07/2023", "PO-88111", "Npower", "Electricity", "£500 - £1,000"]]
    put("spend/Norfolk/Norfolk_payments_July_2023_bands.csv",
        (_line(header) + "\n" + "\n".join(_line(r) for r in rows) + "\n").encode("utf-8"),
        "no amount column: values are published only as bands ('Value Band')",
        "the whole file fails with MISSING_COLUMN (amount); other files still load")

    # 5. HTML saved as .csv.
    html = ("<!DOCTYPE html>\n<html lang=\"en\"><head><title>Spend over £500 - Luton Council</title></head>\n"
            "<body><h1>Page not found</h1><p>The file you requested has moved. Please see our "
            "<a href=\"/transparency\">transparency pages</a>.</p></body></html>\n")
    put("spend/Luton/E06000032_spend_over_500_Jun2023.csv", html.encode("utf-8"),
        "an HTML page (a 'page not found' response) saved with a .csv name",
        "the file fails with FILE_NOT_CSV")

    # 6. The same transactions in two overlapping files (a month and the quarter that contains it).
    month_rows = [_tc(*r, body="Thurrock Council", gss="E06000034") for r in _TC_ROWS[:4]]
    quarter_rows = [_tc("14/05/2023", 7100001, "INV003001", "£17,980.00", "Keys Child Care Ltd",
                        "Children's Social Care - Looked After Children", "Independent Residential Placements",
                        "5301", "Residential placement fees April 2023", body="Thurrock Council", gss="E06000034")]
    quarter_rows += month_rows
    put("spend/Thurrock/Thurrock_spend_Jul2023.csv",
        (_line(TRANSPARENCY_HEADER) + "\n" + "\n".join(_line(r) for r in month_rows) + "\n").encode("utf-8"),
        "July 2023 file; its 4 transactions (7100101-7100104) are repeated in the quarter file below",
        "4 rows loaded")
    put("spend/Thurrock/Thurrock_spend_Q1_2023-24_revised.csv",
        (_line(TRANSPARENCY_HEADER) + "\n" + "\n".join(_line(r) for r in quarter_rows) + "\n").encode("utf-8"),
        "a 'revised' quarterly file that repeats the July file's 4 transactions (same transaction numbers, "
        "dates, suppliers, amounts) plus one of its own",
        "the 4 repeated transactions counted once in spend marts (dedupe on LA + transaction number + date + "
        "amount); 1 new transaction")

    # 7. A Manchester-layout file whose BOM was encoded twice (as the real Manchester 2022-05 file is).
    rows = [["Plymouth City Council", "Childrens & Education Services", "Payments for services", "2023-06-05",
             "5105900001", "14229", "Cambian Childcare Ltd"],
            ["Plymouth City Council", "Childrens & Education Services", "Supported Accommodation", "2023-06-07",
             "5105900002", "1113", "Redacted Personal Information"],
            ["Plymouth City Council", "Regeneration Finance", "Gas", "2023-06-08", "5105900003", "-1466.53",
             "SEFE ENERGY Ltd"]]
    text = "\u00ef\u00bb\u00bf" + _line(MANCHESTER_HEADER) + "\n" + "\n".join(_line(r) for r in rows) + "\n"
    put("spend/Plymouth/Plymouth City Council Spend over 500 June 2023 (export).csv", text.encode("utf-8"),
        "the byte-order mark was encoded twice: the file starts with C3 AF C2 BB C2 BF ('ï»¿' before 'Body Name'), "
        "exactly as the real Manchester May 2022 file does",
        "header recognised despite the stray 'ï»¿' prefix; 3 rows loaded")

    # Placement-cost extracts.
    from demo.finance import COST_HEADER
    rows = [
        ["P90000001", "Devon", "Keys Child Care Ltd", "", "SC484212", "Independent children's home", "Spot",
         "01/04/2023", "", "5250.00", "4000.00", "1000.00", "250.00", "N"],
        ["P90000002", "Devon", "Foster Care Associates Limited", "", "SC044227", "Independent fostering agency",
         "Framework", "15/05/2023", "30/09/2023", "865.40", "865.40", "0.00", "0.00", "N"],
        ["P90000003", "Devon", "Cambian Childcare Ltd", "", "SC035434", "Independent children's home", "Spot",
         "02/06/2023", "", "6100.00", "4100.00", "1500.00", "250.00", "N"],
        ["P90000004", "Devon", "Horizon Care And Education Group Ltd", "", "", "Residential special school",
         "Framework", "01/09/2023", "", "", "", "", "", "N"],
        ["P90000005", "Devon", "Keys Child Care Ltd", "", "SC484212", "Solo emergency", "Spot", "20/11/2023", "",
         "12500.00", "12500.00", "0.00", "0.00", "Y"],
    ]
    put("placement_costs/Devon/placement_costs_2024_contributions.csv",
        (_line(COST_HEADER) + "\n" + "\n".join(_line(r) for r in rows) + "\n").encode("utf-8"),
        "P90000003: contributions add to £5,850.00, not the £6,100.00 total; P90000004: no weekly cost at all; "
        "P90000005: placement type 'Solo emergency' is not a known type",
        "the three rows quarantined (contributions do not add up / cost missing / unknown placement type); "
        "2 rows loaded")
    header = ["Child ID", "LA", "Provider Name", "Home", "Ofsted URN", "Type", "Route", "Start", "End",
              "Cost pw", "SC", "Edu", "Health", "Emergency?"]
    rows = [["C1001", "Somerset", "Meadows Care Ltd", "", "SC400123", "Residential", "Spot", "03/04/2023", "",
             "£4,950.00 pw", "£4,950.00", "£0.00", "£0.00", "No"],
            ["C1002", "Somerset", "Fostering Solutions Ltd", "", "SC037671", "IFA", "Framework", "2023-05-14",
             "2023-08-01", "£842.10 pw", "£842.10", "£0.00", "£0.00", "No"]]
    text = ("Somerset Council - Children's Commissioning\r\nPlacement costs report run 02/04/2024 09:14\r\n"
            + _line(header) + "\r\n" + "\r\n".join(_line(r) for r in rows) + "\r\n")
    put("placement_costs/Somerset/Placement costs 2023-24 (report).csv", text.encode("cp1252"),
        "cp1252 with £, two report-title lines above the header, other column names (Cost pw, SC, Edu, Health), "
        "amounts written '£4,950.00 pw', dates in two formats (dd/mm/yyyy and ISO), Yes/No crisis flag",
        "decoded and mapped to the contract columns; 2 rows loaded")

    md = root / "FAULTS.md"
    section = ["", "## Finance files (spend over £500, placement costs)", "",
               "Written by `demo.finance.write_faults`. Paths are relative to this folder.", "",
               "| file | fault | expected |", "|---|---|---|"]
    for path, fault, expect in written:
        rel = path.relative_to(root).as_posix()
        section.append(f"| `{rel}` | {fault.replace('|', '/')} | {expect.replace('|', '/')} |")
    prefix = "" if md.exists() else "# Deliberately faulty files\n"
    with open(md, "a", encoding="utf-8") as f:
        f.write(prefix + "\n".join(section) + "\n")
    return [p for p, _, _ in written]
