"""The SSDA903 sufficiency marts (issue 5) on the demo build, against the demo generator's ground truth.

Expected values are computed in tests/ssda903_truth.py with plain DuckDB SQL from demo_truth/placements.parquet
(one row per placement spell as the generator made it), the reference seed of local authorities (regions) and the
Ofsted CSVs of the inbox; never from the warehouse or a run. Where the warehouse cannot know what the truth knows
(a fostering agency placement with no placement postcode, a DOB kept to the month for an age at a start date, a
distance written rounded to 2 decimals at exactly 20 miles, a spell ending on 1 April), the check is a bound
[certain, certain + ambiguous] and the reason is written beside it; everything else is exact.

The privacy tests read the raw CHILD ids from the inbox SSDA903 CSVs and look for them in every table.
"""

from __future__ import annotations

import csv
import hashlib
import os
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

import ssda903_truth as truth

MAX_SHOWN = int(os.environ.get("SSDA903_MAX_SHOWN", "25"))


@pytest.fixture(scope="session")
def demo_truth(demo_region) -> Path:
    """The truth of the demo region the build reads, checked to belong to its inbox (same SSDA903 file hashes)."""
    truth.use(demo_region.truth, demo_region.inbox)
    manifest_path = truth.TRUTH / "manifest.json"
    files = json.loads(manifest_path.read_text())["files"]
    expected = {k[len("out/"):]: v for k, v in files.items() if k.startswith("out/ssda903/")}
    present = {p.relative_to(truth.INBOX).as_posix(): p for p in (truth.INBOX / "ssda903").rglob("*.csv")}
    assert expected, "the truth manifest lists no SSDA903 files"
    assert set(present) == set(expected), "inbox/ssda903 is not the return set the truth was generated with"
    changed = [k for k, p in present.items() if hashlib.sha256(p.read_bytes()).hexdigest() != expected[k]]
    assert changed == [], f"inbox files changed since the truth was written: {changed[:5]}"
    return truth.TRUTH


