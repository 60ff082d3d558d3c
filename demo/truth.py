"""Ground-truth tables, derived from placements.parquet with DuckDB (what the warehouse should find).

* children_looked_after_31_march.csv: collection year x placing LA x PLACE code: children looked after at
  31 March (a spell open that day: start <= 31 March < end), placed inside the LA's own area, outside it, over
  20 miles, distance unknown (a postcode not written), with the placement type and the DfE placement group;
* occupancy.csv: month x URN of every registered setting of the classes placed with capacity (children's homes,
  secure homes, family centres, residential schools) open that month: its places that month, the most children
  in it on any day of the month, and on the last day of the month;
* imports.csv: collection year x host LA (where the setting is) x placing LA: placements at 31 March;
* outcode_la.csv: the units the generator placed children in: a postcode district within one LA (a district
  split between LAs is one row per LA), with its postcodes in the ONS Postcode Directory and their mean grid
  reference (demo.geography);
* postcode_faults.csv: every placement whose HOME_POST or PL_POST carries a deliberate fault (lower case, padded
  with spaces, ZZ99 3CZ, not in the directory): the text written, the postcode it stands for, what the warehouse
  should make of it; the spell's episodes in every return carry the same text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from demo.geography import Geography
from demo.ssda903 import POSTCODE_FAULTS
from demo.register import CAPACITY_CLASSES, Register, day_number, first_day_of_month, month_number


def _write(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    table = con.execute(sql).fetch_arrow_table()
    table = table.cast(pa.schema([
        pa.field(f.name, pa.string() if pa.types.is_date(f.type) else f.type) for f in table.schema
    ]))
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def write(truth_dir: Path, placements: Path, geo: Geography, reg: Register, years: tuple[int, ...]) -> list[Path]:
    con = duckdb.connect()
    con.execute("set threads = 1")  # results are ordered anyway; one thread keeps runs byte-identical
    con.execute(f"create view p as select * from read_parquet('{placements}')")
    con.execute("create table years as select unnest(?::integer[]) as collection_year", [list(years)])
    names = pa.table({
        "gss": [la.gss_code for la in geo.las], "dfe": [la.dfe_code for la in geo.las],
        "name": [la.name for la in geo.las],
    })
    con.register("la_names", names)
    written = []

    path = truth_dir / "children_looked_after_31_march.csv"
    _write(con, """
        with open_at as (
            select y.collection_year, make_date(y.collection_year, 3, 31) as day, p.*
            from p join years y
              on p.start_date <= make_date(y.collection_year, 3, 31)
             and (p.end_date is null or p.end_date > make_date(y.collection_year, 3, 31))
        )
        select collection_year, la_gss_code, la_dfe_code, la_name, place, placement_type, dfe_group,
               count(*) as children,
               count(*) filter (where setting_la_gss_code = la_gss_code) as inside_la,
               count(*) filter (where setting_la_gss_code <> la_gss_code) as outside_la,
               count(*) filter (where distance_miles > 20) as over_20_miles,
               count(*) filter (where distance_miles is null) as distance_unknown
        from open_at group by all order by collection_year, la_gss_code, place, placement_type
    """, path)
    written.append(path)

    path = truth_dir / "imports.csv"
    _write(con, """
        select y.collection_year, p.setting_la_gss_code as host_la_gss_code, h.name as host_la_name,
               p.la_gss_code as placing_la_gss_code, p.la_name as placing_la_name, count(*) as placements
        from p join years y
          on p.start_date <= make_date(y.collection_year, 3, 31)
         and (p.end_date is null or p.end_date > make_date(y.collection_year, 3, 31))
        left join la_names h on h.gss = p.setting_la_gss_code
        group by all order by 1, 2, 4
    """, path)
    written.append(path)

    # Occupancy: places per setting per month from the register, children from the placements.
    first, last = day_number(dt.date(min(years) - 1, 4, 1)), day_number(dt.date(max(years), 3, 31))
    months = np.arange(int(month_number(first)), int(month_number(last)) + 1)
    settings = np.flatnonzero(np.isin(reg.klass, CAPACITY_CLASSES))
    cap = reg.capacity(months, settings)
    s_idx, m_idx = np.nonzero(cap > 0)
    month_days = first_day_of_month(months)
    capacity = pa.table({
        "urn": pa.array(reg.urn[settings][s_idx]),
        "month": pa.array(month_days[m_idx].astype(np.int32), type=pa.int32()).cast(pa.date32()),
        "places": pa.array(cap[s_idx, m_idx]),
        "setting_la_gss_code": pa.array(np.array([la.gss_code for la in geo.las])[reg.la[settings][s_idx]]),
    })
    con.register("capacity", capacity)
    path = truth_dir / "occupancy.csv"
    _write(con, """
        with months as (
            select urn, month, (month + interval 1 month - interval 1 day)::date as month_end, places,
                   setting_la_gss_code
            from capacity
        ),
        events as (  -- a child is in the setting from start_date until the day before end_date (DEC)
            select urn, start_date as day, 1 as delta from p where urn in (select urn from capacity)
            union all
            select urn, end_date, -1 from p where end_date is not null and urn in (select urn from capacity)
            union all select urn, month, 0 from months      -- so that every month has its first
            union all select urn, month_end, 0 from months  -- and last day in the running level
        ),
        daily as (select urn, day, sum(delta) as delta from events group by all),
        level as (
            select urn, day, sum(delta) over (partition by urn order by day rows unbounded preceding) as children
            from daily
        ),
        per_month as (
            select urn, date_trunc('month', day)::date as month, max(children) as children_max,
                   arg_max(children, day) as children_month_end
            from level group by all
        )
        select strftime(m.month, '%Y-%m') as month, m.urn, m.setting_la_gss_code, m.places,
               c.children_max::bigint as children_max, c.children_month_end::bigint as children_month_end
        from months m join per_month c using (urn, month)
        order by m.month, m.urn
    """, path)
    written.append(path)

    path = truth_dir / "outcode_la.csv"
    table = pa.table({
        "outcode": pa.array(geo.outcodes.astype(object)),
        "la_gss_code": pa.array([geo.las[i].gss_code for i in geo.la_index]),
        "la_name": pa.array([geo.las[i].name for i in geo.la_index]),
        "postcodes": pa.array(geo.unit_count.astype(np.int64)),
        "easting": pa.array(np.round(geo.east).astype(np.int64)),
        "northing": pa.array(np.round(geo.north).astype(np.int64)),
    })
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    written.append(path)

    path = truth_dir / "postcode_faults.csv"
    handling = pa.table({"fault": list(POSTCODE_FAULTS), "expected": [v[1] for v in POSTCODE_FAULTS.values()]})
    con.register("handling", handling)
    _write(con, """
        with faults as (
            select *, 'HOME_POST' as field, home_postcode as written, home_postcode_fault as fault from p
            where home_postcode_fault is not null
            union all
            select *, 'PL_POST', placement_postcode, placement_postcode_fault from p
            where placement_postcode_fault is not null
        )
        select f.la_gss_code, f.la_name, f.child_ref, f.placement_id, f.start_date, f.end_date, f.field,
               f.written, upper(trim(regexp_replace(f.written, ' +', ' ', 'g'))) as postcode, f.fault, h.expected
        from faults f join handling h using (fault)
        order by f.la_gss_code, f.child_ref, f.start_date, f.field
    """, path)
    written.append(path)
    con.close()
    return written
