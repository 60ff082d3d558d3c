"""The outward-code map the demo generator used before it wrote full postcodes (kept for
scripts/build_postcode_district_las.py, which writes the warehouse's seed postcode_district_las.csv from it).

The generator itself now works from the ONS Postcode Directory (demo.geography.load). This map is what it was:
district centroids from demo/data/postcode-outcodes.csv (a 2015 list of outward codes with a latitude/longitude
each) and each district's local authority, built from what is real:

1. seeds: every Ofsted-registered setting whose address is published (fostering agencies, schools, family
   centres...) gives (outward code of its postcode, its local authority); a code seen in several LAs goes to
   the LA seen most often (then the lowest GSS code);
2. small authorities (unitaries, metropolitan districts, London boroughs, the City): the outward code nearest
   the authority's centroid in the mySociety register, and every unseeded code within the radius of a circle
   of the authority's area around that centroid (county centroids in that register are not reliable and are
   not used);
3. every other English code goes to the LA of the nearest code already placed (growing outwards in rounds).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demo.geography import outward_and_sector
from ingest.local_authorities import SEEDS_DIR, LocalAuthority, local_authorities

DATA = Path(__file__).resolve().parent / "data"
EARTH_RADIUS_MILES = 3958.8

# Postcode areas wholly outside England (Scotland, Wales, Northern Ireland, Crown dependencies).
NOT_ENGLAND_AREAS = frozenset(
    "AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE BT CF LD LL NP SA GY JE IM".split()
)
# Districts of cross-border areas that lie in Wales or Scotland; TD15 (Berwick-upon-Tweed) is English.
NOT_ENGLAND_DISTRICTS = frozenset(
    ["CH5", "CH6", "CH7", "CH8"] + [f"SY{n}" for n in range(15, 26)]
)
ENGLAND_EXCEPTIONS = frozenset({"TD15"})
SMALL_AUTHORITY_TYPES = frozenset({"UA", "MD", "LBO", "CC"})

_OUTCODE = re.compile(r"^([A-Z]{1,2})([0-9]{1,2})([A-Z]?)$")


def haversine_miles(lat1, lon1, lat2, lon2):
    """Great-circle miles; numpy broadcasting."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _is_england(outcode: str) -> bool:
    match = _OUTCODE.match(outcode)
    if not match:
        return False
    area, number = match.group(1), int(match.group(2))
    if outcode in ENGLAND_EXCEPTIONS:
        return True
    if area in NOT_ENGLAND_AREAS or outcode in NOT_ENGLAND_DISTRICTS:
        return False
    return number < 90  # 90-99 are non-geographic (PO boxes, large users) in most areas


def read_outcodes(path: Path = DATA / "postcode-outcodes.csv") -> dict[str, tuple[float, float]]:
    """English outward codes that are delivery districts -> (latitude, longitude)."""
    found: dict[str, tuple[float, float]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("outcode") or "").strip().upper()
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except (TypeError, ValueError):
                continue
            if _is_england(code) and 49.0 < lat < 56.0 and -7.0 < lon < 2.5:
                found[code] = (lat, lon)
    # 'EC1' is an umbrella of EC1A, EC1M...: keep only the delivery districts.
    umbrellas = {code[:-1] for code in found if code[-1].isalpha()}
    return {code: point for code, point in found.items() if code not in umbrellas}


@dataclass
class OutcodeMap:
    """English outward codes, indexed 0..n-1 in sorted order, and the LA of each (index into `las`)."""

    outcodes: np.ndarray  # str, sorted
    lat: np.ndarray
    lon: np.ndarray
    la_index: np.ndarray  # int32, index into las
    las: tuple[LocalAuthority, ...]  # current children's services authorities, by GSS code
    distance: np.ndarray  # float32 miles, n x n

    def __post_init__(self) -> None:
        self.gss_index = {la.gss_code: i for i, la in enumerate(self.las)}
        self.code_index = {code: i for i, code in enumerate(self.outcodes.tolist())}
        order = np.argsort(self.la_index, kind="stable")
        bounds = np.searchsorted(self.la_index[order], np.arange(len(self.las) + 1))
        self._by_la = [order[bounds[i]:bounds[i + 1]] for i in range(len(self.las))]

    def outcodes_of(self, la: int) -> np.ndarray:
        """Indices of the outward codes of LA number `la`."""
        return self._by_la[la]


def build(seed_postcodes: list[tuple[str, str]]) -> OutcodeMap:
    """The outward-code map from (full postcode, current GSS code) pairs of settings with published addresses."""
    points = read_outcodes()
    codes = np.array(sorted(points))
    lat = np.array([points[c][0] for c in codes])
    lon = np.array([points[c][1] for c in codes])
    las = tuple(local_authorities(current_only=True))
    gss_index = {la.gss_code: i for i, la in enumerate(las)}
    code_index = {c: i for i, c in enumerate(codes.tolist())}
    n = len(codes)
    distance = haversine_miles(lat[:, None], lon[:, None], lat[None, :], lon[None, :]).astype(np.float32)

    assigned = np.full(n, -1, dtype=np.int32)
    votes: dict[int, dict[int, int]] = {}
    for postcode, gss in seed_postcodes:
        parts = outward_and_sector(postcode)
        if parts is None or parts[0] not in code_index or gss not in gss_index:
            continue
        tally = votes.setdefault(code_index[parts[0]], {})
        tally[gss_index[gss]] = tally.get(gss_index[gss], 0) + 1
    for code, tally in votes.items():
        assigned[code] = min(tally, key=lambda la: (-tally[la], las[la].gss_code))

    # Small authorities: centroid and area from the mySociety register.
    with (SEEDS_DIR / "reference" / "uk_local_authorities.csv").open(newline="", encoding="utf-8-sig") as handle:
        register = {row["gss-code"]: row for row in csv.DictReader(handle)}
    claims: list[tuple[float, int, int]] = []  # (distance / radius, outcode, la)
    for i, la in enumerate(las):
        row = register.get(la.gss_code)
        if not row or row["local-authority-type"] not in SMALL_AUTHORITY_TYPES:
            continue
        try:
            c_lat, c_lon, area_km2 = float(row["lat"]), float(row["long"]), float(row["area"])
        except ValueError:
            continue
        radius = max(np.sqrt(area_km2 / np.pi) * 0.621371, 0.5)
        d = haversine_miles(c_lat, c_lon, lat, lon)
        nearest = int(np.argmin(d))
        claims.append((0.0, nearest, i))
        for code in np.flatnonzero(d <= radius):
            claims.append((float(d[code] / radius), int(code), i))
    for _, code, la in sorted(claims):
        if assigned[code] < 0:
            assigned[code] = la

    # Every authority needs at least one outward code of its own.
    for i in range(len(las)):
        if not (assigned == i).any():
            row = register.get(las[i].gss_code)
            if row and row["lat"]:
                d = haversine_miles(float(row["lat"]), float(row["long"]), lat, lon)
                assigned[int(np.argmin(d))] = i

    # The rest: grow from placed codes to their nearest unplaced neighbours.
    while (assigned < 0).any():
        todo = np.flatnonzero(assigned < 0)
        placed = np.flatnonzero(assigned >= 0)
        sub = distance[np.ix_(todo, placed)]
        nearest = placed[np.argmin(sub, axis=1)]
        assigned[todo] = assigned[nearest]
    return OutcodeMap(codes, lat, lon, assigned, las, distance)
