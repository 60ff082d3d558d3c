"""Who an LA buys a placement from: the pull of a calibrated set of national groups, and each LA's relationships.

Left to distance and free places alone, every LA spreads its children over whichever registered homes and agencies
happen to fit, so every LA ends up buying from hundreds of the same groups (the default region's 11 Eastern LAs
bought their 2024-25 placements from 856 groups, 251 of them selling to 4 or more of the 11). Real commissioning
is not like that (QUESTIONS.md, "Eastern Region: provider analysis"; README, "Calibration of the Eastern Region
spend"): a few national groups sell to nearly every authority and take a large share, and most relationships are
one council with a provider it knows. Two terms, added to the score with which a child's registered setting is chosen
(demo.allocate for children's homes, secure homes, family centres and residential schools; demo.ssda903 for
independent fostering agencies), give that shape:

* the group's **pull** (`demo/data/national_provider_groups.csv`): a bonus, the same for every LA, for the
  calibrated set of national groups, fitted so that the default region's Eastern LAs spend about the target there
  with each of them in 2024-25 (the largest, CareTech with Cambian, over £13m; together most of the top 20);
* the LA's **relationship** with the group: a persistent Gumbel draw per (LA, group), times RELATIONSHIP (times
  NATIONAL_RELATIONSHIP, much smaller, for the national groups, which every LA uses), drawn from the run's seed and
  the LA alone, so an LA's relationships do not depend on which other LAs are in the run. The heavy upper tail
  makes each LA go back, again and again, to the few groups it knows best; another LA has other favourites, so
  most groups sell to one or two authorities.

Neither term moves a child to another cell (inside or outside the LA, within or over 20 miles of home: the cells the
DfE tables calibrate): demo.allocate weighs a cell miss CELL_WEIGHT times more than before, so the group is chosen
within the cell. A local authority's own settings score LA_SETTINGS against them (about the best private pull and
relationship), so an LA's own homes still come first and another LA's as rarely as before. A setting's group is
that of its owner (the latest register snapshot naming one, else the provider name), rolled up as the finance part
rolls suppliers up (demo.finance_groups.resolve).

A fostering agency is also chosen near the carers or near the child's home (the LA's own market; an agency of a
national group, whose carers are all over the country, hardly loses for distance: demo.ssda903.IFA_MILES). Settings
with no Ofsted record are paid to made-up local providers of their area, a few per LA area, each placing LA with its
own (demo.finance, INVENTED_PER_AREA). `python -m demo.calibration_report TRUTH` prints the figures.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from demo import finance_groups
from demo.register import Register

DATA = Path(__file__).resolve().parent / "data"
NATIONAL = DATA / "national_provider_groups.csv"
RELATIONSHIP = 1.7  # scale of an LA's persistent preference for a group (standard Gumbel draws x this)
# What a local authority's own setting scores against the others' pull and relationship: about the best of them, so
# that an LA's own homes come first as before these terms (and another LA's homes as rarely).
LA_SETTINGS = 3.0
NATIONAL_RELATIONSHIP = 0.5  # the same for the national groups: every LA buys from them
STREAM = 905  # the relationships' random stream: SeedSequence([seed, LA number, STREAM])


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=None)
def national_pull() -> dict[str, float]:
    """Group id -> pull of the calibrated national groups."""
    overrides = finance_groups.load_overrides()
    out: dict[str, float] = {}
    with open(NATIONAL, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            gid, _ = finance_groups.resolve(row["group"], overrides)
            out[gid] = float(row["pull"])
    return out


@dataclass
class SettingGroups:
    """The provider group of every setting of a register, as an index into `ids` (-1: a local authority's)."""

    ids: list[str]  # group ids, sorted
    index: np.ndarray  # int32 [setting]
    pull: np.ndarray  # float [setting]
    national: np.ndarray  # bool [group]
    keys: np.ndarray = None  # uint64 [group]: a stable number per group id (its SHA-1)

    def __post_init__(self) -> None:
        if self.keys is None:
            self.keys = np.array([int.from_bytes(hashlib.sha1(g.encode()).digest()[:8], "big") for g in self.ids],
                                 dtype=np.uint64)

    @classmethod
    def of(cls, reg: Register) -> SettingGroups:
        overrides = finance_groups.load_overrides()
        last = len(reg.snapshots) - 1
        gids: list[str | None] = []
        for s in range(len(reg.urn)):
            if reg.sector[last, s] == "Local Authority":
                gids.append(None)
                continue
            named = [o for o in reg.owner[:, s] if o]
            name = named[-1] if named else (reg.provider_name[s] or f"URN {reg.urn[s]}")
            gids.append(finance_groups.resolve(str(name), overrides)[0])
        ids = sorted({g for g in gids if g is not None})
        at = {g: i for i, g in enumerate(ids)}
        index = np.array([at[g] if g is not None else -1 for g in gids], dtype=np.int32)
        pulls = national_pull()
        pull = np.array([pulls.get(g, 0.0) if g is not None else 0.0 for g in gids])
        return cls(ids, index, pull, np.array([g in pulls for g in ids], dtype=bool))

    def is_national(self, settings: np.ndarray) -> np.ndarray:
        """Whether each setting belongs to a national group."""
        index = self.index[settings]
        return (index >= 0) & self.national[np.maximum(index, 0)]

    def relationships(self, gss_code: str, seed: int) -> np.ndarray:
        """An LA's persistent preference for each group (scaled Gumbel draws, [group]).

        Each draw is a hash of (seed, LA, group id), so a group's draw does not move when other groups come or go
        (a new override family, another register)."""
        la_key = np.random.SeedSequence([seed, int(gss_code[1:]), STREAM]).generate_state(2, np.uint64)
        x = _mix(self.keys ^ la_key[0]) ^ la_key[1]
        u = (_mix(x) >> np.uint64(11)).astype(np.float64) / 9007199254740992.0  # [0, 1)
        gumbel = -np.log(-np.log(np.clip(u, 1e-300, None)))
        return np.where(self.national, NATIONAL_RELATIONSHIP, RELATIONSHIP) * gumbel

    def affinity(self, gss_code: str, seed: int, settings: np.ndarray | None = None) -> np.ndarray:
        """Pull + the LA's relationship, for each of `settings` (all when None); 0 for local-authority ones."""
        index = self.index if settings is None else self.index[settings]
        pull = self.pull if settings is None else self.pull[settings]
        rel = self.relationships(gss_code, seed)
        return np.where(index >= 0, pull + rel[np.maximum(index, 0)], 0.0)
