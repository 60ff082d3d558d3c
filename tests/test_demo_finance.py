"""The demo's finance files: spend-over-£500 ledgers, placement-cost extracts and their ground truth.

Expected values are recomputed here from the written files with the csv module (never from the generator's
tables): spend re-added from the CSVs against expected_spend.csv, payments re-derived from placement dates and
the weekly costs in the placement-cost extracts, contributions re-added to the penny.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from demo import finance, finance_synth
from demo.finance_layouts import (
    CALDERDALE_HEADER, MANCHESTER_HEADER, TRANSPARENCY_HEADER, layout_for,
)

REPO = Path(__file__).resolve().parents[1]
REAL_SPEND = REPO / "tests" / "fixtures" / "real" / "spend"  # the councils' published files (SOURCES.md)
LAS = ["Calderdale", "Manchester", "Essex"]  # one LA of each layout
YEARS = (2022, 2023)
SEED = 11
TYPE_OF_LABEL = {
    "Independent children's home": "independent_residential",
    "Independent fostering agency": "ifa_fostering",
    "Supported accommodation (16+)": "semi_independent",
    "Residential special school": "residential_school",
    "Secure children's home": "secure",
}


def _generate(tmp: Path, seed: int = SEED) -> tuple[Path, Path, dict]:
    out, truth = tmp / "inbox", tmp / "truth"
    stats = finance.generate(tmp.parent / "placements.parquet", out, truth, seed, LAS, YEARS, noise_scale=0.1)
    return out, truth, stats


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("finance")
    finance_synth.build(base / "placements.parquet", las=LAS, years=YEARS, seed=5, scale=0.5)
    out, truth, stats = _generate(base / "a")
    return base, out, truth, stats


def _fy(d: dt.date) -> str:
    y = d.year if d.month >= 4 else d.year - 1
    return f"{y}-{(y + 1) % 100:02d}"


def _pennies(text: str) -> int:
    """Amount as written in any of the three layouts -> pennies."""
    t = text.replace("£", "").replace(",", "").strip()
    return int((Decimal(t) * 100).to_integral_value())


def _read_spend(out: Path) -> list[dict]:
    """Every line of every spend file, normalised: la folder, layout, date, amount, supplier, fields."""
    rows = []
    for path in sorted((out / "spend").rglob("*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as f:
            records = list(csv.reader(f))
        header, body = records[0], records[1:]
        if header == CALDERDALE_HEADER:
            layout, di, ai, si, ti, date_fmt = "calderdale", 2, 5, 7, 3, "%Y-%m-%d"
        elif header == MANCHESTER_HEADER:
            layout, di, ai, si, ti, date_fmt = "manchester", 3, 5, 6, 4, "%Y-%m-%d"
        elif header == TRANSPARENCY_HEADER:
            layout, di, ai, si, ti, date_fmt = "transparency", 2, 5, 6, 3, "%d/%m/%Y"
        else:
            raise AssertionError(f"{path}: unknown header {header}")
        for r in body:
            assert len(r) == len(header), (path, r)
            rows.append({"la": path.parent.name, "file": f"spend/{path.parent.name}/{path.name}", "layout": layout,
                         "date": dt.datetime.strptime(r[di], date_fmt).date(), "raw_amount": r[ai],
                         "amount": _pennies(r[ai]), "supplier": r[si], "txn": r[ti], "fields": r})
    return rows


@pytest.fixture(scope="module")
def spend(run):
    return _read_spend(run[1])


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------------------- layouts
def test_each_la_gets_its_layout_and_the_real_headers(run, spend):
    out = run[1]
    layouts = {r["la"]: r["layout"] for r in spend}
    assert layouts == {"Calderdale": "calderdale", "Manchester": "manchester", "Essex": "transparency"}
    assert layout_for("E10000012") == "transparency"
    for la in LAS:
        files = sorted((out / "spend" / la).glob("*.csv"))
        assert len(files) == 24  # April 2021 .. March 2023, one per month
        first = files[0].read_bytes()
        assert first.startswith(b"\xef\xbb\xbf") == (la == "Manchester")
    with open(REAL_SPEND / "calderdale_clean_2022-06.csv", encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == CALDERDALE_HEADER
    with open(REAL_SPEND / "manchester_clean_2022-05.csv", encoding="utf-8-sig", newline="") as f:
        real = next(csv.reader(f))
    # The published Manchester file's BOM was encoded twice ('ï»¿'); ours is a proper UTF-8 BOM.
    assert [real[0].removeprefix("\u00ef\u00bb\u00bf")] + real[1:] == MANCHESTER_HEADER
    for la, real_path in (("Calderdale", "calderdale_clean_2022-06.csv"),):
        ours = (out / "spend" / la / "calderdale_spend_2022-06.csv").read_bytes().split(b"\n")[0]
        assert ours == (REAL_SPEND / real_path).read_bytes().split(b"\n")[0]


def test_value_styles_follow_the_real_files(spend):
    styles = {
        "calderdale": re.compile(r"^-?\d+\.\d\d$"),
        "manchester": re.compile(r"^-?\d+(\.\d?[1-9])?$"),  # no trailing zeros, as Manchester publishes
        "transparency": re.compile(r"^-?£\d{1,3}(,\d{3})*\.\d\d$"),
    }
    for r in spend:
        assert styles[r["layout"]].match(r["raw_amount"]), r
    cal = [r["fields"] for r in spend if r["layout"] == "calderdale"]
    assert {f[6] for f in cal} == {"N/A"}
    areas = {f[12] for f in cal}
    assert "Children and Young People's Services-Childrens Care Services" in areas
    assert any(a.startswith("Adult Services and Wellbeing-") for a in areas)
    assert any(f[8] for f in cal), "some Calderdale-layout lines carry a company number"
    assert "Redacted Personal Information" in {r["supplier"] for r in spend if r["layout"] == "manchester"}
    # Only lines of £500 and over are published; credits are negative.
    assert all(r["amount"] >= 50000 for r in spend if r["amount"] > 0)
    assert sum(r["amount"] < 0 for r in spend) > 20
    # A file holds its own month's payments only.
    for r in spend:
        m = re.search(r"(\d{4})-(\d\d)\.csv$", r["file"])
        if m:
            assert (r["date"].year, r["date"].month) == (int(m.group(1)), int(m.group(2)))


# ------------------------------------------------------------------------------------------- spend truth
_CATEGORY_BY_CODE = {  # Calderdale expense code / Transparency Code expense code -> spend category
    "72255550": "children's residential", "5301": "children's residential",
    "72465550": "independent fostering", "5302": "independent fostering",
    "72275550": "supported accommodation / 16+", "5303": "supported accommodation / 16+",
    "68065510": "residential school / SEN", "5611": "residential school / SEN",
    "72265550": "secure", "5304": "secure",
}


def test_spend_re_added_from_the_files_equals_expected_spend(run, spend):
    truth = run[2]
    groups = {r["supplier"]: r["group_id"] for r in _read_csv(truth / "supplier_groups.csv")}
    expected = _read_csv(truth / "expected_spend.csv")
    gss = {r["la_name"]: r["la_gss_code"] for r in expected}
    fys = {f"{y - 1}-{y % 100:02d}" for y in range(YEARS[0], YEARS[1] + 1)}

    by_group = defaultdict(lambda: [0, 0])
    for r in spend:
        key = (gss[r["la"]], _fy(r["date"]), groups[r["supplier"]])
        by_group[key][0] += r["amount"]
        by_group[key][1] += 1
    exp_group = defaultdict(lambda: [0, 0])
    for e in expected:
        assert e["financial_year"] in fys
        k = (e["la_gss_code"], e["financial_year"], e["group_id"])
        exp_group[k][0] += _pennies(e["amount"])
        exp_group[k][1] += int(e["lines"])
    assert dict(by_group) == dict(exp_group)

    # Where the layout's expense codes tell placement types apart, the category totals match too.
    by_cat = defaultdict(int)
    for r in spend:
        code = r["fields"][14] if r["layout"] == "calderdale" else r["fields"][11] if r["layout"] == "transparency" else None
        if code in _CATEGORY_BY_CODE:
            by_cat[(gss[r["la"]], _fy(r["date"]), _CATEGORY_BY_CODE[code])] += r["amount"]
    exp_cat = defaultdict(int)
    for e in expected:
        if e["la_name"] != "Manchester" and e["category"] in set(_CATEGORY_BY_CODE.values()):
            exp_cat[(e["la_gss_code"], e["financial_year"], e["category"])] += _pennies(e["amount"])
    assert dict(by_cat) == dict(exp_cat)
    cats = {e["category"] for e in expected}
    assert {"children's residential", "independent fostering", "supported accommodation / 16+",
            "other children's social care", "not children's placements"} <= cats


def test_adult_care_is_never_counted_as_childrens(run, spend):
    truth = run[2]
    groups = {r["supplier"]: r for r in _read_csv(truth / "supplier_groups.csv")}
    adult = [r for r in spend if r["layout"] == "calderdale" and r["fields"][12].startswith("Adult Services")]
    assert adult
    assert all(groups[r["supplier"]]["is_children_placement_provider"] == "false" for r in adult)
    expected = _read_csv(truth / "expected_spend.csv")
    adult_groups = {groups[r["supplier"]]["group_id"] for r in adult}
    assert {e["category"] for e in expected if e["group_id"] in adult_groups} == {"not children's placements"}


# ------------------------------------------------------------------------------------------- payments
def _cost_rows(out: Path) -> dict[tuple[str, int], dict]:
    rows = {}
    for path in (out / "placement_costs").rglob("placement_costs_*.csv"):
        fy_end = int(path.stem.rsplit("_", 1)[1])
        for r in _read_csv(path):
            rows[(r["Placement Ref"], fy_end)] = r
    return rows


def test_payments_follow_placements(run, spend):
    base, out, truth, _ = run
    placements = pd.read_parquet(base / "placements.parquet").set_index("placement_id")
    costs = _cost_rows(out)
    pay = pd.read_parquet(truth / "placement_payments.parquet")
    lines = {(r["file"], r["txn"]): r for r in spend}
    window = (dt.date(YEARS[0] - 1, 3, 1), dt.date(YEARS[1], 3, 1))  # service months paid in the period
    checked_full = 0
    sample = sorted(pay["placement_id"].unique())[::7][:150]
    for pid in sample:
        p = placements.loc[pid]
        start = p["start_date"]
        stop = p["end_date"] if pd.notna(p["end_date"]) else dt.date(9999, 12, 31)
        mine = pay[pay["placement_id"] == pid]
        published = [lines[(f, t)] for f, t in zip(mine["file"], mine["transaction_number"])]
        # The truth points at real lines with the same amounts.
        assert sorted(round(a * 100) for a in mine["amount"]) == sorted(r["amount"] for r in published)
        # March before the period is paid in its first month, but its price is in no extract of the period.
        in_period = pd.to_datetime(mine["service_month"]).dt.date >= dt.date(YEARS[0] - 1, 4, 1)
        mine = mine[in_period.values]
        published = [r for r, keep in zip(published, in_period) if keep]
        # Expected per service month, from dates and the weekly cost in the year's extract.
        expected_months, total_exact = [], 0
        for fy_end in range(YEARS[0] - 1, YEARS[1] + 1):
            fy_start, fy_stop = dt.date(fy_end - 1, 4, 1), dt.date(fy_end, 4, 1)
            if fy_end < YEARS[0]:
                continue
            if (pid, fy_end) not in costs:
                assert not (start < fy_stop and stop > fy_start)
                continue
            seg0, seg1 = max(start, fy_start, window[0]), min(stop, fy_stop, window[1])
            if seg1 <= seg0:
                continue
            weekly = _pennies(costs[(pid, fy_end)]["Weekly Cost"])
            total_exact += weekly * (seg1 - seg0).days
            m = dt.date(seg0.year, seg0.month, 1)
            while m < seg1:
                nxt = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
                a, b = max(seg0, m), min(seg1, nxt)
                if b > a:
                    anchor = max(start, fy_start)
                    c1, c2 = (a - anchor).days, (b - anchor).days
                    amount = (weekly * c2 * 2 + 7) // 14 - (weekly * c1 * 2 + 7) // 14
                    expected_months.append((m, amount, (b - a).days))
                m = nxt
        got = Counter(r["amount"] for r in published)
        for amt, n in list(got.items()):  # a duplicate paid and credited back cancels out
            if amt < 0:
                got[-amt] -= n
                del got[amt]
        got = +got
        want = Counter(a for _, a, _ in expected_months if a >= 50000)
        assert got == want, pid
        for r, (_, row) in zip(published, mine.iterrows()):
            svc = row["service_month"]
            svc = svc.date() if hasattr(svc, "date") else svc
            assert (r["date"].year * 12 + r["date"].month) - (svc.year * 12 + svc.month) == 1  # in arrears
        if expected_months and all(a >= 50000 for _, a, _ in expected_months):
            # Weekly price x weeks paid: the months add up to the whole stay to the penny.
            fy_sums = sum(a for _, a, _ in expected_months)
            assert sum(r["amount"] for r in published) == fy_sums
            assert abs(fy_sums * 7 - total_exact) <= 7 * len({_fy(m) for m, _, _ in expected_months})
            checked_full += 1
    assert checked_full >= 20


def test_contributions_add_up_and_expected_costs(run):
    out, truth = run[1], run[2]
    acc = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for path in sorted((out / "placement_costs").rglob("*.csv")):
        fy_end = int(path.stem.rsplit("_", 1)[1])
        for r in _read_csv(path):
            total = _pennies(r["Weekly Cost"])
            parts = [_pennies(r[c]) for c in ("Social Care Contribution", "Education Contribution",
                                               "Health Contribution")]
            assert sum(parts) == total and all(x >= 0 for x in parts), r
            assert r["Commissioning Route"] in {"Framework", "Block", "Spot"}
            assert r["Crisis Placement"] in {"Y", "N"}
            k = (r["Placing Authority"], f"{fy_end - 1}-{fy_end % 100:02d}", TYPE_OF_LABEL[r["Placement Type"]])
            a = acc[k]
            a[0] += 1
            if r["Crisis Placement"] == "N":
                a[1] += 1
                a[2] += total
                for i, x in enumerate(parts):
                    a[3 + i] += x
    expected = _read_csv(truth / "expected_placement_costs.csv")
    assert len(expected) == len(acc)
    for e in expected:
        a = acc[(e["la_name"], e["financial_year"], e["placement_type"])]
        assert int(e["placements"]) == a[0] and int(e["placements_excl_crisis"]) == a[1]
        if a[1]:
            for col, i in (("avg_weekly_cost_excl_crisis", 2), ("avg_social_care_excl_crisis", 3),
                           ("avg_education_excl_crisis", 4), ("avg_health_excl_crisis", 5)):
                assert abs(Decimal(e[col]) * 100 - Decimal(a[i]) / a[1]) <= Decimal("0.51"), (e, col)
    # Calibration: the 2022-23 residential average sits near the published level (CMA 2020 £3,830 rising).
    res = [Decimal(e["avg_weekly_cost_excl_crisis"]) for e in expected
           if e["placement_type"] == "independent_residential" and e["financial_year"] == "2022-23"]
    assert all(3500 < x < 7000 for x in res), res
    ifa = [Decimal(e["avg_weekly_cost_excl_crisis"]) for e in expected if e["placement_type"] == "ifa_fostering"]
    assert all(700 < x < 1100 for x in ifa), ifa


# ------------------------------------------------------------------------------------------- groups
def test_suppliers_map_to_one_group_and_groups_use_several_brands(run, spend):
    truth = run[2]
    sup = _read_csv(truth / "supplier_groups.csv")
    names = [r["supplier"] for r in sup]
    assert len(names) == len(set(names)), "a supplier string maps to one group"
    written = {r["supplier"] for r in spend}
    assert written == set(names)
    strings = defaultdict(set)
    for r in sup:
        if r["is_children_placement_provider"] == "true" and r["group_id"] != "REDACTED":
            strings[r["group_id"]].add(r["supplier"])
    assert max(len(v) for v in strings.values()) >= 3
    assert sum(len(v) >= 3 for v in strings.values()) >= 3
    assert any(r["company_number"] for r in sup)


# ------------------------------------------------------------------------------------------- determinism
def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(run):
    base, out, truth, _ = run
    out2, truth2, _ = _generate(base / "b")
    assert _digest(out) == _digest(out2)
    assert _digest(truth) == _digest(truth2)
    out3, _, _ = _generate(base / "c", seed=SEED + 1)
    assert _digest(out) != _digest(out3)


def test_truth_stays_out_of_the_inbox(run, tmp_path):
    base = run[0]
    assert not any(p.name.startswith("expected_") for p in run[1].rglob("*"))
    with pytest.raises(ValueError):
        finance.generate(base / "placements.parquet", tmp_path / "x", tmp_path / "x" / "truth", 1, LAS[:1],
                         YEARS, noise_scale=0.01)


# ------------------------------------------------------------------------------------------- faults
def test_write_faults(tmp_path):
    (tmp_path / "FAULTS.md").write_text("# Faults\n\nSSDA903 section\n", encoding="utf-8")
    files = finance.write_faults(tmp_path)
    md = (tmp_path / "FAULTS.md").read_text(encoding="utf-8")
    assert md.startswith("# Faults\n\nSSDA903 section\n")
    for p in files:
        assert p.relative_to(tmp_path).as_posix() in md
        assert p.parts[-3] in ("spend", "placement_costs")
    by_name = {p.name: p for p in files}
    html = by_name["E06000032_spend_over_500_Jun2023.csv"].read_bytes()
    assert html.lstrip().lower().startswith(b"<!doctype html")
    cp = by_name["Suffolk payments over £500 August 2023.csv"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        cp.decode("utf-8")
    text = cp.decode("cp1252")
    assert "04-Aug-23" in text and "(£1,200.00)" in text and "£980.00-" in text
    faulty = list(csv.reader(by_name["somerset_spend_2023-09_faulty.csv"].read_text(encoding="utf-8").splitlines()))
    assert sorted({len(r) for r in faulty}) == [23, 24]
    assert any(r[5] == "see attached" for r in faulty)
    assert any(r[2] == "2023-10-02" for r in faulty)
    month = list(csv.reader(by_name["Thurrock_spend_Jul2023.csv"].read_text(encoding="utf-8").splitlines()))[1:]
    quarter = list(csv.reader(by_name["Thurrock_spend_Q1_2023-24_revised.csv"].read_text(encoding="utf-8")
                              .splitlines()))[1:]
    assert all(r in quarter for r in month)
    assert by_name["Plymouth City Council Spend over 500 June 2023 (export).csv"].read_bytes().startswith(
        b"\xc3\xaf\xc2\xbb\xc2\xbf")


def test_calibration_is_documented():
    rows = _read_csv(REPO / "demo" / "data" / "cost_calibration.csv")
    assert all(r["source"] and r["citation"] is not None and r["figure"] for r in rows)
    anchors = {(r["placement_type"], r["year"]): float(r["value"]) for r in rows if r["parameter"] == "anchor"}
    assert anchors[("independent_residential", "2020-21")] == 3830
    assert anchors[("ifa_fostering", "2020-21")] == 820
    assert {t for t, _ in anchors} == set(TYPE_OF_LABEL.values())
    assert all("assumption" in r["source"].lower() or re.search(r"\(\w", r["source"]) or "," in r["source"]
               for r in rows)
