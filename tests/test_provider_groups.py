"""Provider groups across brands, and regional spend concentration (the demo build, the real register names).

Expected values come from outside the warehouse: the demo generator's supplier -> group truth, a hand-labelled
sample of real Ofsted owning organisations (tests/fixtures/real/provider_groups/), and plain Python over the
mart rows for HHI, CR4, CR10 and the top-20 share.
"""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "tests" / "fixtures" / "real" / "provider_groups" / "ofsted_owner_labels.csv"
DBT = Path(sys.executable).parent / "dbt"


def _pairwise(items: list[tuple[str, str, float]]) -> tuple[float, float]:
    """Pairwise precision and recall of predicted against true groups, each pair weighted by the product of the
    two items' weights: sums of squares per cell, no loop over pairs."""
    def same(key) -> float:
        totals, squares = defaultdict(float), defaultdict(float)
        for predicted, true, weight in items:
            k = key(predicted, true)
            totals[k] += weight
            squares[k] += weight * weight
        return sum((totals[k] ** 2 - squares[k]) / 2 for k in totals)

    both = same(lambda p, t: (p, t))
    return both / same(lambda p, t: p), both / same(lambda p, t: t)


def test_demo_resolution_recovers_the_generators_groups(demo_region, con):
    truth = {}
    with open(demo_region.truth / "supplier_groups.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            truth[" ".join(row["supplier"].split())] = row["group_id"]
    # Items: supplier string x paying LA (a private individual's group is the LA's), weighted by spend paid.
    rows = con.execute("""
        select supplier_name, la_gss_code, provider_group_id, sum(abs(amount))
        from intermediate.int_spend__lines_grouped
        where not is_supplier_withheld
        group by all
    """).fetchall()
    items = [(group, truth[name], float(weight)) for name, _la, group, weight in rows if name in truth]
    assert len(items) > 0.95 * len(rows), "most supplier strings of the ledgers are in the generator's truth"
    precision, recall = _pairwise(items)
    assert precision >= 0.98, precision
    assert recall >= 0.95, recall


def test_real_register_owners_grouped_as_hand_labelled(con):
    with open(LABELS, encoding="utf-8", newline="") as handle:
        labels = list(csv.DictReader(handle))
    assert len(labels) >= 300 and all(row["reason"].strip() for row in labels)
    # Every spelling of an owner on the register, as staged (trimmed), and the group it resolved to.
    group_of = dict(con.execute("""
        select spelling, resolved.group_id
        from intermediate.int_provider_names_unioned as names, unnest(names.spellings) as s (spelling)
        inner join intermediate.int_provider_names_resolved as resolved on names.match_key = resolved.match_key
        where names.name_source = 'ofsted owner'
    """).fetchall())
    labelled = [(" ".join(row["owner_name"].split()), row["group_label"]) for row in labels]
    missing = [name for name, _ in labelled if name not in group_of]
    assert not missing, f"labelled owners not on the loaded registers: {missing[:5]}"
    tp = fp = fn = 0
    for (a, label_a), (b, label_b) in itertools.combinations(labelled, 2):
        same_label, same_group = label_a == label_b, group_of[a] == group_of[b]
        tp += same_label and same_group
        fp += same_group and not same_label
        fn += same_label and not same_group
    assert tp / (tp + fp) >= 0.95, (tp, fp, fn)
    assert tp / (tp + fn) >= 0.90, (tp, fp, fn)


def test_concentration_recomputed_from_the_group_rows(con):
    rows = con.execute("""
        select grouping_type, grouping_name, financial_year, spend_rank, spend, buying_las
        from marts.mart_provider_group_spend
    """).fetchall()
    by_year = defaultdict(list)
    for grouping_type, grouping_name, year, rank, spend, buying_las in rows:
        by_year[(grouping_type, grouping_name, year)].append((float(spend), buying_las))
    mart = {
        (r[0], r[1], r[2]): r[3:]
        for r in con.execute("""
            select grouping_type, grouping_name, financial_year, total_spend, hhi, cr4, cr10, top_20_share,
                   provider_groups, groups_with_4_plus_las, multi_la_groups, multi_la_spend_share, single_la_groups
            from marts.mart_regional_spend_concentration
        """).fetchall()
    }
    assert set(mart) == set(by_year) and len(by_year) >= 10
    for key, groups in by_year.items():
        spends = sorted((spend for spend, _ in groups), reverse=True)
        total = sum(spends)
        shares = [spend / total for spend in spends]
        total_spend, hhi, cr4, cr10, top20, n, four_plus, multi, multi_share, single = mart[key]
        assert float(total_spend) == pytest.approx(total, abs=0.01)
        assert hhi == pytest.approx(sum((100 * s) ** 2 for s in shares), rel=1e-9)
        assert cr4 == pytest.approx(sum(shares[:4]), rel=1e-9)
        assert cr10 == pytest.approx(sum(shares[:10]), rel=1e-9)
        assert top20 == pytest.approx(sum(shares[:20]), rel=1e-9)
        assert n == len(groups)
        assert four_plus == sum(1 for _, las in groups if las >= 4)
        assert multi == sum(1 for _, las in groups if las > 1)
        assert single == sum(1 for _, las in groups if las == 1)
        assert multi_share == pytest.approx(sum(s for s, _ in groups if _ > 1) / total, rel=1e-9)


def test_hhi_change_is_the_difference_with_the_year_before(con):
    rows = con.execute("""
        select grouping_name, financial_year, hhi, hhi_change from marts.mart_regional_spend_concentration
        where grouping_type = 'consortium' order by 1, 2
    """).fetchall()
    previous = {}
    for name, year, hhi, change in rows:
        if name in previous:
            assert change == pytest.approx(hhi - previous[name])
        else:
            assert change is None
        previous[name] = hhi


def _eastern_latest(con):
    return con.execute("""
        select * from marts.mart_regional_spend_concentration
        where grouping_name = 'Eastern Region' order by financial_year desc limit 1
    """).df().iloc[0]


@pytest.mark.xfail(strict=True, reason="Known gap (as tests/test_demo_calibration.py): the demo's SSDA903 part gives "
                   "every LA the DfE national placement mix, so the Eastern total runs above the published range")
def test_demo_eastern_region_total_is_in_the_published_range(con):
    assert 250e6 <= _eastern_latest(con).total_spend <= 350e6


def test_demo_eastern_region_tells_the_seeds_story(con):
    latest = _eastern_latest(con)
    assert 250e6 <= latest.total_spend <= 400e6, latest.total_spend
    assert 10e6 <= latest.largest_group_spend <= 16e6, latest.largest_group_spend
    assert 0.28 <= latest.top_20_share <= 0.40, latest.top_20_share
    assert 20 <= latest.groups_with_4_plus_las <= 40, latest.groups_with_4_plus_las
    assert 150 <= latest.multi_la_groups <= 250, latest.multi_la_groups
    assert 0.55 <= latest.multi_la_spend_share <= 0.75, latest.multi_la_spend_share
    assert latest.provider_groups >= 450, latest.provider_groups


def test_one_group_id_in_every_mart(con):
    """Keys Group (a curated group) has the same id wherever a mart names a provider group."""
    ids = {
        table: {r[0] for r in con.execute(
            f"select distinct provider_group_id from marts.{table} where provider_group_name = 'Keys Group'").fetchall()}
        for table in ("dim_provider", "dim_provider_group", "mart_la_spend", "mart_placement_costs",
                      "mart_provider_group_spend", "mart_provider_profile")
    }
    assert all(found == {"keys-group"} for found in ids.values()), ids


def test_no_person_name_in_any_mart(con):
    """Names taken for private individuals never reach a mart: each counts to its LA's unnamed group."""
    people = [r[0] for r in con.execute("""
        select organisation_name from intermediate.int_provider_names_resolved where is_individual
    """).fetchall()]
    for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall():
        columns = [c for (c, t) in con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
            "and table_name = ?", [table]).fetchall() if t == "VARCHAR"]
        for column in columns:
            hit = con.execute(f"select count(*) from marts.{table} where {column} in (select unnest(?))",
                              [people]).fetchone()[0]
            assert hit == 0, (table, column)


