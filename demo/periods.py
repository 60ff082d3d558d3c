"""Periods of care, legal status timelines and placement spells, vectorised with numpy.

A child starts to be looked after on a day at some age; the period of care lasts a duration that depends on the
age and on whether the child is on an adoption track (a young child who ends the period adopted, after a
placement for adoption), and never beyond the 18th birthday. Some children who went home come back into care
(a second period, same child). Within a period:

* the legal status timeline (up to four statuses): e.g. police protection -> interim care order -> full care
  order, or accommodated (s20) throughout; an adoption-track child moves to a placement order (E1) before being
  placed for adoption;
* placement spells: the period is cut at placement moves (a Poisson process with a child-level rate, plus an
  early move after an emergency placement for some), and an adoption-track period ends with a spell placed for
  adoption.

Days are integers (days since 1970-01-01). A period or spell is [start, end): the child is looked after on day d
when start <= d < end, and `end` is the date written in DEC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAYS_PER_YEAR = 365.25
NEVER = np.int64(10**7)  # a day number beyond any date used

LS_CODES = np.array(["C1", "C2", "E1", "J1", "J2", "J3", "L1", "L2", "V2"])
LS = {code: i for i, code in enumerate(LS_CODES)}
LS_SLOTS = 4

# Age of children starting to be looked after (DfE starters, England, recent years): band -> (share, from, to) years.
START_AGE_BANDS = ((0.19, 0.0, 1.0), (0.14, 1.0, 5.0), (0.15, 5.0, 10.0), (0.36, 10.0, 16.0), (0.16, 16.0, 17.9))
P_UASC = 0.11  # unaccompanied asylum-seeking children among starters
UASC_AGE = ((0.10, 14.0), (0.25, 15.0), (0.40, 16.0), (0.25, 17.0))
# Duration kind per start-age band: short (days to months), medium (a year or two), long (until 18).
KIND_BY_BAND = np.array([
    [0.25, 0.45, 0.30],
    [0.27, 0.43, 0.30],
    [0.30, 0.40, 0.30],
    [0.35, 0.40, 0.25],
    [0.35, 0.15, 0.50],
])
SHORT_MEAN_DAYS = 75.0
MEDIUM_MEDIAN_DAYS, MEDIUM_SIGMA = 440.0, 0.7
ADOPTION_MEDIAN_DAYS, ADOPTION_SIGMA = 700.0, 0.35  # whole period of an adopted child
PLACED_FOR_ADOPTION_MEDIAN_DAYS, PLACED_FOR_ADOPTION_SIGMA = 280.0, 0.35
ADOPTION_AGE_FACTOR = np.array([1.0, 0.8, 0.5, 0.3, 0.15])  # by age 0..4 at start, times p_adopt
P_REENTRY = 0.12
# First legal status: (code, share) for starters, and for adoption-track babies.
FIRST_LS = (("V2", 0.50), ("C1", 0.28), ("L1", 0.07), ("L2", 0.04), ("J2", 0.03), ("J1", 0.02), ("J3", 0.01),
            ("C2", 0.05))
FIRST_LS_ADOPTION = (("V2", 0.25), ("C1", 0.55), ("L2", 0.15), ("L1", 0.05))
FIRST_LS_UASC = (("V2", 0.96), ("C1", 0.04))


def add_years(day: np.ndarray, years: int) -> np.ndarray:
    """The same calendar day `years` later (29 February -> 1 March)."""
    d = np.asarray(day, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    offset = (d - month.astype("datetime64[D]")).astype(np.int64)
    return ((month + 12 * years).astype("datetime64[D]").astype(np.int64) + offset)


def _choice(rng: np.random.Generator, table: tuple, n: int) -> np.ndarray:
    codes = np.array([LS[c] for c, _ in table], dtype=np.int8)
    p = np.array([s for _, s in table], dtype=float)
    return codes[rng.choice(len(codes), size=n, p=p / p.sum())]


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


@dataclass
class Periods:
    child: np.ndarray  # int: child number within the batch
    seq: np.ndarray  # int: 0 first period, 1 a return to care
    start: np.ndarray
    end: np.ndarray
    dob: np.ndarray
    day18: np.ndarray
    uasc: np.ndarray  # bool
    adoption: np.ndarray  # bool: ends adopted
    adoption_start: np.ndarray  # day placed for adoption (NEVER when not adoption track)
    with_carers: np.ndarray  # bool: placed for adoption with current foster carers (A5)
    ls_time: np.ndarray  # [period, LS_SLOTS] day the status starts (NEVER = none), sorted
    ls_code: np.ndarray  # [period, LS_SLOTS] index into LS_CODES

    def __len__(self) -> int:
        return len(self.start)

    def take(self, index: np.ndarray) -> "Periods":
        return Periods(**{name: value[index] for name, value in self.__dict__.items()})

    @staticmethod
    def concat(parts: list["Periods"]) -> "Periods":
        names = Periods.__dataclass_fields__
        return Periods(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in names})

    def ls_at(self, period: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Legal status (index into LS_CODES) of periods on days (elementwise)."""
        times = self.ls_time[period]
        slot = (times <= np.asarray(day)[:, None]).sum(axis=1) - 1
        return self.ls_code[period, np.maximum(slot, 0)]


