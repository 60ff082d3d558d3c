"""What the generator is calibrated to: DfE national tables, LA sizes, and the parameters derived from them.

Sources (copied into demo/data, see the origin lines in the package README section of SOURCES.md):
* national_cla_on_31_march_by_placement_provider_placement_type_and_locality.csv: children looked after at
  31 March by placement type group, provider and inside/outside the LA boundary (2019-2023);
* national_cla_on_31_march_by_placement_distance_and_placement_locality.csv: the same children by distance band
  (20 miles or less / over 20 miles / unknown) and locality;
* la_cla_on_31_march_totals.csv: children looked after at 31 March per LA (DfE placement stability table,
  "CLA on 31 March / Total children").

A collection year outside the tables' years takes the nearest year's figures.

Placement type groups are the DfE's (`GROUPS`); `PLACE_GROUP` says which SSDA903 PLACE codes each holds.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"

# DfE placement groups, in a fixed order (index = group number used in arrays).
GROUPS = (
    "foster",  # 2a/3a Foster placements (U1-U6)
    "community",  # 2b/3b Other placement in the community = "Living independently" (P2, P3)
    "residential",  # 2c/3c Secure units, children's homes and semi-independent living (K1, K2, H5)
    "other_residential",  # 2d/3d Other residential settings (R1, R2, R3, R5)
    "residential_school",  # 2e/3e Residential schools (S1)
    "parents",  # 2f/3f Placement with parents (P1)
    "adoption",  # 2g/3g Placed for adoption (A3-A6)
    "other",  # 4. Other placement (Z1)
)
G = {name: i for i, name in enumerate(GROUPS)}
LOCALITY_LABEL = {
    "a": "foster", "b": "community", "c": "residential", "d": "other_residential",
    "e": "residential_school", "f": "parents", "g": "adoption",
}
# The distance table's groups and the DfE groups inside each.
DISTANCE_GROUPS = {
    "Foster placements": ("foster",),
    "Living independently": ("community",),
    "Secure units, children's homes and semi-independent living accommodation": ("residential",),
    "Placed with parents": ("parents",),
    "Placed for adoption": ("adoption",),
    "Other": ("other_residential", "residential_school", "other"),
}
PLACE_GROUP = {
    **{code: "foster" for code in ("U1", "U2", "U3", "U4", "U5", "U6")},
    "P2": "community", "P3": "community",
    "K1": "residential", "K2": "residential", "H5": "residential",
    "R1": "other_residential", "R2": "other_residential", "R3": "other_residential", "R5": "other_residential",
    "S1": "residential_school",
    "P1": "parents",
    **{code: "adoption" for code in ("A3", "A4", "A5", "A6")},
    "Z1": "other",
}
PROVIDERS = {
    "Own provision (by the LA)": "own",
    "Other LA provision": "other_la",
    "Private provision": "private",
    "Voluntary/third sector provision": "voluntary",
    "Other public provision (eg by PCT)": "public",
    "Parents or other person with parental responsibility": "parents",
    "Placement provider not reported": "not_reported",
}


def _number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except (AttributeError, ValueError):
        return 0.0  # suppressed (c), not applicable (z), rounded to nothing


@dataclass(frozen=True)
class Targets:
    """The DfE national figures of one year as probabilities."""

    year: int
    total: float
    mix: np.ndarray  # [group] share of all children looked after at 31 March
    inside: np.ndarray  # [group] share placed inside the LA boundary (of those with a known locality)
    inside_by_provider: dict  # (group, provider) -> share inside
    provider_share: dict  # (group, provider) -> share of the group
    near_inside: np.ndarray  # [group] P(20 miles or less | inside, distance known)
    far_outside: np.ndarray  # [group] P(over 20 miles | outside, distance known)
    unknown: np.ndarray  # [group] P(distance not known)
    over_20: np.ndarray  # [group] published share over 20 miles (of all in the distance group)


@lru_cache(maxsize=1)
def _tables() -> tuple[list[dict], list[dict]]:
    def read(name: str) -> list[dict]:
        with (DATA / name).open(newline="", encoding="utf-8-sig") as handle:
            return [row for row in csv.DictReader(handle) if row.get("geographic_level") == "National"]

    return (
        read("national_cla_on_31_march_by_placement_provider_placement_type_and_locality.csv"),
        read("national_cla_on_31_march_by_placement_distance_and_placement_locality.csv"),
    )


def table_years() -> tuple[int, ...]:
    locality, _ = _tables()
    return tuple(sorted({int(row["time_period"]) for row in locality}))


@lru_cache(maxsize=None)
def targets(year: int) -> Targets:
    """The DfE figures for collection year `year` (the nearest published year when outside the tables)."""
    years = table_years()
    use = min(years, key=lambda y: (abs(y - year), -y))
    locality, distance = (rows for rows in _tables())
    loc = [row for row in locality if int(row["time_period"]) == use]
    dist = [row for row in distance if int(row["time_period"]) == use]

    count: dict[tuple[str, str, str], float] = {}  # (group, side, provider) -> children
    for row in loc:
        label = row["placement_type"]
        head = label.split(".")[0].strip()
        if head in ("1", "2", "3"):
            continue  # totals
        if head == "4":
            group, side = "other", "unknown"
        else:
            side = {"2": "inside", "3": "outside"}[head[0]]
            group = LOCALITY_LABEL[head[1]]
        provider = "all" if row["placement_provider"] == "All children" else PROVIDERS.get(row["placement_provider"], "all")
        count[(group, side, provider)] = _number(row["number"])
    total = sum(v for (g, s, p), v in count.items() if p == "all")
    n = len(GROUPS)
    mix, inside = np.zeros(n), np.zeros(n)
    inside_by_provider, provider_share = {}, {}
    for g, name in enumerate(GROUPS):
        ins = count.get((name, "inside", "all"), 0.0)
        out = count.get((name, "outside", "all"), 0.0)
        unk = count.get((name, "unknown", "all"), 0.0)
        mix[g] = (ins + out + unk) / total
        inside[g] = ins / (ins + out) if ins + out else 0.5
        for provider in set(PROVIDERS.values()):
            pi = count.get((name, "inside", provider), 0.0)
            po = count.get((name, "outside", provider), 0.0)
            if pi + po > 0:
                inside_by_provider[(name, provider)] = pi / (pi + po)
                provider_share[(name, provider)] = (pi + po) / (ins + out)

    near_inside, far_outside, unknown, over_20 = (np.zeros(n) for _ in range(4))
    inside_known = {}
    for label, members in DISTANCE_GROUPS.items():
        rows = {row["characteristic"].lower(): _number(row["number"]) for row in dist if row["cla_group"] == label}
        a = rows.get("1.i 20 miles or less inside la boundary", 0.0)
        b = rows.get("2.i over 20 miles inside la boundary", 0.0)
        c = rows.get("1.ii 20 miles or less outside la boundary", 0.0)
        d = rows.get("2.ii over 20 miles outside la boundary", 0.0)
        u = rows.get("distance not known or not recorded", 0.0)
        t = rows.get("total", a + b + c + d + u) or 1.0
        for name in members:
            g = G[name]
            near_inside[g] = a / (a + b) if a + b else 1.0
            far_outside[g] = d / (c + d) if c + d else 0.0
            unknown[g] = u / t
            over_20[g] = (b + d) / t
        inside_known[label] = (a + b) / (a + b + c + d) if a + b + c + d else 0.5
    # 'Other placement' has no locality in the locality table; the distance table's 'Other' group (other
    # residential settings, residential schools and other placements) says how many were inside: the rest.
    members = DISTANCE_GROUPS["Other"]
    sizes = {name: mix[G[name]] * total for name in members}
    known_inside = inside_known.get("Other", 0.5) * sum(sizes.values())
    placed_inside = sum(inside[G[name]] * sizes[name] for name in members if name != "other")
    if sizes["other"] > 0:
        inside[G["other"]] = float(np.clip((known_inside - placed_inside) / sizes["other"], 0.0, 1.0))
    return Targets(use, total, mix, inside, inside_by_provider, provider_share, near_inside, far_outside, unknown,
                   over_20)


@lru_cache(maxsize=1)
def _la_totals() -> dict[str, dict[int, int]]:
    found: dict[str, dict[int, int]] = {}
    with (DATA / "la_cla_on_31_march_totals.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            value = row["children_looked_after"]
            if value.isdigit():
                found.setdefault(row["new_la_code"], {})[int(row["time_period"])] = int(value)
    return found


def la_size(gss_code: str, year: int, population: float | None, national_rate: float) -> float:
    """Children looked after at 31 March `year` in an LA: the DfE figure of that year, else of the nearest year
    the LA has one, else its population times the national rate (a new authority with no published figure)."""
    published = _la_totals().get(gss_code)
    if published:
        nearest = min(published, key=lambda y: (abs(y - year), -y))
        return float(published[nearest])
    return float(population or 0.0) * national_rate


def national_rate(populations: dict[str, float], year: int = 2023) -> float:
    """Children looked after per head of population, over the LAs with both figures."""
    published = _la_totals()
    num = sum(published[g][year] for g in populations if g in published and year in published[g])
    den = sum(p for g, p in populations.items() if g in published and year in published[g])
    return num / den if den else 0.0
