"""Benchmark: finance files for every English LA over five years (about 20 million ledger lines).

    .venv/bin/python bench/generate_finance_national.py [--placements FILE] [--years 2021-2025] [--keep DIR]

Times `demo.finance.generate` on a national placements table: the one given (for example the demo's own
`<truth>/placements.parquet` written for every LA), else a stand-in synthesised by `demo.finance_synth` (real
Ofsted settings, every LA, numpy). The files go to a temporary folder that is removed afterwards unless --keep.
Writes bench/results/generate_finance_national.json: wall_s, ledger_lines, lines_per_s and more.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo import finance, finance_synth  # noqa: E402


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--placements", type=Path, help="a national placements.parquet (default: synthesised)")
    ap.add_argument("--years", default="2021-2025")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--keep", type=Path, help="write the files here and keep them")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "generate_finance_national.json")
    args = ap.parse_args()
    first, last = (int(x) for x in args.years.split("-"))

    work = Path(tempfile.mkdtemp(prefix="finance_bench_", dir=os.environ.get("TMPDIR")))
    try:
        placements = args.placements
        synth_s = None
        if placements is None:
            t = time.perf_counter()
            placements = finance_synth.build(work / "placements.parquet", las=None, years=(first, last),
                                             seed=args.seed)
            synth_s = time.perf_counter() - t
        dest = args.keep or work
        t = time.perf_counter()
        stats = finance.generate(placements, dest / "inbox", dest / "truth", args.seed, None, (first, last))
        wall = time.perf_counter() - t
        result = {
            "benchmark": "generate_finance_national",
            "wall_s": round(wall, 2),
            "ledger_lines": int(stats["ledger_lines"]),
            "lines_per_s": round(stats["ledger_lines"] / wall),
            "placement_payment_lines": int(stats["placement_lines"]),
            "suppliers": int(stats["suppliers"]),
            "las": stats["las"],
            "years": f"{first}-{last}",
            "inbox_bytes": _size(dest / "inbox"),
            "placements": "synthesised by demo.finance_synth" if args.placements is None else str(args.placements),
            "synthesise_placements_s": None if synth_s is None else round(synth_s, 2),
            "cpus": os.cpu_count(),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
