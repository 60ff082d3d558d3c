"""Benchmark a whole build: python bench/full_build.py [--inbox DIR] [--out bench/results/full_build.json]

full_build: a fresh warehouse from the inbox through the real CLI and Dagster job (wall time, peak RSS of the
build process and its children: dbt runs in a subprocess). floor: DuckDB alone reading every inbox CSV once,
the least any build could do. incremental: the same build again with nothing new in the inbox.
Speed targets live here, never in timed tests.
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
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]


def timed_build(inbox: Path, db: Path) -> float:
    env = {**os.environ, "DAGSTER_HOME": str(db.parent / "dagster_home")}
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "orchestration.cli", "build", "--inbox", str(inbox), "--db", str(db)],
                   cwd=REPO, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def floor(inbox: Path) -> tuple[float, int]:
    files = sorted(p for p in inbox.rglob("*.csv"))
    con = duckdb.connect()
    start = time.perf_counter()
    rows = 0
    for path in files:
        rows += con.execute(
            "select count(*) from read_csv(?, all_varchar = true, header = false, null_padding = true, "
            "ignore_errors = true, strict_mode = false)", [str(path)]
        ).fetchone()[0]
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inbox", default=str(REPO / "inbox"))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "full_build.json"))
    args = parser.parse_args()
    inbox = Path(args.inbox).resolve()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        full = timed_build(inbox, db)
        incremental = timed_build(inbox, db)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    floor_s, rows = floor(inbox)
    result = {
        "inbox": str(inbox),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "full_build": {"wall_s": round(full, 2), "peak_rss_mb": round(peak_kb / 1024, 1), "csv_rows": rows},
        "floor": {"wall_s": round(floor_s, 3)},
        "ratio_to_floor": round(full / floor_s, 1) if floor_s else None,
        "incremental": {"wall_s": round(incremental, 2)},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
