"""The warehouse's SSDA903 rules agree with the DfE's own validator (csc-validator-be-903, run in a virtual
environment of its own: it pins pandas 1.5) on the shared fake sets.

For every rule code the warehouse judges and the validator ran, the rows each side flags must be the same, except
where tests/dfe_validator/known_differences.csv lists the difference with its reason. Each entry names a check
that every row it excuses must pass (read from the fixture files, not from the warehouse's rules), so an entry
cannot hide a difference of another kind:
- quarantined_child: the row's child has a row of that file quarantined at the door, which the warehouse's
  return rules never see while the validator does (or the row is quarantined itself);
- tied_start: the row's child has two episodes starting the same day, whose order the validator leaves to its
  (unstable) sort;
- place_k3: the row's PLACE is K3.
Rows are compared as (table, file, record number in the file); the validator's own row numbers are mapped to
record numbers by its runner, which checks the CHILD of every row.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from ingest import ssda903
from tests.dfe_validator.venv import RUNNER, validator_python

FIXTURES = Path(__file__).parent / "fixtures" / "ssda903"
KNOWN = Path(__file__).parent / "dfe_validator" / "known_differences.csv"
# name -> (fixture folder, LA folder, GSS code, collection year, the validator's ruleset)
SETS = {
    "d2i": (FIXTURES / "d2i-fake", "Wakefield", "E08000036", 2018, "lac2022_23"),
    "liia2025": (FIXTURES / "liia-2025-samples", "381", "E08000033", 2025, "lac2024_25"),
}
Flag = tuple[str, str, int]  # table, file name, record number


def known_differences() -> list[dict]:
    with KNOWN.open(newline="") as handle:
        return list(csv.DictReader(handle))


def file_records(path: Path) -> dict[int, dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    return {n: dict(zip(rows[0], r)) for n, r in enumerate(rows[1:], start=2)}


def explained(explanation: str, flag: Flag, records: dict[int, dict[str, str]], quarantined: set[int]) -> bool:
    _, _, row = flag
    record = records[row]
    child = record.get("CHILD", "").strip()
    same_child = [n for n, r in records.items() if r.get("CHILD", "").strip() == child]
    if explanation == "quarantined_child":
        return row in quarantined or any(n in quarantined for n in same_child)
    if explanation == "tied_start":
        starts = [records[n].get("DECOM", "").strip() for n in same_child]
        return len(starts) != len(set(starts))
    if explanation == "place_k3":
        return record.get("PLACE", "").strip().upper() == "K3"
    raise ValueError(f"unknown explanation {explanation}")


@pytest.fixture(scope="module")
def both_sides(tmp_path_factory) -> dict[str, tuple[dict, dict, set]]:
    """Per set: the warehouse's flags by rule, the validator's flags by rule, and the rules the validator ran."""
    python = validator_python()
    root = tmp_path_factory.mktemp("dfe-agreement")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    inbox = root / "inbox" / "ssda903"
    for folder, la_folder, _, year, _ in SETS.values():
        shutil.copytree(folder, inbox / la_folder / str(year))
    ssda903.load_folder(con, inbox, "agreement")
    ssda903.judge_returns(con, "agreement")
    result = {}
    quarantined: dict[str, set[int]] = defaultdict(set)
    for path, row in con.execute("select path, row_number from audit.quarantine").fetchall():
        quarantined[Path(path).name].add(row)
    for name, (folder, la_folder, gss, year, ruleset) in SETS.items():
        ours: dict[str, set[Flag]] = defaultdict(set)
        for code, table, path, row in con.execute(
            "select rule_code, table_name, source_file, source_row_number from audit.ssda903_rule_failures "
            "where la_gss_code = ? and collection_year = ?", [gss, year]
        ).fetchall():
            ours[code].add((table, Path(path).name, row))
        files = sorted(p for p in (inbox / la_folder / str(year)).glob("*.csv")
                       if ssda903._kind_or_none(p) is not None)
        out, summary = root / f"{name}.csv", root / f"{name}_summary.csv"
        subprocess.run([str(python), str(RUNNER), "--collection-year", str(year), "--la", gss, "--ruleset", ruleset,
                        "--out", str(out), "--summary", str(summary), *map(str, files)],
                       check=True, capture_output=True, text=True)
        theirs: dict[str, set[Flag]] = defaultdict(set)
        with out.open(newline="") as handle:
            for r in csv.DictReader(handle):
                theirs[r["rule_code"]].add((r["table"], r["source_file"], int(r["source_row_number"])))
        with summary.open(newline="") as handle:
            ran = {r["rule_code"] for r in csv.DictReader(handle) if r["status"] == "ran"}
        result[name] = (ours, theirs, ran, quarantined)
    con.close()
    return result


def implemented_codes(year: int) -> set[str]:
    return {r.code for r in ssda903.rules_of_year(year)}


def test_known_differences_are_few_and_explained():
    known = known_differences()
    assert len(known) < 10
    assert all(len(entry["reason"]) > 40 for entry in known)


@pytest.mark.parametrize("name", list(SETS))
def test_every_rule_flags_the_rows_the_dfe_validator_flags(both_sides, name):
    ours, theirs, ran, quarantined = both_sides[name]
    year = SETS[name][3]
    entries = [e for e in known_differences() if e["fixture"] == name]
    compared = sorted(implemented_codes(year) & ran)
    # the rules the sufficiency marts depend on are compared, not skipped for want of a table
    assert {"101", "142", "148", "178", "218", "355", "357", "388", "392c", "431", "433", "501"} <= set(compared)
    records = {p.name: file_records(p) for p in SETS[name][0].glob("*.csv")}
    problems = []
    for code in compared:
        differences = (("warehouse_only", ours[code] - theirs[code]), ("validator_only", theirs[code] - ours[code]))
        for side, extra in differences:
            excuses = [e["explanation"] for e in entries if code in e["rule_codes"].split() and e["side"] == side]
            unexplained = sorted(f for f in extra if not any(
                explained(x, f, records[f[1]], quarantined[f[1]]) for x in excuses))
            if unexplained:
                problems.append(f"{code} {side}: {len(unexplained)} row(s) unexplained, e.g. {unexplained[:3]}")
    assert not problems, "\n".join(problems)
    # the comparison is not empty: both sides flagged the same rows for most rules compared
    assert sum(1 for code in compared if ours[code] & theirs[code]) >= 15
