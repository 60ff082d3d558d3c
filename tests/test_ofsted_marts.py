"""The Ofsted marts against Ofsted's published headline counts and against the source CSVs."""

from __future__ import annotations

import pytest

from conftest import OFSTED_FILES
from ofsted_truth import PROVIDER_LEVEL_FILES, PUBLISHED_CHILDRENS_HOMES, childrens_homes, places, read_rows


@pytest.mark.parametrize("snapshot, published", sorted(PUBLISHED_CHILDRENS_HOMES.items()))
def test_childrens_homes_per_snapshot_equal_ofsted_headline(con, snapshot, published):
    counted = con.execute(
        "select sum(providers) from marts.mart_market_supply "
        "where registered_as_childrens_home and snapshot_date = ?::date",
        [snapshot],
    ).fetchone()[0]
    assert counted == published


@pytest.mark.parametrize("snapshot, file_name", sorted(PROVIDER_LEVEL_FILES.items()))
def test_providers_and_places_per_snapshot_equal_the_source_file(con, snapshot, file_name):
    rows = read_rows(OFSTED_FILES / file_name)
    providers, total_places = con.execute(
        "select sum(providers), sum(places) from marts.mart_market_supply where snapshot_date = ?::date", [snapshot]
    ).fetchone()
    assert providers == len(rows)
    assert total_places == sum(places(row) for row in rows)


def test_region_childrens_homes_2021_vs_2023_opened_and_closed_in_one_query(con):
    """East of England homes and places, 2021 vs March 2023, with openings and closures, from the mart in one
    query; expected from the two CSVs, using Ofsted's own Government Office Region column for the region."""
    old = {u: r for u, r in childrens_homes(OFSTED_FILES / "provider_at_march_2021.csv").items()
           if r["Government Office Region"] == "East of England"}
    new = {u: r for u, r in childrens_homes(OFSTED_FILES / "provider_at_march_2023.csv").items()
           if r["Government Office Region"] == "East of England"}
    all_old_urns = {row["URN"].strip() for row in read_rows(OFSTED_FILES / "provider_at_march_2021.csv")}
    all_new_urns = {row["URN"].strip() for row in read_rows(OFSTED_FILES / "provider_at_march_2023.csv")}

    result = con.execute(
        """
        select
            sum(m.providers) filter (where m.snapshot_date = date '2021-03-31') as homes_2021,
            sum(m.places) filter (where m.snapshot_date = date '2021-03-31') as places_2021,
            sum(m.providers) filter (where m.snapshot_date = date '2023-03-31') as homes_2023,
            sum(m.places) filter (where m.snapshot_date = date '2023-03-31') as places_2023,
            sum(m.opened) filter (where m.snapshot_date = date '2023-03-31') as opened,
            sum(m.closed) filter (where m.snapshot_date = date '2023-03-31') as closed
        from marts.mart_market_supply as m
        join marts.dim_local_authority as la on la.la_gss_code = m.la_gss_code
        where m.registered_as_childrens_home and la.government_office_region_name = 'East of England'
        """
    ).fetchone()
    assert result == (
        len(old),
        sum(places(r) for r in old.values()),
        len(new),
        sum(places(r) for r in new.values()),
        len(set(new) - all_old_urns),
        len(set(old) - all_new_urns),
    )


def test_every_provider_las_resolves_to_a_gss_code(con):
    unresolved = con.execute(
        "select distinct local_authority_name from marts.mart_market_supply where la_gss_code is null"
    ).fetchall()
    assert unresolved == []


def test_dim_provider_has_every_urn_once_with_its_latest_entry(con):
    latest = {row["URN"].strip(): row for row in read_rows(OFSTED_FILES / "Provider_level_at_31_Aug_2023.csv")}
    every_urn = set()
    for file_name in PROVIDER_LEVEL_FILES.values():
        every_urn |= {row["URN"].strip() for row in read_rows(OFSTED_FILES / file_name)}
    rows = dict(con.execute("select urn, places from marts.dim_provider").fetchall())
    assert set(rows) == every_urn
    sample = sorted(latest)[:: max(1, len(latest) // 50)]
    assert {urn: rows[urn] for urn in sample} == {
        urn: (int(latest[urn]["Places"]) if latest[urn]["Places"].strip() else None) for urn in sample
    }


def test_dim_provider_closure_dates_come_from_the_closed_homes_file(con):
    closed = {row["URN"].strip(): row["Date closed"].strip() for row in read_rows(OFSTED_FILES / "Closed_childrens_homes_31Mar23.csv")}
    rows = con.execute(
        "select urn, strftime(closed_date, '%d/%m/%Y') from marts.dim_provider where closed_date is not null"
    ).fetchall()
    assert rows, "no closure dates joined"
    assert all(closed[urn] == date for urn, date in rows)
    in_dim = {urn for urn, in con.execute("select urn from marts.dim_provider").fetchall()}
    assert len(rows) == len(set(closed) & in_dim)


def test_la_names_mean_the_authority_of_the_snapshot_date(con):
    """'Somerset' is Somerset County Council (E10000027) until 31 March 2023, Somerset Council (E06000066) after."""
    expected = {}
    for snapshot, file_name in PROVIDER_LEVEL_FILES.items():
        n = sum(1 for row in read_rows(OFSTED_FILES / file_name) if row["Local authority"].strip() == "Somerset")
        expected[(snapshot, "E06000066" if snapshot >= "2023-04-01" else "E10000027")] = n
    rows = con.execute(
        "select strftime(snapshot_date, '%Y-%m-%d'), la_gss_code, sum(providers) from marts.mart_market_supply "
        "where local_authority_name = 'Somerset' group by all having sum(providers) > 0"
    ).fetchall()
    assert {(snapshot, code): n for snapshot, code, n in rows} == expected
