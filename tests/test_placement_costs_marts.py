"""mart_placement_costs on the demo region, built by the real CLI (session fixture demo_build).

Expected values come from the generator's ground truth (expected_placement_costs.csv in the demo_region fixture's
truth folder) and are recomputed here from the extract files with the csv module and Decimal arithmetic - never
from the warehouse's own tables.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ssda903_truth import in_force

CENT = Decimal("0.01")
TYPE_OF_LABEL = {  # the demo generator's labels (demo.finance_layouts.PLACEMENT_TYPE_LABEL), written out here
    "Independent children's home": "independent_residential",
    "Independent fostering agency": "ifa_fostering",
    "Supported accommodation (16+)": "semi_independent",
    "Residential special school": "residential_school",
    "Secure children's home": "secure",
}
ROLL_UP = """
    select la_gss_code, financial_year, placement_type,
           sum(placements) as placements,
           coalesce(sum(placements) filter (where is_crisis), 0) as crisis_placements,
           coalesce(sum(placements) filter (where not is_crisis), 0) as placements_excl_crisis,
           sum(bed_nights) as bed_nights,
           sum(total_weekly_cost) filter (where not is_crisis) as weekly_excl_crisis,
           sum(total_social_care_contribution) filter (where not is_crisis) as social_care_excl_crisis,
           sum(total_education_contribution) filter (where not is_crisis) as education_excl_crisis,
           sum(total_health_contribution) filter (where not is_crisis) as health_excl_crisis,
           sum(annual_spend) as annual_spend,
           sum(new_placements) as new_placements,
           sum(total_new_placement_fee) as new_placement_fees,
           sum(children_supported) as children_supported
    from marts.mart_placement_costs
    group by all
"""


def reported_as(gss: str, financial_year: str) -> str:
    """The truth names an LA by today's code; the warehouse by the authority in force in the year (Somerset
    County Council, E10000027, to 31 March 2023; docs/ssda903.md)."""
    return in_force(gss, f"{int(financial_year[:4]) + 1}-03-31")


def _date(text: str) -> dt.date | None:
    return dt.datetime.strptime(text, "%d/%m/%Y").date() if text else None


@pytest.fixture(scope="module")
def gss_of(demo_region) -> dict[str, str]:
    with open(demo_region.truth / "expected_placement_costs.csv", encoding="utf-8", newline="") as handle:
        return {r["la_name"]: r["la_gss_code"] for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def from_extracts(demo_region, gss_of) -> dict[tuple, dict]:
    """Per (LA, financial year, placement type), recomputed from the extract files."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(Decimal))
    for path in sorted((demo_region.inbox / "placement_costs").rglob("*.csv")):
        fy_end = int(path.stem.rsplit("_", 1)[1])
        start_of_year, next_year = dt.date(fy_end - 1, 4, 1), dt.date(fy_end, 4, 1)
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for r in csv.DictReader(handle):
                year = f"{fy_end - 1}-{fy_end % 100:02d}"
                key = (reported_as(gss_of[path.parent.name], year), year, TYPE_OF_LABEL[r["Placement Type"]])
                start, end = _date(r["Start Date"]), _date(r["End Date"])
                nights = max(0, ((min(end, next_year) if end else next_year) - max(start, start_of_year)).days)
                weekly = Decimal(r["Weekly Cost"])
                crisis = r["Crisis Placement"] == "Y"
                agg = out[key]
                agg["placements"] += 1
                agg["crisis_placements"] += crisis
                agg["bed_nights"] += nights
                agg["annual_spend"] += (weekly * nights / 7).quantize(CENT, ROUND_HALF_UP)
                if start_of_year <= start < next_year:
                    agg["new_placements"] += 1
                    agg["new_placement_fees"] += weekly
                if not crisis:
                    agg["placements_excl_crisis"] += 1
                    agg["weekly_excl_crisis"] += weekly
                    agg["social_care_excl_crisis"] += Decimal(r["Social Care Contribution"])
                    agg["education_excl_crisis"] += Decimal(r["Education Contribution"])
                    agg["health_excl_crisis"] += Decimal(r["Health Contribution"])
    return out


@pytest.fixture(scope="module")
def mart(warehouse_db) -> dict[tuple, dict]:
    import duckdb

    with duckdb.connect(warehouse_db, read_only=True) as con:
        cursor = con.execute(ROLL_UP)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    return {(r["la_gss_code"], r["financial_year"], r["placement_type"]): r for r in rows}


