"""A stand-in placements table with the schema of the demo's <truth>/placements.parquet.

For the finance generator's tests and its national benchmark, independent of the SSDA903 generator: real
settings from the Ofsted register (URNs, owning organisations; read with the csv module), placement spells per
LA drawn with numpy from a placement mix and mean durations (rough national figures, not calibrated: the real
demo's placements come from demo.ssda903). Supported accommodation is mostly unregistered (no URN) with
invented provider names.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
OFSTED = REPO / "inbox" / "ofsted" / "Provider_level_at_31_Aug_2023.csv"
LA_TOTALS = Path(__file__).resolve().parent / "data" / "la_cla_on_31_march_totals.csv"
NETGAIN = REPO / "dbt_project" / "seeds" / "reference" / "la_cla_on_31_march_la_of_placement_netgain.csv"

# type: (share of children looked after on a day, mean spell length in days, PLACE, PLACE_PROVIDER)
MIX = {
    "in_house_fostering": (0.34, 700, "U4", "PR1"),
    "ifa_fostering": (0.18, 600, "U6", "PR4"),
    "kinship": (0.15, 800, "U1", "PR1"),
    "own_residential": (0.02, 300, "K2", "PR1"),
    "independent_residential": (0.11, 330, "K2", "PR4"),
    "semi_independent": (0.09, 260, "H5", "PR4"),
    "residential_school": (0.012, 420, "S1", "PR4"),
    "secure": (0.003, 100, "K1", "PR2"),
    "other": (0.095, 400, "Z1", "PR0"),
}
_SEMI_WORDS = ["Pathway", "Step Up", "Bridge", "Keystone", "Horizon View", "Next Chapter", "Anchor Point",
               "Fresh Start", "Compass Rose", "Open Door", "Launchpad", "Harbour", "Summit", "Firm Ground"]
_SEMI_SUFFIX = ["Supported Living Ltd", "Housing Services Ltd", "Young People's Support CIC",
                "Accommodation Services Limited", "Support Ltd"]


def _settings() -> dict[str, list[tuple[str, str, str]]]:
    """Placement type -> [(urn, name, owner)] from the real register."""
    pools: dict[str, list[tuple[str, str, str]]] = {t: [] for t in MIX}
    with open(OFSTED, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            pt, sector = r["Provision type"].lower(), r["Sector"]
            owner = (r["Organisation which owns the provider"] or "").strip()
            row = (r["URN"].strip(), (r["Name"] or "").strip(), owner)
            if not owner:
                continue
            if pt == "children's home":
                pools["own_residential" if sector == "Local Authority" else "independent_residential"].append(row)
            elif pt == "independent fostering agency":
                pools["ifa_fostering"].append(row)
            elif pt.startswith("residential special school"):
                pools["residential_school"].append(row)
            elif pt == "secure children's home":
                pools["secure"].append(row)
    return pools


def _las() -> list[tuple[str, str, str, int]]:
    """(gss, dfe, name, children looked after) for every English LA."""
    out: dict[str, tuple[str, str, str, int]] = {}
    if LA_TOTALS.exists():
        with open(LA_TOTALS, encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                if r["new_la_code"].startswith("E") and r["children_looked_after"].isdigit():
                    out[r["new_la_code"]] = (r["new_la_code"], r["old_la_code"], r["la_name"],
                                             int(r["children_looked_after"]))
    else:
        with open(NETGAIN, encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                if r["geographic_level"] == "Local authority" and r["characteristic"].startswith("2."):
                    n = int(r["number"]) if r["number"].isdigit() else 50
                    out[r["new_la_code"]] = (r["new_la_code"], r["old_la_code"], r["la_name"], max(40, n * 2))
    return sorted(out.values())


def build(path, las=None, years=(2021, 2025), seed: int = 0, scale: float = 1.0) -> Path:
    """Write a placements parquet for the given LAs (names or GSS codes; None = every English LA)."""
    pools = _settings()
    all_las = _las()
    if las:
        wanted = {str(x).lower() for x in las}
        all_las = [la for la in all_las if la[0].lower() in wanted or la[2].lower() in wanted]
    first, last = years[0], years[-1]
    window_start = np.datetime64(dt.date(first - 4, 4, 1))
    window_stop = np.datetime64(dt.date(last, 4, 1))
    as_at = window_stop
    span = int((window_stop - window_start).astype(int))
    frames = []
    for gss, dfe, name, cla in all_las:
        rng = np.random.default_rng(np.random.PCG64([seed, int.from_bytes(gss.encode(), "big") % (2**32)]))
        for t, (share, mean_days, place, prov) in MIX.items():
            arrivals = cla * scale * share / mean_days * span
            n = int(rng.poisson(arrivals))
            if n == 0:
                continue
            start = window_start + rng.integers(0, span, n).astype("timedelta64[D]")
            dur = np.maximum(1, rng.exponential(mean_days, n)).astype(int)
            end = start + dur.astype("timedelta64[D]")
            open_ = end >= as_at
            pool = pools.get(t) or []
            if pool and t != "semi_independent":
                idx = rng.integers(0, len(pool), n)
                urn = np.array([p[0] for p in pool], dtype=object)[idx]
                pname = np.array([p[1] for p in pool], dtype=object)[idx]
                owner = np.array([p[2] for p in pool], dtype=object)[idx]
            elif t == "semi_independent":
                k = rng.integers(0, len(_SEMI_WORDS) * len(_SEMI_SUFFIX) * 6, n)
                names = np.array([f"{_SEMI_WORDS[i % len(_SEMI_WORDS)]}"
                                  f"{'' if (i // 70) % 6 == 0 else ' ' + 'NESWMC'[(i // 70) % 6]} "
                                  f"{_SEMI_SUFFIX[(i // len(_SEMI_WORDS)) % len(_SEMI_SUFFIX)]}"
                                  for i in range(len(_SEMI_WORDS) * len(_SEMI_SUFFIX) * 6)], dtype=object)
                pname = names[k]
                urn = np.full(n, None, dtype=object)
                owner = np.full(n, None, dtype=object)
            else:
                urn = np.full(n, None, dtype=object)
                pname = np.full(n, name + " Council", dtype=object)
                owner = np.full(n, None, dtype=object)
            crisis_p = 0.05 if t == "independent_residential" else 0.02
            frames.append(pd.DataFrame({
                "la_gss_code": gss, "la_dfe_code": dfe, "la_name": name,
                "child_ref": [f"{dfe}{x:07d}" for x in rng.integers(0, 9_999_999, n)],
                "sex": rng.choice(np.array(["1", "2"], dtype=object), n),
                "dob": (start - rng.integers(365 * 1, 365 * 17, n).astype("timedelta64[D]")).astype("datetime64[D]"),
                "place": place, "place_provider": prov, "placement_type": t,
                "urn": urn, "provider_name": pname, "owner_name": owner, "setting_la_gss_code": gss,
                "start_date": start.astype("datetime64[D]"),
                "end_date": np.where(open_, np.datetime64("NaT"), end).astype("datetime64[D]"),
                "home_outcode": None, "placement_outcode": None, "distance_miles": np.nan,
                "is_crisis": rng.random(n) < crisis_p,
            }))
    df = pd.concat(frames, ignore_index=True)
    df = df.sort_values(["la_gss_code", "start_date", "placement_type", "child_ref"], kind="stable")
    df.insert(0, "placement_id", [f"P{i:08d}" for i in range(len(df))])
    for c in ("dob", "start_date", "end_date"):
        df[c] = pd.to_datetime(df[c]).dt.date
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    return path
