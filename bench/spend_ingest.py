"""Benchmark: spend-over-£500 files ingested and classified at national scale (about 20 million ledger lines).

    .venv/bin/python bench/spend_ingest.py [--inbox DIR] [--year 2025] [--noise-scale 5.5] [--keep DIR]

Without --inbox, generates one financial year of spend files for every English LA with the demo generator
(`demo.finance.generate` on a national placements table synthesised by `demo.finance_synth`, unrelated council
lines scaled by --noise-scale to reach about 20 million lines), in a subprocess. Then times, each into a fresh
DuckDB file:
* floor: DuckDB alone counting the rows of every spend file with its CSV reader (no parsing, no rules);
* ingest: `ingest.spend.load_folder` (hash, header and columns by synonym, one read_csv per batch of files of one
  shape, amounts and dates parsed, rules, quarantine, load log);
* classify: `dbt seed` + `dbt run` of the spend models and what they read (staged lines with repeats set aside,
  supplier kinds from the Ofsted register, classification, mart_la_spend, review list), with the bundled Ofsted
  register landed first (not timed).
lines_per_s = ledger lines / (ingest + classify wall time). Peak memory: this process (ingest) and the dbt
subprocess, each as its maximum resident set. Writes bench/results/spend_ingest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "spend_ingest.json"
DBT_SELECTION = ["+mart_la_spend", "+spend_review_list"]  # the spend models and everything they read

GENERATE = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from demo import finance, finance_synth
work = Path({work!r})
placements = finance_synth.build(work / "placements.parquet", las=None, years=({year}, {year}), seed=2025)
stats = finance.generate(placements, work / "inbox", work / "truth", 2025, None, ({year}, {year}),
                         noise_scale={noise})
print(stats["ledger_lines"])
"""


def _rss_mb(who: int) -> int:
    return round(resource.getrusage(who).ru_maxrss / 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inbox", help="an inbox folder holding spend/ (default: generate the national set)")
    parser.add_argument("--year", type=int, default=2025, help="financial year ending March YEAR to generate")
    parser.add_argument("--noise-scale", type=float, default=5.5)
    parser.add_argument("--keep", help="generate into this folder and keep it (reuse it later with --inbox)")
    parser.add_argument("--skip-dbt", action="store_true")
    args = parser.parse_args(argv)

    from ingest import ofsted, spend

    work = Path(tempfile.mkdtemp(prefix="spend-bench-", dir=os.environ.get("TMPDIR")))
    result: dict = {"benchmark": "spend_ingest", "run_at": dt.datetime.now().isoformat(timespec="seconds"),
                    "cpus": os.cpu_count(), "platform": platform.platform(), "duckdb": duckdb.__version__}
    try:
        if args.inbox:
            inbox = Path(args.inbox).resolve()
            result["inbox"] = str(inbox)
        else:
            target = Path(args.keep).resolve() if args.keep else work / "generated"
            target.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", GENERATE.format(repo=str(REPO), work=str(target),
                                                                        year=args.year, noise=args.noise_scale)],
                                 check=True, capture_output=True, text=True)
            result["generate_s"] = round(time.perf_counter() - t, 1)
            result["generated"] = f"demo.finance.generate, every LA, year ending March {args.year}, " \
                                  f"noise_scale {args.noise_scale}"
            inbox = target / "inbox"
            print(f"generated {out.stdout.strip()} ledger lines in {result['generate_s']} s", flush=True)
        files = sorted(p for p in (inbox / "spend").rglob("*.csv"))
        result["files"] = len(files)
        result["inbox_bytes"] = sum(p.stat().st_size for p in files)

        # floor: DuckDB counting rows, nothing else
        con = duckdb.connect()
        t = time.perf_counter()
        floor_rows = con.execute(
            "select count(*) from read_csv(?, header = true, all_varchar = true, union_by_name = true)",
            [[str(p) for p in files]]).fetchone()[0]
        result["floor"] = {"wall_s": round(time.perf_counter() - t, 2), "rows": floor_rows}
        con.close()
        print(f"floor: {floor_rows} rows in {result['floor']['wall_s']} s", flush=True)

        db = work / "bench.duckdb"
        con = duckdb.connect(str(db))
        t = time.perf_counter()
        outcomes = spend.load_folder(con, inbox / "spend", "bench")
        ingest_s = time.perf_counter() - t
        lines = con.execute("select count(*) from raw.spend_lines").fetchone()[0]
        read = sum(o.rows_read for o in outcomes)
        result["ingest"] = {
            "wall_s": round(ingest_s, 2), "rows_read": read, "rows_loaded": lines,
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
            "files_failed": sum(o.status == "failed" for o in outcomes),
            "lines_per_s": round(read / ingest_s), "peak_rss_mb": _rss_mb(resource.RUSAGE_SELF),
            "ratio_to_floor": round(ingest_s / result["floor"]["wall_s"], 2),
        }
        print(f"ingest: {read} lines in {ingest_s:.1f} s ({read / ingest_s:,.0f}/s)", flush=True)
        ofsted.ensure_raw_tables(con)
        ofsted.load_folder(con, REPO / "inbox" / "ofsted", "bench-ofsted")
        con.close()

        classify_s = 0.0
        if not args.skip_dbt:
            env = {**os.environ, "WAREHOUSE_DB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
            dbt = str(Path(sys.executable).parent / "dbt")
            # Run through a small wrapper so that the maximum resident set measured is dbt's alone.
            wrapper = ("import resource, subprocess, sys\n"
                       "for command in ('seed', 'run'):\n"
                       "    subprocess.run([sys.argv[1], command, '--quiet', '--profiles-dir', '.', '--select',"
                       " *sys.argv[2:]], check=True)\n"
                       "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", wrapper, dbt, *DBT_SELECTION], cwd=REPO / "dbt_project",
                                  env=env, check=True, capture_output=True, text=True)
            classify_s = time.perf_counter() - t
            dbt_rss_mb = round(int(done.stdout.strip().splitlines()[-1]) / 1024)
            con = duckdb.connect(str(db), read_only=True)
            classified = con.execute("select count(*) from intermediate.int_spend__lines_classified").fetchone()[0]
            mart = con.execute("select count(*), sum(transactions) from marts.mart_la_spend").fetchone()
            con.close()
            result["classify"] = {"wall_s": round(classify_s, 2), "transactions_classified": classified,
                                  "mart_rows": mart[0], "mart_transactions": int(mart[1] or 0),
                                  "dbt_peak_rss_mb": dbt_rss_mb,
                                  "includes": "dbt seed + dbt run of +mart_la_spend +spend_review_list: the "
                                              "spend models and the Ofsted / local-authority models they read"}
            print(f"classify (dbt): {classify_s:.1f} s", flush=True)
        total = ingest_s + classify_s
        result["wall_s"] = round(total, 2)
        result["lines"] = read
        result["lines_per_s"] = round(read / total)
        result["target_lines_per_s"] = 200_000
        result["peak_rss_mb"] = max(result["ingest"]["peak_rss_mb"],
                                    result.get("classify", {}).get("dbt_peak_rss_mb", 0))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
