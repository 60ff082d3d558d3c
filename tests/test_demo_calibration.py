"""The default demo region's Eastern Region spend has the published shape (README, "Calibration of the Eastern Region
spend"; QUESTIONS.md, "Eastern Region: provider analysis").

Measured on the ground truth of `python -m demo` as users run it (the default region, seed 1: the session fixture
`demo_region` of conftest.py, shared with the spend mart tests; about 25 s when this file runs alone), with
demo.calibration_report, for 2024-25, the children's placement categories and the 11 East of England LAs.
"""

from __future__ import annotations

import csv

import pytest

from demo import calibration_report, finance_groups, purchasing

SHAPE = [name for name in calibration_report.RANGES if name != "total_m"]


@pytest.fixture(scope="module")
def figures(demo_region) -> calibration_report.Figures:
    return calibration_report.figures(demo_region.truth)


def test_measured_on_the_latest_year_and_the_eleven_eastern_las(figures):
    assert figures.financial_year == "2024-25"
    assert figures.las == 11


@pytest.mark.parametrize("name", SHAPE)
def test_eastern_region_provider_shape(figures, name):
    lo, hi = calibration_report.RANGES[name]
    value = getattr(figures, name)
    assert (lo is None or value >= lo) and (hi is None or value <= hi), (name, value, (lo, hi))


@pytest.mark.xfail(strict=True, reason=(
    "Known gap: total 2024-25 placement spend of the 11 Eastern LAs is about £358m, above the £350m the range "
    "allows. It is volume x price, not who is paid: the SSDA903 part gives every LA the DfE national placement mix "
    "(about 740 Eastern children in independent children's homes, where the region publishes just under 500) and "
    "prices follow demo/data/cost_calibration.csv. Remove this mark once the total is in range."))
def test_eastern_region_total_spend(figures):
    lo, hi = calibration_report.RANGES["total_m"]
    assert lo <= figures.total_m <= hi, figures.total_m


def test_the_largest_group_is_a_national_one_and_national_groups_sell_widely(demo_region, figures):
    cats = calibration_report.placement_categories()
    national = set(purchasing.national_pull())
    buyers: dict[str, set[str]] = {}
    with open(demo_region.truth / "expected_spend.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if (r["financial_year"] == figures.financial_year and r["category"] in cats
                    and r["la_gss_code"] in calibration_report.EASTERN_REGION and r["group_id"] in national):
                buyers.setdefault(r["group_id"], set()).add(r["la_gss_code"])
    assert figures.largest_group == "CareTech (Cambian)"
    assert len(buyers) == len(national), "every national group sells to the region"
    assert sum(len(b) >= 4 for b in buyers.values()) >= 0.8 * len(national)


def test_override_families_with_one_name_are_one_group():
    overrides = finance_groups.load_overrides()
    homes = finance_groups.resolve("Compass Children's Homes (North) Ltd", overrides)
    fostering = finance_groups.resolve("Compass Fostering South Ltd", overrides)
    assert homes == fostering == (finance_groups.override_group_id("Compass Community"), "Compass Community")
    entities, _ = finance_groups.build_groups(["Compass Children's Homes Ltd", "Compass Fostering East Ltd"], 1)
    assert len({r["group_id"] for r in entities}) == 1
    by_name: dict[str, set[str]] = {}
    for prefix, name in overrides:
        by_name.setdefault(name, set()).add(finance_groups.resolve(prefix, overrides)[0])
    assert all(len(ids) == 1 for ids in by_name.values()), by_name


def test_report_prints_the_six_figures(demo_region, capsys):
    assert calibration_report.main([str(demo_region.truth)]) == 0
    out = capsys.readouterr().out
    for label in ("total spend", "largest group", "top-20", "4+ LAs", "2+ LAs", "groups in all"):
        assert label in out
