"""Benchmark the exports and reports: python bench/exports_report.py --published FILE [--out bench/results/exports_report.json]

Writes every grouping's workbook, CSV, Parquet and report from a published marts file (a build's
warehouse/published/warehouse.duckdb) into a temporary folder, as the build's exports asset does, and records the
wall time, the time of each grouping, the cells written and the peak RSS. Target: every grouping of the national
benchmark set within 60 s. Speed targets live here, never in timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exports.run import write_all  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--published", type=Path, required=True)
    parser.add_argument("--label", default="demo", help="which data set the published file was built from")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "exports_report.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        outputs = write_all(args.published, Path(folder) / "exports", Path(folder) / "reports",
                            datetime.now(timezone.utc))
        wall = time.perf_counter() - started
        sizes = {o.slug: sum(p.stat().st_size for p in (Path(folder) / "exports" / o.slug).rglob("*") if p.is_file())
                 for o in outputs}
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    result[args.label] = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "published": str(args.published),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "wall_s": round(wall, 1),
        "groupings": len(outputs),
        "peak_rss_mb_per_process": round(max(children, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)),
        "per_grouping": {o.slug: {"s": o.seconds, "export_bytes": sizes[o.slug]} for o in outputs},
        "target_s": 60,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result[args.label], indent=2))


if __name__ == "__main__":
    main()
