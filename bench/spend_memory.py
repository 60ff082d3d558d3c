"""Benchmark: one large ledger lands within a memory limit: python bench/spend_memory.py [--gb 2] [--limit 1GB]

Writes one council spend file of --gb gigabytes (the real Calderdale layout of tests/fixtures/real/spend, its data
rows repeated), then lands it into a fresh warehouse in a child process, as the build's spend step does
(`ingest.spend.load_folder` on a connection from `connect_warehouse`, whose DuckDB memory_limit is the one setting
WAREHOUSE_MEMORY_LIMIT, here --limit). Records the wall time, rows read / loaded / quarantined (they must
reconcile) and the child's peak RSS, in bench/results/spend_memory.json. Speed and memory targets live here, never
in timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEDGER = REPO / "tests" / "fixtures" / "real" / "spend" / "calderdale_clean_2022-06.csv"

CHILD = """
import json, sys
from pathlib import Path
from ingest import spend
from ingest.audit import ensure_audit_schema
from orchestration.lib.warehouse import connect_warehouse
con = connect_warehouse(sys.argv[1])
limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
ensure_audit_schema(con)
spend.ensure_raw_tables(con)
outcomes = spend.load_folder(con, Path(sys.argv[2]), "bench-spend-memory")
print(json.dumps({"memory_limit": limit, "files": [
    {"status": o.status, "rows_read": o.rows_read, "rows_loaded": o.rows_loaded,
     "rows_quarantined": o.rows_quarantined, "error": o.error} for o in outcomes],
    "raw_rows": con.execute("select count(*) from raw.spend_lines").fetchone()[0]}))
"""


def write_ledger(path: Path, gigabytes: float) -> int:
    """The fixture's header once, then its data rows again and again up to the size; returns the data rows."""
    lines = LEDGER.read_bytes().splitlines(keepends=True)
    header, block = lines[0], b"".join(lines[1:])
    repeats = max(1, int(gigabytes * 2**30 // len(block)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(header)
        for _ in range(repeats):
            handle.write(block)
    return repeats * (len(lines) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--limit", default="1GB", help="WAREHOUSE_MEMORY_LIMIT for the landing process")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "spend_memory.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-spend-memory-") as folder:
        inbox = Path(folder) / "inbox" / "spend"
        ledger = inbox / "Calderdale" / "calderdale_2022-06.csv"
        rows = write_ledger(ledger, args.gb)
        size = ledger.stat().st_size
        env = {**os.environ, "WAREHOUSE_MEMORY_LIMIT": args.limit}
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", CHILD, str(Path(folder) / "warehouse.duckdb"), str(inbox)],
                               cwd=REPO, env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    landed = json.loads(child.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    files = landed["files"]
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "ledger_bytes": size,
        "ledger_data_rows": rows,
        "memory_limit": landed["memory_limit"],
        "wall_s": round(wall, 1),
        "lines_per_s": round(rows / wall),
        "peak_rss_mb": round(peak_mb),
        "files": files,
        "raw_rows": landed["raw_rows"],
        "reconciles": all(f["rows_read"] == f["rows_loaded"] + f["rows_quarantined"] for f in files),
        "all_rows_read": sum(f["rows_read"] for f in files) == rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
