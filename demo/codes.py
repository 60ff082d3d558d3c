"""SSDA903 codes the generator writes, and how often.

Codes follow the DfE SSDA903 guidance and its validation rules (demo/data has no copy; the rule catalogue in
the shared data folder, 903_2024_25_rule_info.csv, names the rules cited here). Shares are round figures in line
with the DfE 'Children looked after in England' releases; they shape the data, the calibrated figures (placement
mix, locality, distance) come from demo/calibration.py.
"""

from __future__ import annotations

import numpy as np

# Table = ((code, weight), ...)
Table = tuple[tuple[str, float], ...]

ETHNIC: Table = (
    ("WBRI", 0.655), ("WIRI", 0.004), ("WIRT", 0.006), ("WOTH", 0.040), ("WROM", 0.010),
    ("MWBC", 0.030), ("MWBA", 0.015), ("MWAS", 0.015), ("MOTH", 0.040),
    ("AIND", 0.007), ("APKN", 0.012), ("ABAN", 0.008), ("AOTH", 0.020),
    ("BCRB", 0.015), ("BAFR", 0.040), ("BOTH", 0.015),
    ("CHNE", 0.002), ("OOTH", 0.048), ("REFU", 0.009), ("NOBT", 0.009),
)
ETHNIC_UASC: Table = (("AOTH", 0.30), ("BAFR", 0.35), ("OOTH", 0.25), ("WOTH", 0.10))
# Category of need (rule 504: the same all through a period of care). UASC: N8 absent parenting.
CIN: Table = (("N1", 0.63), ("N2", 0.03), ("N3", 0.03), ("N4", 0.08), ("N5", 0.15), ("N6", 0.02), ("N7", 0.01),
              ("N8", 0.05))

KINSHIP_SHARE = 0.22  # of foster spells: with relatives or friends (U1-U3)
KIN_PLACE: Table = (("U1", 0.45), ("U2", 0.03), ("U3", 0.52))
FOSTER_PLACE: Table = (("U4", 0.45), ("U5", 0.03), ("U6", 0.52))
FOSTER_PLACE_INFANT: Table = (("U4", 0.30), ("U5", 0.15), ("U6", 0.55))
# Non-kin foster spells: in-house (PR1), another LA's carers (PR2), independent fostering agency (PR4/PR5 by the
# agency's sector). With kinship at PR1 this gives the DfE split of foster placements by provider.
FOSTER_PROVIDER: Table = (("PR1", 0.508), ("PR2", 0.005), ("IFA", 0.487))
KIN_PROVIDER: Table = (("PR1", 0.97), ("PR2", 0.03))
RESIDENTIAL_UNDER_16: Table = (("K2", 0.985), ("K1", 0.015))
RESIDENTIAL_16_PLUS: Table = (("K2", 0.18), ("H5", 0.81), ("K1", 0.01))
SEMI_INDEPENDENT_PROVIDER: Table = (("PR4", 0.60), ("PR1", 0.30), ("PR5", 0.10))
COMMUNITY: Table = (("P2", 0.92), ("P3", 0.08))
INDEPENDENT_LIVING_PROVIDER: Table = (("PR1", 0.30), ("PR4", 0.60), ("PR5", 0.10))
OTHER_RESIDENTIAL_BY_AGE = (  # (from age, table)
    (0, (("R3", 0.55), ("R2", 0.45))),
    (2, (("R2", 0.90), ("R1", 0.10))),
    (10, (("R2", 0.60), ("R1", 0.20), ("R5", 0.20))),
    (14, (("R5", 0.55), ("R2", 0.30), ("R1", 0.15))),
)
OTHER_RESIDENTIAL_PROVIDER = {"R1": "PR4", "R2": "PR3", "R5": "PR3"}  # R3: by the family centre's sector
ADOPTION_PROVIDER: Table = (("PR1", 0.51), ("PR2", 0.30), ("PR5", 0.19))
UNREGISTERED_SHARE = 0.02  # of children's home spells: in a setting that is not registered (no URN)
CRISIS_FIRST, CRISIS_LATER = 0.12, 0.03  # residential spells started as emergencies: first spell / later spells
SECTOR_PROVIDER = {"Private": "PR4", "Voluntary": "PR5"}  # Local Authority: PR1 own LA, PR2 another LA

# Reason for placement change (on the episode whose placement ends, rule 225).
REASON_PLACE_CHANGE: Table = (
    ("LAREQ", 0.34), ("CARPL", 0.15), ("CHILD", 0.12), ("PLACE", 0.10), ("OTHER", 0.07), ("STAND", 0.05),
    ("ALLEG", 0.03), ("CLOSE", 0.03), ("CREQB", 0.03), ("CREQO", 0.03), ("APPRR", 0.03), ("CUSTOD", 0.02),
)
# Reason episode ceased, for the last episode of a period, by context (rules 386-390, 407, 460, 516).
REC_CONTEXTS: dict[str, Table] = {
    "adopted": (("E11", 0.55), ("E12", 0.45)),
    "18_foster": (("E17", 0.45), ("E5", 0.25), ("E6", 0.10), ("E8", 0.20)),
    "18_residential": (("E5", 0.45), ("E6", 0.20), ("E8", 0.25), ("E7", 0.10)),
    "18_other": (("E8", 0.50), ("E5", 0.30), ("E6", 0.20)),
    "uasc": (("E16", 0.25), ("E15", 0.20), ("E8", 0.55)),
    "remand": (("E14", 0.80), ("E9", 0.20)),
    "parents": (("E4A", 0.75), ("E41", 0.10), ("E4B", 0.05), ("E13", 0.10)),
    "kinship": (("E45", 0.35), ("E41", 0.25), ("E4A", 0.25), ("E13", 0.15)),
    "foster": (("E4A", 0.45), ("E46", 0.08), ("E48", 0.02), ("E41", 0.05), ("E4B", 0.10), ("E13", 0.15),
               ("E8", 0.10), ("E3", 0.05)),
    "residential": (("E4A", 0.30), ("E4B", 0.15), ("E13", 0.20), ("E8", 0.15), ("E9", 0.05), ("E6", 0.10),
                    ("E7", 0.05)),
    "other": (("E4A", 0.40), ("E8", 0.35), ("E13", 0.23), ("E2", 0.02)),
}

PLACEMENT_TYPES = (
    "in_house_fostering", "ifa_fostering", "kinship", "own_residential", "independent_residential", "secure",
    "semi_independent", "residential_school", "other",
)
UPN_CHECK_LETTERS = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"))


def draw(rng: np.random.Generator, table: Table, n: int) -> np.ndarray:
    codes = np.array([c for c, _ in table])
    p = np.array([w for _, w in table], dtype=float)
    return codes[rng.choice(len(codes), size=n, p=p / p.sum())]


def draw_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row of a [n, k] probability table (rows sum to 1)."""
    cum = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probabilities.shape[1] - 1)


def upn(rng: np.random.Generator, la_code: str, n: int) -> np.ndarray:
    """Unique pupil numbers: check letter, LA number, establishment, year, serial (13 characters)."""
    la_digits = np.array([int(c) for c in (la_code or "000")[:3].rjust(3, "0")])
    body = np.empty((n, 12), dtype=np.int64)
    body[:, :3] = la_digits
    body[:, 3:] = rng.integers(0, 10, size=(n, 9))
    weights = np.arange(2, 14)
    check = UPN_CHECK_LETTERS[(body * weights).sum(axis=1) % 23]
    digits = body.astype("U1")
    joined = digits[:, 0]
    for k in range(1, 12):
        joined = np.char.add(joined, digits[:, k])
    return np.char.add(check, joined)
