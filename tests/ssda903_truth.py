"""Expected SSDA903 mart values, straight from the demo generator's ground truth (no warehouse code, no marts).

The truth folder (`demo_truth/`, written by `python -m demo` beside the bundled inbox) holds placements.parquet:
one row per placement spell as the generator made it, with the child's exact date of birth, sex, UASC flag, the
setting's LA (for a fostering agency: the LA where the carers live), HOME_POST and PL_POST as written (full
postcodes of the ONS Postcode Directory; a few with deliberate faults, listed in postcode_faults.csv) and the
distance the DfE computes from them (PL_DISTANCE: the straight line between the directory's grid references,
sqrt(dE^2 + dN^2) / 1000 / 1.6093 miles, rounded to 1 decimal; null when either postcode is blank, ZZ99 3CZ or not
in the directory; lower-case and space-padded postcodes count once normalised). Everything here is plain DuckDB
SQL over that file, the reference seed of local authorities (for regions) and the Ofsted CSVs of the inbox (which
settings are children's homes, their LA and places on a snapshot date).

How the truth relates to the warehouse's definitions (docs/ssda903.md):
* the generator's spells are its placements, cut at every move; every spell's first episode carries RNE S
  (start of a period of care), P or T (change of placement), later ones L (legal status only), so the warehouse
  (int_placement_spells_joined: a new spell at RNE S/P/T or at a change of PLACE, PLACE_PROVIDER, URN or
  district) finds the same spells one for one. Joining by placement alone (same codes and district, no RNE)
  would join 136 pairs of the demo's genuine moves;
* a period of care starts at the first spell with no spell of the child ending on its start day (that episode
  carries RNE = 'S'; periods are at least a day apart); a spell that began before the first return is never a
  starter of a collection year;
* "open on day d": start <= d and (end is null or end > d), as the truth tables and the spec both say;
* age on a date: completed years from the exact date of birth;
* a fostering agency's URN is the agency's, not where the child lives: the setting LA of an agency placement is
  the LA of the carers' postcode, which the warehouse can only know when PL_POST was written
  (`location_known`).
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "dbt_project" / "seeds"
# The truth and the inbox it belongs to: `make demo` leaves them beside each other in the repo; the test session
# generates its own (conftest.demo_region) and points here with use().
TRUTH = REPO / "demo_truth"
INBOX = REPO / "inbox"
OFSTED = INBOX / "ofsted"


def use(truth_dir: Path, inbox_dir: Path) -> None:
    """Read the truth from truth_dir, the inbox (raw ids, Ofsted files) from inbox_dir."""
    global TRUTH, INBOX, OFSTED
    if (Path(truth_dir), Path(inbox_dir)) != (TRUTH, INBOX):
        TRUTH, INBOX, OFSTED = Path(truth_dir), Path(inbox_dir), Path(inbox_dir) / "ofsted"
        for cached in (connect, childrens_home_urns):
            cached.cache_clear()

AGE_BANDS = ("under_1", "1_to_4", "5_to_9", "10_to_15", "16_to_17")
PLACEMENT_TYPES = ("in_house_fostering", "ifa_fostering", "kinship", "own_residential", "independent_residential",
                   "secure", "semi_independent", "residential_school", "other")
# PLACE_PROVIDER -> the provider type names of seeds/ssda903/ssda903_placement_types.csv (SSDA903 guidance).
PROVIDER_TYPES = {"PR0": "parent_or_person_with_pr", "PR1": "own_la", "PR2": "other_la", "PR3": "other_public",
                  "PR4": "private", "PR5": "voluntary"}
# Ofsted provision types Ofsted counts as children's homes in its headline figures.
CHILDRENS_HOME_TYPES = ("children's home", "secure children's home",
                        "residential special school (registered as a children's home)")
# Provider-level files whose 'as at' date is a month end inside the demo window.
SNAPSHOT_FILES = {
    "2021-03-31": "provider_at_march_2021.csv",
    "2023-03-31": "provider_at_march_2023.csv",
    "2023-08-31": "Provider_level_at_31_Aug_2023.csv",
}
PLACES_FILES = {"2023-08-31": ("Providers_places_at_31_Aug_2023.csv",)}
# Distances are the DfE's PL_DISTANCE, rounded to 1 decimal. A distance of exactly 20.0 (19.95 to 20.05 unrounded)
# is not over 20 miles rounded but may be unrounded: it counts as either (the generator avoids it where it chooses
# the postcodes, so there are next to none).
DISTANCE_ROUNDING = 0.05


def manifest() -> dict:
    return json.loads((TRUTH / "manifest.json").read_text())


def years() -> tuple[int, ...]:
    return tuple(manifest()["args"]["years"])


def band_sql(age: str) -> str:
    return (f"case when {age} < 1 then 'under_1' when {age} <= 4 then '1_to_4' when {age} <= 9 then '5_to_9' "
            f"when {age} <= 15 then '10_to_15' when {age} <= 17 then '16_to_17' else 'over_17' end")


def _authorities() -> list[dict[str, str]]:
    with (SEEDS / "reference" / "uk_local_authorities.csv").open(newline="", encoding="utf-8-sig") as handle:
        return [row for row in csv.DictReader(handle) if row["gss-code"]]


def _regions() -> list[tuple[str, str]]:
    return [(row["gss-code"], row["region"]) for row in _authorities()]


@lru_cache(maxsize=1)
def lineage() -> tuple[tuple[str, str, str, str], ...]:
    """(today's GSS code, the code of the children's services authority it replaced, from, until): a county
    council abolished in a reorganisation (Somerset County Council E10000027 until 1 April 2023, replaced by
    Somerset Council E06000066; Cumbria, North Yorkshire, Northamptonshire). From the reference seed's
    replaced-by and end-date columns; `until` is the seed's end-date, the first day of the new authority."""
    rows = _authorities()
    gss_of = {row["local-authority-code"]: row["gss-code"] for row in rows}
    out = []
    for row in rows:
        if row["nation"] == "England" and row["local-authority-type"] in ("CTY", "UA") and row["end-date"] \
                and row["replaced-by"]:
            for code in row["replaced-by"].split(","):
                if code.strip() in gss_of:
                    out.append((gss_of[code.strip()], row["gss-code"], row["start-date"] or "0000-00-00",
                                row["end-date"]))
    return tuple(sorted(out))


