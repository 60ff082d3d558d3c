"""Finance side of the demo inbox: spend-over-£500 files, placement-cost extracts, and their ground truth.

    generate(placements_path, out_dir, truth_dir, seed, las, years)
    write_faults(dir)

What it writes
--------------
``<out>/spend/<LA name>/<file>.csv``: one file per council per month, in the council's layout (see
``demo.finance_layouts``: Calderdale, Manchester or the Transparency Code template). A month's file holds:

* placement payments, paid monthly in arrears: **one line per placement per month** (as Calderdale pays
  fostering agencies and homes: one invoice per child per period), for the placement types an LA buys from a
  provider (independent residential, IFA fostering, supported accommodation, residential special school,
  secure). The file of month M pays the nights of month M-1: amount = weekly price x nights / 7, in pennies,
  rounded so that a placement's lines in one financial year add up exactly to round(weekly x nights / 7).
  Lines under £500 are not published (the threshold), so short stays at the edges of a month are missing,
  as in real files. About 1% of lines are paid twice and the duplicate credited back (a credit line) in the
  same month;
* unrelated council spend drawn from suppliers real councils published (demo/data/spend_noise_suppliers.csv):
  energy, water, IT, buildings, highways, waste, leisure, professional fees, housing, agency staff, schools
  budget shares and adult social care (residential care, with client-contribution credits), described with
  adult / corporate expense areas; plus other children's social care that is not a placement (taxis, expert
  assessments, agency social workers, in-house foster carers' allowances paid to redacted individuals).

In-house fostering, kinship and own residential placements are not paid to providers and have no lines, nor
is any placement whose PLACE_PROVIDER is the LA itself (PR1) or a parent (PR0); the in-house carers' allowances
appear only as the redacted 'other children's social care' lines above. A placement's provider entity is its
Ofsted owner, else its provider name, else (bought from another LA, PR2) that council, else, for settings with no
Ofsted record, a made-up provider of the setting's area (a few per type and LA area, named after it), one of the
few there the placing LA uses (INVENTED_CONTRACTS), chosen by (type, URN, placement outward code, placing LA).

Supplier names are the brand / legal-entity variants of each provider group (``demo.finance_groups``); an LA
holds one supplier record per entity and sometimes re-creates it under another variant in a later year.
About 15% of supported-accommodation placements are with individuals and are published redacted.

``<out>/placement_costs/<LA name>/placement_costs_<YYYY>.csv``: the LA's placement-level weekly cost extract for
the financial year ending March YYYY: every provider placement open at some point in the year, with its weekly
cost in that year (prices rise each April), split into social care / education / health contributions that add
up to the total to the penny.

Ground truth in ``<truth>/`` (never inside ``<out>``): supplier_groups.csv, expected_spend.csv,
expected_placement_costs.csv, placement_payments.parquet (every published placement line: placement, file,
transaction number, service month, nights, amount).

Determinism and speed: every random draw is DuckDB's hash() of (seed, keys), so the same seed and arguments
give byte-identical files; rows are generated in SQL per LA (placement months from the placements table,
unrelated lines from range()) and each month's file is assembled by string_agg in DuckDB, so Python never
loops over rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from demo import finance_calibration, finance_groups
from demo.finance_layouts import (
    CATEGORIES, LAYOUTS, PAID_TYPES, PLACEMENT_TYPE_LABEL, kind_rows, layout_for,
)

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parent.parent
LA_REFERENCE = REPO / "dbt_project" / "seeds" / "reference" / "uk_local_authorities.csv"

NOISE_LINES_PER_MONTH = 1900  # unrelated lines in an average LA's month at noise_scale 1
REVERSAL_SHARE = 0.01
REDACTED_SEMI_SHARE = 0.15
SUPPLIER_SWITCH_SHARE = 0.15
REDACTED_GROUP = ("REDACTED", "Redacted supplier (personal data)")
COST_HEADER = [
    "Placement Ref", "Placing Authority", "Provider", "Establishment", "URN", "Placement Type",
    "Commissioning Route", "Start Date", "End Date", "Weekly Cost", "Social Care Contribution",
    "Education Contribution", "Health Contribution", "Crisis Placement",
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


# --------------------------------------------------------------------------------------------- arguments
def _years(years) -> list[int]:
    """Collection years ending 31 March: (2021, 2025), [2021, ..., 2025], range, '2021-2025' or '2023'."""
    if years is None:
        return []
    if isinstance(years, str):
        parts = [int(x) for x in re.split(r"\s*[-,:]\s*", years.strip()) if x]
        years = range(parts[0], parts[-1] + 1) if len(parts) == 2 and "-" in years else parts
    ys = sorted({int(y) for y in years})
    if len(ys) == 2 and ys[1] - ys[0] > 1 and not isinstance(years, (list, set)):
        ys = list(range(ys[0], ys[1] + 1))
    return list(range(ys[0], ys[-1] + 1))


def fy_label(fy_end: int) -> str:
    return f"{fy_end - 1}-{fy_end % 100:02d}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _la_reference() -> dict[str, dict]:
    out: dict[str, dict] = {}
    if LA_REFERENCE.exists():
        with open(LA_REFERENCE, encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                g = r["gss-code"]
                if g.startswith("E") and (g not in out or r["current-authority"] == "True"):
                    out[g] = r
    return out


def _seed_int(seed, *parts) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, (seed,) + parts)).encode()).digest()[:4], "big")


_INVENTED = {  # placement type -> (first words, endings) of made-up providers of settings with no Ofsted owner
    "semi_independent": (
        ["Pathway", "Step Up", "Bridgeway", "Keystone", "Next Chapter", "Anchor Point", "Fresh Start", "Open Door",
         "Launchpad", "Harbour", "Summit", "Firm Ground", "Northstar", "Cornerstone Living", "New Leaf",
         "Springboard", "Independence", "Evergreen", "Lighthouse", "Milestone", "Stepping Forward", "Kinder Way",
         "Clearview", "Foundations 16+"],
        ["Supported Living Ltd", "Housing Services Ltd", "Young People's Support CIC", "Accommodation Ltd",
         "Support Services Limited", "16+ Services Ltd", "Care Leavers Housing Ltd", "Living Ltd", "Homes Ltd",
         "Support CIC"]),
    "independent_residential": (
        ["Bespoke", "Solo", "Oakridge", "Willowbank", "Ashdown", "Brookside", "Hollybush", "Meadowview", "Fernhill",
         "Riverside", "Larchwood", "Elmstead", "Beacon View", "Castlegate", "Highfield", "Greenacre"],
        ["Care Solutions Ltd", "Specialist Care Ltd", "Outreach Services Ltd", "Support Ltd", "Care Ltd",
         "Complex Care Limited", "Care Services Ltd", "Supported Care Ltd", "Care and Support Ltd", "Care Group Ltd"]),
    "residential_school": (
        ["Oakwood", "Ridgeway", "Heathfield", "Wyvern", "Fairhaven", "Longmead"],
        ["School Ltd", "Education Ltd", "Learning Trust"]),
    "secure": (["Northgate", "Harbourside", "Moorland"], ["Secure Care Ltd", "Secure Services Ltd"]),
    "ifa_fostering": (["Horizon", "Kindred", "Safe Hands", "Brighter Days", "Heartland"],
                      ["Fostering Ltd", "Foster Care Ltd"]),
}


# Made-up providers are local: each local authority area has its own few of each type (named after the area), and
# a setting with no Ofsted owner is run by one of the providers of the area it is in; each placing LA has its own
# favourites among them (the LA's contracts), so that neighbouring LAs share some providers, not all.
INVENTED_CONTRACTS = 3  # of them, the ones a placing LA uses in an area (its contracts there), the first most
INVENTED_PER_AREA = {"semi_independent": 12, "independent_residential": 4, "residential_school": 2, "secure": 1,
                     "ifa_fostering": 2}


def _invented_providers() -> list[dict]:
    """(placement type, area GSS code, idx, name): INVENTED_PER_AREA[type] made-up providers per area."""
    rows = []
    for gss, r in sorted(_la_reference().items()):
        area = re.sub(r"^City of ", "", r.get("nice-name") or r.get("official-name") or gss).strip()
        for t, (first, last) in _INVENTED.items():
            combos = [f"{a} {area} {b}" for b in last for a in first]
            start = _seed_int(0, "invented", t, gss) % len(combos)
            step = 7 if len(combos) % 7 else 1
            names = [combos[(start + k * step) % len(combos)] for k in range(INVENTED_PER_AREA[t])]
            rows += [{"placement_type": t, "area": gss, "idx": i, "name": n} for i, n in enumerate(names)]
    return rows


# --------------------------------------------------------------------------------------------- setup SQL
_MACROS = r"""
create or replace macro uni(h) as ((h >> 11)::double / 9007199254740992.0);
create or replace macro csvq(x) as (
  case when x is null then ''
       when contains(x, ',') or contains(x, '"') or contains(x, chr(10)) or contains(x, chr(13))
         then '"' || replace(x, '"', '""') || '"'
       else x end);
