"""Weekly prices and contribution rules from demo/data/cost_calibration.csv.

The CSV documents every figure with its source. Rows with `parameter` = anchor / growth / sigma / ... drive
the generator; rows with `parameter` = evidence are cross-checks and are not read here.

New-placement price of a type in a financial year (written by the year it ends, 2021 = 2020-21):
* two anchors: geometric interpolation between them, extrapolated at the same rate after the last; before
  the first, the type's growth rate;
* one anchor and a growth rate: anchor x (1 + growth) ^ (year - anchor year).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from demo.finance_layouts import PAID_TYPES

PATH = Path(__file__).resolve().parent / "data" / "cost_calibration.csv"


def fy_end_of(label: str) -> int:
    """'2020-21' -> 2021."""
    start = int(label[:4])
    return start + 1


@dataclass
class Calibration:
    anchors: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    growth: dict[str, float] = field(default_factory=dict)
    sigma: dict[str, float] = field(default_factory=dict)
    mix: dict[str, tuple[float, float]] = field(default_factory=dict)  # framework, block
    education: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # p, lo, hi
    health: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    crisis_multiplier: float = 1.0
    uplift: float = 0.0
    factor: dict[str, float] = field(default_factory=dict)  # Framework / Block / Spot

    def new_price(self, placement_type: str, fy_end: int) -> float:
        anchors = sorted(self.anchors[placement_type])
        growth = self.growth.get(placement_type, 0.0)
        (y0, v0) = anchors[0]
        if len(anchors) >= 2 and fy_end >= y0:
            y1, v1 = anchors[-1]
            rate = (v1 / v0) ** (1.0 / (y1 - y0)) - 1.0
        else:
            rate = growth  # one anchor, or before the first of two: the type's growth rate
        return v0 * (1.0 + rate) ** (fy_end - y0)

    def type_rows(self) -> list[dict]:
        rows = []
        for t in PAID_TYPES:
            fw, bl = self.mix.get(t, (0.0, 0.0))
            ep, elo, ehi = self.education.get(t, (0.0, 0.0, 0.0))
            hp, hlo, hhi = self.health.get(t, (0.0, 0.0, 0.0))
            rows.append({"placement_type": t, "sigma": self.sigma.get(t, 0.0), "mix_fw": fw, "mix_bl": bl,
                         "edu_p": ep, "edu_lo": elo, "edu_hi": ehi, "h_p": hp, "h_lo": hlo, "h_hi": hhi})
        return rows

    def price_rows(self, first: int = 2000, last: int = 2040) -> list[dict]:
        return [{"placement_type": t, "fy_end": y, "price": round(self.new_price(t, y), 2)}
                for t in PAID_TYPES for y in range(first, last + 1)]


def load(path: Path = PATH) -> Calibration:
    cal = Calibration()
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            t, p, v = r["placement_type"], r["parameter"], r["value"]
            if p == "anchor":
                cal.anchors.setdefault(t, []).append((fy_end_of(r["year"]), float(v)))
            elif p == "growth":
                cal.growth[t] = float(v)
            elif p == "sigma":
                cal.sigma[t] = float(v)
            elif p == "mix_framework_block":
                a, b = (float(x) for x in v.split(";"))
                cal.mix[t] = (a, b)
            elif p in ("education", "health"):
                a, b, c = (float(x) for x in v.split(";"))
                getattr(cal, p)[t] = (a, b, c)
            elif p == "crisis_multiplier":
                cal.crisis_multiplier = float(v)
            elif p == "uplift":
                cal.uplift = float(v)
            elif p.startswith("factor_"):
                cal.factor[p.split("_", 1)[1].capitalize()] = float(v)
    missing = [t for t in PAID_TYPES if t not in cal.anchors]
    if missing:
        raise ValueError(f"{path}: no price anchor for {missing}")
    return cal
