"""Benchmark: placement-cost extracts read, judged and landed.

    .venv/bin/python bench/placement_costs_ingest.py [--inbox DIR] [--las default|all|...] [--years 2021-2025]

Without --inbox, generates the demo region first (`python -m demo`, default region; `--las all` for every
English LA). Then times, each into a fresh DuckDB file:
* floor: DuckDB alone reading every extract with its CSV reader (count of rows);
* ingest: `ingest.placement_costs.load_folder` (column mapping, amounts and dates parsed, hash, rules,
  quarantine, raw table, load log); rows_per_second = rows read / ingest wall time.
Writes bench/results/placement_costs_ingest.json.
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
RESULTS = REPO / "bench" / "results" / "placement_costs_ingest.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inbox", help="an inbox folder holding placement_costs/ (default: generate the demo region)")
    parser.add_argument("--las", default="default")
    parser.add_argument("--years", default="2021-2025")
    args = parser.parse_args(argv)

    from ingest import placement_costs

    work = Path(tempfile.mkdtemp(prefix="placement-costs-bench-"))
    try:
        if args.inbox:
            inbox, generate_s = Path(args.inbox).resolve(), None
        else:
            inbox = work / "inbox"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "demo", "--out", str(inbox), "--truth", str(work / "truth"),
                            "--las", args.las, "--years", args.years, "--quiet"], check=True, cwd=REPO)
            generate_s = time.perf_counter() - start
        files = sorted(str(p) for p in (inbox / "placement_costs").rglob("*.csv"))

        floor_con = duckdb.connect(str(work / "floor.duckdb"))
        start = time.perf_counter()
        floor_rows = floor_con.execute("select count(*) from read_csv(?, header = true, all_varchar = true)",
                                       [files]).fetchone()[0]
        floor_s = time.perf_counter() - start
        floor_con.close()

        con = duckdb.connect(str(work / "warehouse.duckdb"))
        start = time.perf_counter()
        outcomes = placement_costs.load_folder(con, inbox / "placement_costs", "bench")
        ingest_s = time.perf_counter() - start
        con.close()
        read = sum(o.rows_read for o in outcomes)
        result = {
            "run_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__},
            "las": args.las if not args.inbox else None,
            "generate_wall_s": round(generate_s, 1) if generate_s is not None else None,
            "files": len(files),
            "files_failed": sum(o.status == "failed" for o in outcomes),
            "rows_read": read,
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
            "floor": {"wall_s": round(floor_s, 2), "rows": floor_rows,
                      "rows_per_second": round(floor_rows / floor_s) if floor_s else None},
            "ingest": {"wall_s": round(ingest_s, 2), "rows_per_second": round(read / ingest_s) if ingest_s else None,
                       "seconds_per_file": round(ingest_s / len(files), 3) if files else None},
            "ratio_to_floor": round(ingest_s / floor_s, 1) if floor_s else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
