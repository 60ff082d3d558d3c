"""Benchmark the provider-group resolution at national scale:

    .venv/bin/python bench/provider_resolution.py --db WAREHOUSE [--lines 20000000] [--names 300000]

WAREHOUSE is any built warehouse holding the Ofsted registers (the demo build will do); it is copied, never
changed. Its staged spend lines are replaced by LINES synthetic ledger lines paying NAMES distinct supplier
names: register owners as councils misspell them (case, Ltd/Limited, "(Holdings)", a brand suffix), and
unrelated organisations and people. Then dbt rebuilds int_provider_names_unioned and
int_provider_names_resolved (the resolution) and the wall time and peak RSS of dbt are measured.
Writes bench/results/provider_resolution.json. Speed targets live here, never in timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
RESULTS = REPO / "bench" / "results" / "provider_resolution.json"


def organisation_key_sql(project: Path) -> str:
    out = subprocess.run([str(DBT), "compile", "--quiet", "--profiles-dir", ".", "--inline",
                          "select {{ organisation_key('x') }} as k"],
                         cwd=project, capture_output=True, text=True, check=True).stdout
    return out.strip().removeprefix("select ").removesuffix(" as k")


def synthesise(con: duckdb.DuckDBPyConnection, key_sql: str, lines: int, names: int) -> None:
    """Distinct supplier names (a third register owners misspelt, a third with a brand suffix, a third other
    organisations and people), then LINES ledger lines drawing names with a skew (big suppliers, long tail)."""
    con.execute("""
        create or replace temp table owners as
        select row_number() over () as i, owner_name
        from (select distinct owner_name from intermediate.int_provider_snapshots_joined where owner_name is not null)
    """)
    n_owners = con.execute("select count(*) from owners").fetchone()[0]
    words = ["Oak", "Willow", "Bright", "Future", "Harbour", "Summit", "Meadow", "River", "Cedar", "Phoenix",
             "Beacon", "Horizon", "Northern", "Southern", "Valley", "Castle", "Bridge", "Haven", "Pathway", "Unity"]
    con.execute(f"""
        create or replace temp table supplier_names as
        with numbered as (select range as n from range({names}))
        select n as i,
            case n % 3
                when 0 then (select case (n // 3) % 4
                                        when 0 then upper(owner_name) || ' LTD.'
                                        when 1 then owner_name || ' Limited'
                                        when 2 then owner_name || ' (Holdings) Ltd'
                                        else owner_name end
                             from owners where owners.i = 1 + (n * 7919) % {n_owners})
                when 1 then (select owner_name || case (n // 3) % 3 when 0 then ' Childcare Ltd'
                                                                    when 1 then ' Children''s Services'
                                                                    else ' Group' end
                             from owners where owners.i = 1 + (n * 104729) % {n_owners})
                else case when n % 30 = 2 then 'Mr ' || chr(cast(65 + n % 26 as integer)) || ' Surname' || cast(n as varchar)
                          else ({words!r})[1 + n % 20] || ' ' || ({words!r})[1 + (n // 20) % 20]
                               || ' Services ' || cast(n as varchar) || ' Ltd' end
            end as supplier_name
        from numbered
    """)
    con.execute("alter table supplier_names add column supplier_key varchar")
    con.execute(f"update supplier_names set supplier_key = (select {key_sql} from (select supplier_name as x))")
    con.execute(f"""
        create or replace table staging.stg_spend__lines as
        select 'E06000066' as la_gss_code, '2024-25' as financial_year, date '2024-06-01' as payment_date,
               cast(g.range as varchar) as transaction_id, cast(100 + g.range % 9000 as decimal(18, 2)) as amount,
               s.supplier_name, s.supplier_key,
               false as is_supplier_withheld, cast(null as varchar) as supplier_id,
               cast(null as varchar) as company_number, cast(null as varchar) as charity_number,
               'Children''s Social Care' as service_area, 'Independent Residential Placements' as expense_type,
               false as is_repeat, false as is_outside_period, 1 as copies, 'bench.csv' as source_file,
               'bench' as file_sha256, g.range as source_row_number, 'bench' as load_id
        from range({lines}) as g
        inner join supplier_names as s
            on s.i = cast(floor(pow(((g.range * 2654435761) % 1000003) / 1000003.0, 2) * {names}) as bigint)
    """)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a built warehouse (copied, never changed)")
    parser.add_argument("--lines", type=int, default=20_000_000)
    parser.add_argument("--names", type=int, default=300_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = work / "warehouse.duckdb"
        shutil.copy(args.db, db)
        project = work / "dbt_project"
        shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
        with duckdb.connect(str(db)) as con:
            start = time.perf_counter()
            synthesise(con, organisation_key_sql(project), args.lines, args.names)
            synth_s = time.perf_counter() - start
            distinct = con.execute(
                "select count(distinct supplier_name) from staging.stg_spend__lines").fetchone()[0]
        env = {**os.environ, "WAREHOUSE_DB": str(db)}
        start = time.perf_counter()
        subprocess.run([str(DBT), "run", "--profiles-dir", ".", "--select",
                        "int_provider_names_unioned", "int_provider_names_resolved"],
                       cwd=project, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - start
        with duckdb.connect(str(db), read_only=True) as con:
            methods = dict(con.execute(
                "select link_method, count(*) from intermediate.int_provider_names_resolved group by 1").fetchall())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "ledger_lines": args.lines, "distinct_supplier_names": distinct, "synthesis_s": round(synth_s, 1),
        "resolution": {"wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb)},
        "names_by_method": methods, "cpus": os.cpu_count(), "machine": platform.platform(),
        "targets": {"wall_s": 180, "peak_rss_mb": 4096},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