def test_review_list_is_ordered_by_placement_spend(con):
    rows = con.execute("""
        select review_rank, childrens_placement_spend from audit.provider_match_review order by review_rank
    """).fetchall()
    assert rows and [r[0] for r in rows] == list(range(1, len(rows) + 1))
    spends = [float(r[1] or 0) for r in rows]
    assert spends == sorted(spends, reverse=True)


def _organisation_key_sql(project: Path, env: dict) -> str:
    """The warehouse's own organisation_key macro, compiled once by dbt, over a column named `x` (dbt opens the
    warehouse to compile: the test's own copy, never a default path another test may hold)."""
    out = subprocess.run([str(DBT), "compile", "--quiet", "--profiles-dir", ".", "--inline",
                          "select {{ organisation_key('x') }} as k"],
                         cwd=project, capture_output=True, text=True, check=True, env=env).stdout
    return out.strip().removeprefix("select ").removesuffix(" as k")


BAD_SUPPLIERS = [  # (supplier name as published, company number column, what it is)
    ("", None, "blank"),
    ("REDACTED", None, "redacted"),
    ("40012345", None, "digits only"),
    ("John Smith", None, "a person"),
    ("Mr A Khan", None, "a person"),
    ("Horizon Fostering Services Ltd", None, "lookalike of Horizon Care and Education"),
    ("Keystone Childcare Ltd", None, "lookalike of Keys"),
    ("Acorn Childcare Limited", None, "Acorn Childcare, not Acorn Care and Education"),
    ("Bright Widgets Ltd", "KEYS", "a company number that belongs to a Keys company"),
]


