"""GX suites for SSDA903 returns. Each expectation that has a DfE validation rule carries its code in `meta`.

raw: one batch per landed file (keyed by its sha256, listed from the load log); mart-level suites run on
frames aggregated in DuckDB first.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from ingest.ssda903 import URN_PATTERN, tables_spec

CHILD_ID_PATTERN = r"^[0-9a-f]{32}$"
OUTWARD_CODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]?$"
PROVENANCE = ["la_gss_code", "collection_year", "source_file", "file_sha256", "source_row_number", "load_id"]


def _codes(field: str) -> list[str]:
    """Every code the field takes in any collection year (per-year lists are enforced at the door)."""
    return sorted({code for block in tables_spec().codes[field] for code in block["codes"]})


def _dfe(rule: str, note: str = "") -> dict:
    return {"dfe_rule": rule, **({"note": note} if note else {})}


def raw_episodes_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="raw_ssda903_episodes",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=["child_id", "decom", "place", "dec", *PROVENANCE],
                                             exact_match=False),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToMatchRegex(column="child_id", regex=CHILD_ID_PATTERN,
                                               meta={"note": "keyed hash only: no raw child id is stored"}),
            gxe.ExpectColumnValuesToNotBeNull(column="decom", meta=_dfe("141")),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="dec", column_B="decom", or_equal=True,
                                                        ignore_row_if="either_value_is_missing", meta=_dfe("356")),
            gxe.ExpectColumnValuesToBeInSet(column="place", value_set=_codes("PLACE"), meta=_dfe("146")),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["child_id", "decom"],
                                                meta={"note": "one row per child and episode start in a return"}),
            # every child counted once on 31 March: no child in two episodes open at the end of the return's year
            gxe.ExpectColumnValuesToBeBetween(column="episodes_open_31_march_for_child", max_value=1,
                                              meta=_dfe("142/501", "a child has two episodes open on 31 March")),
            # Warnings: kept and flagged at the door, so most (not all) rows must pass.
            gxe.ExpectColumnValuesToBeInSet(column="rne", value_set=_codes("RNE"), mostly=0.95, meta=_dfe("143")),
            gxe.ExpectColumnValuesToBeInSet(column="ls", value_set=_codes("LS"), mostly=0.95, meta=_dfe("144")),
            gxe.ExpectColumnValuesToBeInSet(column="cin", value_set=_codes("CIN"), mostly=0.95, meta=_dfe("145")),
            gxe.ExpectColumnValuesToBeInSet(column="place_provider", value_set=_codes("PLACE_PROVIDER"),
                                            mostly=0.95, meta=_dfe("178")),
            gxe.ExpectColumnValuesToBeInSet(column="rec", value_set=_codes("REC"), mostly=0.95, meta=_dfe("149")),
            gxe.ExpectColumnValuesToMatchRegex(column="urn", regex=URN_PATTERN, mostly=0.95, meta=_dfe("1008")),
            gxe.ExpectColumnValuesToMatchRegex(column="home_postcode_district", regex=OUTWARD_CODE_PATTERN,
                                               meta=_dfe("392c", "only the outward code is kept")),
            gxe.ExpectColumnValuesToMatchRegex(column="placement_postcode_district", regex=OUTWARD_CODE_PATTERN,
                                               meta=_dfe("392c", "only the outward code is kept")),
        ],
    )


def raw_header_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="raw_ssda903_header",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=["child_id", "sex", "dob_month", *PROVENANCE],
                                             exact_match=False),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToMatchRegex(column="child_id", regex=CHILD_ID_PATTERN),
            gxe.ExpectColumnValuesToBeUnique(column="child_id", meta=_dfe("INT32")),
            gxe.ExpectColumnValuesToNotBeNull(column="dob_month", meta=_dfe("102")),
            gxe.ExpectColumnValuesToBeInSet(column="sex", value_set=_codes("SEX"), mostly=0.95, meta=_dfe("101")),
            gxe.ExpectColumnValuesToBeInSet(column="ethnic", value_set=_codes("ETHNIC"), mostly=0.95,
                                            meta=_dfe("103")),
        ],
    )


def raw_uasc_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="raw_ssda903_uasc",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=["child_id", "dob_month", "duc", *PROVENANCE],
                                             exact_match=False),
            gxe.ExpectColumnValuesToMatchRegex(column="child_id", regex=CHILD_ID_PATTERN),
            gxe.ExpectColumnValuesToBeUnique(column="child_id", meta=_dfe("INT36")),
            gxe.ExpectColumnValuesToNotBeNull(column="dob_month", meta=_dfe("102")),
        ],
    )


def _raw_batches(kind: str) -> str:
    # From the load log, so a file that landed no rows at all is a batch too (and fails).
    return f"""
        select sha256, path from audit.load_log
        where source = 'ssda903' and kind = '{kind}' and status in ('loaded', 'loaded_with_quarantine')
        order by path
    """


RAW_EPISODES_BATCHES = _raw_batches("episodes")
RAW_EPISODES_BATCH = """
    select * exclude (warning_rules, is_open_31_march),
           case when is_open_31_march then count(*) filter (where is_open_31_march) over (partition by child_id)
                else 0 end as episodes_open_31_march_for_child
    from (
        select *, decom <= make_date(collection_year, 3, 31)
                  and (dec is null or dec > make_date(collection_year, 3, 31)) as is_open_31_march
        from raw.ssda903_episodes where file_sha256 = ?
    )