def fetch(con, sql: str, key: tuple[str, ...]) -> dict[tuple, dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    out = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        k = tuple(row[c] for c in key)
        assert k not in out, f"two rows for {dict(zip(key, k))}"
        out[k] = row
    return out


def check(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} mismatches (expected vs got):\n" + "\n".join(problems[:MAX_SHOWN])


def within(got, low: int, high: int) -> bool:
    return got is not None and low <= got <= high


def loaded_las() -> list[str]:
    """Today's GSS codes of the loaded LAs."""
    return sorted(truth.la_names())


def loaded_codes() -> set[str]:
    """Every code a loaded LA is reported by: today's, and the authority in force before a reorganisation
    (Somerset County Council, E10000027, to 31 March 2023)."""
    days = [d for (d,) in truth.rows("select strftime(month_end, '%Y-%m-%d') from months")]
    return {truth.in_force(gss, day) for gss in loaded_las() for day in days}


def sufficiency(con) -> dict[tuple, dict]:
    """The mart's rows of the loaded LAs, by (collection year, code of the LA in force on 31 March)."""
    loaded = ", ".join(f"'{gss}'" for gss in sorted(loaded_codes()))
    return fetch(con, f"select * from marts.mart_la_sufficiency where la_gss_code in ({loaded})",
                 ("collection_year", "la_gss_code"))


# mart_la_sufficiency


def test_sufficiency_has_a_row_per_loaded_la_and_year_with_names_and_regions(con, demo_truth):
    expected = truth.children_looked_after()
    got = sufficiency(con)
    assert set(got) == set(expected)
    problems = []
    for k, e in sorted(expected.items()):
        row = got[k]
        want = {"la_dfe_code": e["la_dfe_code"], "la_name": e["la_name"], "region_name": e["region_name"],
                "as_at_date": f"{k[0]}-03-31"}
        have = {c: str(row[c]) for c in want}
        if have != want:
            problems.append(f"{k}: {want} vs {have}")
    check(problems)


COUNT_COLUMNS = ("children_looked_after", "in_house_fostering", "ifa_fostering", "kinship", "own_residential",
                 "independent_residential", "secure", "semi_independent", "residential_school", "other_placements",
                 "in_childrens_homes", "uasc_looked_after") + tuple(f"cla_age_{b}" for b in truth.AGE_BANDS)


@pytest.mark.parametrize("column", COUNT_COLUMNS)
def test_sufficiency_children_mix_ages_and_uasc_at_31_march(con, demo_truth, column):
    """Exact: one open spell per child on a day, placement type from PLACE x PLACE_PROVIDER, age at 31 March from
    the month of birth equals the age from the exact date (a birthday on or before 31 March is in a month up to
    March), UASC from the child's flag (the uasc table lists every UASC child in every return)."""
    expected = truth.children_looked_after()
    assert all(e["children_looked_after"] == e["spells_open"] for e in expected.values())
    assert all(e["cla_age_over_17"] == 0 for e in expected.values())
    got = sufficiency(con)
    problems = [f"{k} {column}: {e[column]} vs {got.get(k, {}).get(column)}"
                for k, e in sorted(expected.items()) if got.get(k, {}).get(column) != e[column]]
    check(problems)


@pytest.mark.parametrize("column", ("placed_inside_la", "placed_outside_la", "placed_inside_region",
                                    "placed_outside_region"))
def test_sufficiency_placed_inside_and_outside_la_and_region(con, demo_truth, column):
    """Where the child lives: the setting (a children's home's URN) or the placement district; for a fostering
    agency, the carers' district, not the agency's office. An agency placement with no PL_POST is the only case
    the warehouse cannot place: it may count on either side (the bound), nowhere else."""
    expected = truth.children_looked_after()
    got = sufficiency(con)
    problems = []
    for k, e in sorted(expected.items()):
        value = got.get(k, {}).get(column)
        if not within(value, e[column], e[column] + e["location_ambiguous"]):
            problems.append(f"{k} {column}: {e[column]} (+{e['location_ambiguous']} unplaceable) vs {value}")
    check(problems)


def test_sufficiency_children_in_childrens_homes_inside_the_region(con, demo_truth):
    """The Eastern Region's "only 25% of the region's children in residential care live in the region": children
    in own or independent children's homes whose home is in the LA's region (bounded only where unplaceable)."""
    expected = truth.children_looked_after()
    got = sufficiency(con)
    problems = []
    for k, e in sorted(expected.items()):
        value = got.get(k, {}).get("in_childrens_homes_inside_region")
        slack = e["childrens_homes_location_ambiguous"]
        if not within(value, e["in_childrens_homes_inside_region"], e["in_childrens_homes_inside_region"] + slack):
            problems.append(f"{k}: {e['in_childrens_homes_inside_region']} (+{slack}) vs {value}")
    check(problems)


GROUPING_COLUMNS = ("children_looked_after", "in_house_fostering", "ifa_fostering", "kinship", "own_residential",
                    "independent_residential", "secure", "semi_independent", "residential_school",
                    "other_placements", "in_childrens_homes", "uasc_looked_after") + tuple(
                        f"cla_age_{b}" for b in truth.AGE_BANDS)


def test_region_and_consortium_totals_sum_their_member_las(con, demo_truth):
    """mart_grouping_sufficiency for each government office region and each consortium of seeds/la_groupings.csv:
    the truth's children summed over the member LAs loaded that year, and how many members reported."""
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for gss, region in truth.rows("select gss, region from region"):
        members[("region", region)].add(gss)
    with open(truth.REPO / "dbt_project" / "seeds" / "la_groupings.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            members[(row["grouping_type"], row["grouping_name"])].add(row["la_gss_code"])
    expected: dict[tuple, dict] = {}
    for (year, la), e in truth.children_looked_after().items():
        current = truth.current_code(la)
        for (kind, name), las in members.items():
            if current in las or la in las:
                row = expected.setdefault((kind, name, year), dict.fromkeys(GROUPING_COLUMNS, 0) | {"las": 0})
                row["las"] += 1
                for column in GROUPING_COLUMNS:
                    row[column] += e[column]
    assert {k[0] for k in expected} == {"region", "consortium"}
    got = fetch(con, "select * from marts.mart_grouping_sufficiency",
                ("grouping_type", "grouping_name", "collection_year"))
    problems = [f"{k}: not in the mart" for k in expected if k not in got]
    problems += [f"{k}: no loaded LA, yet a row" for k in got if k not in expected]
    for k, e in sorted(expected.items()):
        row = got.get(k, {})
        if row.get("las_reporting") != e["las"]:
            problems.append(f"{k} las_reporting: {e['las']} vs {row.get('las_reporting')}")
        problems += [f"{k} {c}: {e[c]} vs {row.get(c)}" for c in GROUPING_COLUMNS if row.get(c) != e[c]]
    check(problems)


def test_sufficiency_over_20_miles_and_distance_unknown(con, demo_truth):
    """Distances as the DfE computes them from the written full postcodes, to 0.1 mile in both the truth and the
    warehouse, so only a distance of exactly 20.0 is ambiguous. Distance unknown: HOME_POST or PL_POST not written,
    no fixed abode or not in the directory: exact."""
    expected = truth.children_looked_after()
    got = sufficiency(con)
    problems = []
    for k, e in sorted(expected.items()):
        row = got.get(k, {})
        if not within(row.get("over_20_miles"), e["over_20_miles"], e["over_20_miles"] + e["over_20_ambiguous"]):
            problems.append(f"{k} over_20_miles: {e['over_20_miles']} (+{e['over_20_ambiguous']}) vs "
                            f"{row.get('over_20_miles')}")
        if row.get("distance_unknown") != e["distance_unknown"]:
            problems.append(f"{k} distance_unknown: {e['distance_unknown']} vs {row.get('distance_unknown')}")
    check(problems)


def test_sufficiency_starters_ages_and_uasc(con, demo_truth):
    """Starters: children whose period of care began (RNE = 'S') in 1 April..31 March. The warehouse knows the
    month of birth only: a child starting in a birthday month may be in either of two bands (bounds per band;
    the bands still add up to the starters)."""
    expected = truth.starters()
    got = sufficiency(con)
    problems = []
    for k in sorted(got):
        e = expected.get(k, {"starters": 0, "uasc_starters": 0,
                             **{f"{c}_{b}": 0 for b in truth.AGE_BANDS for c in ("certain", "possible")}})
        row = got[k]
        for column in ("starters", "uasc_starters"):
            if row[column] != e[column]:
                problems.append(f"{k} {column}: {e[column]} vs {row[column]}")
        bands = [row[f"starters_age_{b}"] for b in truth.AGE_BANDS]
        if sum(b or 0 for b in bands) != row["starters"]:
            problems.append(f"{k} starters' age bands add up to {sum(b or 0 for b in bands)}, not {row['starters']}")
        for b, value in zip(truth.AGE_BANDS, bands):
            low = e[f"certain_{b}"]
            if not within(value, low, low + e[f"possible_{b}"]):
                problems.append(f"{k} starters_age_{b}: {low} (+{e[f'possible_{b}']}) vs {value}")
    check(problems)


def test_sufficiency_other_las_children_own_children_outside_and_net_gain(con, demo_truth):
    """children_from_other_las: other loaded LAs' children in settings in this LA on 31 March (from the truth's
    setting LA); own_children_placed_outside = placed_outside_la; net_gain their difference."""
    imports = truth.imports()
    got = sufficiency(con)
    problems = []
    for (year, la), row in sorted(got.items()):
        known = sum(v["placements"] for (y, host, placing), v in imports.items()
                    if y == year and host == la and placing != la)
        unsure = sum(v["ambiguous"] for (y, _, placing), v in imports.items() if y == year and placing != la)
        if not within(row["children_from_other_las"], known, known + unsure):
            problems.append(f"{(year, la)} children_from_other_las: {known} (+{unsure}) vs "
                            f"{row['children_from_other_las']}")
        if row["own_children_placed_outside"] != row["placed_outside_la"]:
            problems.append(f"{(year, la)} own_children_placed_outside {row['own_children_placed_outside']} "
                            f"<> placed_outside_la {row['placed_outside_la']}")
        if row["net_gain"] != row["children_from_other_las"] - row["own_children_placed_outside"]:
            problems.append(f"{(year, la)} net_gain {row['net_gain']}")
    check(problems)


def test_sufficiency_shares(con, demo_truth):
    """share_inside_la of the children looked after; share_over_20_miles of those with a known distance (as in
    mart_placement_distance). Both checked against the mart's own counts, which the tests above check against the
    truth; rounding to 3 places allowed."""
    expected = truth.children_looked_after()
    got = sufficiency(con)
    problems = []
    for k in sorted(expected):
        row = got[k]
        for share, part, whole in (
            ("share_inside_la", row["placed_inside_la"], row["children_looked_after"]),
            ("share_over_20_miles", row["over_20_miles"], row["children_looked_after"] - row["distance_unknown"]),
        ):
            want = part / whole
            if row[share] is None or abs(row[share] - want) > 0.0005 + 1e-9:
                problems.append(f"{k} {share}: {want:.4f} vs {row[share]}")
    check(problems)


@pytest.mark.parametrize("snapshot", sorted(s for s in truth.SNAPSHOT_FILES if s.endswith("-03-31")))
def test_sufficiency_local_childrens_homes_and_places_on_a_register_date(con, demo_truth, snapshot):
    """On a 31 March with a provider-level file, the homes registered that day are the file's children's homes."""
    expected = {truth.in_force(la, snapshot): v for la, v in truth.homes_on_snapshot(snapshot).items()}
    year = int(snapshot[:4])
    got = sufficiency(con)
    problems = [f"{la}: {want} vs {(got[(year, la)]['local_childrens_homes'], got[(year, la)]['local_places'])}"
                for la, want in sorted(expected.items())
                if (got[(year, la)]["local_childrens_homes"], got[(year, la)]["local_places"]) != want]
    check(problems)


# mart_residential_occupancy


def occupancy(con) -> dict[tuple, dict]:
    return fetch(con, "select strftime(month, '%Y-%m-%d') as month_key, * from marts.mart_residential_occupancy",
                 ("month_key", "la_gss_code"))


def test_occupancy_has_every_month_for_every_loaded_la(con, demo_truth):
    months = truth.rows("select strftime(month, '%Y-%m-%d'), strftime(month_end, '%Y-%m-%d') from months order by 1")
    got = occupancy(con)
    missing = [(m, truth.in_force(la, end)) for m, end in months for la in loaded_las()
               if (m, truth.in_force(la, end)) not in got]
    assert missing == []


@pytest.mark.parametrize("snapshot", sorted(truth.SNAPSHOT_FILES))
def test_occupancy_homes_and_places_on_register_dates(con, demo_truth, snapshot):
    """Month ends that are register dates: the children's homes and places of that provider-level file."""
    expected = {truth.in_force(la, snapshot): v for la, v in truth.homes_on_snapshot(snapshot).items()}
    month = snapshot[:8] + "01"
    got = occupancy(con)
    problems = [f"{month} {la}: {want} vs {(got.get((month, la), {}).get('childrens_homes'), got.get((month, la), {}).get('places'))}"
                for la, want in sorted(expected.items())
                if (got.get((month, la), {}).get("childrens_homes"), got.get((month, la), {}).get("places")) != want]
    check(problems)


def test_occupancy_own_and_other_las_children_in_local_homes_each_month(con, demo_truth):
    """Children at month end in Ofsted children's homes in the LA: its own, and other loaded LAs'. The generator
    only places a child in a home registered (with a free place) for every month of the stay."""
    expected = truth.own_children_in_homes()
    got = occupancy(con)
    problems = []
    for (month, la), row in sorted(got.items()):
        if la not in loaded_codes():
            continue
        e = expected.get((month, la), {"own_children": 0, "other_la_children": 0})
        for column in ("own_children", "other_la_children"):
            if row[column] != e[column]:
                problems.append(f"{month} {la} {column}: {e[column]} vs {row[column]}")
    check(problems)


def test_occupancy_share_of_places_own(con, demo_truth):
    got = occupancy(con)
    problems = []
    for k, row in sorted(got.items()):
        if row["places"]:
            want = row["own_children"] / row["places"]
            if row["share_of_places_own"] is None or abs(row["share_of_places_own"] - want) > 0.0005 + 1e-9:
                problems.append(f"{k}: {want:.4f} vs {row['share_of_places_own']}")
    check(problems)


# mart_placement_imports


def test_imports_by_host_and_placing_la_with_sex_split(con, demo_truth):
    """Placements open on 31 March by host LA (where the child lives) x placing LA, female/male, and those in
    children's homes. Exact for every placing LA-year with no agency placement lacking a placement postcode;
    otherwise each host's figure is bounded by how many such placements the placing LA had."""
    expected = truth.imports()
    names = truth.rows("select gss, region from region")
    region = dict(names)
    got = fetch(con, "select * from marts.mart_placement_imports",
                ("collection_year", "host_la_gss_code", "placing_la_gss_code"))
    unsure = defaultdict(int)
    for (year, _, placing), v in expected.items():
        unsure[(year, placing)] += v["ambiguous"]
    columns = ("placements", "female", "male", "residential_placements", "residential_female", "residential_male")
    problems = []
    zero = dict.fromkeys(columns, 0)
    for k in sorted(set(expected) | set(got)):
        e = {**zero, **expected.get(k, {})}
        row = got.get(k)
        if row is None:
            row = zero if e["placements"] == 0 else {}
        slack = unsure[(k[0], k[2])]
        for column in columns:
            if not within(row.get(column), e[column], e[column] + slack):
                problems.append(f"{k} {column}: {e[column]} (+{slack}) vs {row.get(column)}")
        if k in got:
            if got[k]["placing_region_name"] != region.get(k[2]):
                problems.append(f"{k} placing_region_name: {region.get(k[2])} vs {got[k]['placing_region_name']}")
            if bool(got[k]["same_region"]) != (region.get(k[1]) == region.get(k[2])):
                problems.append(f"{k} same_region: {region.get(k[1]) == region.get(k[2])} vs {got[k]['same_region']}")
    check(problems)


# mart_placement_distance


def test_distance_by_la_placement_type_and_provider_type(con, demo_truth):
    expected = truth.distance()
    got = fetch(con, "select * from marts.mart_placement_distance",
                ("collection_year", "la_gss_code", "placement_type", "provider_type"))
    assert set(got) == set(expected)
    problems = []
    for k, e in sorted(expected.items()):
        row = got[k]
        if row["placements"] != e["placements"]:
            problems.append(f"{k} placements: {e['placements']} vs {row['placements']}")
        if row["with_distance"] != e["with_distance"]:
            problems.append(f"{k} with_distance: {e['with_distance']} vs {row['with_distance']}")
        if not within(row["over_20_miles"], e["over_20_miles"], e["over_20_miles"] + e["over_20_ambiguous"]):
            problems.append(f"{k} over_20_miles: {e['over_20_miles']} (+{e['over_20_ambiguous']}) vs "
                            f"{row['over_20_miles']}")
        if row["with_distance"]:
            want = row["over_20_miles"] / row["with_distance"]
            if row["share_over_20_miles"] is None or abs(row["share_over_20_miles"] - want) > 0.0005 + 1e-9:
                problems.append(f"{k} share_over_20_miles: {want:.4f} vs {row['share_over_20_miles']}")
        if e["median_miles"] is not None:
            # truth distances are rounded to 2 decimals, the warehouse's are not (nor, perhaps, its median)
            if row["median_miles"] is None or abs(row["median_miles"] - e["median_miles"]) > 0.006:
                problems.append(f"{k} median_miles: {e['median_miles']} vs {row['median_miles']}")
    check(problems)


# mart_unregistered_placements


def test_unregistered_placements_each_month(con, demo_truth):
    """Open at month end in a placement that needs a URN (K1, K2): without one, or with one not registered that
    month (the generator places a child with a URN only in a setting registered throughout the stay)."""
    expected = truth.unregistered()
    got = fetch(con, "select strftime(month, '%Y-%m-%d') as month_key, * from marts.mart_unregistered_placements",
                ("month_key", "la_gss_code"))
    columns = ("placements_needing_registration", "no_urn", "urn_not_registered", "children_unregistered")
    zero = dict.fromkeys(columns, 0)
    problems = []
    months = {m for (m,) in truth.rows("select strftime(month, '%Y-%m-%d') from months")}
    loaded = loaded_codes()
    for k in sorted(set(expected) | {k for k in got if k[0] in months and k[1] in loaded}):
        e, row = expected.get(k, zero), got.get(k)
        if row is None:
            problems.append(f"{k}: no row (expected {e})")
            continue
        for column in columns:
            if row[column] != e[column]:
                problems.append(f"{k} {column}: {e[column]} vs {row[column]}")
        if row["unregistered_placements"] != e["no_urn"] + e["urn_not_registered"]:
            problems.append(f"{k} unregistered_placements: {e['no_urn'] + e['urn_not_registered']} vs "
                            f"{row['unregistered_placements']}")
    check(problems)


# mart_placement_stability


def test_stability_children_by_number_of_placements_in_the_year(con, demo_truth):
    """Spells (the generator's placements; the warehouse finds them one for one) overlapping 1 April..31 March of each child looked after
    on 31 March. A spell ending on 1 April itself may count either way (bounds per bucket)."""
    expected = truth.stability()
    got = fetch(con, "select * from marts.mart_placement_stability", ("collection_year", "la_gss_code"))
    problems = []
    for k, e in sorted(expected.items()):
        row = got.get(k, {})
        if row.get("children_looked_after") != e["children_looked_after"]:
            problems.append(f"{k} children_looked_after: {e['children_looked_after']} vs "
                            f"{row.get('children_looked_after')}")
        for bucket in ("one_placement", "two_placements", "three_or_more_placements"):
            low = e[f"certain_{bucket}"]
            if not within(row.get(bucket), low, low + e[f"possible_{bucket}"]):
                problems.append(f"{k} {bucket}: {low} (+{e[f'possible_{bucket}']}) vs {row.get(bucket)}")
        if row and row["one_placement"] + row["two_placements"] + row["three_or_more_placements"] \
                != row["children_looked_after"]:
            problems.append(f"{k}: buckets do not add up to children_looked_after")
        if row and row["children_looked_after"] and (row["share_three_or_more"] is None or abs(
                row["share_three_or_more"] - row["three_or_more_placements"] / row["children_looked_after"])
                > 0.0005 + 1e-9):
            problems.append(f"{k} share_three_or_more: {row['share_three_or_more']}")
    check(problems)


# Privacy (issue 5)


@pytest.fixture(scope="module")
def raw_ids(demo_truth) -> dict[str, set[str]]:
    ids = truth.inbox_child_ids()
    assert sum(len(v) for v in ids.values()) > 1000
    return ids


def child_id_columns(con) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema || '.' || table_name, column_name from information_schema.columns "
        "where column_name = 'child_id' order by 1"
    ).fetchall()


def test_child_ids_are_32_hex_hashes_never_a_raw_id(con, raw_ids):
    every_raw = set().union(*raw_ids.values())
    columns = child_id_columns(con)
    assert any(t.startswith("raw.ssda903") for t, _ in columns)
    problems = []
    for table, column in columns:
        values = {v for (v,) in con.execute(f"select distinct {column}::varchar from {table}").fetchall()}
        values.discard(None)
        if values & every_raw:
            problems.append(f"{table}: raw ids as child_id: {sorted(values & every_raw)[:5]}")
        malformed = [v for v in values if not re.fullmatch(r"[0-9a-f]{32}", v)]
        if malformed:
            problems.append(f"{table}: not a 32-hex hash: {malformed[:5]}")
    check(problems)


def test_same_raw_id_in_two_las_gives_two_children(con, raw_ids):
    """Raw ids are only unique within an LA: the demo has ids used by several LAs. Every LA's children stay
    apart: distinct child_ids over all LAs = the sum of each LA's distinct raw ids, and a shared id's child_id is
    the documented keyed hash (with today's authority's code), different per LA."""
    by_name = {name: gss for gss, name in truth.la_names().items()}
    dfe = dict(truth.rows("select distinct la_gss_code, la_dfe_code from p"))
    owners = defaultdict(set)
    for folder, ids in raw_ids.items():
        for child in ids:
            owners[child].add(by_name[folder])
    shared = sorted(c for c, las in owners.items() if len(las) > 1)
    assert shared, "the demo inbox has no raw id used by two LAs"
    # by DfE code: an LA keeps it across a reorganisation (Somerset, 933), while la_gss_code is the year's authority
    per_la = con.execute(
        "select la_dfe_code, count(distinct child_id) from staging.stg_ssda903__children group by 1"
    ).fetchall()
    assert dict(per_la) == {dfe[by_name[f]]: len(ids) for f, ids in raw_ids.items()}
    assert con.execute("select count(distinct child_id) from staging.stg_ssda903__children").fetchone()[0] \
        == sum(len(ids) for ids in raw_ids.values())
    child = shared[0]
    hashes = {la: hashlib.sha256(f"demo-only-not-a-secret|{la}|{child}".encode()).hexdigest()[:32]
              for la in sorted(owners[child])}
    assert len(set(hashes.values())) == len(hashes)
    found = con.execute(
        "select distinct la_dfe_code, child_id from staging.stg_ssda903__children "
        "where child_id in (select unnest(?))",
        [list(hashes.values())],
    ).fetchall()
    assert sorted(found) == sorted((dfe[la], h) for la, h in hashes.items())


def test_raw_child_ids_appear_nowhere_in_the_database(con, raw_ids):
    """Every VARCHAR column of every table and view in every schema: no value equal to a raw CHILD id, and no
    alphanumeric token of a value (JSON, messages, paths, composite references like '822-387991-1') equal to
    one. Raw ids are 6-digit numbers, so a token equal to one may be a coincidence (an Ofsted URN, an invoice
    number): a token also found as a token in the Ofsted or spend files of the inbox (sources that never name a
    child), or in the dbt seeds (reference data: populations, coordinates), is not counted. A hex hash is one token, so a digit run inside it never matches."""
    every_raw = sorted(set().union(*raw_ids.values()))
    con.execute("create or replace temp table forbidden as select unnest(?::varchar[]) as id", [every_raw])
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and table_schema not in ('information_schema', 'pg_catalog') "
        "and table_catalog = current_database() order by 1, 2, 3"
    ).fetchall()
    assert len(columns) > 50
    hits: dict[str, set[str]] = defaultdict(set)
    for schema, table, column in columns:
        ref = f'"{schema}"."{table}"."{column}"'
        source = f'"{schema}"."{table}"'
        found = con.execute(
            f"""
            with v as (select distinct "{column}" as value from {source} where "{column}" is not null),
            tokens as (
                select trim(value) as token from v
                union
                select unnest(regexp_split_to_array(value, '[^0-9A-Za-z]+')) from v
                where regexp_matches(value, '[0-9]{{6}}')
            )
            select distinct token from tokens where token in (select id from forbidden)
            """
        ).fetchall()
        for (token,) in found:
            hits[token].add(ref)
    if hits:
        innocent = set()
        innocent_sources = [*(truth.INBOX / "ofsted").glob("*.csv"), *(truth.INBOX / "spend").rglob("*.csv"),
                            *truth.SEEDS.rglob("*.csv")]
        for path in innocent_sources:  # a token of a file: a maximal run of letters and digits
            text = path.read_text(encoding="utf-8", errors="replace")
            innocent |= set(hits) & set(re.findall(r"[0-9A-Za-z]+", text))
        hits = {t: refs for t, refs in hits.items() if t not in innocent}
    check([f"raw id {t} in {sorted(refs)}" for t, refs in sorted(hits.items())])