def _one_period(
    rng: np.random.Generator, start: np.ndarray, dob: np.ndarray, uasc: np.ndarray, p_adopt: np.ndarray,
    allow_adoption: bool,
) -> dict:
    """Duration, adoption track and legal statuses of periods that start on `start` for children born on `dob`."""
    n = len(start)
    age = (start - dob) / DAYS_PER_YEAR
    day18 = add_years(dob, 18)
    band = np.searchsorted([1.0, 5.0, 10.0, 16.0], age, side="right")
    adoption = np.zeros(n, dtype=bool)
    if allow_adoption:
        young = (~uasc) & (age < 5.0)
        factor = np.where(young, ADOPTION_AGE_FACTOR[np.minimum(age.astype(int), 4)], 0.0)
        adoption = rng.random(n) < p_adopt * factor
    u = rng.random(n)
    cum = np.cumsum(KIND_BY_BAND[band], axis=1)
    kind = (u[:, None] > cum).sum(axis=1)  # 0 short, 1 medium, 2 long
    kind = np.where(uasc, np.where(u < 0.05, 0, 2), kind)
    short = rng.exponential(SHORT_MEAN_DAYS, n) + 1.0
    medium = _lognormal(rng, MEDIUM_MEDIAN_DAYS, MEDIUM_SIGMA, n)
    duration = np.where(kind == 0, short, np.where(kind == 1, medium, 1e9))
    duration = np.where(adoption, _lognormal(rng, ADOPTION_MEDIAN_DAYS, ADOPTION_SIGMA, n), duration)

    first = np.where(uasc, _choice(rng, FIRST_LS_UASC, n),
                     np.where(adoption, _choice(rng, FIRST_LS_ADOPTION, n), _choice(rng, FIRST_LS, n)))
    # Remand, police detention and youth-justice orders only from the age of criminal responsibility (10).
    youth_justice = np.isin(first, [LS["J1"], LS["J2"], LS["J3"]])
    first = np.where(youth_justice & (age < 10), np.where(rng.random(n) < 0.5, LS["V2"], LS["C1"]), first)
    # Remand and youth-justice residence requirements are short.
    duration = np.where(first == LS["J1"], np.minimum(duration, 30 + rng.exponential(60, n)), duration)
    duration = np.where(first == LS["J3"], np.minimum(duration, 60 + rng.exponential(150, n)), duration)
    end = np.minimum(start + np.maximum(duration, 1).astype(np.int64), day18)
    end = np.maximum(end, start + 1)
    adoption &= (end - start) >= 150

    placed_for_adoption = np.clip(
        _lognormal(rng, PLACED_FOR_ADOPTION_MEDIAN_DAYS, PLACED_FOR_ADOPTION_SIGMA, n), 60, None
    ).astype(np.int64)
    adoption_start = np.where(adoption, np.maximum(end - placed_for_adoption, start + 60), NEVER)
    with_carers = adoption & (rng.random(n) < 0.2)

    times = np.full((n, LS_SLOTS), NEVER, dtype=np.int64)
    codes = np.zeros((n, LS_SLOTS), dtype=np.int8)
    times[:, 0], codes[:, 0] = start, first
    protective = np.isin(first, [LS["L1"], LS["L2"], LS["J2"]])
    t1 = np.full(n, NEVER)
    c1 = np.zeros(n, dtype=np.int8)
    to_c1 = np.where(adoption, True, rng.random(n) < 0.55)
    t1 = np.where(protective, start + rng.integers(1, 11, n), t1)
    c1 = np.where(protective, np.where(to_c1, LS["C1"], LS["V2"]), c1)
    # Accommodated children who stay become subject to care orders more often than not.
    long_stay = (end - start) > 365
    to_order = np.where(adoption, 0.9, np.where(long_stay, 0.7, 0.15))
    v2_to_c1 = (first == LS["V2"]) & ~uasc & (rng.random(n) < to_order)
    t1 = np.where(v2_to_c1, start + rng.integers(40, 300, n), t1)
    c1 = np.where(v2_to_c1, LS["C1"], c1)
    interim = first == LS["C1"]
    care_order_after = _lognormal(rng, 270.0, 0.3, n).astype(np.int64)
    t1 = np.where(interim, start + care_order_after, t1)
    c1 = np.where(interim, LS["C2"], c1)
    times[:, 1], codes[:, 1] = t1, c1
    t2_needed = (c1 == LS["C1"]) & (t1 < NEVER)
    times[:, 2] = np.where(t2_needed, t1 + care_order_after, NEVER)
    codes[:, 2] = np.where(t2_needed, LS["C2"], 0)
    # Placement order before the placement for adoption (on the same day when placed with the current carers).
    gap = np.where(with_carers, 0, rng.integers(20, 150, n))
    e1 = np.where(adoption, np.maximum(adoption_start - gap, start + 1), NEVER)
    times[:, 3], codes[:, 3] = e1, np.where(adoption, LS["E1"], 0)
    # A status that would begin after the placement order, or after the period, never happens.
    later = (times[:, :3] >= e1[:, None]) | (times[:, :3] >= end[:, None])
    later[:, 0] = False
    times[:, :3] = np.where(later, NEVER, times[:, :3])
    times[:, 3] = np.where(e1 >= end, NEVER, times[:, 3])
    order = np.argsort(times, axis=1, kind="stable")
    times = np.take_along_axis(times, order, axis=1)
    codes = np.take_along_axis(codes, order, axis=1)
    # The same status twice in a row is no change.
    same = np.zeros_like(times, dtype=bool)
    same[:, 1:] = (codes[:, 1:] == codes[:, :-1]) & (times[:, 1:] < NEVER)
    times = np.where(same, NEVER, times)
    order = np.argsort(times, axis=1, kind="stable")
    return {
        "start": start, "end": end, "dob": dob, "day18": day18, "uasc": uasc, "adoption": adoption,
        "adoption_start": adoption_start, "with_carers": with_carers,
        "ls_time": np.take_along_axis(times, order, axis=1), "ls_code": np.take_along_axis(codes, order, axis=1),
    }