"""
RAW_HEADER_BATCHES = _raw_batches("header")
RAW_HEADER_BATCH = "select * exclude (warning_rules) from raw.ssda903_header where file_sha256 = ?"
RAW_UASC_BATCHES = _raw_batches("uasc")
RAW_UASC_BATCH = "select * exclude (warning_rules) from raw.ssda903_uasc where file_sha256 = ?"


def staging_episodes_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="staging_ssda903_episodes",
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(column="ends_before_start", max_value=0, meta=_dfe("356")),
            gxe.ExpectColumnValuesToBeBetween(
                column="repeated_episodes", max_value=0,
                meta={"note": "across returns the latest wins: one staged row per child and episode start"}),
            # every child counted once per 31 March: no child in two episodes open on the same day
            gxe.ExpectColumnPairValuesToBeEqual(column_A="episodes_open_31_march",
                                                column_B="children_open_31_march"),
            gxe.ExpectColumnValuesToBeBetween(column="without_lineage", max_value=0,
                                              meta={"note": "each staged episode names the return it came from"}),
            # a missing URN is a warning at the door (218): a small LA may lack a few; a quarter is a broken extract
            gxe.ExpectColumnValuesToBeBetween(column="share_with_urn_where_needed", min_value=0.75, max_value=1,
                                              meta=_dfe("218", "URN present where the placement type needs one")),
        ],
    )


# Children's homes (K1, K2): a setting the child lives in, which must be registered. The DfE's rule 218 asks a URN
# of more types (every type but those exempt); this share is about the settings the sufficiency marts place.
NEEDS_URN = "'K1', 'K2'"
# One row per LA x collection year of the staged episodes (latest return wins), aggregated in DuckDB, naming the
# files of that return (file_sha256s): a failing row holds back that return alone.
STAGING_EPISODES_BATCHES = "select distinct collection_year from staging.stg_ssda903__episodes order by 1"
STAGING_EPISODES_BATCH = f"""
    with episodes as (select * from staging.stg_ssda903__episodes),
    years as (
        select la_gss_code, collection_year, make_date(collection_year, 3, 31) as as_at
        from episodes where collection_year = $1 group by all
    ),
    open_on_31_march as (
        select years.la_gss_code, years.collection_year,
               count(*) as episodes_open_31_march, count(distinct episodes.child_id) as children_open_31_march
        from years
        inner join episodes
            on episodes.la_gss_code = years.la_gss_code
           and episodes.episode_start_date <= years.as_at
           and (episodes.episode_end_date is null or episodes.episode_end_date > years.as_at)
        group by all
    ),
    by_return as (
        select la_gss_code, collection_year,
               count(*) filter (where episode_end_date < episode_start_date) as ends_before_start,
               count(*) filter (where source_file is null or file_sha256 is null or source_row_number is null
                                or returns_reporting is null) as without_lineage,
               count(*) filter (where place in ({NEEDS_URN}) and urn is not null) as with_urn,
               count(*) filter (where place in ({NEEDS_URN})) as needing_urn,
               string_agg(distinct file_sha256, ',') as file_sha256s
        from episodes where collection_year = $1 group by all
    ),
    repeated as (
        select la_gss_code, count(*) - count(distinct (child_id, episode_start_date)) as repeated_episodes
        from episodes group by all
    )
    select years.la_gss_code, years.collection_year, coalesce(o.episodes_open_31_march, 0) as episodes_open_31_march,
           coalesce(o.children_open_31_march, 0) as children_open_31_march,
           coalesce(b.ends_before_start, 0) as ends_before_start, coalesce(b.without_lineage, 0) as without_lineage,
           coalesce(r.repeated_episodes, 0) as repeated_episodes,
           coalesce(cast(b.with_urn as double) / nullif(b.needing_urn, 0), 1) as share_with_urn_where_needed,
           b.file_sha256s
    from years
    left join open_on_31_march as o using (la_gss_code, collection_year)
    left join by_return as b using (la_gss_code, collection_year)
    left join repeated as r using (la_gss_code)
