"""Run the DfE SSDA903 validator (csc-validator-be-903) on one return's CSV files; write one row per flagged row.

Runs under the validator's own venv (tests/dfe_validator/venv.py) and imports nothing from the warehouse. It drives
the validator as its RPC entry point does (lac_validator.LacValidator) and reads the rows each rule flagged from the
ERR_<code> columns the validator sets on its tables, whose index is the pandas row number of the CSV file it read.
Each rule gets its own deep copy of the data unless --shared-copies (see isolated_copy).

    python run_validator.py --collection-year 2025 --la E08000033 --out flags.csv header.csv episodes.csv uasc.csv
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import importlib
import logging
import sys
from pathlib import Path

import pandas as pd

from lac_validator import lac_validator as engine
from lac_validator.config import column_names
from lac_validator.datastore import la_df, merge_postcodes
from lac_validator.utils import process_uploaded_files

# Ofsted's combined children's homes and social care providers list, as ingress.scpch_provider_info_table reads it
# from Excel, and the names the rules see it under in metadata["provider_info"].
OFSTED_COLUMNS = ["urn", "local authority", "placement code", "placement provider code", "deregistration date",
                  "setting address postcode"]
PROVIDER_INFO_COLUMNS = ["URN", "LA_NAME_FROM_FILE", "PLACE_CODES", "PROVIDER_CODES", "REG_END", "POSTCODE"]


def read_records(path: Path) -> tuple[str, list[tuple[int, dict[str, str]]]]:
    """The validator's table name for the file, and (record number, fields) for each data record pandas keeps."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        records = list(enumerate(csv.reader(handle), start=1))
    header = records[0][1]
    table = next((t for t, cols in column_names.items() if set(cols) == set(header)), None)
    if table is None:
        sys.exit(f"{path.name}: columns {header} match no SSDA903 table")
    # pandas.read_csv (skip_blank_lines) drops empty and whitespace-only lines, so they get no index
    kept = [(n, r) for n, r in records[1:] if r and not (len(r) == 1 and r[0] and not r[0].strip())]
    return table, [(n, dict(zip(header, r))) for n, r in kept]


def check_alignment(name: str, table: pd.DataFrame, records: list) -> None:
    """Refuse to write row numbers unless the validator's row i holds the CHILD of the i-th kept record."""
    if not table.index.equals(pd.RangeIndex(len(records))):
        sys.exit(f"{name}: validator has {len(table)} rows indexed {table.index[:5].tolist()}..., "
                 f"the file {len(records)} records")
    raw = pd.DataFrame([fields for _, fields in records], index=table.index, dtype=object)
    changed = {}
    for col in raw.columns:
        expected = raw[col].str.upper()
        expected = expected.where(expected != "")  # as the validator reads it: upper-cased, blanks NaN
        differs = ~((expected == table[col]) | (expected.isna() & table[col].isna()))
        if col == "CHILD" and differs.any():
            i = differs.idxmax()
            sys.exit(f"{name}: record {records[i][0]} has CHILD {raw.at[i, col]!r}, the validator's row "
                     f"{i} {table.at[i, col]!r}")
        if differs.any():
            changed[col] = int(differs.sum())
    if changed:  # only with --shared-copies: one rule's in-place edits are what the rules after it read
        print(f"warning: {name} values changed by rules while validating: {changed}", file=sys.stderr)


def isolated_copy(data_store: dict) -> dict:
    """What LacValidator.validate means by "a clean copy" for each rule. Its own copy_datastore is shallow, so rule
    365's in-place fill of blank DEC reaches every rule run after it, and that order is the order the filesystem lists
    the rule files in: 387, 388, 376, 607, 359, 407, 555 and 602 can flag other rows on another machine."""
    return {k: v.copy(deep=True) if k != "metadata" else copy.deepcopy(v) for k, v in data_store.items()}