def test_mart_matches_the_generators_truth(demo_region, mart):
    with open(demo_region.truth / "expected_placement_costs.csv", encoding="utf-8", newline="") as handle:
        truth = list(csv.DictReader(handle))
    assert len(truth) > 100
    def key(t: dict) -> tuple:
        return reported_as(t["la_gss_code"], t["financial_year"]), t["financial_year"], t["placement_type"]

    assert {key(t) for t in truth} == set(mart)
    assert any(k[0] == "E10000027" for k in mart)  # Somerset County Council's years are its own
    for t in truth:
        m = mart[key(t)]
        where = (t["la_name"], t["financial_year"], t["placement_type"])
        assert m["placements"] == int(t["placements"]), where
        assert m["crisis_placements"] == int(t["crisis_placements"]), where
        assert m["placements_excl_crisis"] == int(t["placements_excl_crisis"]), where
        assert m["bed_nights"] == int(t["bed_nights"]), where
        n = m["placements_excl_crisis"]
        if not n:
            continue
        for measure, column in (("weekly_excl_crisis", "avg_weekly_cost_excl_crisis"),
                                ("social_care_excl_crisis", "avg_social_care_excl_crisis"),
                                ("education_excl_crisis", "avg_education_excl_crisis"),
                                ("health_excl_crisis", "avg_health_excl_crisis")):
            average = m[measure] / n
            assert abs(average - Decimal(t[column])) <= Decimal("0.005"), (where, column, average, t[column])


def test_childrens_home_and_ifa_costs_excluding_crisis_recomputed_from_the_extracts(from_extracts, mart):
    """Devon's question per LA and year: the average weekly cost of children's home and IFA placements excluding
    crisis ones, and how it splits between social care, education and health - to the penny."""
    checked = 0
    for key, expected in from_extracts.items():
        if key[2] not in ("independent_residential", "ifa_fostering") or not expected["placements_excl_crisis"]:
            continue
        m = mart[key]
        n = expected["placements_excl_crisis"]
        assert m["placements_excl_crisis"] == n, key
        for measure in ("weekly_excl_crisis", "social_care_excl_crisis", "education_excl_crisis", "health_excl_crisis"):
            assert (m[measure] / n).quantize(CENT) == (expected[measure] / n).quantize(CENT), (key, measure)
        split = sum(expected[s] for s in ("social_care_excl_crisis", "education_excl_crisis", "health_excl_crisis"))
        assert split == expected["weekly_excl_crisis"], key
        checked += 1
    assert checked > 50


def test_spend_nights_and_new_placement_fee_recomputed_from_the_extracts(from_extracts, mart):
    assert set(from_extracts) == set(mart)
    for key, expected in from_extracts.items():
        m = mart[key]
        assert m["bed_nights"] == expected["bed_nights"], key
        assert m["annual_spend"] == expected["annual_spend"], key
        assert m["children_supported"] == m["placements"] == expected["placements"], key
        assert m["new_placements"] == expected["new_placements"], key
        assert m["new_placement_fees"] == expected["new_placement_fees"], key


def test_the_mart_row_answers_devons_question_directly(con):
    """One LA x year x provider group row: its averages, split and shares agree with its own totals."""
    rows = con.execute("""
        select placements, new_placements, total_weekly_cost, avg_weekly_cost, avg_social_care_contribution,
               avg_education_contribution, avg_health_contribution, social_care_share, education_share, health_share,
               total_new_placement_fee, avg_new_placement_fee
        from marts.mart_placement_costs where not is_crisis and placement_type = 'independent_residential'
    """).fetchall()
    assert rows
    for (n, new, total, avg, sc, edu, health, sc_share, edu_share, h_share, fees, new_fee) in rows:
        assert avg == (total / n).quantize(CENT, ROUND_HALF_UP)
        assert abs((sc + edu + health) - avg) <= Decimal("0.02")
        assert abs(sc_share + edu_share + h_share - 1) < 1e-9
        assert new_fee == ((fees / new).quantize(CENT, ROUND_HALF_UP) if new else None)


def test_every_extract_reconciles_with_a_csv_count(con, demo_region):
    files = sorted((demo_region.inbox / "placement_costs").rglob("*.csv"))
    assert len(files) >= 10
    log = {Path(p): (read, loaded, quarantined, status) for p, read, loaded, quarantined, status in con.execute(
        "select path, rows_read, rows_loaded, rows_quarantined, status from audit.load_log "
        "where source = 'placement_costs'").fetchall()}
    assert set(log) == {p.resolve() for p in files}
    for path in files:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            records = len(list(csv.reader(handle))) - 1
        read, loaded, quarantined, status = log[path.resolve()]
        assert read == records == loaded + quarantined, path
        assert status in ("loaded", "loaded_with_quarantine"), path


def test_no_placement_reference_reaches_a_mart(con, demo_region):
    columns = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'mart_placement_costs'").fetchall()]
    assert not [c for c in columns if "placement_key" in c or "ref" in c]
    path = sorted((demo_region.inbox / "placement_costs").rglob("*.csv"))[0]
    with open(path, encoding="utf-8-sig", newline="") as handle:
        refs = [r["Placement Ref"] for r in csv.DictReader(handle)][:20]
    text_columns = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'mart_placement_costs' and data_type = 'VARCHAR'").fetchall()]
    hits = con.execute(
        "select count(*) from marts.mart_placement_costs where "
        + " or ".join(f"list_contains(?, {c})" for c in text_columns), [refs] * len(text_columns)).fetchone()[0]
    assert hits == 0


def test_placement_cost_gx_suites_ran_and_passed(demo_build):
    for check in ("raw/placement_costs:gx_raw_placement_costs",
                  "staging/stg_placement_costs__placements:gx_staging_placement_costs",
                  "marts/mart_placement_costs:gx_marts_placement_costs_reconciles"):
        assert f"GX suite passed: {check}" in demo_build.output