"""


def la_sufficiency_reconciliation_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="marts_la_sufficiency_reconciles",
        expectations=[  # no row count floor: an inbox without SSDA903 returns is a legal inbox
            # every child counted once per 31 March: the mart equals the distinct children in open spells
            gxe.ExpectColumnPairValuesToBeEqual(column_A="children_looked_after", column_B="children_in_open_spells"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="children_looked_after", column_B="placement_mix_total"),
            gxe.ExpectColumnValuesToBeBetween(column="share_inside_la", min_value=0, max_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="share_over_20_miles", min_value=0, max_value=1),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="children_looked_after",
                                                        column_B="placed_inside_la", or_equal=True),
        ],
    )


# One row per LA x 31 March, aggregated in DuckDB; the spells are counted independently of the mart's SQL.
LA_SUFFICIENCY_RECONCILIATION = """
    with years as (select distinct collection_year from marts.mart_la_sufficiency),
    open_spells as (
        select s.la_gss_code, y.collection_year, count(distinct s.child_id) as children
        from intermediate.int_placement_spells_joined as s
        inner join years as y
            on s.start_date <= make_date(y.collection_year, 3, 31)
           and (s.end_date is null or s.end_date > make_date(y.collection_year, 3, 31))
        group by all
    )
    select m.la_gss_code, m.collection_year, m.children_looked_after,
           coalesce(o.children, 0) as children_in_open_spells,
           m.in_house_fostering + m.ifa_fostering + m.kinship + m.own_residential + m.independent_residential
             + m.secure + m.semi_independent + m.residential_school + m.other_placements as placement_mix_total,
           m.placed_inside_la, coalesce(m.share_inside_la, 0) as share_inside_la,
           coalesce(m.share_over_20_miles, 0) as share_over_20_miles
    from marts.mart_la_sufficiency as m
    left join open_spells as o using (la_gss_code, collection_year)
"""


def residential_occupancy_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="marts_residential_occupancy",
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(column="share_of_places_own", min_value=0, max_value=1),
            # children in an LA's homes never above their places (a stale places figure may break it rarely)
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="places", column_B="children_in_homes",
                                                        or_equal=True, mostly=0.99),
        ],
    )


RESIDENTIAL_OCCUPANCY_BATCHES = "select distinct year(month) from marts.mart_residential_occupancy order by 1"
RESIDENTIAL_OCCUPANCY_BATCH = """
    select month, la_gss_code, places, own_children + other_la_children as children_in_homes,
           coalesce(share_of_places_own, 0) as share_of_places_own
    from marts.mart_residential_occupancy where year(month) = ?
"""
