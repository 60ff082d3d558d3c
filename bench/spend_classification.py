"""Benchmark the spend classification at national scale (about 20 million ledger lines):

    .venv/bin/python bench/spend_classification.py --db WAREHOUSE --label new
    .venv/bin/python bench/spend_classification.py --db WAREHOUSE --label old --project OLD_TREE/dbt_project
        [--lines 20000000] [--las 150] [--suppliers 300000] [--memory-limit 4GB] [--keep DIR [--reuse]]
        [--note TEXT]

WAREHOUSE is a built warehouse holding the Ofsted registers and the reference tables (the demo build will do);
it is copied, never changed. The dbt project (--project, default this repo's dbt_project) is copied too, without
its target/ and logs/. In the copy, staging.stg_spend__lines is replaced by LINES synthetic ledger lines of the
2024-25 financial year over LAS real English LA codes, built in DuckDB SQL from hashes of the line number (two
runs give the same lines): about SUPPLIERS distinct supplier names (the register's owners as councils spell
them, care-sounding organisations, schools and public bodies, other organisations, people), each council's own
service areas, expense types and numeric expense codes, a ProClass-like classification in some councils, a
description where a council publishes no expense type, amounts with pennies and some credits, withheld names.
The columns and their types are the ones the copied warehouse's staging table has (plus a varchar
classification if it has none).

Then, in the copied project with WAREHOUSE_DB pointing at the copied warehouse, `dbt seed --full-refresh` runs
(not timed; a full refresh, so one project's seeds load over the other's in a reused warehouse) and
then, timed, `dbt run --select +int_spend__lines_classified +int_spend__lines_grouped --exclude path:models/staging
resource_type:seed`: the classification and everything it reads (provider resolution and groups included), a
selection that means the same in the old (regex rules, ae46450) and the new (vocabulary, who is paid, learned
words) trees. Measured: wall time and the peak RSS of that dbt process (os.wait4 on it, so the seed run does
not count), rows of int_spend__lines_classified, lines by rule_id, and dbt's per-model timings
(target/run_results.json). A failed run (DuckDB out of memory, or the process killed) is recorded too, with
the model it was building.

DuckDB takes up to 80% of the machine's RAM by default and keeps what it reads and writes cached up to that, so
the peak RSS of a default run says how much it took, not how much it needs: --memory-limit sets memory_limit in
the copied profile, so old and new can be compared under the same cap (the 4 GB target as the cap: does the
build run within it, and how long does it take?). --keep DIR --reuse runs another project on the lines an
earlier run synthesised in DIR (the same lines for old and new, without synthesising them again).

Results go to bench/results/spend_classification.json, one entry per --label (other labels kept); once both
"old" and "new" are there, the ratio of their wall times is written beside the targets (new within 1.2x of
old, peak RSS under 4 GB). Speed targets live here, never in timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
RESULTS = REPO / "bench" / "results" / "spend_classification.json"
TARGETS = {"ratio": 1.2, "peak_rss_mb": 4096}
NOTE = ("Timings are noisy: the machine has 2 cores shared with other work (an engineer's builds and tests ran "
        "at the same time), so repeat runs can differ by tens of percent; compare old and new from runs made "
        "close together. Peak RSS is the dbt process's maximum resident set (DuckDB's buffer pool included).")

# What a line is paid for decides who is paid and the words it is filed under (per mille of lines).
KINDS = [  # (kind, share per mille, [(supplier pool, share per cent), ...])
    ("placement", 120, [("owner", 45), ("care", 45), ("org", 10)]),
    ("carer", 40, [("person", 100)]),
    ("childrens_other", 60, [("org", 85), ("owner", 5), ("person", 10)]),
    ("adult", 150, [("care", 60), ("org", 30), ("owner", 10)]),
    ("education", 60, [("public", 60), ("org", 40)]),
    ("corporate", 570, [("org", 90), ("person", 4), ("public", 6)]),
]

EXPENSE_TYPES = {
    "placement": ["Independent Residential Placements", "Independent Fostering Agency Placements",
                  "Supported Accommodation (16+)", "Payments for services", "Third Party Payments",
                  "Private Contractors", "Residential Care - External", "Secure Accommodation",
                  "Independent Special School Fees", "Placements - Out of County", "Semi Independent Living",
                  "Payments for services"],
    "carer": ["In-house Foster Carer Allowances", "Foster Payments", "Special Guardianship Allowances",
              "Transfer Payments - Social Services Clients", "Payments for services", "Direct Payments"],
    "childrens_other": ["Agency Staff", "Agency Social Workers", "Legal and Court Costs", "Client Transport",
                        "Training", "Rent", "Equipment and Supplies", "Professional fees", "Private Contractors",
                        "Payments for services"],
    "adult": ["Residential and Nursing Care", "Home Care", "Payments for services", "Third Party Payments",
              "Day Care", "Supported Living", "Direct Payments", "Private Contractors"],
    "education": ["Payments to Schools", "Independent Special School Fees", "Training", "Home to School Transport",
                  "Payments for services", "Professional fees"],
    "corporate": ["Agency Staff", "Training", "Rent", "Private Contractors", "Payments for services",
                  "Third Party Payments", "Energy Costs", "Consultancy and Professional Fees",
                  "Equipment and Supplies", "Repairs and Maintenance", "ICT Hardware and Software", "Legal Fees",
                  "Highways Maintenance Contract", "Waste Collection and Disposal", "Water Charges",
                  "Printing and Stationery", "Catering", "Cleaning", "Insurance", "Subscriptions", "Postage",
                  "Vehicle Hire", "Capital - Buildings", "Grants to Voluntary Organisations"],
}

CLASSIFICATIONS = {
    "placement": ["Social Community Care | CHILDREN'S HOMES", "Social Community Care | FOSTERING SERVICES",
                  "Social Community Care | SUPPORTED ACCOMMODATION", "Social Community Care | CHILDREN'S SERVICES"],
    "carer": ["Social Community Care | FOSTER CARERS", "Social Community Care | CHILDREN'S SERVICES"],
    "adult": ["Social Community Care | ADULT RESIDENTIAL CARE", "Social Community Care | HOME CARE",
              "Social Community Care | DAY CARE"],
    "other": ["Human Resources | TEMPORARY STAFF", "Construction & Building | BUILDING MAINTENANCE",
              "Information Communication Technology | SOFTWARE", "Legal Services | SOLICITORS",
              "Facilities & Management Services | CLEANING", "Education | SCHOOL SERVICES",
              "Transport | PASSENGER TRANSPORT", "Utilities | ELECTRICITY", "Financial Services | INSURANCE"],
}

DESCRIPTIONS = {
    "placement": ["Residential placement fees", "Fostering agency fees", "Supported accommodation",
                  "Placement costs", "Care package"],
    "carer": ["Foster carer allowance", "Special guardianship allowance", "Fees and allowances"],
    "childrens_other": ["Agency social worker", "Court fees", "Taxi for looked after child", "Staff training"],
    "adult": ["Residential care fees", "Home care hours", "Day services"],
    "education": ["School place", "SEN transport", "Training course"],
    "corporate": ["Works", "Supplies", "Software licence", "Electricity", "Consultancy", "Cleaning contract",
                  "Vehicle hire"],
}

CHILDRENS_AREAS = ["Children's Social Care", "Children's Services", "Childrens & Education Services",
                   "Children and Young People's Services", "People - Children and Families",
                   "Children, Families and Learning"]
CHILDRENS_TEAMS = ["", " - Looked After Children", " - Care Leavers and 16+", " - Disabled Children",
                   " - Safeguarding", " - Fostering and Adoption"]
ADULT_AREAS = ["Adult Social Care", "Adults and Health", "Adult Services and Wellbeing", "People - Adults",
               "Adult Care and Support"]
EDUCATION_AREAS = ["Education and Schools", "Education - High Needs", "Learning and Skills", "Schools Budget"]
CORPORATE_AREAS = ["Corporate Resources", "Property Services", "Highways and Transport", "Environmental Services",
                   "Housing", "Culture and Leisure", "Chief Executives", "Finance", "Regeneration", "Public Health",
                   "Waste Management", "Legal and Democratic Services"]

# Made-up names: brand words from syllables, so names differ in their distinctive words as real ones do.
FIRST_SYLLABLES = ["Ar", "Bel", "Cor", "Dal", "Ev", "Fen", "Gal", "Har", "Is", "Jor", "Kel", "Lin", "Mor", "Nor",
                   "Os", "Pen", "Quin", "Ros", "Sel", "Tor", "Ul", "Ver", "Wyn", "Yar", "Zel", "Ash", "Bram", "Cal",
                   "Dun", "Elm"]
LAST_SYLLABLES = ["a", "en", "is", "on", "ley", "wood", "ford", "ton", "ham", "dale", "mere", "bury", "well",
                  "field", "more", "by", "stead", "worth", "brook", "gate", "hurst", "low", "stone", "ridge", "croft",
                  "vale", "mouth", "side", "wick", "holm"]
SECOND_WORDS = ["Oak", "Willow", "Bright", "Future", "Harbour", "Summit", "Meadow", "River", "Cedar", "Phoenix",
                "Beacon", "Horizon", "Valley", "Castle", "Bridge", "Haven", "Pathway", "Unity", "Crown", "Star",
                "Lakeside", "Park", "Forest", "Hill", "Green", "Silver", "Golden", "Apex", "Prime", "Swift",
                "Atlas", "Orchard", "Heath", "Moor", "Coast", "Spring", "Stone", "Bay", "Vista", "Falcon"]
TRADES = ["Solutions", "Consulting", "Construction", "Catering", "Cleaning", "Transport", "IT", "Supplies",
          "Facilities", "Engineering", "Plumbing", "Electrical", "Security", "Print", "Office", "Legal",
          "Recruitment", "Landscapes", "Builders", "Motors", "Waste", "Energy", "Software", "Training", "Media"]
FORMS = [" Ltd", " Limited", " LLP", " plc", ""]
CARE_WORDS = ["Care Ltd", "Care Services Ltd", "Fostering Ltd", "Children's Homes Ltd", "Residential Care Ltd",
              "Homes Ltd", "Supported Living Ltd", "Healthcare Ltd", "Care Group", "Childcare Ltd", "Nursing Home",
              "Care Homes Limited", "Support Services CIC"]
PUBLIC_FORMS = [" Primary School", " Academy Trust", " Borough Council", " NHS Foundation Trust", " College",
                " High School", " Parish Council"]
TITLES = ["Mr ", "Mrs ", "Ms ", "Miss ", ""]
FIRST_NAMES = ["Sarah", "James", "Emma", "David", "Claire", "Paul", "Helen", "Mark", "Karen", "Andrew", "Susan",
               "Peter", "Rachel", "Michael", "Julie", "Stephen", "Nicola", "Richard", "Louise", "John"]


def lit(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def pick(values: list[str], index_sql: str) -> str:
    """SQL choosing values[index mod len] (index a non-negative integer expression)."""
    return f"[{', '.join(lit(v) for v in values)}][1 + cast(({index_sql}) % {len(values)} as bigint)]"


def by_kind(table: dict[str, list[str]], index_sql: str, default: str = "null") -> str:
    branches = " ".join(f"when {lit(k)} then {pick(v, index_sql)}" for k, v in table.items())
    return f"case kind {branches} else {default} end"


def uniform(i_sql: str, salt: int) -> str:
    """A deterministic number in [0, 1) from a row number and a salt."""
    return f"((hash({i_sql}, {salt}) % 1000003) / 1000003.0)"


def organisation_key_sql(project: Path, env: dict) -> str:
    """The project's own organisation_key macro (how its staging keys a supplier name), as SQL of a column x."""
    done = subprocess.run([str(DBT), "compile", "--quiet", "--profiles-dir", ".", "--inline",
                           "select {{ organisation_key('x') }} as k"],
                          cwd=project, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dbt compile failed:\n{done.stdout}\n{done.stderr}")
    out = done.stdout
    return out.strip().removeprefix("select ").removesuffix(" as k")


def supplier_pools(n_names: int, n_owner_names: int) -> dict[str, tuple[int, int]]:
    """Supplier index ranges [start, end) of each pool."""
    sizes = {"owner": min(n_owner_names, n_names // 10), "care": n_names * 67 // 1000,
             "person": n_names * 13 // 100,
             "public": n_names * 2 // 100}
    sizes["org"] = n_names - sum(sizes.values())
    pools, start = {}, 0
    for name in ["owner", "care", "person", "public", "org"]:
        pools[name] = (start, start + sizes[name])
        start += sizes[name]
    return pools


def synthesise(con: duckdb.DuckDBPyConnection, key_sql: str, lines: int, n_las: int, n_names: int) -> dict:
    columns = con.execute("describe staging.stg_spend__lines").fetchall()
    types = {name: ctype for name, ctype, *_ in columns}
    if "classification" not in types:
        types["classification"] = "VARCHAR"

    # The LAs: real English GSS codes of today's councils, each with its own publishing habits.
    con.execute(f"""
        create or replace temp table bench_las as
        select
            la_idx, la_gss_code, body_name,
            hash(la_gss_code, 1) % {len(CHILDRENS_AREAS)} as childrens_area,
            hash(la_gss_code, 2) % 2 = 0 as has_teams,
            hash(la_gss_code, 3) % 10 <> 0 as has_expense_type,
            hash(la_gss_code, 4) % 4 <> 0 as has_codes,
            hash(la_gss_code, 5) % 3 = 1 as codes_by_area,
            hash(la_gss_code, 6) % 5 = 1 as has_classification,
            hash(la_gss_code, 7) % 6 = 0 as upper_case,
            hash(la_gss_code, 8) % 2 = 0 as has_supplier_ids,
            hash(la_gss_code, 9) % 3 = 0 as has_company_numbers,
            hash(la_gss_code, 10) % 20 <> 0 as has_service_area
        from (
            select
                la_gss_code,
                coalesce(la_official_name, la_name) as body_name,
                row_number() over (order by la_gss_code) - 1 as la_idx
            from (select distinct la_gss_code, la_official_name, la_name from marts.dim_local_authority
                  where regexp_matches(la_gss_code, '^E(06|08|09|10)[0-9]{{6}}$') and is_current)
        )
        where la_idx < {n_las}
    """)
    available = con.execute("select count(*) from bench_las").fetchone()[0]
    if available < n_las:
        raise SystemExit(f"the warehouse has {available} English LA codes, fewer than --las {n_las}")

    # Register owners, each under two spellings councils use.
    con.execute("""
        create or replace temp table bench_owners as
        select row_number() over (order by owner_name) - 1 as o, owner_name
        from (select distinct owner_name from intermediate.int_provider_snapshots_joined
              where owner_name is not null and trim(owner_name) <> '')
    """)
    n_owners = con.execute("select count(*) from bench_owners").fetchone()[0]
    pools = supplier_pools(n_names, 2 * n_owners)
    # Made-up names: the pool's position p is spread over all combinations of the name's parts (q, a
    # permutation of 0..M-1 when p < M), so every part varies however small the pool.
    sizes = {"care": len(CARE_WORDS) * 900 * len(SECOND_WORDS), "person": (len(TITLES) + len(FIRST_NAMES)) * 26 * 900,
             "public": len(PUBLIC_FORMS) * 900, "org": len(TRADES) * len(FORMS) * 900 * len(SECOND_WORDS)}
    for name, combinations in sizes.items():
        if pools[name][1] - pools[name][0] > combinations:
            raise SystemExit(f"too many {name} suppliers for the name parts ({combinations})")
    def brand(q: str) -> str:
        return f"{pick(FIRST_SYLLABLES, q)} || {pick(LAST_SYLLABLES, f'({q}) // {len(FIRST_SYLLABLES)}')}"
    forms = TITLES + [name + " " for name in FIRST_NAMES]
    con.execute(f"""
        create or replace temp table bench_suppliers as
        with numbered as (
            select
                range as s,
                case
                    {" ".join(f"when range < {end} then '{name}'" for name, (_, end) in pools.items())}
                end as pool
            from range({n_names})
        ),
        positioned as (
            select
                numbered.*,
                s - case pool {" ".join(f"when '{name}' then {start}" for name, (start, _) in pools.items())}
                    end as p
            from numbered
        ),
        permuted as (
            select
                positioned.*,
                (p * 1000003) % case pool {" ".join(f"when '{k}' then {v}" for k, v in sizes.items())} else 1 end
                    as q
            from positioned
        )
        select
            s, pool,
            case pool
                when 'owner' then (
                    select case
                        when p % 2 = 0 then owner_name
                        when (p // 2) % 3 = 0 then upper(owner_name) || ' LTD.'
                        when (p // 2) % 3 = 1 then regexp_replace(owner_name, '\\s+(limited|ltd\\.?)$', '', 'i')
                                                   || ' Limited'
                        else owner_name || ' (Holdings)'
                    end
                    from bench_owners where bench_owners.o = p // 2
                )
                when 'care' then {brand(f'q // {len(CARE_WORDS)}')} || ' '
                                 || {pick(SECOND_WORDS, f'q // {len(CARE_WORDS) * 900}')} || ' '
                                 || {pick(CARE_WORDS, 'q')}
                when 'person' then {pick(forms, 'q')} || chr(cast(65 + (q // {len(forms)}) % 26 as integer))
                                   || ' ' || {brand(f'q // {len(forms) * 26}')}
                when 'public' then {brand(f'q // {len(PUBLIC_FORMS)}')} || {pick(PUBLIC_FORMS, 'q')}
                else {brand(f'q // {len(TRADES) * len(FORMS)}')} || ' '
                     || {pick(SECOND_WORDS, f'q // {len(TRADES) * len(FORMS) * 900}')} || ' '
                     || {pick(TRADES, 'q')} || {pick(FORMS, f'q // {len(TRADES)}')}
            end as supplier_name,
            case when pool in ('owner', 'care', 'org') and hash(s, 21) % 10 < 3
                then lpad(cast(1000000 + hash(s, 22) % 13000000 as varchar), 8, '0') end as company_number,
            case when pool = 'care' and hash(s, 23) % 20 = 0
                then cast(200000 + hash(s, 24) % 900000 as varchar) end as charity_number,
            hash(s, 25) as supplier_hash
        from permuted
    """)
    con.execute("alter table bench_suppliers add column supplier_key varchar")
    con.execute(f"update bench_suppliers set supplier_key = (select {key_sql} from (select supplier_name as x))")

    kind_cases = []
    threshold = 0
    for kind, share, _ in KINDS:
        threshold += share
        kind_cases.append(f"when hash(i, 2) % 1000 < {threshold} then '{kind}'")
    pool_cases = []
    for kind, _, kind_pools in KINDS:
        cut = 0
        branches = []
        for pool, share in kind_pools:
            cut += share
            branches.append(f"when hash(i, 3) % 100 < {cut} then '{pool}'")
        pool_cases.append(f"when '{kind}' then case {' '.join(branches)} end")
    pool_start = " ".join(f"when '{name}' then {start}" for name, (start, _) in pools.items())
    pool_size = " ".join(f"when '{name}' then {end - start}" for name, (start, end) in pools.items())

    values = {
        "la_gss_code": "l.la_gss_code",
        "body_name": "l.body_name",
        "payment_date": "payment_date",
        "financial_year": "'2024-25'",
        "transaction_id": "'T' || cast(1000000 + i as varchar)",
        "amount": "cast(case when hash(i, 9) % 50 = 0 then -cents else cents end / 100.0 as decimal(18, 2))",
        "supplier_name": "case when withheld then null else s.supplier_name end",
        "supplier_name_published": "case when withheld then 'REDACTED' else s.supplier_name end",
        "supplier_key": "case when withheld then null else s.supplier_key end",
        "is_supplier_withheld": "withheld",
        "supplier_id": "case when l.has_supplier_ids and not withheld "
                       "then 'SUP' || cast(hash(l.la_gss_code, s.s) % 900000 + 100000 as varchar) end",
        "company_number": "case when l.has_company_numbers and not withheld then s.company_number end",
        "charity_number": "case when l.has_company_numbers and not withheld then s.charity_number end",
        "service_area": "case when l.has_service_area then service_area end",
        "expense_type": "case when l.has_expense_type and hash(i, 10) % 50 <> 0 then "
                        "case when l.upper_case then upper(expense_type) else expense_type end end",
        "expense_code": "case when l.has_codes and l.has_expense_type and hash(i, 10) % 50 <> 0 then "
                        "cast(1000 + hash(l.la_gss_code, expense_type, case when l.codes_by_area "
                        "then service_area end) % 9000 as varchar) end",
        "description": "case when not l.has_expense_type or hash(i, 10) % 50 = 0 then "
                       "description_words || ' ' || strftime(payment_date, '%B %Y') end",
        "classification": "case when l.has_classification and not withheld then classification end",
        "period_start": "date_trunc('month', payment_date)::date",
        "period_end": "last_day(payment_date)",
        "period_from": "'file name'",
        "is_outside_period": "false",
        "warning_rules": "null",
        "line_key": "md5(cast(i as varchar))",
        "occurrence_in_file": "1",
        "copies": "1",
        "is_repeat": "false",
        "kept_source_file": "source_file",
        "kept_source_row_number": "i + 1",
        "source_file": "source_file",
        "file_sha256": "sha256(source_file)",
        "source_row_number": "i + 1",
        "load_id": "'bench-spend-classification'",
    }
    missing = [c for c in types if c not in values]
    select_list = ",\n            ".join(
        f"cast({values.get(name, 'null')} as {ctype}) as {name}" for name, ctype in types.items())
    con.execute(f"""
        create or replace table staging.stg_spend__lines as
        with drawn as (
            select
                range as i,
                hash(range, 1) % {n_las} as la_idx,
                case {" ".join(kind_cases)} end as kind
            from range({lines})
        ),
        pooled as (
            select drawn.*, case kind {" ".join(pool_cases)} end as pool
            from drawn
        ),
        chosen as (
            select
                pooled.*,
                (case pool {pool_start} end)
                + cast(floor(pow({uniform('i', 4)}, 2) * (case pool {pool_size} end)) as bigint) as s,
                date '2024-04-01' + cast(hash(i, 5) % 365 as integer) as payment_date,
                hash(i, 6) % 100 < 3 as withheld,
                case kind
                    when 'placement' then 50000 + hash(i, 7) % 2000000
                    when 'adult' then 20000 + hash(i, 7) % 800000
                    when 'carer' then 10000 + hash(i, 7) % 150000
                    else 50000 + hash(i, 7) % 500000
                end::bigint as cents
            from pooled
        ),
        worded as (
            select
                chosen.*,
                {by_kind(EXPENSE_TYPES, 'hash(i, 8)')} as expense_type,
                {by_kind(DESCRIPTIONS, 'hash(i, 11)')} as description_words,
                case
                    when kind in ('placement', 'carer', 'childrens_other') then
                        {pick(CHILDRENS_AREAS, 'l.childrens_area')}
                        || case when l.has_teams then {pick(CHILDRENS_TEAMS, 'hash(i, 12)')} else '' end
                    when kind = 'adult' then {pick(ADULT_AREAS, 'hash(l.la_gss_code, 13)')}
                    when kind = 'education' then {pick(EDUCATION_AREAS, 'hash(i, 12)')}
                    else {pick(CORPORATE_AREAS, 'hash(i, 12)')}
                end as service_area,
                case
                    when kind in ('placement', 'carer', 'adult') then {by_kind(CLASSIFICATIONS, 's.supplier_hash')}
                    else {pick(CLASSIFICATIONS['other'], 's.supplier_hash')}
                end as classification,
                'bench/' || l.la_gss_code || '_spend_' || strftime(payment_date, '%Y_%m') || '.csv' as source_file
            from chosen
            inner join bench_las as l on chosen.la_idx = l.la_idx
            inner join bench_suppliers as s on chosen.s = s.s
        )
        select
            {select_list}
        from worded
        inner join bench_las as l on worded.la_idx = l.la_idx
        inner join bench_suppliers as s on worded.s = s.s
    """)
    facts = dict(zip(
        ["lines", "las", "distinct_suppliers", "withheld_lines", "lines_with_classification",
         "lines_with_description_only", "credit_lines"],
        con.execute("""
            select count(*), count(distinct la_gss_code), count(distinct supplier_name),
                   count(*) filter (where is_supplier_withheld), count(*) filter (where classification is not null),
                   count(*) filter (where expense_type is null and description is not null),
                   count(*) filter (where amount < 0)
            from staging.stg_spend__lines
        """).fetchone()))
    facts["supplier_pools"] = {name: end - start for name, (start, end) in pools.items()}
    facts["columns_left_null"] = missing
    return facts


def git_facts(project: Path) -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted_files": len(git("status", "--porcelain", "--", ".").splitlines())}


def timed_dbt(args: list[str], cwd: Path, env: dict, log: Path) -> tuple[float, float, int]:
    """Run dbt, return (wall seconds, peak RSS MB of that process and its children, exit code)."""
    with log.open("w") as out:
        start = time.perf_counter()
        process = subprocess.Popen([str(DBT), *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # stopped (Ctrl-C, SIGTERM): no dbt left behind holding the warehouse's lock
            process.kill()
            process.wait()
            raise
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, process.returncode


def model_timings(project: Path) -> list[dict]:
    run_results = json.loads((project / "target" / "run_results.json").read_text())
    rows = [{"model": r["unique_id"].split(".")[-1], "s": round(r["execution_time"], 1), "status": r["status"]}
            for r in run_results["results"]]
    return sorted(rows, key=lambda r: r["s"], reverse=True)


def limit_memory(project: Path, memory_limit: str) -> None:
    """Set DuckDB's memory_limit in the copied project's profile (default: 80% of the machine's RAM)."""
    profiles = project / "profiles.yml"
    config = yaml.safe_load(profiles.read_text())
    for profile in config.values():
        for output in profile.get("outputs", {}).values():
            output.setdefault("settings", {})["memory_limit"] = memory_limit
    profiles.write_text(yaml.safe_dump(config, sort_keys=False))


def failed_model(log: Path) -> str | None:
    started = [line for line in log.read_text().splitlines() if " START " in line]
    return started[-1].split(" model ")[-1].split(" ")[0] if started else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a built warehouse (copied, never changed)")
    parser.add_argument("--project", type=Path, default=REPO / "dbt_project", help="the dbt project to run (copied)")
    parser.add_argument("--lines", type=int, default=20_000_000)
    parser.add_argument("--las", type=int, default=150)
    parser.add_argument("--suppliers", type=int, default=300_000, help="distinct supplier names drawn from")
    parser.add_argument("--label", required=True, help="the entry written, e.g. old or new")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--reuse", action="store_true",
                        help="the --keep folder already holds a warehouse this script synthesised with the same "
                             "--lines, --las and --suppliers: run dbt on it again (saves the copy and synthesis)")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for the dbt run, e.g. 4GB (default: DuckDB's)")
    parser.add_argument("--note", help="a remark stored with the entry")
    args = parser.parse_args()
    def stop(signum: int, frame: object) -> None:
        print(f"{datetime.now().isoformat(timespec='seconds')}: stopped by signal {signum}", file=sys.stderr,
              flush=True)
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    if args.reuse and not args.keep:
        parser.error("--reuse needs --keep")
    source_project = args.project.resolve()
    params = {"lines": args.lines, "las": args.las, "suppliers": args.suppliers, "db": str(args.db.resolve())}
    with tempfile.TemporaryDirectory(prefix="bench-spend-") as tmp:
        work = args.keep.resolve() if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = work / "warehouse.duckdb"
        synthesis_file = work / "synthesis.json"
        project = work / "dbt_project"
        if project.exists():
            shutil.rmtree(project)
        shutil.copytree(source_project, project, ignore=shutil.ignore_patterns("target", "logs"))
        if args.memory_limit:
            limit_memory(project, args.memory_limit)
        env = {**os.environ, "WAREHOUSE_DB": str(db)}
        if args.reuse:
            saved = json.loads(synthesis_file.read_text()) if synthesis_file.exists() else {}
            if saved.get("params") != params or not db.exists():
                raise SystemExit(f"--reuse: {work} holds no warehouse synthesised with {params}")
            facts, synth_s = saved["facts"], saved["s"]
        else:
            synthesis_file.unlink(missing_ok=True)
            shutil.copy(args.db, db)
            start = time.perf_counter()
            key_sql = organisation_key_sql(project, env)
            with duckdb.connect(str(db)) as con:
                facts = synthesise(con, key_sql, args.lines, args.las, args.suppliers)
            synth_s = time.perf_counter() - start
            synthesis_file.write_text(json.dumps({"params": params, "facts": facts, "s": synth_s}, indent=2))
            print(f"synthesised {facts['lines']} lines in {synth_s:.0f} s", flush=True)

        _, seed_rss, code = timed_dbt(["seed", "--profiles-dir", ".", "--full-refresh"], project, env, work / "dbt_seed.log")
        if code:
            raise SystemExit(f"dbt seed failed, see {work / 'dbt_seed.log'}")
        load = os.getloadavg()
        (project / "target" / "run_results.json").unlink(missing_ok=True)
        wall, peak_mb, code = timed_dbt(
            ["run", "--profiles-dir", ".", "--select", "+int_spend__lines_classified", "+int_spend__lines_grouped",
             "--exclude", "path:models/staging", "resource_type:seed"], project, env, work / "dbt_run.log")
        run = {"status": "ok" if code == 0 else f"failed (exit code {code})", "wall_s": round(wall, 1),
               "peak_rss_mb": round(peak_mb)}
        if code:
            print((work / "dbt_run.log").read_text()[-4000:], file=sys.stderr)
            run["failed_in_model"] = failed_model(work / "dbt_run.log")
        timings = model_timings(project) if (project / "target" / "run_results.json").exists() else []
        rows, by_rule = None, None
        if code == 0:
            with duckdb.connect(str(db), read_only=True) as con:
                rows = con.execute("select count(*) from intermediate.int_spend__lines_classified").fetchone()[0]
                has_rule = con.execute("""
                    select count(*) from information_schema.columns
                    where table_schema = 'intermediate' and table_name = 'int_spend__lines_classified'
                      and column_name = 'rule_id'
                """).fetchone()[0]
                by_rule = dict(con.execute("""
                    select coalesce(rule_id, '(none)'), count(*) from intermediate.int_spend__lines_classified
                    group by all order by 2 desc
                """).fetchall()) if has_rule else None

    entry = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "project": str(source_project), **git_facts(source_project),
        "lines": facts["lines"], "las": facts["las"], "distinct_suppliers": facts["distinct_suppliers"],
        "synthesis": {k: v for k, v in facts.items() if k not in ("lines", "las", "distinct_suppliers")}
        | {"s": round(synth_s, 1)},
        "duckdb_memory_limit": args.memory_limit or "default (80% of RAM)",
        **run, "seed_peak_rss_mb": round(seed_rss),
        "rows_classified": rows, "lines_by_rule_id": by_rule,
        "models_slowest": timings[:12], "models": len(timings),
        "load_average_before_run": [round(x, 2) for x in load],
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(os.sysconf("SC_PAGE_SIZE")
                                                                * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "duckdb": duckdb.__version__, "dbt_core": metadata.version("dbt-core"),
                    "dbt_duckdb": metadata.version("dbt-duckdb"), "platform": platform.platform(),
                    "python": platform.python_version()},
    }
    if args.note:
        entry["note"] = args.note
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs = results.get("runs", {})
    runs[args.label] = entry
    results = {"note": NOTE, "runs": runs}
    old, new = runs.get("old"), runs.get("new")
    if old and new and old["status"] == new["status"] == "ok":
        ratio = new["wall_s"] / old["wall_s"]
        results |= {
            "ratio_new_over_old_wall": round(ratio, 2),
            "targets": TARGETS,
            "within_targets": {"ratio": ratio <= TARGETS["ratio"],
                               "peak_rss_mb": new["peak_rss_mb"] <= TARGETS["peak_rss_mb"]},
            "comparable": all(old[k] == new[k] for k in ("lines", "las", "duckdb_memory_limit")),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({args.label: {k: entry.get(k) for k in ("status", "lines", "distinct_suppliers", "wall_s",
                                                              "peak_rss_mb", "rows_classified", "lines_by_rule_id")},
                      **{k: v for k, v in results.items() if k not in ("runs", "note")}}, indent=2))
    if code:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
