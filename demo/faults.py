"""Realistic faulty SSDA903 files, made from the clean returns just written, for reliability tests.

Each fault is applied to one LA's return of one collection year (a different return for each fault while there
are enough), written as a complete return folder (header, episodes, uasc) under <DIR>/ssda903/<LA>/<YYYY>/, the
way a user would drop it into an inbox. <DIR>/FAULTS.md lists every file written, its fault and the record
numbers affected (record 1 = the first line of the file, header and preamble lines counted).

Faults: cp1252 encoding (with a free-text column holding ’ and –), preamble lines above the header, header cells
with line breaks, extra fields on some rows, blank child ids, impossible dates ('Notadate', 31/02/YYYY), invalid
codes ('FISH'), postcodes in other forms (lower case, padded with spaces: to normalise) and invalid ones (ZZ99 3CZ,
no fixed abode; well-formed postcodes the ONS Postcode Directory does not hold: to flag, distance unknown), the
same return duplicated under another name, a return filed under the wrong year folder.

(The clean returns in the inbox carry a few postcode faults of their own, listed in the truth's
postcode_faults.csv: LAs' exports have them, so the warehouse meets them in every build.)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ingest.local_authorities import LocalAuthority

TABLES = ("header", "episodes", "uasc")


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _pick(rng: np.random.Generator, n_rows: int, k: int) -> list[int]:
    """k distinct data-row indexes (1-based positions after the header), sorted."""
    if n_rows <= 0:
        return []
    return sorted((rng.choice(n_rows, size=min(k, n_rows), replace=False) + 1).tolist())


def write(out_dir: Path, faults_dir: Path, las: tuple[LocalAuthority, ...], years: tuple[int, ...], seed: int,
          geo=None) -> list[Path]:
    """`geo` (demo.geography.Geography) makes up the postcodes the directory does not hold (none without it)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 404])))
    source = Path(out_dir) / "ssda903"
    returns = [(la.name, y) for la in las for y in years if (source / la.name / str(y) / "episodes.csv").exists()]
    # Prefer returns with enough episodes to fault (about 20 rows and more); keep the order otherwise.
    big = [r for r in returns if (source / r[0] / str(r[1]) / "episodes.csv").stat().st_size > 1500]
    returns = big + [r for r in returns if r not in big]
    faults_dir = Path(faults_dir)
    entries: list[tuple[str, str, str, str]] = []  # path, table, fault, detail
    written: list[Path] = []

    def folder_for(index: int, name: str, year: int, folder_year: int | None = None) -> tuple[Path, str]:
        shared = index >= len(returns)  # not enough returns: several faults share a folder, files get a suffix
        folder = faults_dir / "ssda903" / name / str(folder_year or year)
        folder.mkdir(parents=True, exist_ok=True)
        return folder, (f"_{index}" if shared else "")

    def put(path: Path, data: bytes, table: str, fault: str, detail: str) -> None:
        path.write_bytes(data)
        written.append(path)
        entries.append((path.relative_to(faults_dir).as_posix(), table, fault, detail))

    def clean_copies(folder: Path, suffix: str, name: str, year: int, skip: str) -> None:
        for table in TABLES:
            if table == skip:
                continue
            src = source / name / str(year) / f"{table}.csv"
            if src.exists():
                put(folder / f"{table}{suffix}.csv", src.read_bytes(), table, "none", "clean copy of the return's table")

    faults = ["cp1252", "preamble", "header_breaks", "extra_fields", "blank_child", "bad_dates", "bad_codes",
              "duplicate", "wrong_year", "postcodes"]
    if not returns:
        return written
    for index, fault in enumerate(faults):
        name, year = returns[index % len(returns)] if fault != "wrong_year" else returns[-1]
        rows = _read(source / name / str(year) / "episodes.csv")
        header, body = rows[0], rows[1:]
        col = {c: i for i, c in enumerate(header)}
        if fault == "wrong_year":
            folder, suffix = folder_for(index, name, year, folder_year=max(years) + 1)
        else:
            folder, suffix = folder_for(index, name, year)
        target = folder / f"episodes{suffix}.csv"
        if fault == "cp1252":
            notes = [""] * len(body)
            hit = _pick(rng, len(body), 5)
            for r in hit:
                notes[r - 1] = "Carer’s request – placement ended"
            text = _csv_text([header + ["NOTES"]] + [row + [n] for row, n in zip(body, notes)])
            put(target, text.encode("cp1252"), "episodes", "cp1252 encoding",
                f"Windows-1252 bytes (’ = 0x92, – = 0x96) in an extra NOTES column on records {_records(hit, 1)}")
        elif fault == "preamble":
            pre = [["SSDA903 return: episodes"], ["Extracted from the case management system, collection year " + str(year)], []]
            text = _csv_text(pre + rows)
            put(target, b"\xef\xbb\xbf" + text.encode("utf-8"), "episodes", "preamble lines",
                "UTF-8 with BOM; three lines (two titles and a blank line) above the header, which is record 4")
        elif fault == "header_breaks":
            broken = [h.replace("_", "_\n", 1) if "_" in h else h for h in header]
            broken[col["DECOM"]] = "DECOM\n(date episode commenced)"
            text = _csv_text([broken] + body)
            put(target, text.encode("utf-8"), "episodes", "header cells with line breaks",
                "quoted header cells with a line break inside: " + ", ".join(h.replace("\n", "\\n") for h in broken if "\n" in h))
        elif fault == "extra_fields":
            hit = _pick(rng, len(body), 4)
            out = [header] + [row + (["", "see notes"] if i + 1 in hit else []) for i, row in enumerate(body)]
            put(target, _csv_text(out).encode("utf-8"), "episodes", "extra fields on some rows",
                f"two fields more than the header on records {_records(hit, 1)}")
        elif fault == "blank_child":
            hit = _pick(rng, len(body), 4)
            for r in hit:
                body[r - 1][col["CHILD"]] = ""
            put(target, _csv_text([header] + body).encode("utf-8"), "episodes", "blank child ids",
                f"CHILD empty on records {_records(hit, 1)}")
        elif fault == "bad_dates":
            hit = _pick(rng, len(body), 2)
            if hit:
                body[hit[0] - 1][col["DECOM"]] = "Notadate"
            if len(hit) > 1:
                body[hit[1] - 1][col["DEC"]] = f"31/02/{year}"
                body[hit[1] - 1][col["REC"]] = body[hit[1] - 1][col["REC"]] or "X1"
            put(target, _csv_text([header] + body).encode("utf-8"), "episodes", "impossible dates",
                f"DECOM 'Notadate' on record {_records(hit[:1], 1)}; DEC '31/02/{year}' on record {_records(hit[1:], 1)}")
        elif fault == "bad_codes":
            hit = _pick(rng, len(body), 3)
            fields = ["PLACE", "LS", "PLACE_PROVIDER"]
            bad = {"PLACE": "FISH", "LS": "ZZ", "PLACE_PROVIDER": "PR9"}
            for r, field in zip(hit, fields):
                body[r - 1][col[field]] = bad[field]
            put(target, _csv_text([header] + body).encode("utf-8"), "episodes", "invalid codes",
                "; ".join(f"{f} '{bad[f]}' on record {_records([r], 1)}" for r, f in zip(hit, fields)))
        elif fault == "postcodes":
            detail = _postcode_faults(rng, body, col, geo)
            put(target, _csv_text([header] + body).encode("utf-8"), "episodes", "postcode forms", detail)
        elif fault == "duplicate":
            data = (source / name / str(year) / "episodes.csv").read_bytes()
            put(target, data, "episodes", "none", "clean episodes table of the return")
            put(folder / f"episodes{suffix} - Copy.csv", data, "episodes", "duplicate under another name",
                f"byte-identical copy of {target.relative_to(faults_dir).as_posix()}")
        elif fault == "wrong_year":
            data = (source / name / str(year) / "episodes.csv").read_bytes()
            put(target, data, "episodes", "filed under the wrong year folder",
                f"the {year} return (1 April {year - 1} to 31 March {year}) in folder {max(years) + 1}")
        clean_copies(folder, suffix, name, year, skip="episodes")

    lines = [
        "# Faulty SSDA903 files",
        "",
        "Written by `python -m demo --with-faults`. Record numbers count every line of the file from 1 "
        "(preamble and header lines included; a quoted header cell with a line break still counts as one record).",
        "",
        "| file | table | fault | detail |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{p}` | {t} | {f} | {d} |" for p, t, f, d in entries]
    (faults_dir / "FAULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def _postcode_faults(rng: np.random.Generator, body: list[list[str]], col: dict[str, int], geo) -> str:
    """Rewrite HOME_POST / PL_POST of a few records in place: two in lower case, two padded with spaces (both to be
    normalised), two HOME_POST 'ZZ99 3CZ' (no fixed abode) and two postcodes the directory does not hold (both
    invalid: flagged, distance unknown). Returns the FAULTS.md detail."""
    from demo import geography

    written = [(i + 1, field) for i, row in enumerate(body) for field in ("HOME_POST", "PL_POST")
               if row[col[field]].strip()]
    order = rng.permutation(len(written))
    chosen, used = [], set()
    for k in order:
        record, field = written[k]
        if record not in used:
            used.add(record)
            chosen.append((record, field))
        if len(chosen) == 8:
            break
    kinds: dict[str, list[str]] = {"lower case": [], "padded with spaces": [], "ZZ99 3CZ (no fixed abode)": [],
                                   "not in the ONS Postcode Directory": []}
    for j, (record, field) in enumerate(chosen):
        row = body[record - 1]
        text = row[col[field]]
        if j < 2:
            row[col[field]], kind = text.lower(), "lower case"
        elif j < 4:
            row[col[field]], kind = (f" {text}  " if j == 2 else text.replace(" ", "  ")), "padded with spaces"
        elif j < 6:
            field = "HOME_POST"
            row[col[field]], kind = geography.NO_FIXED_ABODE, "ZZ99 3CZ (no fixed abode)"
        else:
            located = geo.locate([text])[0] if geo is not None else -1
            if located < 0:
                continue
            row[col[field]] = geo.absent_in_unit(int(geo.pc_unit[located]), f"faults/{record}/{field}")
            kind = "not in the ONS Postcode Directory"
        kinds[kind].append(f"{field} on record {_records([record], 1)}")
    return ("; ".join(f"{kind}: {', '.join(where)}" for kind, where in kinds.items() if where)
            + " (normalise the first two forms; flag the others, distance unknown)")


def _records(rows: list[int], header_records: int) -> str:
    """Data-row positions (1 = first row after the header) -> record numbers in the file."""
    return ", ".join(str(r + header_records) for r in rows) or "-"
