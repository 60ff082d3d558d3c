"""Placement-type probabilities by age that reproduce the DfE placement mix at 31 March.

The mix of children looked after at 31 March is a stock; spells are drawn as flows. Because a spell's placement
group is drawn independently of when the spell ends (spell boundaries come from the move process, not from the
type), the stock share of a group among children of age a equals the probability of drawing it at age a. So:

1. a pilot run of the period model (fixed seed, a long steady state) gives the age profile of the stock at
   31 March, the part of it on an adoption track (fostered, then placed for adoption: those spells are set, not
   drawn), and the part accommodated under section 20 (who cannot be placed with parents, SSDA903 rule 378);
2. the chance of an adoption track is scaled until the pilot's stock placed for adoption matches the DfE share;
3. iterative proportional fitting of a table age x group, seeded with how likely each group is at each age
   (no semi-independent living before 16, children's homes mostly for teenagers...), to the pilot's age profile
   (rows) and the DfE mix (columns) gives P(group | age);
4. placement with parents is drawn more often where allowed, so that after the section 20 exclusions it is
   still the published share.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from demo import calibration, periods
from demo.calibration import G, GROUPS

AGES = 18
# Relative propensity of each group at each age (rows 0..17), before fitting. Columns follow GROUPS.
_SHAPE_ROWS = {
    # foster, community, residential, other_res, res_school, parents, adoption, other
    0: (1.0, 0.0, 0.0, 0.08, 0.0, 0.15, 0.0, 0.01),
    1: (1.0, 0.0, 0.0, 0.01, 0.0, 0.12, 0.0, 0.01),
    5: (1.0, 0.0, 0.03, 0.005, 0.002, 0.10, 0.0, 0.01),
    10: (1.0, 0.0, 0.10, 0.01, 0.004, 0.10, 0.0, 0.01),
    13: (1.0, 0.0, 0.28, 0.03, 0.004, 0.10, 0.0, 0.015),
    16: (1.0, 0.20, 1.00, 0.03, 0.002, 0.07, 0.0, 0.02),
}


def shape() -> np.ndarray:
    rows = np.zeros((AGES, len(GROUPS)))
    keys = sorted(_SHAPE_ROWS)
    for age in range(AGES):
        rows[age] = _SHAPE_ROWS[max(k for k in keys if k <= age)]
    return rows


@dataclass(frozen=True)
class Pilot:
    stock_per_start: float  # children looked after at 31 March per first-period start per year
    stock: np.ndarray  # [age] share of the stock
    adoption_foster: np.ndarray  # [age] share of the stock: adoption track, before placement for adoption
    adoption_placed: np.ndarray  # [age] share of the stock: placed for adoption
    # Spells of the pilot, for the empirical fit: age at start, weight (days in the measured years), flags.
    spell_age: np.ndarray
    spell_weight: np.ndarray
    spell_blocked: np.ndarray  # placement with parents not allowed (s20 or unaccompanied)
    spell_track: np.ndarray
    spell_last: np.ndarray
    u: np.ndarray  # common random numbers [2, spell]


P_ADOPT_START = 0.35


@lru_cache(maxsize=None)
def run_pilot(p_adopt: float, seed: int = 20240331, years: int = 26, per_year: int = 6000) -> Pilot:
    rng = np.random.Generator(np.random.PCG64(seed))
    n = years * per_year
    start = np.sort((rng.random(n) * years * periods.DAYS_PER_YEAR).astype(np.int64))
    p = periods.simulate(rng, start, np.full(n, p_adopt))
    days = [int((years - k) * periods.DAYS_PER_YEAR) for k in range(1, 7)]
    stock = np.zeros(AGES)
    foster = np.zeros(AGES)
    placed = np.zeros(AGES)
    for day in days:
        open_ = np.flatnonzero((p.start <= day) & (p.end > day))
        age = np.clip(((day - p.dob[open_]) / periods.DAYS_PER_YEAR).astype(int), 0, AGES - 1)
        stock += np.bincount(age, minlength=AGES)
        track = p.adoption[open_]
        is_placed = track & (day >= p.adoption_start[open_])
        foster += np.bincount(age[track & ~is_placed], minlength=AGES)
        placed += np.bincount(age[is_placed], minlength=AGES)
    total = stock.sum()
    sp = periods.cut_spells(rng, p)
    lo, hi = days[-1], days[0]
    weight = np.clip(np.minimum(sp.end, hi) - np.maximum(sp.start, lo), 0, None).astype(float)
    keep = weight > 0
    pid = sp.period[keep]
    start_k, end_k = sp.start[keep], sp.end[keep]
    v2 = periods.LS["V2"]
    blocked = (p.ls_at(pid, start_k) == v2) | (p.ls_at(pid, np.maximum(end_k - 1, start_k)) == v2) | p.uasc[pid]
    return Pilot(
        stock_per_start=total / len(days) / per_year,
        stock=stock / total,
        adoption_foster=foster / total,
        adoption_placed=placed / total,
        spell_age=np.clip(((start_k - p.dob[pid]) / periods.DAYS_PER_YEAR).astype(int), 0, AGES - 1),
        spell_weight=weight[keep],
        spell_blocked=blocked,
        spell_track=p.adoption[pid],
        spell_last=sp.last[keep],
        u=rng.random((2, int(keep.sum()))),
    )


def assign_groups(u: np.ndarray, probs: np.ndarray, blocked: np.ndarray, track: np.ndarray, last: np.ndarray
                  ) -> np.ndarray:
    """Placement group per spell from its row of P(group) and two uniforms per spell: placement with parents is
    redrawn without it where blocked; adoption-track periods are fostered, then placed for adoption."""
    def pick(uniform, table):
        cum = np.cumsum(table, axis=1)
        return np.minimum((uniform[:, None] * cum[:, -1:] >= cum).sum(axis=1), table.shape[1] - 1)

    group = pick(u[0], probs)
    redo = (group == G["parents"]) & blocked
    if redo.any():
        alt = probs[redo].copy()
        alt[:, G["parents"]] = 0.0
        group[redo] = pick(u[1][redo], alt)
    return np.where(track, np.where(last, G["adoption"], G["foster"]), group)


def ipf(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 500) -> np.ndarray:
    table = seed.astype(float).copy()
    for _ in range(iterations):
        r = table.sum(axis=1)
        table *= np.divide(rows, r, out=np.zeros_like(r), where=r > 0)[:, None]
        c = table.sum(axis=0)
        table *= np.divide(cols, c, out=np.zeros_like(c), where=c > 0)[None, :]
    return table


@dataclass(frozen=True)
class Params:
    year: int
    p_adopt: float
    stock_per_start: float
    group_by_age: np.ndarray  # [age, group] P(group) for a spell starting at that age (adoption excluded)
    fitted_mix: np.ndarray  # [group] the pilot's stock mix with these probabilities


@lru_cache(maxsize=None)
def params(year: int) -> Params:
    """Generation parameters for spells that start in collection year `year`."""
    target = calibration.targets(year)
    return _params_for(target.year, tuple(target.mix))


FIT_ROUNDS = 12


@lru_cache(maxsize=None)
def _params_for(year: int, mix: tuple) -> Params:
    mix_arr = np.array(mix)
    goal = mix_arr[G["adoption"]]
    # The stock placed for adoption is close to proportional to the chance of an adoption track.
    share = run_pilot(P_ADOPT_START).adoption_placed.sum()
    p_adopt = float(np.clip(P_ADOPT_START * goal / share, 0.0, 1.0)) if share > 0 else P_ADOPT_START
    pilot = run_pilot(p_adopt)
    # Start: the table age x group fitted to the stock's age profile and the DfE mix.
    rows = pilot.stock - pilot.adoption_foster - pilot.adoption_placed
    cols = mix_arr.copy()
    cols[G["adoption"]] = 0.0
    cols[G["foster"]] = max(cols[G["foster"]] - pilot.adoption_foster.sum(), 0.0)
    cols *= rows.sum() / cols.sum()
    base = ipf(shape(), rows, cols)
    base /= np.maximum(base.sum(axis=1, keepdims=True), 1e-12)
    # Then: scale groups until the pilot's spells, drawn as the generator draws them, give the DfE stock mix
    # (spells outlive the age they started at; placement with parents is barred under s20).
    factor = np.ones(len(GROUPS))
    fitted = np.zeros(len(GROUPS))
    for _ in range(FIT_ROUNDS):
        table = base * factor[None, :]
        table /= np.maximum(table.sum(axis=1, keepdims=True), 1e-12)
        group = assign_groups(pilot.u, table[pilot.spell_age], pilot.spell_blocked, pilot.spell_track,
                              pilot.spell_last)
        fitted = np.bincount(group, weights=pilot.spell_weight, minlength=len(GROUPS))
        fitted /= fitted.sum()
        free = np.array([g != G["adoption"] for g in range(len(GROUPS))])
        factor[free] *= np.divide(mix_arr[free], fitted[free], out=np.ones(free.sum()), where=fitted[free] > 0)
    table = base * factor[None, :]
    table /= np.maximum(table.sum(axis=1, keepdims=True), 1e-12)
    return Params(year, p_adopt, pilot.stock_per_start, table, fitted)