def in_force(gss: str, day: str) -> str:
    """The code of the authority in force on `day` (ISO) for an area with today's code `gss`: the warehouse
    reports an LA, a host LA and a month by the authority of the date counted (docs/ssda903.md), the truth by
    today's authorities."""
    for current, former, start, until in lineage():
        if current == gss and start <= day < until:
            return former
    return gss


def current_code(gss: str) -> str:
    """Today's code of an authority code that may be a former one replaced whole (E10000027 -> E06000066); a
    county split in two has no single current code and stays as it is."""
    successors = {current for current, former, _, _ in lineage() if former == gss}
    return successors.pop() if len(successors) == 1 else gss


@lru_cache(maxsize=1)
def connect() -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with the truth as tables: p (truth placements.parquet), spells (with period starts and
    where the warehouse can locate them), at_31_march, region (GSS code -> region), years, months."""
    con = duckdb.connect()
    con.execute(f"create table p as select * from read_parquet('{TRUTH / 'placements.parquet'}')")
    con.execute("create table region (gss varchar, region varchar)")
    con.executemany("insert into region values (?, ?)", _regions())
    con.execute("create table lineage (current_gss varchar, former_gss varchar, valid_from date, valid_until date)")
    con.executemany("insert into lineage values (?, ?, ?::date, ?::date)",
                    [(c, f, s if s != "0000-00-00" else "0001-01-01", u) for c, f, s, u in lineage()])
    con.execute(
        """
        create macro in_force(gss, d) as coalesce((
            select any_value(former_gss) from lineage
            where current_gss = gss and d >= valid_from and d < valid_until), gss)
        """
    )
    con.execute("create table years as select unnest(?::integer[]) as collection_year", [list(years())])
    con.execute(
        """
        create table months as
        select m::date as month, (m + interval 1 month - interval 1 day)::date as month_end
        from range(make_date((select min(collection_year) - 1 from years), 4, 1),
                   make_date((select max(collection_year) from years), 4, 1), interval 1 month) as t(m)
        """
    )
    con.execute(
        f"""
        create table spells as
        select la_gss_code, la_dfe_code, la_name, child_ref, sex, dob, uasc, start_date, end_date,
               -- the first spell of a period of care: no spell of the child ends the day it starts
               not coalesce(lag(end_date) over w = start_date, false) as period_start,
               place, place_provider, placement_type, urn, setting_la_gss_code, placement_outcode, distance_miles
        from p
        window w as (partition by la_gss_code, child_ref order by start_date)
        """
    )
    con.execute(
        f"""
        alter table spells add column agency_urn boolean;
        update spells set agency_urn = urn is not null
            and placement_type in ('ifa_fostering', 'in_house_fostering');
        alter table spells add column location_known boolean;
        update spells set location_known = placement_outcode is not null or (urn is not null and not agency_urn);
        alter table spells add column provider_type varchar;
        update spells set provider_type = coalesce(case place_provider
            {' '.join(f"when '{k}' then '{v}'" for k, v in PROVIDER_TYPES.items())} end, 'not_recorded');
        """
    )
    con.execute(
        """
        create macro age_at(dob, d) as
            year(d) - year(dob) - case when month(d) * 100 + day(d) < month(dob) * 100 + day(dob) then 1 else 0 end
        """
    )
    con.execute(
        """
        create table at_31_march as
        select y.collection_year, make_date(y.collection_year, 3, 31) as as_at_date, s.*,
               age_at(s.dob, make_date(y.collection_year, 3, 31)) as age,
               s.setting_la_gss_code = s.la_gss_code as inside_la,
               home.region = setting.region as inside_region,
               home.region as region_name,
               in_force(s.la_gss_code, make_date(y.collection_year, 3, 31)) as la_code,
               in_force(s.setting_la_gss_code, make_date(y.collection_year, 3, 31)) as host_code
        from spells s
        join years y on s.start_date <= make_date(y.collection_year, 3, 31)
             and (s.end_date is null or s.end_date > make_date(y.collection_year, 3, 31))
        left join region home on home.gss = s.la_gss_code
        left join region setting on setting.gss = s.setting_la_gss_code
        """
    )
    return con


def rows(sql: str, params: list | None = None) -> list[tuple]:
    return connect().execute(sql, params or []).fetchall()


def postcode_faults() -> list[dict[str, str]]:
    """The placements whose HOME_POST or PL_POST carries a deliberate fault (postcode_faults.csv): la_gss_code,
    la_name, child_ref, placement_id, start_date, end_date, field (HOME_POST / PL_POST), written (the text in the
    file, in every episode of the spell), postcode (it upper-cased, spaces closed up), fault (lower_case and
    space_padded: to normalise; no_fixed_abode and not_in_directory: invalid, distance unknown), expected."""
    with (TRUTH / "postcode_faults.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def la_names() -> dict[str, str]:
    return dict(rows("select distinct la_gss_code, la_name from p"))


def children_looked_after() -> dict[tuple[int, str], dict[str, object]]:
    """(collection year, LA) -> the mart_la_sufficiency figures the truth fixes exactly, plus bounds
    (`*_ambiguous`) where the warehouse cannot know (agency placements with no PL_POST; distances within
    rounding of 20 miles)."""
    mix = ", ".join(
        f"count(*) filter (where placement_type = '{t}') as {t if t != 'other' else 'other_placements'}"
        for t in PLACEMENT_TYPES
    )
    ages = ", ".join(f"count(*) filter (where {band_sql('age')} = '{b}') as cla_age_{b}" for b in AGE_BANDS)
    sql = f"""
        select collection_year, la_code as la_gss_code, any_value(la_dfe_code) as la_dfe_code,
               any_value(la_name) as la_name,
               any_value(region_name) as region_name,
               count(distinct child_ref) as children_looked_after, count(*) as spells_open, {mix},
               count(*) filter (where location_known and inside_la) as placed_inside_la,
               count(*) filter (where location_known and not inside_la) as placed_outside_la,
               count(*) filter (where location_known and inside_region) as placed_inside_region,
               count(*) filter (where location_known and not inside_region) as placed_outside_region,
               count(*) filter (where not location_known) as location_ambiguous,
               count(*) filter (where placement_type in ('own_residential', 'independent_residential'))
                   as in_childrens_homes,
               count(*) filter (where placement_type in ('own_residential', 'independent_residential')
                                and location_known and inside_region) as in_childrens_homes_inside_region,
               count(*) filter (where placement_type in ('own_residential', 'independent_residential')
                                and not location_known) as childrens_homes_location_ambiguous,
               count(*) filter (where distance_miles > 20 + {DISTANCE_ROUNDING}) as over_20_miles,
               count(*) filter (where abs(distance_miles - 20) <= {DISTANCE_ROUNDING}) as over_20_ambiguous,
               count(*) filter (where distance_miles is null) as distance_unknown,
               {ages},
               count(*) filter (where age > 17) as cla_age_over_17,
               count(*) filter (where uasc) as uasc_looked_after
        from at_31_march group by collection_year, la_code
    """
    con = connect()
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return {(r[0], r[1]): dict(zip(names, r)) for r in cursor.fetchall()}


def starters() -> dict[tuple[int, str], dict[str, object]]:
    """(collection year, LA) -> children starting a period of care in the year (distinct children; `starts`
    counts periods), UASC among them, and each age band's bounds. The warehouse keeps the month of birth only: a
    child who starts in the month of a birthday has an age the warehouse cannot know exactly (one of two), and a
    child who starts twice in a year has two ages, so each band gets [certain, certain + possible]."""
    bands = ", ".join(f"count(*) filter (where bands = ['{b}']) as certain_{b}, "
                      f"count(*) filter (where len(bands) > 1 and list_contains(bands, '{b}')) as possible_{b}"
                      for b in AGE_BANDS)
    sql = f"""
        with s as (
            select y.collection_year, in_force(sp.la_gss_code, make_date(y.collection_year, 3, 31)) as la_gss_code,
                   sp.child_ref, sp.uasc,
                   {band_sql('age_at(sp.dob, sp.start_date)')} as band,
                   -- the age the warehouse may compute from the first of the month of birth
                   {band_sql("age_at(date_trunc('month', sp.dob)::date, sp.start_date)")} as band_from_month
            from spells sp join years y
              on sp.start_date between make_date(y.collection_year - 1, 4, 1) and make_date(y.collection_year, 3, 31)
            where sp.period_start
        ),
        per_child as (  -- a child may start twice in a year (went home, came back): every band of every start
            select collection_year, la_gss_code, child_ref, bool_or(uasc) as uasc, count(*) as starts,
                   list_sort(list_distinct(flatten(list([band, band_from_month])))) as bands
            from s group by all
        )
        select collection_year, la_gss_code, count(*) as starters, sum(starts)::integer as starts,
               count(*) filter (where uasc) as uasc_starters, {bands}
        from per_child group by all
    """
    cursor = connect().execute(sql)
    names = [d[0] for d in cursor.description]
    return {(r[0], r[1]): dict(zip(names, r)) for r in cursor.fetchall()}


def imports() -> dict[tuple[int, str, str], dict[str, int]]:
    """(year, host LA, placing LA) -> placements open at 31 March in settings in the host LA (the truth's
    setting LA), split by sex (1 male, 2 female), and those of them in children's homes (PLACE K1 secure or K2
    children's home, registered or not: the Somerset table counts residential placements); only spells whose
    location the warehouse can know. `ambiguous`: agency placements without a placement postcode."""
    residential = "placement_type in ('own_residential', 'independent_residential', 'secure')"
    cursor = connect().execute(
        f"""
        select collection_year, host_code, la_code,
               count(*) filter (where location_known) as placements,
               count(*) filter (where location_known and sex = 2) as female,
               count(*) filter (where location_known and sex = 1) as male,
               count(*) filter (where location_known and {residential}) as residential_placements,
               count(*) filter (where location_known and {residential} and sex = 2) as residential_female,
               count(*) filter (where location_known and {residential} and sex = 1) as residential_male,
               count(*) filter (where not location_known) as ambiguous
        from at_31_march group by all
        """
    )
    names = [d[0] for d in cursor.description]
    return {(r[0], r[1], r[2]): dict(zip(names[3:], r[3:])) for r in cursor.fetchall()}


def distance() -> dict[tuple[int, str, str, str], dict[str, object]]:
    """(year, LA, placement type, provider type) -> placements open at 31 March, with a distance, over 20 miles
    (and how many are within rounding of 20 miles), median."""
    cursor = connect().execute(
        f"""
        select collection_year, la_code, placement_type, provider_type,
               count(*) as placements,
               count(distance_miles) as with_distance,
               count(*) filter (where distance_miles > 20 + {DISTANCE_ROUNDING}) as over_20_miles,
               count(*) filter (where abs(distance_miles - 20) <= {DISTANCE_ROUNDING}) as over_20_ambiguous,
               median(distance_miles) as median_miles
        from at_31_march group by all
        """
    )
    names = [d[0] for d in cursor.description]
    return {tuple(r[:4]): dict(zip(names[4:], r[4:])) for r in cursor.fetchall()}


def stability() -> dict[tuple[int, str], dict[str, int]]:
    """(year, LA) -> children looked after on 31 March by the number of spells of theirs overlapping
    1 April..31 March, as bounds: `certain_<bucket>` and `possible_<bucket>`. A spell that ended on 1 April itself
    (DEC = 1 April: the child moved that day) may or may not count as overlapping the year; a child with one may
    fall in either of two buckets."""
    buckets = {"one_placement": "= 1", "two_placements": "= 2", "three_or_more_placements": ">= 3"}
    columns = ", ".join(
        f"count(*) filter (where strict {cond} and loose {cond}) as certain_{name}, "
        f"count(*) filter (where (strict {cond}) <> (loose {cond})) as possible_{name}"
        for name, cond in buckets.items()
    )
    cursor = connect().execute(
        f"""
        with cla as (select distinct collection_year, la_gss_code, la_code, child_ref from at_31_march),
        counted as (
            select c.collection_year, c.la_code, c.child_ref,
                   count(*) filter (where s.end_date is null or s.end_date > make_date(c.collection_year - 1, 4, 1))
                       as strict,
                   count(*) as loose
            from cla c join spells s
              on s.la_gss_code = c.la_gss_code and s.child_ref = c.child_ref
             and s.start_date <= make_date(c.collection_year, 3, 31)
             and (s.end_date is null or s.end_date >= make_date(c.collection_year - 1, 4, 1))
            group by all
        )
        select collection_year, la_code, count(*) as children_looked_after, {columns}
        from counted group by all
        """
    )
    names = [d[0] for d in cursor.description]
    return {(r[0], r[1]): dict(zip(names[2:], r[2:])) for r in cursor.fetchall()}


def unregistered() -> dict[tuple[str, str], dict[str, int]]:
    """(month 'YYYY-MM-01', LA) -> placements open at month end whose placement needs an Ofsted URN (K1 secure,
    K2 children's home; the demo writes no K3), those without a URN, and those whose URN the generator's register
    (occupancy.csv: registered and open all month) does not list that month."""
    con = connect()
    con.execute(
        f"""
        create or replace temp table registered_month as
        select distinct strptime(month, '%Y-%m')::date as month, urn::varchar as urn
        from read_csv('{TRUTH / 'occupancy.csv'}', all_varchar = true)
        """
    )
    cursor = con.execute(
        """
        select strftime(m.month, '%Y-%m-%d'), in_force(s.la_gss_code, m.month_end),
               count(*) as placements_needing_registration,
               count(*) filter (where s.urn is null) as no_urn,
               count(*) filter (where s.urn is not null and r.urn is null) as urn_not_registered,
               count(distinct s.child_ref) filter (where s.urn is null or r.urn is null) as children_unregistered
        from months m
        join spells s on s.start_date <= m.month_end and (s.end_date is null or s.end_date > m.month_end)
        left join registered_month r on r.month = m.month and r.urn = s.urn
        where s.place in ('K1', 'K2')
        group by all
        """
    )
    names = [d[0] for d in cursor.description]
    return {(r[0], r[1]): dict(zip(names[2:], r[2:])) for r in cursor.fetchall()}


def own_children_in_homes() -> dict[tuple[str, str], dict[str, int]]:
    """(month 'YYYY-MM-01', LA) -> the LA's children at month end in Ofsted-registered children's homes in the LA
    (own_children) and other LAs' children in the LA's homes (other_la_children), loaded LAs' children only."""
    con = connect()
    homes = childrens_home_urns()
    con.execute("create or replace temp table ch_urns (urn varchar)")
    con.executemany("insert into ch_urns values (?)", [(u,) for u in sorted(homes)])
    cursor = con.execute(
        """
        with open_at as (
            select m.month, m.month_end, s.*
            from months m join spells s
              on s.start_date <= m.month_end and (s.end_date is null or s.end_date > m.month_end)
            where s.urn in (select urn from ch_urns)
        )
        select strftime(month, '%Y-%m-%d'), in_force(setting_la_gss_code, month_end),
               count(*) filter (where la_gss_code = setting_la_gss_code) as own_children,
               count(*) filter (where la_gss_code <> setting_la_gss_code) as other_la_children
        from open_at group by all
        """
    )
    names = [d[0] for d in cursor.description]
    return {(r[0], r[1]): dict(zip(names[2:], r[2:])) for r in cursor.fetchall()}


# Ofsted register, read with the csv module.

def _read_ofsted(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    header_index = next(i for i, record in enumerate(records) if "URN" in [c.strip() for c in record])
    header = [c.strip() for c in records[header_index]]
    found = [dict(zip(header, record)) for record in records[header_index + 1:]]
    return [row for row in found if row.get("URN", "").strip()]


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("-", " ").replace(",", " ").split())


@lru_cache(maxsize=1)
def childrens_home_urns() -> frozenset[str]:
    """URNs any register file lists as a children's home (Ofsted's headline definition, secure homes included)."""
    urns = set()
    for path in sorted(OFSTED.glob("*.csv")):
        for row in _read_ofsted(path):
            if row.get("Provision type", "").strip().lower() in CHILDRENS_HOME_TYPES:
                urns.add(row["URN"].strip().upper())
    return frozenset(urns)


def _closure_dates() -> dict[str, str]:
    """URN -> ISO date it closed, from the closed-homes file(s) (dd/mm/yyyy)."""
    out: dict[str, str] = {}
    for path in sorted(OFSTED.glob("*.csv")):
        if not path.name.lower().startswith("closed"):
            continue
        for row in _read_ofsted(path):
            parts = (row.get("Date closed") or "").strip().split("/")
            if len(parts) == 3:
                urn, day = row["URN"].strip().upper(), f"{parts[2]}-{parts[1]}-{parts[0]}"
                out[urn] = min(out.get(urn, day), day)
    return out


def homes_on_snapshot(snapshot: str) -> dict[str, tuple[int, int]]:
    """Loaded LA (GSS) -> (children's homes, places) registered on a register date, read as Ofsted publishes it
    and as the generator reads it (demo/register.py): the provider-level file of that date, plus the homes the
    places file of the same date lists and the provider-level file lacks (newly registered), less suspended ones
    and any the closed-homes file says had closed by then. LA by the file's 'Local authority' column, matched to
    the loaded LAs' names; short-break-only homes count (they are registered children's homes)."""
    by_name = {_norm(name): gss for gss, name in la_names().items()}
    entries = {row["URN"].strip().upper(): row for row in _read_ofsted(OFSTED / SNAPSHOT_FILES[snapshot])}
    for path in sorted(OFSTED.glob("*.csv")):
        if path.name in PLACES_FILES.get(snapshot, ()):
            for row in _read_ofsted(path):
                entries.setdefault(row["URN"].strip().upper(), row)
    closed = _closure_dates()
    out: dict[str, list[int]] = {gss: [0, 0] for gss in by_name.values()}
    for urn, row in entries.items():
        if row["Provision type"].strip().lower() not in CHILDRENS_HOME_TYPES:
            continue
        if (row.get("Registration status") or "").strip().lower() == "suspended" or closed.get(urn, "9999") <= snapshot:
            continue
        gss = by_name.get(_norm(row["Local authority"]))
        if gss is None:
            continue
        value = (row.get("Places") or "").replace(",", "").strip()
        out[gss][0] += 1
        out[gss][1] += int(value) if value.isdigit() else 0
    return {gss: (h, p) for gss, (h, p) in out.items()}


def inbox_child_ids() -> dict[str, set[str]]:
    """LA folder name -> every raw CHILD value in its SSDA903 files (header, episodes, uasc), trimmed."""
    out: dict[str, set[str]] = {}
    for path in sorted((INBOX / "ssda903").rglob("*.csv")):
        la = path.relative_to(INBOX / "ssda903").parts[0]
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                value = (row.get("CHILD") or "").strip()
                if value:
                    out.setdefault(la, set()).add(value)
    return out