def provider_info(path: Path) -> pd.DataFrame:
    """The URN lookup from a CSV of Ofsted's combined list, built as scpch_provider_info_table builds it (which
    only takes Excel); URNs stay text so they merge with the episodes' URN column."""
    df = pd.read_csv(path, dtype=str).rename(columns=str.lower)
    missing = set(OFSTED_COLUMNS) - set(df.columns)
    if missing:
        sys.exit(f"{path.name}: missing provider columns {sorted(missing)}")
    df = df[OFSTED_COLUMNS].rename(columns=dict(zip(OFSTED_COLUMNS, PROVIDER_INFO_COLUMNS)))
    df["PROVIDER_CODES"] = df["PROVIDER_CODES"].str.replace("/", ",")
    df["REG_END"] = pd.to_datetime(df["REG_END"], dayfirst=True)
    df["POSTCODE"] = df["POSTCODE"].str.replace(" ", "").str.upper()
    df[["LA_CODE_INFERRED", "LA_NAME_INFERRED"]] = (
        merge_postcodes(df, "POSTCODE").merge(la_df, how="left", left_on="laua", right_on="LTLA21CD")
        .loc[:, ["UTLA21CD", "UTLA21NM"]]
    )
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection-year", type=int, required=True, help="year of the 31 March the return ends")
    parser.add_argument("--la", required=True, help="GSS code of the local authority, e.g. E10000015")
    parser.add_argument("--out", type=Path, required=True, help="flags CSV to write")
    parser.add_argument("--ruleset", help="override the year's ruleset, e.g. lac2022_23 for returns before 2023")
    parser.add_argument("--previous", type=Path, action="append", default=[], help="a CSV of last year's return")
    parser.add_argument("--providers", type=Path,
                        help="Ofsted's combined provider list (URN lookup): its .xlsx as issued, or a CSV of it")
    parser.add_argument("--shared-copies", action="store_true",
                        help="let rules see earlier rules' in-place edits, as the validator itself does")
    parser.add_argument("--summary", type=Path, help="CSV of rule_code,status,flagged_rows for every rule")
    parser.add_argument("files", type=Path, nargs="+", help="this year's SSDA903 CSV files")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)  # the validator logs every step at INFO

    ruleset = args.ruleset or f"lac{args.collection_year - 1}_{args.collection_year % 100:02d}"
    try:
        registry = importlib.import_module(f"lac_validator.rules.{ruleset}").registry
    except ModuleNotFoundError:
        sys.exit(f"the validator has no ruleset {ruleset}; pass --ruleset (lac2022_23 is its oldest)")

    sources = {}  # table name -> (file, records)
    for suffix, paths in (("", args.files), ("_last", args.previous)):
        for path in paths:
            table, records = read_records(path)
            if table + suffix in sources:
                sys.exit(f"{path.name} and {sources[table + suffix][0].name} are both {table + suffix}")
            sources[table + suffix] = (path, records)

    metadata = {"collectionYear": str(args.collection_year), "localAuthority": args.la}
    uploads = {"This year": [str(p) for p in args.files], "Prev year": [str(p) for p in args.previous]}
    if args.providers and args.providers.suffix.lower() == ".xlsx":
        uploads["CH lookup"] = [str(args.providers)]  # the upload box the validator reads a combined list from
    elif args.providers:
        metadata["provider_info"] = provider_info(args.providers)
    files = process_uploaded_files(uploads)
    if not args.shared_copies:
        engine.copy_datastore = isolated_copy
    with contextlib.redirect_stdout(sys.stderr):  # a few rules print() their working
        validator = engine.LacValidator(metadata=metadata, files=files, registry=registry)

    flags, counts = [], dict.fromkeys(registry, 0)
    for name, table in validator.ds_results.items():
        if name == "metadata":
            continue
        path, records = sources[name]
        check_alignment(name, table, records)
        for col in (c for c in table.columns if c.startswith("ERR_")):
            for i in table.index[table[col] == True]:  # noqa: E712 -- unset cells are NaN, not False
                number, fields = records[i]
                flags.append((col[4:], name, path.name, number, fields["CHILD"]))
                counts[col[4:]] += 1
    flags.sort(key=lambda f: (f[0], f[1], f[3]))
    with open(args.out, "w", newline="") as handle:
        csv.writer(handle).writerows([("rule_code", "table", "source_file", "source_row_number", "child"), *flags])

    status = {**{c: "skipped" for c in validator.skips}, **{c: "failed" for c in validator.fails}}
    if args.summary:
        with open(args.summary, "w", newline="") as handle:
            csv.writer(handle).writerows([("rule_code", "status", "flagged_rows"), *(
                (c, status.get(c, "ran"), n) for c, n in sorted(counts.items()))])
    print(f"{ruleset}: {len(registry)} rules, {len(validator.dones)} ran, {len(validator.skips)} skipped "
          f"(missing tables or provider list), {len(validator.fails)} failed {sorted(validator.fails)}; "
          f"{len(flags)} flags -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