def simulate(rng: np.random.Generator, start: np.ndarray, p_adopt: np.ndarray) -> Periods:
    """First periods of care starting on the days `start` (one child each), plus the returns to care."""
    n = len(start)
    uasc = rng.random(n) < P_UASC
    band = rng.choice(len(START_AGE_BANDS), size=n, p=[b[0] for b in START_AGE_BANDS])
    lo = np.array([b[1] for b in START_AGE_BANDS])[band]
    hi = np.array([b[2] for b in START_AGE_BANDS])[band]
    age_years = lo + (hi - lo) * rng.random(n)
    uasc_age = np.array([a for _, a in UASC_AGE])[rng.choice(len(UASC_AGE), size=n, p=[p for p, _ in UASC_AGE])]
    age_years = np.where(uasc, np.minimum(uasc_age + rng.random(n), 17.85), age_years)
    dob = start - (age_years * DAYS_PER_YEAR).astype(np.int64)
    first = _one_period(rng, start, dob, uasc, p_adopt, allow_adoption=True)
    child = np.arange(n)

    # Returns to care: some children who went home before 16 come back after a while.
    went_home = (~first["adoption"]) & (~uasc) & (first["end"] < add_years(dob, 16))
    back = went_home & (rng.random(n) < P_REENTRY)
    gap = _lognormal(rng, 300.0, 0.8, n).astype(np.int64) + 1
    start2 = first["end"] + gap
    back &= start2 < first["day18"] - 60
    idx = np.flatnonzero(back)
    second = _one_period(rng, start2[idx], dob[idx], uasc[idx], np.zeros(len(idx)), allow_adoption=False)

    parts = [
        Periods(child=child, seq=np.zeros(n, dtype=np.int8), **first),
        Periods(child=child[idx], seq=np.ones(len(idx), dtype=np.int8), **second),
    ]
    periods = Periods.concat(parts)
    order = np.lexsort((periods.start, periods.child))
    return periods.take(order)


