"""The local-authority reference layer: ingest.local_authorities.resolve_la, the normalised_name macro, and the
dbt models dim_local_authority / bridge_local_authority_grouping / int_local_authority_names_unioned.

Expected values are read here, independently, from the published source files (DfE CLA 2023 release, mySociety
register, ONS ward lookup, the Ofsted provider files in inbox/ofsted), never copied from a run of the models.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import duckdb
import jinja2
import pytest

from ingest.local_authorities import LocalAuthority, local_authorities, normalise_name, resolve_la

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "dbt_project" / "seeds"
DFE_CSV = SEEDS / "reference" / "la_cla_on_31_march_la_of_placement_netgain.csv"
REGISTER_CSV = SEEDS / "reference" / "uk_local_authorities.csv"
ONS_CSV = SEEDS / "reference" / "ONS_Area_WD21_LAD21_CTY21_RGN21.csv"
MACRO = ROOT / "dbt_project" / "macros" / "normalised_name.sql"
OFSTED_DIR = ROOT / "inbox" / "ofsted"
LONDON = "E12000007"


# --------------------------------------------------------------------------------------------------------------
# Independent readings of the source files
# --------------------------------------------------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def dfe_las() -> dict[tuple[str, str], dict]:
    """(DfE code, GSS code) -> name, region code/name and the last year the LA has figures (not 'z')."""
    out: dict[tuple[str, str], dict] = {}
    for row in _rows(DFE_CSV):
        if row["geographic_level"] != "Local authority":
            continue
        key = (row["old_la_code"], row["new_la_code"])
        entry = out.setdefault(key, {"name": row["la_name"], "region_code": row["region_code"], "last_year": 0})
        if row["number"] != "z":
            entry["last_year"] = max(entry["last_year"], int(row["time_period"]))
    return out


def dfe_las_in(year: int) -> dict[tuple[str, str], dict]:
    """The LAs that existed in the year ending 31 March `year` (they have figures rather than 'z')."""
    existing = {
        (row["old_la_code"], row["new_la_code"])
        for row in _rows(DFE_CSV)
        if row["geographic_level"] == "Local authority" and row["time_period"] == str(year) and row["number"] != "z"
    }
    return {key: value for key, value in dfe_las().items() if key in existing}


def dfe_gss_by_name(name: str) -> str:
    (gss,) = {gss for (_, gss), value in dfe_las().items() if value["name"] == name and value["last_year"] == 2023}
    return gss


@lru_cache(maxsize=1)
def register() -> list[dict[str, str]]:
    return _rows(REGISTER_CSV)


def register_childrens_services() -> list[dict[str, str]]:
    return [
        row
        for row in register()
        if row["nation"] == "England" and row["local-authority-type"] in {"CTY", "UA", "MD", "LBO", "CC"}
    ]


def register_gss(official_name: str) -> str:
    (gss,) = {row["gss-code"] for row in register() if row["official-name"] == official_name}
    return gss


@lru_cache(maxsize=1)
def ons_region_by_area() -> dict[str, str]:
    """2021 district and county GSS code -> region GSS code."""
    regions: dict[str, str] = {}
    for row in _rows(ONS_CSV):
        if row["RGN21CD"]:
            regions[row["LAD21CD"]] = row["RGN21CD"]
            if row["CTY21CD"]:
                regions[row["CTY21CD"]] = row["RGN21CD"]
    return regions


def _header_line(lines: list[str]) -> int | None:
    for number, line in enumerate(lines[:20]):
        if any(cell.strip().lower() == "local authority" for cell in next(csv.reader([line]), [])):
            return number
    return None


@lru_cache(maxsize=1)
def ofsted_local_authority_values() -> dict[str, set[str]]:
    """Distinct non-empty 'Local authority' values per bundled Ofsted file (header found by its content)."""
    values: dict[str, set[str]] = {}
    for path in sorted(glob.glob(str(OFSTED_DIR / "*.csv"))):
        raw = Path(path).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        lines = text.splitlines()
        header = _header_line(lines)
        if header is None:  # e.g. the closed-homes file carries no LA column
            continue
        reader = csv.DictReader(lines[header:])
        column = next(name for name in reader.fieldnames if name.strip().lower() == "local authority")
        values[Path(path).name] = {row[column].strip() for row in reader if (row[column] or "").strip()}
    return values


# --------------------------------------------------------------------------------------------------------------
# normalise_name and the dbt macro
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Bristol, City of", "bristol"),
        ("City of Bristol", "bristol"),
        ("Bristol City Council", "bristol"),
        ("Kingston upon Hull, City of", "kingstonuponhull"),
        ("Herefordshire, County of", "herefordshire"),
        ("St. Helens", "sthelens"),
        ("St Helens Metropolitan Borough Council", "sthelens"),
        ("Southend-on-Sea", "southendonsea"),
        ("Southend on Sea", "southendonsea"),
        ("Bournemouth, Christchurch & Poole", "bournemouthchristchurchandpoole"),
        ("City of London", "cityoflondon"),
        ("City of London Corporation", "cityoflondon"),
        ("London", "london"),
        ("Royal Borough of Kensington and Chelsea", "kensingtonandchelsea"),
        ("London Borough of Barking & Dagenham", "barkinganddagenham"),
        ("Telford and the Wrekin UA", "telfordandwrekin"),
        ("Council of the Isles of Scilly", "islesofscilly"),
        ("County Durham", "countydurham"),
        ("Durham", "durham"),
        ("Somerset County Council", "somersetcounty"),
        ("Somerset Council", "somerset"),
        ("  WESTMORLAND   and furness  ", "westmorlandandfurness"),
    ],
)
def test_normalise_name(text, key):
    assert normalise_name(text) == key


def _macro_sql(expression: str) -> str:
    module = jinja2.Environment().from_string(MACRO.read_text()).module
    return str(module.normalised_name(expression))


def test_macro_mirrors_python_normalisation():
    """The dbt macro, rendered and run in DuckDB, gives the Python key for every name the sources contain."""
    names = {row["official-name"] for row in register()} | {row["nice-name"] for row in register()}
    names |= {row["la-name"] for row in _rows(SEEDS / "reference" / "lookup_name_to_registry.csv")}
    names |= {value["name"] for value in dfe_las().values()}
    for values in ofsted_local_authority_values().values():
        names |= values
    names |= {"Bournemouth, Christchurch & Poole", "the city of brighton and hove", "Saint Helens", "E06000066", "933"}
    names = sorted(name for name in names if name)

    with duckdb.connect() as con:
        con.execute("create table names (name varchar)")
        con.executemany("insert into names values (?)", [(name,) for name in names])
        got = dict(con.execute(f"select name, {_macro_sql('name')} from names").fetchall())
    mismatches = {name: (got[name], normalise_name(name)) for name in names if got[name] != normalise_name(name)}
    assert not mismatches


# --------------------------------------------------------------------------------------------------------------
# resolve_la
# --------------------------------------------------------------------------------------------------------------


def test_every_dfe_la_resolves_by_gss_code():
    for (dfe_code, gss), _ in dfe_las().items():
        la = resolve_la(gss)
        assert la is not None, gss
        assert (la.gss_code, la.dfe_code) == (gss, dfe_code)
        assert resolve_la(gss.lower()) == la


def test_every_dfe_la_resolves_by_dfe_code_at_its_last_year():
    # DfE codes are reused when a unitary replaces a county (933 Somerset): the code means the LA that used it
    # on the date given, and today's LA without a date.
    for (dfe_code, gss), value in dfe_las().items():
        la = resolve_la(dfe_code, as_of=dt.date(value["last_year"], 3, 31))
        assert la is not None and la.gss_code == gss, (dfe_code, gss, la)
        today = resolve_la(dfe_code)
        assert today is not None and today.dfe_code == dfe_code


def test_every_dfe_la_resolves_by_dfe_name_at_its_last_year():
    for (dfe_code, gss), value in dfe_las().items():
        la = resolve_la(value["name"], as_of=dt.date(value["last_year"], 3, 31))
        assert la == LocalAuthority(gss_code=gss, dfe_code=dfe_code, name=value["name"]), (value, la)


@pytest.mark.parametrize(
    "name",
    [
        "Bristol, City of",
        "Kingston upon Hull, City of",
        "Herefordshire, County of",
        "St. Helens",
        "Southend-on-Sea",
        "Bournemouth, Christchurch and Poole",
        "North Northamptonshire",
        "West Northamptonshire",
        "City of London",
        "Isles of Scilly",
    ],
)
def test_dfe_names_resolve(name):
    la = resolve_la(name)
    assert la is not None and la.gss_code == dfe_gss_by_name(name)


@pytest.mark.parametrize(
    ("text", "dfe_name"),
    [
        ("St Helens", "St. Helens"),
        ("Southend on Sea", "Southend-on-Sea"),
        ("Bournemouth, Christchurch & Poole", "Bournemouth, Christchurch and Poole"),
        ("City of Bristol", "Bristol, City of"),
        ("Bristol", "Bristol, City of"),
        ("Kingston upon Hull", "Kingston upon Hull, City of"),
        ("Hull", "Kingston upon Hull, City of"),
        ("Herefordshire", "Herefordshire, County of"),
        ("Durham", "County Durham"),
        ("Durham County Council", "County Durham"),
        ("Royal Borough of Windsor and Maidenhead", "Windsor and Maidenhead"),
        ("london borough of tower hamlets", "Tower Hamlets"),
        ("Telford & Wrekin Council", "Telford and Wrekin"),
        ("  devon  ", "Devon"),
        ("DEVON COUNTY COUNCIL", "Devon"),
    ],
)
def test_common_spellings_resolve(text, dfe_name):
    la = resolve_la(text)
    assert la is not None and la.gss_code == dfe_gss_by_name(dfe_name)


@pytest.mark.parametrize(
    ("text", "official_name"),
    [
        ("Cumberland", "Cumberland Council"),
        ("Westmorland and Furness", "Westmorland and Furness Council"),
        ("Somerset", "Somerset Council"),
        ("somerset-council", "Somerset Council"),
        ("North Yorkshire", "North Yorkshire Council"),
        ("Dorset", "Dorset Council"),
        ("Buckinghamshire", "Buckinghamshire Council"),
        # former authorities
        ("Somerset County Council", "Somerset County Council"),
        ("North Yorkshire County Council", "North Yorkshire County Council"),
        ("Dorset County Council", "Dorset County Council"),
        ("Buckinghamshire County Council", "Buckinghamshire County Council"),
        ("Cumbria", "Cumbria County Council"),
        ("Northamptonshire", "Northamptonshire County Council"),
        ("Bournemouth", "Bournemouth Borough Council"),
        ("Poole", "Borough of Poole"),
    ],
)
def test_register_names_resolve(text, official_name):
    la = resolve_la(text)
    assert la is not None and la.gss_code == register_gss(official_name)


def test_successor_names_mean_the_predecessor_before_the_change():
    somerset_county = register_gss("Somerset County Council")
    somerset = register_gss("Somerset Council")
    assert resolve_la("Somerset", as_of=dt.date(2023, 3, 31)).gss_code == somerset_county
    assert resolve_la("Somerset", as_of=dt.date(2023, 4, 1)).gss_code == somerset
    assert resolve_la("933").gss_code == somerset
    # a GSS code is never remapped
    assert resolve_la(somerset, as_of=dt.date(2020, 1, 1)).gss_code == somerset


def test_codes_of_new_unitaries():
    expected = {"E06000063": "942", "E06000064": "943", "E06000065": "815", "E06000066": "933"}
    for gss, dfe_code in expected.items():
        assert resolve_la(gss).dfe_code == dfe_code
    assert resolve_la("942").gss_code == "E06000063"
    assert resolve_la("943").gss_code == "E06000064"


def test_former_gss_codes_resolve():
    former = {
        code: row["gss-code"]
        for row in register_childrens_services()
        for code in row["former-gss-codes"].split(",")
        if code
    }
    assert former  # Northumberland's E06000048 at least
    for code, gss in former.items():
        assert resolve_la(code).gss_code == gss


@pytest.mark.parametrize("text", ["", "   ", None, "London", "Narnia", "E99999999", "999", "Christchurch", "England"])
def test_unknown_text_gives_none(text):
    assert resolve_la(text) is None


def test_city_of_london_is_not_london():
    la = resolve_la("City of London")
    assert la is not None and la.gss_code == dfe_gss_by_name("City of London")
    assert resolve_la("London") is None


def test_every_ofsted_local_authority_resolves():
    values = ofsted_local_authority_values()
    if not values:
        pytest.skip("no Ofsted provider files in inbox/ofsted")
    known = {row["gss-code"] for row in register_childrens_services()}
    unresolved = {
        (file, value) for file, names in values.items() for value in names if resolve_la(value) is None
    }
    assert not unresolved
    for names in values.values():
        for value in names:
            assert resolve_la(value).gss_code in known


def test_local_authorities_lists_current_and_former():
    current = {la.gss_code for la in local_authorities(current_only=True)}
    expected_current = {
        row["gss-code"] for row in register_childrens_services() if row["current-authority"] == "True"
    }
    assert current == expected_current
    assert len(current) == 153
    every = {la.gss_code for la in local_authorities()}
    assert {gss for (_, gss) in dfe_las()} <= every


# --------------------------------------------------------------------------------------------------------------
# The warehouse: dim_local_authority, bridge_local_authority_grouping, int_local_authority_names_unioned
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(warehouse_db):
    con = duckdb.connect(str(warehouse_db), read_only=True)
    yield con
    con.close()


def _dim(warehouse) -> dict[str, dict]:
    cursor = warehouse.execute("select * from marts.dim_local_authority")
    columns = [description[0] for description in cursor.description]
    return {row[columns.index("la_gss_code")]: dict(zip(columns, row)) for row in cursor.fetchall()}


def test_dim_has_every_dfe_la_with_codes_and_region(warehouse):
    dim = _dim(warehouse)
    regions = ons_region_by_area()
    for (dfe_code, gss), value in dfe_las().items():
        assert gss in dim, gss
        row = dim[gss]
        assert row["la_dfe_code"] == dfe_code
        assert row["dfe_region_code"] == value["region_code"]
        expected_region = regions.get(gss) or value["region_code"]
        if expected_region.startswith("E13"):  # DfE's Inner / Outer London are one government office region
            expected_region = LONDON
        assert row["government_office_region_code"] == expected_region, gss


def test_dim_grain_and_currency(warehouse):
    dim = _dim(warehouse)
    expected = {row["gss-code"]: row["current-authority"] == "True" for row in register_childrens_services()}
    assert {gss: row["is_current"] for gss, row in dim.items()} == expected
    current = [row for row in dim.values() if row["is_current"]]
    assert len(current) == 153
    assert len({row["la_dfe_code"] for row in current}) == 153
    # every LA of the latest DfE year is still an authority, or was replaced by current ones
    for (_, gss) in dfe_las_in(2023):
        row = dim[gss]
        assert row["is_current"] or all(dim[code]["is_current"] for code in row["replaced_by_gss_codes"])


def test_dim_former_authorities(warehouse):
    dim = _dim(warehouse)
    cumbria = dim[register_gss("Cumbria County Council")]
    assert not cumbria["is_current"]
    assert sorted(cumbria["replaced_by_gss_codes"]) == sorted(
        [register_gss("Cumberland Council"), register_gss("Westmorland and Furness Council")]
    )
    assert cumbria["end_date"] == dt.date(2023, 3, 31)
    somerset_county = dim[register_gss("Somerset County Council")]
    somerset = dim[register_gss("Somerset Council")]
    assert somerset_county["la_dfe_code"] == somerset["la_dfe_code"] == "933"
    assert somerset["replaces_gss_codes"] == [somerset_county["la_gss_code"]]


def _members(warehouse, grouping_type: str, grouping_name: str) -> set[str]:
    return {
        gss
        for (gss,) in warehouse.execute(
            """
            select la_gss_code from marts.bridge_local_authority_grouping
            where grouping_type = ? and grouping_name = ? and is_current
            """,
            [grouping_type, grouping_name],
        ).fetchall()
    }


def test_peninsula_consortium(warehouse):
    expected = {register_gss("Somerset Council"), dfe_gss_by_name("Devon"), dfe_gss_by_name("Plymouth"),
                dfe_gss_by_name("Torbay")}
    assert _members(warehouse, "consortium", "Peninsula") == expected
    dim = _dim(warehouse)
    for gss in expected:
        assert "Peninsula" in dim[gss]["consortia"]
        assert "consortium: Peninsula" in dim[gss]["groupings"]


def test_east_of_england_region_and_eastern_region_consortium(warehouse):
    expected = {gss for (_, gss), value in dfe_las_in(2023).items() if value["region_code"] == "E12000006"}
    assert len(expected) == 11
    assert _members(warehouse, "region", "East of England") == expected
    assert _members(warehouse, "consortium", "Eastern Region") == expected


def test_every_la_has_its_region_in_the_bridge(warehouse):
    dim = _dim(warehouse)
    rows = warehouse.execute(
        "select la_gss_code, grouping_name, grouping_code from marts.bridge_local_authority_grouping "
        "where grouping_type = 'region'"
    ).fetchall()
    assert {gss: (name, code) for gss, name, code in rows} == {
        gss: (row["government_office_region_name"], row["government_office_region_code"])
        for gss, row in dim.items()
    }
    current_by_region = defaultdict(set)
    for gss, row in dim.items():
        if row["is_current"]:
            current_by_region[row["government_office_region_name"]].add(gss)
    for region, members in current_by_region.items():
        assert _members(warehouse, "region", region) == members


def test_names_table_agrees_with_resolver(warehouse):
    rows = warehouse.execute(
        """
        select normalised_name, la_gss_code, name_variants, predecessor_la_gss_code, predecessor_until
        from intermediate.int_local_authority_names_unioned
        """
    ).fetchall()
    assert rows
    for key, gss, variants, predecessor, until in rows:
        for variant in variants:
            assert normalise_name(variant) == key, variant
        assert resolve_la(variants[0]).gss_code == gss, variants[0]
        if predecessor is not None:
            before = resolve_la(variants[0], as_of=until - dt.timedelta(days=1))
            assert before.gss_code == predecessor, variants[0]
            assert resolve_la(variants[0], as_of=until).gss_code == gss, variants[0]
        else:
            assert resolve_la(variants[0], as_of=dt.date(2000, 1, 1)).gss_code == gss, variants[0]


def test_every_ofsted_local_authority_resolves_in_the_warehouse(warehouse):
    values = {value for names in ofsted_local_authority_values().values() for value in names}
    if not values:
        pytest.skip("no Ofsted provider files in inbox/ofsted")
    table = dict(
        warehouse.execute(
            "select normalised_name, la_gss_code from intermediate.int_local_authority_names_unioned"
        ).fetchall()
    )
    with duckdb.connect() as con:
        con.execute("create table names (name varchar)")
        con.executemany("insert into names values (?)", [(value,) for value in sorted(values)])
        keys = dict(con.execute(f"select name, {_macro_sql('name')} from names").fetchall())
    unresolved = sorted(value for value in values if keys[value] not in table)
    assert not unresolved
    for value in values:
        assert table[keys[value]] == resolve_la(value).gss_code