def test_no_mart_has_a_child_id_column(con):
    columns = con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = 'marts' "
        "and (column_name ilike '%child_id%' or column_name ilike 'child' or column_name ilike '%child_ref%')"
    ).fetchall()
    assert columns == []
    assert con.execute("select count(*) from information_schema.tables where table_schema = 'marts'").fetchone()[0]


# GX staging suite


def test_staging_suite_passes_the_demo_and_catches_a_child_counted_twice(con, tmp_path):
    """The staged episodes of each collection year pass; the same frame with one LA's open episodes one above its
    children (a child in two episodes on 31 March) or an episode ending before it starts fails."""
    from expectations import ssda903 as suites
    from expectations.runner import SuiteRunner

    runner = SuiteRunner(tmp_path / "gx", tmp_path / "docs")
    years = [y for (y,) in con.execute(suites.STAGING_EPISODES_BATCHES).fetchall()]
    assert years
    for year in years:
        frame = con.execute(suites.STAGING_EPISODES_BATCH, [year]).df()
        assert len(frame) > 0
        assert runner.validate(suites.staging_episodes_suite(), frame, str(year)).success, year
    twice = frame.copy()
    twice.loc[0, "episodes_open_31_march"] += 1
    assert not runner.validate(suites.staging_episodes_suite(), twice, "twice").success
    backwards = frame.copy()
    backwards.loc[0, "ends_before_start"] = 1
    assert not runner.validate(suites.staging_episodes_suite(), backwards, "backwards").success