@dataclass
class Spells:
    period: np.ndarray  # index into Periods
    number: np.ndarray  # spell number within the child (0, 1, ...)
    start: np.ndarray
    end: np.ndarray
    last: np.ndarray  # bool: the last spell of its period

    def __len__(self) -> int:
        return len(self.start)


def cut_spells(rng: np.random.Generator, periods: Periods) -> Spells:
    """Placement spells of every period: cut at placement moves; adoption-track periods end placed for adoption."""
    n = len(periods)
    duration = periods.end - periods.start
    rate = rng.gamma(0.7, 0.5 / 0.7, n)  # moves per year, child-level
    moves = rng.poisson(rate * duration / DAYS_PER_YEAR)
    pid = np.repeat(np.arange(n), moves)
    offset = (rng.random(len(pid)) * duration[pid]).astype(np.int64)
    early = (rng.random(n) < 0.3) & (duration > 20)
    early_off = 2 + (rng.random(n) * (np.minimum(45, duration - 1) - 2)).astype(np.int64)
    adoption = periods.adoption
    pid = np.concatenate([pid, np.flatnonzero(early), np.flatnonzero(adoption)])
    offset = np.concatenate([
        offset, early_off[early], (periods.adoption_start - periods.start)[adoption],
    ])
    limit = np.where(adoption, periods.adoption_start - periods.start, duration)
    keep = (offset >= 1) & (offset < duration[pid]) & ((offset < limit[pid]) | (offset == limit[pid]) & adoption[pid])
    pid, offset = pid[keep], offset[keep]
    # One cut per day; the period start is a spell start too.
    pid = np.concatenate([pid, np.arange(n)])
    offset = np.concatenate([offset, np.zeros(n, dtype=np.int64)])
    key = np.unique(pid.astype(np.int64) * 100_000 + offset)
    pid, offset = key // 100_000, key % 100_000
    start = periods.start[pid] + offset
    nxt = np.empty_like(start)
    nxt[:-1] = start[1:]
    last = np.ones(len(pid), dtype=bool)
    last[:-1] = pid[1:] != pid[:-1]
    end = np.where(last, periods.end[pid], nxt)
    # Spell number within the child (periods are sorted by child, then start).
    child = periods.child[pid]
    first_of_child = np.ones(len(pid), dtype=bool)
    first_of_child[1:] = child[1:] != child[:-1]
    idx = np.arange(len(pid))
    number = idx - np.maximum.accumulate(np.where(first_of_child, idx, 0))
    return Spells(period=pid, number=number, start=start, end=end, last=last)