@pytest.fixture(scope="module")
def bad_input_build(tmp_path_factory, warehouse_db):
    """The demo warehouse copied, the bad supplier names added as ledger lines of an LA that publishes no
    supplier id, and the provider models and marts rebuilt by dbt with one extra analyst decision."""
    base = tmp_path_factory.mktemp("bad-suppliers")
    db = base / "warehouse.duckdb"
    shutil.copy(warehouse_db, db)
    project = base / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    with duckdb.connect(warehouse_db, read_only=True) as con:
        top_near_miss = con.execute("""
            select organisation_name from audit.provider_match_review where review_reason = 'near miss, not linked'
            order by review_rank limit 1
        """).fetchone()[0]
    with open(project / "seeds" / "providers" / "provider_group_overrides.csv", "a", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(
            [top_near_miss, "own group", "", "", "test: an analyst's decision", "test", "2026-12-05"])
    env = {**os.environ, "WAREHOUSE_DB": str(db)}
    key_sql = _organisation_key_sql(project, env)
    with duckdb.connect(str(db)) as write:
        keys_company = write.execute("""
            select company_number from intermediate.int_spend__lines_grouped
            where provider_group_id = 'keys-group' and company_number is not null limit 1
        """).fetchone()
        keys_company = keys_company[0] if keys_company else "01234567"
        for row, (name, company, _) in enumerate(BAD_SUPPLIERS, start=1):
            write.execute(f"""
                insert into staging.stg_spend__lines by name
                select 'E10000029' as la_gss_code, '2024-25' as financial_year, date '2024-10-01' as payment_date,
                       'BAD{row}' as transaction_id, 60000.00 as amount,
                       case when ? in ('', 'REDACTED') then null else ? end as supplier_name,
                       case when ? in ('', 'REDACTED') then null else (select {key_sql} from (select ? as x)) end
                           as supplier_key,
                       ? in ('', 'REDACTED') as is_supplier_withheld, null as supplier_id,
                       ? as company_number, 'Children''s Social Care' as service_area,
                       'Independent Residential Placements' as expense_type, false as is_outside_period,
                       false as is_repeat, 1 as copies, 'bad_suppliers.csv' as source_file, 'bad' as file_sha256,
                       ? as source_row_number, 'test' as load_id
            """, [name, name, name, name, name, keys_company if company == "KEYS" else company, row])
    completed = subprocess.run(
        [str(DBT), "build", "--profiles-dir", ".", "--select",
         "provider_group_overrides+", "int_provider_names_unioned+", "int_spend__lines_grouped+"],
        cwd=project, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-4000:]
    return db, top_near_miss


def test_bad_supplier_names_force_no_merge(bad_input_build):
    db, _ = bad_input_build
    with duckdb.connect(str(db), read_only=True) as c:
        lines = {r[0]: r[1:] for r in c.execute("""
            select transaction_id, provider_group_id, provider_group_method
            from intermediate.int_spend__lines_grouped where file_sha256 = 'bad'
        """).fetchall()}
        assert len(lines) == len(BAD_SUPPLIERS), "every line is kept"
        group = {name: lines[f"BAD{i}"] for i, (name, _, _) in enumerate(BAD_SUPPLIERS, start=1)}
        assert group[""][0] == group["REDACTED"][0] == "withheld-E10000029"
        assert group["John Smith"][0] == group["Mr A Khan"][0] == "individuals-E10000029"
        lookalikes = {"Horizon Fostering Services Ltd": "horizon-care-and-education",  # curated groups' ids
                      "Keystone Childcare Ltd": "keys-group",
                      "Acorn Childcare Limited": "outcomes-first-group",  # Acorn Care & Education's group
                      "Bright Widgets Ltd": "keys-group"}
        for name, other_group in lookalikes.items():
            assert group[name][0] != other_group, f"{name} merged into {other_group}"
        for name in ("40012345", "Keystone Childcare Ltd", "Acorn Childcare Limited", "Bright Widgets Ltd"):
            group_id, method = group[name]
            assert method == "own name", (name, method)
            members = c.execute("""
                select count(*) from intermediate.int_provider_names_resolved where group_id = ?
            """, [group_id]).fetchone()[0]
            assert members == 1, f"{name} merged into a group of {members}"
        review = dict(c.execute(
            "select organisation_name, review_reason from audit.provider_match_review").fetchall())
        for name in ("40012345", "John Smith", "Mr A Khan", "Keystone Childcare Ltd", "Bright Widgets Ltd"):
            assert name in review, f"{name} is not on the review list"
        # Acorn Childcare is decided in the override seed ('not same as' Acorn Care & Education): off the list.
        assert "Acorn Childcare Limited" not in review
        spend_names = {r[0] for r in c.execute("select distinct provider_group_name from marts.mart_la_spend").fetchall()}
        assert not spend_names & {"John Smith", "Mr A Khan"}


def test_an_analysts_decision_takes_a_name_off_the_review_list(bad_input_build, con):
    db, decided = bad_input_build
    before = {r[0] for r in con.execute("select organisation_name from audit.provider_match_review").fetchall()}
    assert decided in before
    with duckdb.connect(str(db), read_only=True) as c:
        after = {r[0] for r in c.execute("select organisation_name from audit.provider_match_review").fetchall()}
        method = c.execute("""
            select link_method from intermediate.int_provider_names_resolved where organisation_name = ?
        """, [decided]).fetchone()[0]
    assert decided not in after
    assert method == "override"