create or replace macro pounds(p) as (
  (case when p < 0 then '-' else '' end) || (abs(p) // 100)::varchar || '.' || lpad((abs(p) % 100)::varchar, 2, '0'));
create or replace macro pounds_short(p) as (
  (case when p < 0 then '-' else '' end) || (abs(p) // 100)::varchar ||
  case when abs(p) % 100 = 0 then ''
       when abs(p) % 10 = 0 then '.' || ((abs(p) % 100) // 10)::varchar
       else '.' || lpad((abs(p) % 100)::varchar, 2, '0') end);
create or replace macro pounds_gbp(p) as (
  (case when p < 0 then '-' else '' end) || '£' || format('{:,}', abs(p) // 100) || '.' ||
  lpad((abs(p) % 100)::varchar, 2, '0'));
create or replace macro fy_label(d) as (
  (year(d) - case when month(d) < 4 then 1 else 0 end)::varchar || '-' ||
  lpad(((year(d) + case when month(d) < 4 then 0 else 1 end) % 100)::varchar, 2, '0'));
"""


class _Generator:
    def __init__(self, placements_path, out_dir, truth_dir, seed, las, years, noise_scale, threads):
        self.out = Path(out_dir)
        self.truth = Path(truth_dir)
        if self.truth.resolve() == self.out.resolve() or self.out.resolve() in self.truth.resolve().parents:
            raise ValueError("the truth folder must not be inside the inbox")
        self.seed = int(seed)
        self.noise_scale = float(noise_scale)
        self.cal = finance_calibration.load()
        self.con = duckdb.connect()
        self.con.execute(f"set threads = {int(threads or min(os.cpu_count() or 2, 4))}")
        self.con.execute("set preserve_insertion_order = true")
        self.con.execute(_MACROS)
        self._load_placements(Path(placements_path), las, years)

    # ------------------------------------------------------------------------------ placements & LAs
    def _load_placements(self, path: Path, las, years) -> None:
        con = self.con
        con.execute("""
            create table p_all as
            select placement_id::varchar as placement_id, la_gss_code::varchar as la_gss_code,
                   la_dfe_code::varchar as la_dfe_code, la_name::varchar as la_name,
                   placement_type::varchar as placement_type, nullif(trim(urn::varchar), '') as urn,
                   nullif(trim(provider_name::varchar), '') as provider_name,
                   nullif(trim(owner_name::varchar), '') as owner_name,
                   nullif(trim(place_provider::varchar), '') as place_provider,
                   nullif(trim(setting_la_gss_code::varchar), '') as setting_la_gss_code,
                   nullif(trim(placement_outcode::varchar), '') as placement_outcode,
                   start_date::date as start_date, end_date::date as end_date,
                   coalesce(is_crisis, false)::boolean as is_crisis
            from read_parquet(?)""", [str(path)])
        la_rows = con.execute(
            "select distinct la_gss_code, la_dfe_code, la_name from p_all order by la_gss_code").fetchall()
        if las:
            wanted = set()
            for x in ([las] if isinstance(las, str) else las):
                if hasattr(x, "gss_code"):  # ingest.local_authorities.LocalAuthority
                    wanted.add(str(x.gss_code).lower())
                else:
                    wanted.add(str(x).strip().lower())
            la_rows = [r for r in la_rows if {str(v).lower() for v in r} & wanted]
        ref = _la_reference()
        self.las = []
        for gss, dfe, name in la_rows:
            r = ref.get(gss, {})
            official = r.get("official-name") or f"{name} Council"
            snac = r.get("snac") or ""
            body = (f"http://statistics.data.gov.uk/doc/local-authority-district/{snac}" if len(snac) == 4 else
                    f"http://statistics.data.gov.uk/id/statistical-geography/{gss}")
            if gss == "E08000033":
                official_cal = "The Borough of Calderdale"
            else:
                official_cal = official
            self.las.append({"gss": gss, "dfe": dfe, "name": name, "official": official,
                             "official_cal": official_cal, "body": body, "layout": layout_for(gss)})
        ys = _years(years)
        if not ys:
            lo, hi = con.execute("select min(start_date), max(coalesce(end_date, start_date)) from p_all").fetchone()
            ys = list(range(lo.year + (1 if lo.month >= 4 else 0), hi.year + (1 if hi.month >= 4 else 0) + 1))
        self.years = ys
        self.period_start = dt.date(ys[0] - 1, 4, 1)
        self.period_stop = dt.date(ys[-1], 4, 1)
        gss_list = [la["gss"] for la in self.las]
        con.execute("create table las as select unnest(?::varchar[]) as la_gss_code", [gss_list])
        # Provider placements overlapping the service window (March before the period to February of its end).
        # Councils (for placements bought from another LA) and invented providers for unregistered settings.
        con.register("council_df", pd.DataFrame(
            [{"gss": g, "council": r.get("official-name") or ""} for g, r in ref.items()],
            columns=["gss", "council"]))
        con.register("invented_df", pd.DataFrame(_invented_providers(),
                                                 columns=["placement_type", "area", "idx", "name"]))
        con.execute("create table invented as select * from invented_df")
        con.execute("""create table invented_n as select placement_type, area, count(*)::bigint as n
                       from invented group by 1, 2""")
        # Provider placements overlapping the service window (March before the period to February of its end):
        # bought from a provider or another LA (not the LA's own provision, PR1, nor parents, PR0).
        con.execute(f"""
            create table p as
            with a as (
              select a.*, case when upper(coalesce(a.provider_name, '')) in ('', 'REDACTED', 'NOT KNOWN')
                               then null else a.provider_name end as named
              from p_all a join las using (la_gss_code)
              where a.placement_type in (select unnest(?::varchar[]))
                and coalesce(a.place_provider, 'PR4') not in ('PR0', 'PR1')
                and a.start_date < ?::date and coalesce(a.end_date, date '9999-12-31') > ?::date)
            select a.* exclude (named),
                   coalesce(a.owner_name, a.named,
                            case when a.place_provider = 'PR2' then nullif(c.council, '') end,
                            i.name) as entity
            from a left join council_df c on c.gss = a.setting_la_gss_code
            left join invented_n n on n.placement_type = a.placement_type
              and n.area = coalesce(a.setting_la_gss_code, a.la_gss_code)
            left join invented i on i.placement_type = a.placement_type and i.area = n.area
              and i.idx = (floor(least(n.n, {INVENTED_CONTRACTS})
                                 * pow(uni(hash(0, a.placement_type, coalesce(a.urn, ''),
                                                coalesce(a.placement_outcode, ''), a.la_gss_code)), 2))::bigint
                           + hash(0, a.placement_type, n.area, a.la_gss_code) % n.n) % n.n
            """, [PAID_TYPES, self.period_stop, dt.date(ys[0] - 1, 3, 1)])

    # ------------------------------------------------------------------------------ reference tables
    def _reference_tables(self) -> None:
        con, seed = self.con, self.seed
        con.register("cal_type_df", pd.DataFrame(self.cal.type_rows()))
        con.execute("create table cal_type as select * from cal_type_df")
        con.register("price_df", pd.DataFrame(self.cal.price_rows()))
        con.execute("create table price_new as select * from price_df")
        con.register("kinds_df", pd.DataFrame(kind_rows()))
        con.execute("create table kinds as select * from kinds_df")
        # Cumulative shares of the unrelated kinds (a line's kind is the band its uniform draw falls in).
        con.execute("""
            create table kind_band as
            select kind, category, sigma, credit, kind_median, cap,
                   coalesce(sum(share) over (order by kind rows between unbounded preceding and 1 preceding), 0)
                     / sum(share) over () as lo,
                   sum(share) over (order by kind rows between unbounded preceding and current row)
                     / sum(share) over () as hi
            from kinds where share > 0""")
        # Provider groups and supplier-string variants.
        entities = [r[0] for r in con.execute("select distinct entity from p order by 1").fetchall()]
        ent_rows, var_rows = finance_groups.build_groups(entities, seed)
        con.register("ent_df", pd.DataFrame(ent_rows, columns=["entity", "group_id", "group_name"]))
        con.execute("create table ent as select * from ent_df")
        con.register("var_df", pd.DataFrame(
            var_rows, columns=["entity", "variant_no", "supplier", "company_number", "w_lo", "w_hi"]))
        con.execute("""create table variants as select *, regexp_matches(supplier,
            '(?i)\\b(trust|society|foundation|barnardo|charit|fellowship)') as vcse from var_df""")
        # Unrelated suppliers (real published names), with their own group per normalised name.
        noise = pd.read_csv(DATA / "spend_noise_suppliers.csv", dtype=str, keep_default_na=False)
        noise["median_amount"] = noise["median_amount"].astype(float)
        noise["group_id"] = ["NP" + hashlib.sha1(finance_groups.group_key(s).encode()).hexdigest()[:10].upper()
                             for s in noise["supplier"]]
        extra = pd.DataFrame([{"kind": "foster_allowances", "supplier": "", "company_number": "", "weight": "1",
                               "median_amount": 0.0, "group_id": REDACTED_GROUP[0]}])
        noise = pd.concat([noise, extra], ignore_index=True)
        con.register("noise_df", noise)
        con.execute("""
            create table ns as
            select kind, (row_number() over (partition by kind order by supplier) - 1)::bigint as idx,
                   supplier, company_number, median_amount, group_id,
                   case when group_id = 'REDACTED' then 'Redacted supplier (personal data)' else supplier end
                     as group_name,
                   regexp_matches(supplier, '(?i)\\b(trust|society|foundation|barnardo|charit|fellowship)') as vcse
            from noise_df""")
        con.execute("create table ns_count as select kind, count(*)::bigint as nk from ns group by kind")

        # Financial years and months.
        fys = list(range(self.years[0] - 1, self.years[-1] + 1))
        con.execute("""
            create table fys as
            select y as fy_end, make_date(y - 1, 4, 1) as fy_start, make_date(y, 4, 1) as fy_stop
            from unnest(?::int[]) t(y)""", [fys])
        # Service months: March before the period .. February of its last year; paid the month after.
        con.execute("""
            create table sm as
            select m::date as month_start, (m + interval 1 month)::date as month_stop,
                   (m + interval 1 month)::date as file_month,
                   year(m) + case when month(m) >= 4 then 1 else 0 end as fy_end
            from range(?::timestamp, ?::timestamp, interval 1 month) t(m)""",
                    [dt.datetime(self.years[0] - 1, 3, 1), dt.datetime(self.years[-1], 3, 1)])
        con.execute("""
            create table bdays as
            select date_trunc('month', d)::date as file_month,
                   (row_number() over (partition by date_trunc('month', d) order by d) - 1)::bigint as idx,
                   d::date as d
            from range(?::timestamp, ?::timestamp, interval 1 day) t(d)
            where dayofweek(d) between 1 and 5""", [dt.datetime.combine(self.period_start, dt.time()),
                                                    dt.datetime.combine(self.period_stop, dt.time())])
        con.execute("create table bcount as select file_month, count(*)::bigint as nbd from bdays group by 1")

    # ------------------------------------------------------------------------------ prices & payments
    def _price_placements(self) -> None:
        con, seed, cal = self.con, self.seed, self.cal
        f = cal.factor
        con.execute(f"""
            create table pinfo as
            with b as (
              select p.*, year(start_date) + case when month(start_date) >= 4 then 1 else 0 end as start_fy,
                     uni(hash({seed}, placement_id, 'src')) as u_src,
                     greatest(uni(hash({seed}, placement_id, 'p1')), 1e-12) as u_p1,
                     uni(hash({seed}, placement_id, 'p2')) as u_p2,
                     uni(hash({seed}, placement_id, 'e')) as u_e, uni(hash({seed}, placement_id, 'es')) as u_es,
                     uni(hash({seed}, placement_id, 'h')) as u_h, uni(hash({seed}, placement_id, 'hs')) as u_hs,
                     uni(hash({seed}, placement_id, 'red')) as u_red
              from p),
            s as (
              select b.*, c.*,
                     case when is_crisis then 'Spot' when u_src < c.mix_fw then 'Framework'
                          when u_src < c.mix_fw + c.mix_bl then 'Block' else 'Spot' end as sourcing,
                     sqrt(-2 * ln(u_p1)) * cos(2 * pi() * u_p2) as z
              from b join cal_type c using (placement_type))
            select s.placement_id, s.la_gss_code, s.placement_type, s.urn, s.provider_name, s.owner_name,
                   s.entity, s.start_date, s.end_date, s.is_crisis, s.start_fy, s.sourcing,
                   pn.price * exp(s.sigma * s.z - s.sigma * s.sigma / 2)
                     * case s.sourcing when 'Framework' then {f.get('Framework', 1.0)}
                                       when 'Block' then {f.get('Block', 1.0)} else {f.get('Spot', 1.0)} end
                     * case when s.is_crisis then {cal.crisis_multiplier} else 1.0 end as base_price,
                   case when s.u_e < s.edu_p then s.edu_lo + (s.edu_hi - s.edu_lo) * s.u_es else 0 end
                     as edu_share,
                   case when s.u_h < s.h_p then s.h_lo + (s.h_hi - s.h_lo) * s.u_hs else 0 end as health_share,
                   s.placement_type = 'semi_independent' and s.u_red < {REDACTED_SEMI_SHARE} as redacted
            from s join price_new pn on pn.placement_type = s.placement_type
              and pn.fy_end = greatest(least(s.start_fy, 2040), 2000)""")
        con.execute(f"""
            create table pfy as
            select i.placement_id, i.la_gss_code, i.placement_type, i.entity, i.is_crisis, i.redacted,
                   f.fy_end, f.fy_start, f.fy_stop,
                   round(i.base_price * pow(1 + {cal.uplift}, greatest(f.fy_end - i.start_fy, 0)) * 100)::bigint
                     as w_p,
                   greatest(i.start_date, f.fy_start) as seg_start,
                   least(coalesce(i.end_date, date '9999-12-31'), f.fy_stop) as seg_stop,
                   i.edu_share, i.health_share
            from pinfo i join fys f
              on i.start_date < f.fy_stop and coalesce(i.end_date, date '9999-12-31') > f.fy_start""")
        # Supplier string an LA uses for an entity in a year.
        con.execute(f"""
            create table sup_choice as
            with k as (select distinct la_gss_code, entity, fy_end from pfy),
            u as (select k.*, case when uni(hash({seed}, la_gss_code, entity, fy_end, 'switch')) < {SUPPLIER_SWITCH_SHARE}
                                   then uni(hash({seed}, la_gss_code, entity, fy_end, 'v2'))
                                   else uni(hash({seed}, la_gss_code, entity, 'v')) end as u
                  from k)
            select u.la_gss_code, u.entity, u.fy_end, v.supplier, v.company_number, v.vcse,
                   e.group_id, e.group_name
            from u join variants v on v.entity = u.entity and u.u >= v.w_lo and u.u < v.w_hi
            join ent e on e.entity = u.entity""")
        # Placement months paid (only lines of £500 and over are published), with 1% paid twice and credited.
        con.execute(f"""
            create table plines as
            with m as (
              select f.*, sm.month_start, sm.file_month,
                     greatest(0, date_diff('day', f.seg_start,
                              least(greatest(sm.month_start, f.seg_start), f.seg_stop))) as c1,
                     greatest(0, date_diff('day', f.seg_start, least(sm.month_stop, f.seg_stop))) as c2
              from pfy f join sm on sm.fy_end = f.fy_end
                and sm.month_start < f.seg_stop and sm.month_stop > f.seg_start),
            a as (
              select m.*, (w_p * c2 * 2 + 7) // 14 - (w_p * c1 * 2 + 7) // 14 as amount_p, c2 - c1 as nights
              from m where c2 > c1),
            keep as (
              select a.*, uni(hash({seed}, placement_id, month_start, 'rev')) < {REVERSAL_SHARE} as reversed
              from a where amount_p >= 50000)
            select k.la_gss_code, k.file_month, k.month_start as service_month, 'pl_' || k.placement_type as kind,
                   k.placement_id, k.nights, k.amount_p * x.sign as amount_p, k.entity,
                   k.placement_id || '|' || k.month_start::varchar || x.tag as uid, k.redacted
            from keep k join (values (1, ''), (1, 'd'), (-1, 'c')) x(sign, tag)
              on x.tag = '' or k.reversed""")
        con.execute("create table plines_s as select * from plines order by la_gss_code, file_month, uid")
        con.execute("drop table plines")

    # ------------------------------------------------------------------------------ one LA
    def _la_lines(self, la: dict) -> None:
        con, seed, gss = self.con, self.seed, la["gss"]
        redacted = LAYOUTS[la["layout"]]["redacted"]
        size = con.execute("""
            select count(*) from pfy where la_gss_code = ? and fy_end = ?""", [gss, self.years[-1]]).fetchone()[0]
        self.sizes.append(size)
        factor = 0.35 + 0.65 * (size / self.mean_size if self.mean_size else 1.0)
        base = NOISE_LINES_PER_MONTH * self.noise_scale * factor
        con.execute(f"""
            create or replace temp table fm as
            select file_month, greatest(1, round({base} * (0.85 + 0.3 * uni(hash({seed}, ?, file_month, 'n')))))::bigint as n
            from (select distinct file_month from bdays)""", [gss])
        con.execute(f"""
            create or replace temp table lines as
            with noise as (
              select file_month, unnest(range(n)) as i from fm),
            nk as (
              select n.file_month, n.i, kb.kind, kb.category, kb.sigma, kb.credit, kb.kind_median, kb.cap,
                     uni(hash({seed}, ?, n.file_month, n.i, 's')) as us,
                     uni(hash({seed}, ?, n.file_month, n.i, 'c')) as uc,
                     greatest(uni(hash({seed}, ?, n.file_month, n.i, 'a')), 1e-12) as ua,
                     uni(hash({seed}, ?, n.file_month, n.i, 'b')) as ub,
                     (hash({seed}, ?, n.file_month, n.i, 'd') % 1000003)::bigint as hd
              from noise n join kind_band kb
                on uni(hash({seed}, ?, n.file_month, n.i, 'k')) >= kb.lo
               and uni(hash({seed}, ?, n.file_month, n.i, 'k')) < kb.hi),
            nl as (
              select nk.file_month, nk.kind, nk.category, ns.group_id, ns.group_name,
                     case when ns.group_id = 'REDACTED' then ? else ns.supplier end as supplier,
                     ns.company_number, ns.vcse,
                     (case when nk.uc < nk.credit then -1 else 1 end) *
                       greatest(50000 + (hash({seed}, ?, nk.file_month, nk.i, 'f') % 5000)::bigint,
                                round(least(coalesce(nullif(nk.kind_median, 0), ns.median_amount), nk.cap) * 100 *
                                      exp(nk.sigma * sqrt(-2 * ln(nk.ua)) * cos(2 * pi() * nk.ub)))::bigint)
                       as amount_p,
                     nk.hd, null::varchar as placement_id, null::date as service_month, null::bigint as nights,
                     'n|' || nk.file_month::varchar || '|' || lpad(nk.i::varchar, 6, '0') as uid
              from nk join ns_count c on c.kind = nk.kind
              join ns on ns.kind = nk.kind
               and ns.idx = ((hash({seed}, ?, nk.kind) % 1000003)::bigint + floor(nk.us * nk.us * least(c.nk, 25))::bigint) % c.nk),
            pl as (
              select l.file_month, l.kind, kd.category,
                     case when l.redacted then 'REDACTED' else s.group_id end as group_id,
                     case when l.redacted then '{REDACTED_GROUP[1]}' else s.group_name end as group_name,
                     case when l.redacted then ? else s.supplier end as supplier,
                     case when l.redacted then '' else s.company_number end as company_number,
                     case when l.redacted then false else s.vcse end as vcse,
                     l.amount_p, (hash({seed}, ?, l.entity, l.file_month) % 1000003)::bigint as hd,
                     l.placement_id, l.service_month, l.nights, l.uid
              from plines_s l
              join kinds kd on kd.kind = l.kind
              join sup_choice s on s.la_gss_code = l.la_gss_code and s.entity = l.entity
               and s.fy_end = year(l.service_month) + case when month(l.service_month) >= 4 then 1 else 0 end
              where l.la_gss_code = ?),
            u as (select * from nl union all select * from pl)
            select u.*, b.d as pay_date,
                   row_number() over (order by b.d, u.supplier, u.amount_p, u.uid) as seq
            from u join bcount c on c.file_month = u.file_month
            join bdays b on b.file_month = u.file_month and b.idx = (u.hd % c.nbd)""",
                    [gss] * 7 + [redacted, gss, gss, redacted, gss, gss])

    def _write_la(self, la: dict) -> None:
        con, seed, gss = self.con, self.seed, la["gss"]
        layout = la["layout"]
        folder = self.out / "spend" / la["name"]
        folder.mkdir(parents=True, exist_ok=True)
        names = {}
        months = [r[0] for r in con.execute("select distinct file_month from bdays order by 1").fetchall()]
        for m in months:
            if layout == "calderdale":
                names[m] = f"{_slug(la['name'])}_spend_{m:%Y-%m}.csv"
            elif layout == "manchester":
                names[m] = f"{la['official']} Spend over 500 {MONTHS[m.month - 1]} {m.year}.csv"
            else:
                names[m] = f"{gss}_spend_over_500_{m:%b}{m.year}.csv"
        con.execute("create or replace temp table fnames as select unnest(?::date[]) as file_month, "
                    "unnest(?::varchar[]) as file_name", [months, [names[m] for m in months]])
        txn_base = {"calderdale": 30_000_000, "manchester": 5_100_000_000, "transparency": 700_000}[layout]
        txn_base += (_seed_int(seed, gss, "txn") % 900) * (10_000 if layout != "transparency" else 1_000)
        inv = f"""case hash({seed}, u.group_id) % 4
                    when 0 then 'INV' || lpad((hash({seed}, u.uid, 'inv') % 1000000)::varchar, 6, '0')
                    when 1 then (hash({seed}, u.uid, 'inv') % 900000 + 10000)::varchar
                    when 2 then 'SI-' || (hash({seed}, u.uid, 'inv') % 90000 + 1000)::varchar
                    else upper(left(regexp_replace(u.supplier, '[^A-Za-z]', '', 'g') || 'XXX', 3))
                         || lpad((hash({seed}, u.uid, 'inv') % 10000000)::varchar, 7, '0') end"""
        sup_id = f"""case when u.group_id = 'REDACTED' then ''
                     else '{'S' if layout == 'calderdale' else 'SUP'}' ||
                          (hash({seed}, '{gss}', u.supplier) % 390000 + 1000)::varchar end"""
        if layout == "calderdale":
            line = f"""concat_ws(',', csvq(?), csvq(?), strftime(u.pay_date, '%Y-%m-%d'), u.txn::varchar,
                csvq({inv}), pounds(u.amount_p), 'N/A', csvq(u.supplier),
                case when u.company_number <> '' and uni(hash({seed}, '{gss}', u.supplier, 'cn')) < 0.5
                     then u.company_number else '' end,
                '', {sup_id}, '', csvq(k.cal_area),
                csvq(case when u.amount_p < 0 and u.kind = 'adult_care' then 'Customer And Client Receipts'
                          else k.cal_proc end),
                k.cal_code, '', '', '', k.cal_source, k.cal_subsource, csvq(k.cal_definition),
                csvq(k.cal_purpose), case when u.vcse then 'Y' else '' end)"""
            params = [la["body"], la["official_cal"]]
        elif layout == "manchester":
            line = """concat_ws(',', csvq(?), csvq(k.man_area), csvq(k.man_type), strftime(u.pay_date, '%Y-%m-%d'),
                u.txn::varchar, pounds_short(u.amount_p), csvq(u.supplier))"""
            params = [la["official"]]
        else:
            line = f"""concat_ws(',', csvq(?), ?, strftime(u.pay_date, '%d/%m/%Y'), u.txn::varchar, csvq({inv}),
                csvq(pounds_gbp(u.amount_p)), csvq(u.supplier), {sup_id}, '', csvq(k.tc_area), csvq(k.tc_type),
                k.tc_code, csvq(k.tc_narrative || ' ' || strftime(coalesce(u.service_month, u.file_month), '%B %Y')))"""
            params = [la["official"], gss]
        con.execute(f"""create or replace temp table lines_n as
                        select *, {txn_base} + seq as txn from lines""")
        content = con.execute(f"""
            select u.file_month, string_agg({line}, chr(10) order by u.txn) as body
            from lines_n u join kinds k on k.kind = u.kind
            group by u.file_month order by u.file_month""", params).fetchall()
        header = ",".join(LAYOUTS[layout]["header"])
        bom = b"\xef\xbb\xbf" if LAYOUTS[layout]["bom"] else b""
        for m, body in content:
            (folder / names[m]).write_bytes(bom + (header + "\n" + body + "\n").encode("utf-8"))
        # Ground truth from the same lines.
        con.execute("""
            insert into t_spend
            select ?, fy_label(file_month), category, group_id, group_name, sum(amount_p)::bigint, count(*)
            from lines_n group by all""", [gss])
        con.execute("insert into t_sup select distinct supplier, group_id, group_name, company_number, "
                    "starts_with(kind, 'pl_') from lines_n")
        con.execute("""
            insert into t_pay
            select l.placement_id, ?, 'spend/' || ? || '/' || f.file_name, l.txn::varchar, l.service_month,
                   l.nights, l.amount_p
            from lines_n l join fnames f using (file_month) where l.placement_id is not null""", [gss, la["name"]])

    def _write_costs(self, la: dict) -> None:
        con, gss = self.con, la["gss"]
        folder = self.out / "placement_costs" / la["name"]
        folder.mkdir(parents=True, exist_ok=True)
        labels = "case f.placement_type " + " ".join(
            f"when '{t}' then '{v.replace(chr(39), chr(39) * 2)}'" for t, v in PLACEMENT_TYPE_LABEL.items()) + " end"
        rows = con.execute(f"""
            with c as (
              select f.*, i.urn, i.provider_name, i.owner_name, i.start_date, i.end_date, i.sourcing,
                     round(f.w_p * f.edu_share)::bigint as edu_p, round(f.w_p * f.health_share)::bigint as h_p,
                     s.supplier
              from pfy f join pinfo i using (placement_id)
              join sup_choice s on s.la_gss_code = f.la_gss_code and s.entity = f.entity and s.fy_end = f.fy_end
              where f.la_gss_code = ? and f.fy_end in (select unnest(?::int[])))
            select fy_end, string_agg(concat_ws(',', csvq(placement_id), csvq(?), csvq(supplier),
                     csvq(case when upper(coalesce(provider_name, '')) in ('', 'REDACTED') or provider_name = owner_name
                               then '' else provider_name end),
                     coalesce(urn, ''), csvq({labels}), sourcing, strftime(start_date, '%d/%m/%Y'),
                     case when end_date is not null and end_date < fy_stop then strftime(end_date, '%d/%m/%Y')
                          else '' end,
                     pounds(w_p), pounds(w_p - edu_p - h_p), pounds(edu_p), pounds(h_p),
                     case when is_crisis then 'Y' else 'N' end),
                   chr(10) order by start_date, placement_id) as body
            from c f group by fy_end order by fy_end""", [gss, self.years, la["name"]]).fetchall()
        header = ",".join(COST_HEADER)
        for fy_end, body in rows:
            (folder / f"placement_costs_{fy_end}.csv").write_bytes((header + "\n" + body + "\n").encode("utf-8"))

    # ------------------------------------------------------------------------------ truth
    def _write_truth(self) -> dict:
        con, t = self.con, self.truth
        t.mkdir(parents=True, exist_ok=True)
        con.execute(f"""
            copy (
              select supplier, group_id, any_value(group_name) as group_name,
                     nullif(max(company_number), '') as company_number, bool_or(is_provider) as is_children_placement_provider
              from t_sup group by supplier, group_id order by supplier, group_id
            ) to '{t / "supplier_groups.csv"}' (header, delimiter ',', quote '"')""")
        dup = con.execute("select supplier from t_sup group by supplier having count(distinct group_id) > 1").fetchall()
        if dup:
            raise RuntimeError(f"supplier strings mapped to more than one group: {dup[:5]}")
        cat_order = "case s.category " + " ".join(f"when '{c.replace(chr(39), chr(39) * 2)}' then {i}"
                                                for i, c in enumerate(CATEGORIES)) + " end"
        con.execute(f"""
            copy (
              select * exclude (cat_idx) from (
                select s.la_gss_code, l.la_name, s.financial_year, s.category, s.group_id, s.group_name,
                       pounds(sum(s.amount_p)) as amount, sum(s.lines)::bigint as lines, {cat_order} as cat_idx
                from t_spend s join (select distinct la_gss_code, la_name from p_all) l using (la_gss_code)
                where s.financial_year in (select unnest(?::varchar[]))
                group by all)
              order by la_gss_code, financial_year, cat_idx, group_id nulls first, group_name, amount, lines
            ) to '{t / "expected_spend.csv"}' (header, delimiter ',', quote '"')""",
                    [[fy_label(y) for y in self.years]])
        con.execute(f"""
            copy (
              with c as (
                select f.*, date_diff('day', f.seg_start, f.seg_stop) as nights,
                       round(f.w_p * f.edu_share)::bigint as edu_p, round(f.w_p * f.health_share)::bigint as h_p
                from pfy f where f.fy_end in (select unnest(?::int[])))
              select c.la_gss_code, l.la_name, fy_label(make_date(c.fy_end - 1, 4, 1)) as financial_year,
                     c.placement_type, count(*) as placements, count(*) filter (where c.is_crisis) as crisis_placements,
                     count(*) filter (where not c.is_crisis) as placements_excl_crisis,
                     sum(greatest(c.nights, 0))::bigint as bed_nights,
                     round(avg(c.w_p) filter (where not c.is_crisis) / 100.0, 2)::decimal(18, 2) as avg_weekly_cost_excl_crisis,
                     round(avg(c.w_p - c.edu_p - c.h_p) filter (where not c.is_crisis) / 100.0, 2)::decimal(18, 2)
                       as avg_social_care_excl_crisis,
                     round(avg(c.edu_p) filter (where not c.is_crisis) / 100.0, 2)::decimal(18, 2) as avg_education_excl_crisis,
                     round(avg(c.h_p) filter (where not c.is_crisis) / 100.0, 2)::decimal(18, 2) as avg_health_excl_crisis
              from c join (select distinct la_gss_code, la_name from p_all) l using (la_gss_code)
              group by all order by 1, 3, 4
            ) to '{t / "expected_placement_costs.csv"}' (header, delimiter ',', quote '"')""", [self.years])
        con.execute(f"""
            copy (select placement_id, la_gss_code, file, transaction_number, service_month, nights,
                         amount_p / 100.0 as amount
                  from t_pay order by la_gss_code, file, transaction_number)
            to '{t / "placement_payments.parquet"}' (format parquet)""")
        return {
            "ledger_lines": con.execute("select sum(lines) from t_spend").fetchone()[0] or 0,
            "placement_lines": con.execute("select count(*) from t_pay").fetchone()[0],
            "suppliers": con.execute("select count(distinct supplier) from t_sup").fetchone()[0],
        }

    def _clear(self) -> None:
        """Finance folders of an earlier run: all of them in an inbox the demo wrote, else the LAs' own."""
        for sub in ("spend", "placement_costs"):
            if (self.out / ".demo-inbox").exists() and (self.out / sub).exists():
                shutil.rmtree(self.out / sub)
            for la in self.las:
                folder = self.out / sub / la["name"]
                if folder.exists():
                    shutil.rmtree(folder)

    def run(self) -> dict:
        con = self.con
        self._clear()
        self._reference_tables()
        self._price_placements()
        con.execute("""create table t_spend (la_gss_code varchar, financial_year varchar, category varchar,
                       group_id varchar, group_name varchar, amount_p bigint, lines bigint)""")
        con.execute("""create table t_sup (supplier varchar, group_id varchar, group_name varchar,
                       company_number varchar, is_provider boolean)""")
        con.execute("""create table t_pay (placement_id varchar, la_gss_code varchar, file varchar,
                       transaction_number varchar, service_month date, nights bigint, amount_p bigint)""")
        sizes = dict(con.execute("select la_gss_code, count(*) from pfy where fy_end = ? group by 1",
                                 [self.years[-1]]).fetchall())
        self.mean_size = (sum(sizes.values()) / len(self.las)) if self.las else 1.0
        self.sizes = []
        for la in self.las:
            self._la_lines(la)
            self._write_la(la)
            self._write_costs(la)
        stats = self._write_truth()
        stats["las"] = len(self.las)
        stats["years"] = self.years
        return stats


def generate(placements_path, out_dir, truth_dir, seed=0, las=None, years=None, *, noise_scale=1.0,
             threads=None) -> dict:
    """Write spend files and placement-cost extracts into out_dir, their ground truth into truth_dir.

    placements_path: the ground-truth placements.parquet (one row per placement spell).
    las: LA names, GSS or DfE codes, or objects with a gss_code (ingest.local_authorities.LocalAuthority), to
    write (None: every LA in the placements table).
    years: collection years ending 31 March (2021 = financial year 2020-21): (first, last), a list, or
    '2021-2025'; None: the span of the placements table.
    noise_scale: multiplies the number of unrelated council lines (1.0: about 1,900 a month for an average LA).
    Returns counts (ledger_lines, placement_lines, suppliers, las, years).
    """
    gen = _Generator(placements_path, out_dir, truth_dir, seed, las, years, noise_scale, threads)
    return gen.run()


def write_faults(dir) -> list[Path]:
    """Realistic faulty finance files under dir/spend and dir/placement_costs, listed in dir/FAULTS.md."""
    from demo import finance_faults

    return finance_faults.write(Path(dir))
