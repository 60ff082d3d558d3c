"""Benchmark: the demo generator at national scale (every English LA, collection years 2021-2025).

    .venv/bin/python bench/generate_national.py [--years 2021-2025] [--no-finance] [--keep DIR]

Runs `python -m demo --las all` as users run it (a subprocess, output to a temporary folder), counts what it wrote
and writes bench/results/generate_national.json: wall_s (the whole command), episodes (rows of every episodes.csv,
open episodes re-reported each year included), rows_per_second (episodes / wall_s), the stage times the
generator logs (ssda903_wall_s = register, generation, allocation, SSDA903 files and truth tables; the finance
part follows when demo/finance.py exists), placements, files, bytes and the peak resident memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "generate_national.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", default="2021-2025")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--no-finance", action="store_true", help="time the SSDA903 part only")
    parser.add_argument("--keep", help="write the output here instead of a temporary folder (kept)")
    args = parser.parse_args(argv)

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="demo-bench-"))
    if args.keep and base.exists():
        shutil.rmtree(base)
    out, truth = base / "out", base / "truth"
    command = [sys.executable, "-m", "demo", "--out", str(out), "--truth", str(truth), "--las", "all",
               "--years", args.years, "--seed", args.seed]
    if args.no_finance:
        command.append("--no-finance")
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        return completed.returncode
    log = completed.stderr
    stages = {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"^(.*?):? (?:\(.*\)\s*)?([\d.]+)s", log, re.M)}

    def stage(prefix: str) -> float | None:
        return next((v for k, v in stages.items() if k.startswith(prefix)), None)

    con = duckdb.connect()
    pattern = str(out / "ssda903" / "*" / "*" / "{}.csv")
    count = lambda table: con.execute(  # noqa: E731
        f"select count(*) from read_csv('{pattern.format(table)}', all_varchar = true, header = true)"
    ).fetchone()[0]
    episodes = count("episodes")
    manifest = json.loads((truth / "manifest.json").read_text())
    files = [p for p in out.rglob("*") if p.is_file()] + [p for p in truth.rglob("*") if p.is_file()]
    result = {
        "command": " ".join(["python", "-m", "demo"] + command[3:]).replace(str(base), "<tmp>"),
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "wall_s": round(wall, 2),
        "episodes": episodes,
        "rows_per_second": round(episodes / wall),
        "header_rows": count("header"),
        "uasc_rows": count("uasc"),
        "placements": manifest["placements"],
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "ssda903_wall_s": stage("truth tables"),
        "ssda903_rows_per_second": round(episodes / stage("truth tables")) if stage("truth tables") else None,
        "stages_s": {
            "register_and_geography": stage("register and geography"),
            "generation_done": stage("generated"),
            "allocation_done": stage("allocated"),
            "ssda903_files_done": stage("wrote SSDA903 files"),
            "truth_done": stage("truth tables"),
            "finance_done": stage("finance"),
            "done": stage("done in"),
        },
        "finance": manifest["args"].get("finance"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
