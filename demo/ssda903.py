"""One LA's children, placement spells and SSDA903 episodes (generation), and its files (writing).

Generation (`generate_la`) runs per LA with its own random stream, np.random.Generator(PCG64([seed, LA])), all
vectorised. What needs the whole country (children's-home places) is asked of demo.allocate through the
`requests` the LA returns; `schools_without_urn` then makes up the residential schools' locality and distance
run-wide (the group is too small to be drawn), and `finish_la` completes the spells with the settings they got and
writes the LA's SSDA903 tables for every collection year.

Where: a child's home is a postcode of its LA (demo.geography: ONS Postcode Directory), and each spell's placement
is first a unit (a district within an LA) in the cell it asked for: inside / outside the LA x within / over 20
miles, measured between unit centroids. The full placement postcode comes last (finish_la): a registered setting's
own; otherwise one of the unit's postcodes on that side of 20 miles from the home postcode by the DfE's distance
(_placement_postcodes), so the DfE shares the cells were drawn for hold for the distances the truth records.
Registered settings are allocated by the DfE distance from the home postcode to the setting's (demo.allocate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from demo import calibration, codes, geography, model, periods
from demo.calibration import G
from demo.purchasing import SettingGroups
from demo.register import Register, day_number

REQUEST_CLASSES = ("CH", "SCH", "RFC", "RSS")  # s_class / request "klass": index into this (-1: no request)
# Request class of a residential-school spell (S1) in a school without a children's-social-care URN: it is in the
# requests (the run-wide school step, `schools_without_urn`, may move it) but never allocated a registered setting.
SCHOOL_WITHOUT_URN = len(REQUEST_CLASSES)
BIG = np.int64(1) << 24  # key = period * BIG + day offset
IFA_MILES = 25.0  # an agency this many miles further from the carers (or the child's home) scores one point less
NATIONAL_IFA_MILES = 100.0  # the same for an agency of a national group (its carers are all over the country)

EPISODE_COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN")
HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
UASC_COLUMNS = ("CHILD", "SEX", "DOB", "DUC")


@dataclass
class Context:
    geo: geography.Geography
    reg: Register
    years: tuple[int, ...]
    seed: int
    sizes: dict[int, dict[int, float]]  # LA index -> collection year -> children looked after at 31 March
    workdir: Path
    window_start: int = field(init=False)  # 1 April before the first collection year
    window_end: int = field(init=False)  # 31 March of the last collection year
    groups: SettingGroups = field(init=False)  # provider group of every setting (demo.purchasing)

    def __post_init__(self) -> None:
        self.window_start = day_number(dt.date(min(self.years) - 1, 4, 1))
        self.window_end = day_number(dt.date(max(self.years), 3, 31))
        self.ifa = np.flatnonzero(self.reg.klass == "IFA")
        self.groups = SettingGroups.of(self.reg)


_DATE_BASE = day_number(dt.date(1960, 1, 1))
_DATE_STR = np.array([  # dd/mm/YYYY of every day 1960-2079, looked up by day number
    (dt.date(1960, 1, 1) + dt.timedelta(days=i)).strftime("%d/%m/%Y")
    for i in range(day_number(dt.date(2080, 1, 1)) - _DATE_BASE)
])


def date_strings(days: np.ndarray) -> np.ndarray:
    return _DATE_STR[np.asarray(days, dtype=np.int64) - _DATE_BASE]


def collection_year(days: np.ndarray) -> np.ndarray:
    """The collection year (ending 31 March) a day falls in."""
    months = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months // 12 + 1970 + (months % 12 >= 3)


def _by_year(values_for_year, years: np.ndarray, width: int | None = None) -> np.ndarray:
    """Stack per-year parameter rows: out[i] = values_for_year(years[i])."""
    out = None
    for year in np.unique(years):
        value = np.asarray(values_for_year(int(year)))
        if out is None:
            out = np.zeros((len(years),) + value.shape, dtype=value.dtype)
        out[years == year] = value
    return out if out is not None else np.zeros((0,) + ((width,) if width else ()))


def _sample_outcodes(
    rng: np.random.Generator, geo: geography.Geography, la: int, origin: np.ndarray, inside: np.ndarray,
    far: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A placement unit (district within an LA; demo.geography) per spell in the cell asked for (inside/outside
    the LA x within/over 20 miles of the origin unit, centroid to centroid), units weighted by their postcodes; a
    cell with no unit falls back to the nearest feasible one (inside: within 20 miles; outside: over 20 miles).
    Returns units and the cell actually used (inside, far)."""
    if not len(origin):
        return origin.astype(np.int32), inside.astype(bool), far.astype(bool)
    homes, row_of = np.unique(origin, return_inverse=True)
    d = geo.distance[homes]  # [home, outcode]
    own = geo.la_index == la
    near = d <= 20.0
    cells = (own & near, own & ~near, ~own & near, ~own & ~near)
    size = geo.unit_count[None, :].astype(np.float64)  # postcodes: where people live
    w_near = np.exp(-d / 12.0) * size
    w_far = np.exp(-(d - 20.0) / 35.0) * size
    weights = np.stack([np.where(c, w, 0.0) for c, w in zip(cells, (w_near, w_far, w_near, w_far))], axis=1)
    weights = weights.reshape(len(homes) * 4, -1)  # row = home * 4 + cell
    totals = weights.sum(axis=1)
    cell = np.where(inside, 0, 2) + far.astype(int)
    row = row_of * 4 + cell
    empty = totals[row] <= 0
    fallback = np.array([1, 0, 3, 2])[cell]  # inside far -> inside near; outside near -> outside far
    cell = np.where(empty, fallback, cell)
    row = row_of * 4 + cell
    cum = np.cumsum(weights, axis=1)
    offsets = np.concatenate([[0.0], np.cumsum(totals)[:-1]])
    flat = (cum + offsets[:, None]).ravel()
    target = offsets[row] + rng.random(len(row)) * totals[row]
    n = weights.shape[1]
    col = np.clip(np.searchsorted(flat, target, side="right") - row * n, 0, n - 1)
    return col.astype(np.int32), cell < 2, (cell % 2) == 1


def _rebalance_far(
    rng: np.random.Generator, geo: geography.Geography, la: int, origin: np.ndarray, pl_oc: np.ndarray,
    inside: np.ndarray, far: np.ndarray, wanted_far: np.ndarray, weight: np.ndarray, members: np.ndarray,
) -> None:
    """Where a small LA has nowhere over 20 miles inside it (or a big one nowhere within 20 miles outside it), the
    fallback changed the distance band: even it out among `members` by moving spells placed outside the LA to
    the other band (in place; the inside share is kept)."""
    need = weight[members & wanted_far & ~far].sum() - weight[members & ~wanted_far & far].sum()
    if abs(need) < 1:
        return
    # need > 0: too few far: move outside-near spells out further; need < 0: bring outside-far ones nearer.
    pool = np.flatnonzero(members & ~inside & (far if need < 0 else ~far) & (weight > 0))
    pool = pool[rng.permutation(len(pool))]
    take = pool[: int(np.searchsorted(np.cumsum(weight[pool]), abs(need))) + 1]
    if len(take):
        pl_oc[take], inside[take], far[take] = _sample_outcodes(rng, geo, la, origin[take], inside[take], ~far[take])


def generate_la(ctx: Context, la: int) -> dict:
    """Generate LA number `la` (index into ctx.geo.las); save it under ctx.workdir; return its place requests."""
    geo, reg = ctx.geo, ctx.reg
    authority = geo.las[la]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([ctx.seed, int(authority.gss_code[1:])])))
    first_year, last_year = min(ctx.years), max(ctx.years)

    # Starts of periods of care, year by year: a steady flow sized to the LA's children looked after.
    starts = []
    for year in range(first_year - 18, last_year + 1):
        size = ctx.sizes[la].get(year, 0.0)
        n = rng.poisson(size / model.params(year).stock_per_start)
        lo, hi = day_number(dt.date(year - 1, 4, 1)), day_number(dt.date(year, 4, 1))
        starts.append(rng.integers(lo, hi, n))
    start = np.sort(np.concatenate(starts)).astype(np.int64)
    p_adopt = _by_year(lambda y: model.params(y).p_adopt, collection_year(start))
    per = periods.simulate(rng, start, p_adopt)
    # Only what the collection years see (a return to care can begin after the last one).
    per = per.take(np.flatnonzero((per.end >= ctx.window_start) & (per.start <= ctx.window_end)))
    sp = periods.cut_spells(rng, per)
    n_spells = len(sp)
    pid = sp.period
    uasc = per.uasc[pid]
    age = np.clip(((sp.start - per.dob[pid]) / periods.DAYS_PER_YEAR).astype(int), 0, model.AGES - 1)
    year_of_spell = collection_year(sp.start)
    # What the DfE figures count: children looked after on 31 March. A spell's weight is how many of the
    # collection years' 31 Marches it is open on.
    march = np.array([day_number(dt.date(y, 3, 31)) for y in ctx.years])
    covered = (sp.start[:, None] <= march[None, :]) & (sp.end[:, None] > march[None, :])
    weight = covered.sum(axis=1).astype(float)

    # Placement group: by age and year (model), adoption-track periods fostered then placed for adoption,
    # no placement with parents under section 20 (rule 378) or for an unaccompanied child.
    probs = _by_year(lambda y: model.params(y).group_by_age, year_of_spell)
    probs = probs[np.arange(n_spells), age] if n_spells else np.zeros((0, len(calibration.GROUPS)))
    v2 = periods.LS["V2"]
    blocked = (per.ls_at(pid, sp.start) == v2) | (per.ls_at(pid, np.maximum(sp.end - 1, sp.start)) == v2) | uasc
    track = per.adoption[pid]
    group = model.assign_groups(rng.random((2, n_spells)), probs, blocked, track, sp.last)

    # PLACE and PLACE_PROVIDER ('' = decided by the setting the spell gets).
    place = np.full(n_spells, "Z1", dtype="<U2")
    provider = np.full(n_spells, "", dtype="<U3")
    klass = np.full(n_spells, -1, dtype=np.int8)
    want_ifa = np.zeros(n_spells, dtype=bool)
    unregistered = np.zeros(n_spells, dtype=bool)
    r = rng.random((6, n_spells))
    foster = group == G["foster"]
    kin = foster & (r[0] < np.where(uasc, 0.03, codes.KINSHIP_SHARE))
    place[kin] = codes.draw(rng, codes.KIN_PLACE, kin.sum())
    provider[kin] = codes.draw(rng, codes.KIN_PROVIDER, kin.sum())
    other_foster = foster & ~kin
    infant = other_foster & (age < 2)
    place[infant] = codes.draw(rng, codes.FOSTER_PLACE_INFANT, infant.sum())
    older = other_foster & ~infant
    place[older] = codes.draw(rng, codes.FOSTER_PLACE, older.sum())
    fp = codes.draw(rng, codes.FOSTER_PROVIDER, other_foster.sum())
    want_ifa[other_foster] = fp == "IFA"
    provider[other_foster] = np.where(fp == "IFA", "", fp)

    community = group == G["community"]
    place[community] = codes.draw(rng, codes.COMMUNITY, community.sum())
    p2 = community & (place == "P2")
    provider[p2] = codes.draw(rng, codes.INDEPENDENT_LIVING_PROVIDER, p2.sum())
    provider[community & (place == "P3")] = "PR4"

    residential = group == G["residential"]
    young = residential & (age < 16)
    place[young] = codes.draw(rng, codes.RESIDENTIAL_UNDER_16, young.sum())
    place[young & (age < 10)] = "K2"  # secure children's homes take children from 10
    place[residential & ~young] = codes.draw(rng, codes.RESIDENTIAL_16_PLUS, (residential & ~young).sum())
    home = residential & (place == "K2")
    unregistered = home & (r[1] < codes.UNREGISTERED_SHARE)
    klass[home & ~unregistered] = 0
    provider[unregistered] = "PR4"
    klass[residential & (place == "K1")] = 1
    h5 = residential & (place == "H5")
    provider[h5] = codes.draw(rng, codes.SEMI_INDEPENDENT_PROVIDER, h5.sum())

    other_res = group == G["other_residential"]
    for i, (from_age, table) in enumerate(codes.OTHER_RESIDENTIAL_BY_AGE):
        upto = codes.OTHER_RESIDENTIAL_BY_AGE[i + 1][0] if i + 1 < len(codes.OTHER_RESIDENTIAL_BY_AGE) else 99
        m = other_res & (age >= from_age) & (age < upto)
        place[m] = codes.draw(rng, table, m.sum())
    for code, pr in codes.OTHER_RESIDENTIAL_PROVIDER.items():
        provider[other_res & (place == code)] = pr
    klass[other_res & (place == "R3")] = 2
    school = group == G["residential_school"]
    place[school] = "S1"
    klass[school] = 3
    parents = group == G["parents"]
    place[parents] = "P1"
    provider[parents] = "PR0"
    adopted = group == G["adoption"]
    place[adopted] = np.where(per.with_carers[pid][adopted], "A5", "A6")
    provider[adopted] = codes.draw(rng, codes.ADOPTION_PROVIDER, adopted.sum())

    # Where: inside / outside the LA, within / over 20 miles (DfE, by group and provider), distance unknown.
    # The year whose tables a spell's location follows: the first collection year whose 31 March it is open on,
    # else the year of the middle of its time in the window.
    mid_day = (np.maximum(sp.start, ctx.window_start) + np.minimum(sp.end, ctx.window_end)) // 2
    rep_year = np.clip(collection_year(mid_day), first_year, last_year)
    years_arr = np.array(ctx.years)
    first_covered = years_arr[np.argmax(covered, axis=1)] if len(years_arr) else rep_year
    rep_year = np.where(covered.any(axis=1), first_covered, rep_year)
    tg = {y: calibration.targets(int(y)) for y in np.unique(rep_year)}
    p_in = np.zeros(n_spells)
    near_in = np.zeros(n_spells)
    far_out = np.zeros(n_spells)
    unknown_p = np.zeros(n_spells)
    for y, t in tg.items():
        m = rep_year == y
        gi = group[m]
        p_in[m] = t.inside[gi]
        near_in[m] = t.near_inside[gi]
        far_out[m] = t.far_outside[gi]
        unknown_p[m] = t.unknown[gi]
        ib, ps = t.inside_by_provider, t.provider_share
        ifa_share = ps.get(("foster", "private"), 0) + ps.get(("foster", "voluntary"), 0)
        ifa_in = (ib.get(("foster", "private"), 0) * ps.get(("foster", "private"), 0)
                  + ib.get(("foster", "voluntary"), 0) * ps.get(("foster", "voluntary"), 0)) / max(ifa_share, 1e-9)
        fm = m & foster
        p_in[fm & (provider == "PR1")] = ib.get(("foster", "own"), t.inside[G["foster"]])
        p_in[fm & (provider == "PR2")] = ib.get(("foster", "other_la"), t.inside[G["foster"]])
        p_in[fm & want_ifa] = ifa_in
    inside = r[2] < p_in
    far = r[3] < np.where(inside, 1.0 - near_in, far_out)
    cell_p = np.stack([p_in * near_in, p_in * (1 - near_in), (1 - p_in) * (1 - far_out), (1 - p_in) * far_out], 1)
    # Distance unknown: unaccompanied children first (no home postcode), then others, so that each group's
    # share of children looked after on 31 March is the DfE one.
    n_groups = len(calibration.GROUPS)
    group_w = np.bincount(group, weights=weight, minlength=n_groups)
    uasc_w = np.bincount(group, weights=weight * uasc, minlength=n_groups)
    f = np.divide(uasc_w, group_w, out=np.zeros(n_groups), where=group_w > 0)[group]
    p_uasc = np.where(f >= unknown_p, np.divide(unknown_p, f, out=np.ones_like(f), where=f > 0), 1.0)
    p_other = np.where(f >= unknown_p, 0.0, (unknown_p - f) / np.maximum(1.0 - f, 1e-9))
    unknown = r[4] < np.where(uasc, p_uasc, p_other)
    # Residential schools: the Ofsted register lists only the schools registered for their boarding care
    # (residential special schools, boarding schools), and nearly half of the LAs have none. A child the LA places
    # at a school in its own area when it has no registered school open there goes to a school without a
    # children's-social-care URN (a school whose boarding is not registered with Ofsted social care; the return
    # then records S1 without an Ofsted URN), near home: no request to the allocation. The run-wide school step
    # (schools_without_urn) makes up the DfE cells after the allocation.
    ws = np.flatnonzero(school & inside)
    if len(ws):
        la_schools = np.flatnonzero((reg.klass == "RSS") & (reg.la == la))
        open_here = reg.available(sp.start[ws][:, None], la_schools[None, :]).any(axis=1)
        klass[ws[~open_here]] = SCHOOL_WITHOUT_URN
    has_urn = (klass >= 0) | want_ifa
    place_blank = unknown & ~uasc & has_urn & (r[5] < 0.5)
    home_blank = unknown & ~place_blank

    # Children: home postcode, any postcode of the LA alike (an unaccompanied child's is the LA's office, one
    # postcode of the LA fixed by its code); `origin` is its unit, where placement cells are measured from.
    child_of_spell = per.child[pid]
    children, child_index = np.unique(child_of_spell, return_inverse=True)
    n_children = len(children)
    office_pc = geo.stable_in_la(la, authority.gss_code + "/office")
    child_home_pc = geo.in_la(la, rng.random(n_children))
    child_home = geo.pc_unit[child_home_pc]
    child_uasc = np.zeros(n_children, dtype=bool)
    child_uasc[child_index] = uasc
    origin = np.where(uasc, geo.pc_unit[office_pc], child_home[child_index]).astype(np.int32)
    home_pc = np.where(uasc, office_pc, child_home_pc[child_index]).astype(np.int64)
    wanted_far = far.copy()
    pl_oc, inside, far = _sample_outcodes(rng, geo, la, origin, inside, far)
    free = klass < 0  # (residential schools without a URN are evened out run-wide by schools_without_urn)
    for g in np.unique(group[free]):
        _rebalance_far(rng, geo, la, origin, pl_oc, inside, far, wanted_far, weight, free & (group == g))
    same_as_home = parents & inside & ~far & (rng.random(n_spells) < 0.5)  # at the child's home postcode
    pl_oc = np.where(same_as_home, origin, pl_oc)

    # Independent fostering agencies: one registered at the spell start, near the carers, national groups and the
    # agencies the LA has a relationship with first (demo.purchasing).
    ifa_setting = np.full(n_spells, -1, dtype=np.int32)
    wi = np.flatnonzero(want_ifa)
    if len(wi) and len(ctx.ifa):
        agencies = ctx.ifa
        affinity = ctx.groups.affinity(authority.gss_code, ctx.seed, agencies)
        # an agency near the carers or near the child's home (the LA's own market)
        d = np.minimum(geo.distance[np.ix_(pl_oc[wi], reg.outcode[agencies])],
                       geo.distance[np.ix_(origin[wi], reg.outcode[agencies])])
        # registered on the first and the last day of the spell and in every register published in between
        last_day = np.minimum(sp.end[wi] - 1, ctx.window_end)[:, None]
        ok = reg.available(sp.start[wi][:, None], agencies[None, :]) & reg.available(last_day, agencies[None, :])
        for k, snap_day in enumerate(reg.snapshots):
            within = (sp.start[wi] < snap_day) & (snap_day <= last_day[:, 0])
            ok &= ~within[:, None] | reg.present[k, agencies][None, :]
        miles = np.where(ctx.groups.is_national(agencies), NATIONAL_IFA_MILES, IFA_MILES)
        score = np.where(ok, -d / miles[None, :] + affinity[None, :] - np.log(-np.log(rng.random(d.shape))), -np.inf)
        best = np.argmax(score, axis=1)
        got = np.isfinite(score[np.arange(len(wi)), best])
        ifa_setting[wi[got]] = agencies[best[got]]
        provider[wi[~got]] = "PR1"  # no agency registered then: in-house carers
    crisis = np.isin(place, ["K1", "K2"]) & (
        rng.random(n_spells) < np.where(sp.start == per.start[pid], codes.CRISIS_FIRST, codes.CRISIS_LATER)
    )

    # Episodes: spells cut again where the legal status changes inside them.
    base = int(per.start.min()) if len(per) else 0
    spell_key = pid.astype(np.int64) * BIG + (sp.start - base)
    slots = per.ls_time[:, 1:]
    ls_pid, ls_slot = np.nonzero((slots < per.end[:, None]) & (slots < periods.NEVER))
    ls_day = slots[ls_pid, ls_slot]
    ls_key = ls_pid.astype(np.int64) * BIG + (ls_day - base)
    owner_spell = np.searchsorted(spell_key, ls_key, side="right") - 1
    cut = sp.start[owner_spell] != ls_day
    ep_key = np.union1d(spell_key, ls_key[cut])
    ep_spell = np.searchsorted(spell_key, ep_key, side="right") - 1
    ep_start = base + ep_key % BIG
    ep_pid = pid[ep_spell]
    n_ep = len(ep_key)
    same_spell_next = np.zeros(n_ep, dtype=bool)
    same_spell_next[:-1] = ep_spell[1:] == ep_spell[:-1]
    ep_end = np.where(same_spell_next, np.append(ep_start[1:], 0), sp.end[ep_spell])
    ep_ls = per.ls_at(ep_pid, ep_start)
    at_spell_start = ep_start == sp.start[ep_spell]
    ls_today = (per.ls_time[ep_pid, 1:] == ep_start[:, None]).any(axis=1)
    rne = np.where(ep_start == per.start[ep_pid], "S", np.where(at_spell_start, np.where(ls_today, "T", "P"), "L"))
    period_last = np.ones(n_ep, dtype=bool)
    period_last[:-1] = ep_pid[1:] != ep_pid[:-1]
    # Reason episode ceased for the last episode of a period, by context.
    context = _rec_context(per, sp, ep_spell, ep_ls, place, group)
    rec = np.full(n_ep, "X1", dtype="<U3")
    for name, table in codes.REC_CONTEXTS.items():
        m = period_last & (context == name)
        rec[m] = codes.draw(rng, table, m.sum())
    age_end = (ep_end - per.dob[ep_pid]) / periods.DAYS_PER_YEAR
    rec = np.where(np.isin(rec, ["E5", "E6"]) & (age_end < 14), "E8", rec)
    rec = np.where((rec == "E7") & (age_end < 16), "E8", rec)
    rec = np.where((rec == "E9") & (age_end < 10), "E8", rec)
    placement_ends = (ep_end == sp.end[ep_spell]) & ~sp.last[ep_spell]
    reason = np.full(n_ep, "", dtype="<U6")
    reason[placement_ends] = codes.draw(rng, codes.REASON_PLACE_CHANGE, placement_ends.sum())
    nxt = np.minimum(ep_spell + 1, max(n_spells - 1, 0))
    reason[placement_ends & (place[nxt] == "R5")] = "CUSTOD"
    cin = np.where(per.uasc, "N8", codes.draw(rng, codes.CIN, len(per)))

    # Child identity.
    child_ref = (rng.choice(900_000, size=n_children, replace=False) + 100_000).astype("<U7")
    first_period = np.unique(child_index[np.argsort(child_index, kind="stable")], return_index=True)[1]
    first_spell = np.argsort(child_index, kind="stable")[first_period]
    child_dob = per.dob[pid[first_spell]]
    child_day18 = per.day18[pid[first_spell]]
    sex = np.where(child_uasc, np.where(rng.random(n_children) < 0.93, 1, 2),
                   np.where(rng.random(n_children) < 0.56, 1, 2)).astype(np.int8)
    ethnic = np.where(child_uasc, codes.draw(rng, codes.ETHNIC_UASC, n_children),
                      codes.draw(rng, codes.ETHNIC, n_children))
    upn = codes.upn(rng, authority.dfe_code, n_children)
    is_mother = (sex == 2) & (rng.random(n_children) < 0.03)
    first_child_age = (rng.random(n_children) * 3.9 * periods.DAYS_PER_YEAR).astype(np.int64)
    mc_dob = periods.add_years(child_dob, 14) + first_child_age  # a mother's first child: born at 14 to 18

    # Keep what the collection years see: episodes open at some time from the window's start to its end.
    keep_ep = (ep_end >= ctx.window_start) & (ep_start <= ctx.window_end)
    keep_spell = np.zeros(n_spells, dtype=bool)
    keep_spell[ep_spell[keep_ep]] = True
    new_spell = np.cumsum(keep_spell) - 1
    keep_child = np.zeros(n_children, dtype=bool)
    keep_child[child_index[keep_spell]] = True
    new_child = np.cumsum(keep_child) - 1

    ks = keep_spell
    data = {
        # children
        "c_ref": child_ref[keep_child], "c_sex": sex[keep_child], "c_dob": child_dob[keep_child],
        "c_day18": child_day18[keep_child], "c_ethnic": ethnic[keep_child], "c_upn": upn[keep_child],
        "c_uasc": child_uasc[keep_child], "c_mother": is_mother[keep_child], "c_mc_dob": mc_dob[keep_child],
        "c_home": child_home[keep_child], "c_home_pc": child_home_pc[keep_child],
        # spells
        "s_child": new_child[child_index[ks]], "s_number": sp.number[ks], "s_start": sp.start[ks],
        "s_end": sp.end[ks], "s_group": group[ks], "s_place": place[ks], "s_provider": provider[ks],
        "s_class": klass[ks], "s_ifa": ifa_setting[ks], "s_unregistered": unregistered[ks],
        "s_origin": origin[ks], "s_home_pc": home_pc[ks], "s_pl_oc": pl_oc[ks], "s_same_home": same_as_home[ks],
        "s_home_blank": home_blank[ks],
        "s_place_blank": place_blank[ks], "s_inside": inside[ks], "s_far": far[ks], "s_crisis": crisis[ks],
        "s_uasc": uasc[ks], "s_weight": weight[ks], "s_rep_year": rep_year[ks],
        # episodes
        "e_spell": new_spell[ep_spell[keep_ep]], "e_start": ep_start[keep_ep], "e_end": ep_end[keep_ep],
        "e_rne": rne[keep_ep], "e_ls": periods.LS_CODES[ep_ls[keep_ep]], "e_cin": cin[ep_pid[keep_ep]],
        "e_rec": rec[keep_ep], "e_reason": reason[keep_ep],
    }
    np.savez(ctx.workdir / f"{authority.gss_code}.npz", **data)
    want = np.flatnonzero(data["s_class"] >= 0)
    # Per compensated distance group: what its spells asked for, where the spells that are neither the free
    # filler nor placed in a registered setting went, and the filler's weight (see compensating_cells).
    cells = (np.where(inside, 0, 2) + far)[ks]
    w = weight[ks]
    kept_group, kept_place = group[ks], place[ks]
    summaries = {}
    every_filler = [code for _, fillers, _ in COMPENSATED.values() for code in fillers]
    yi = np.searchsorted(years_arr, rep_year[ks])
    cov = covered[ks].astype(float)  # [spell, year]
    onehot = np.eye(4)[cells]

    def by_year(mask, cell_weights):  # -> [year, cell]: over the 31 Marches each spell is open on
        return cov[mask].T @ cell_weights[mask]

    def first_year_by_year(mask):  # -> [first year open on 31 March, year]
        return np.eye(len(years_arr))[yi[mask]].T @ cov[mask]

    for key, (groups, fillers, _) in COMPENSATED.items():
        member = np.isin(kept_group, [G[g] for g in groups])
        rest = member & ~np.isin(kept_place, every_filler) & (data["s_class"] < 0)
        summaries[key] = {
            "target": by_year(member, cell_p[ks]),
            "fixed": by_year(rest, onehot),
            # each group's filler spells among this group's members
            "filler": {k: first_year_by_year(member & np.isin(kept_place, f)) for k, (_, f, _) in COMPENSATED.items()},
        }
    return {
        "spell": want,
        "klass": data["s_class"][want],
        "origin": data["s_origin"][want],
        "home_pc": data["s_home_pc"][want],
        "inside": data["s_inside"][want],
        "far": data["s_far"][want],
        "start": data["s_start"][want],
        "end": data["s_end"][want],
        "weight": w[want],
        "cell": cells[want],
        "cell_p": cell_p[ks][want],
        "covered": cov[want],
        "summaries": summaries,
    }


# Groups whose registered settings are allocated run-wide, with the placement codes whose location is free to
# make up the group's cells afterwards, in order: key -> (DfE groups, filler PLACE codes, request classes).
# Family centres (R3) and schools (S1) are few; children's homes (K2) and secure homes (K1) are where they are.
COMPENSATED = {
    "other_residential": (("other_residential",), ("R1", "R2", "R5"), (2,)),
    "residential": (("residential",), ("H5",), (0, 1)),
    "other": (("other_residential", "residential_school", "other"), ("Z1",), (2, 3, SCHOOL_WITHOUT_URN)),
}


def _filler_cells(target: np.ndarray, got: np.ndarray, filler: float) -> np.ndarray:
    """Cells for the filler so that the group's inside share and over-20-miles share reach the target's (each
    clipped to what the filler can do), keeping the target's ratio of far inside to far outside."""
    if filler <= 0:
        return target / max(target.sum(), 1e-9)
    inside = float(np.clip((target[0] + target[1] - got[0] - got[1]) / filler, 0.0, 1.0))
    far = float(np.clip((target[1] + target[3] - got[1] - got[3]) / filler, 0.0, 1.0))
    far_in = target[1] / max(target[0] + target[1], 1e-9)
    far_out = target[3] / max(target[2] + target[3], 1e-9)
    scale = far / max(inside * far_in + (1 - inside) * far_out, 1e-9)
    a, b = min(1.0, scale * far_in), min(1.0, scale * far_out)
    if inside * a + (1 - inside) * b < far - 1e-9:  # one side saturated: the other takes the rest
        if a >= 1.0 and inside < 1:
            b = min(1.0, (far - inside) / (1 - inside))
        elif b >= 1.0 and inside > 0:
            a = min(1.0, (far - (1 - inside)) / inside)
    cells = np.array([inside * (1 - a), inside * a, (1 - inside) * (1 - b), (1 - inside) * b])
    return np.clip(cells, 0.0, None) / max(cells.sum(), 1e-9)


def compensating_cells(ctx: Context, las: list[int], requests: list[dict], settings: list[np.ndarray]
                       ) -> dict[str, np.ndarray]:
    """Cell shares (inside near, inside far, outside near, outside far) for each group's filler placements
    (semi-independent living; other placements) so that the group gets the DfE locality and distance once its
    registered settings have been allocated (run-wide, weighted by time looked after in the window)."""
    geo, reg = ctx.geo, ctx.reg
    n_years = len(ctx.years)
    out: dict[str, np.ndarray] = {}
    for key, (_, _, classes) in COMPENSATED.items():
        target = np.zeros((n_years, 4))
        got = np.zeros((n_years, 4))
        filler = np.zeros((n_years, n_years))
        earlier_fillers = np.zeros((n_years, 4))
        for la, req, setting in zip(las, requests, settings):
            summary = req["summaries"][key]
            target += summary["target"]
            got += summary["fixed"]
            filler += summary["filler"][key]
            for earlier, cells in out.items():  # fillers of groups done before: where they will be
                got += summary["filler"][earlier].T @ cells
            mine = np.isin(req["klass"], classes)
            placed = setting >= 0
            safe = np.where(placed, setting, 0)
            inside = reg.la[safe] == la
            far = geo.miles(req["home_pc"], reg.postcode[safe]) > 20.0
            cell = np.where(placed, np.where(inside, 0, 2) + far, req["cell"])
            got += req["covered"][mine].T @ np.eye(4)[cell[mine]]
        # Year by year: fillers first open on an earlier 31 March are already placed; the new ones make up the rest.
        cells = np.zeros((n_years, 4))
        for y in range(n_years):
            already = filler[:y, y] @ cells[:y] if y else np.zeros(4)
            cells[y] = _filler_cells(target[y], got[y] + already, filler[y, y])
        out[key] = cells
    return out


def schools_without_urn(ctx: Context, las: list[int], requests: list[dict], settings: list[np.ndarray]
                        ) -> list[np.ndarray]:
    """Run-wide, after the allocation: move residential-school spells (S1) to schools without a URN until the
    group's cells (inside near, inside far, outside near, outside far) on each collection year's 31 March are the
    DfE ones (the expected cells of the group's spells, `cell_p`).

    Registered residential schools are few and unevenly spread (about half of the LAs have none), so the spells
    the allocation placed land outside the LA far more often than the DfE tables say; the group is small (about
    100 children nationally), so the cells are made up spell by spell, not drawn. Year by year, while a cell has
    more than half a child too many and another more than half a child too few, one spell open on that 31 March
    (and on none before: spells already counted in an earlier year stay put) moves from the first cell to the
    second: a spell already without a URN first, then a registered one that asked for that cell (no registered
    school had a place there for it: the LA used a school without a URN), then any registered one; in a random
    order within each (the run's stream). A spell only moves to a cell its LA and home have outward codes in.

    A moved spell loses its setting (`settings` updated in place; the request's klass becomes SCHOOL_WITHOUT_URN
    and its cell the new one, so compensating_cells sees where it is). Returns per LA the new cell of each
    request (-1: not moved); finish_la gives a moved spell a placement postcode in that cell."""
    geo, reg = ctx.geo, ctx.reg
    n_years = len(ctx.years)
    moved_cells = [np.full(len(r["spell"]), -1, dtype=np.int8) for r in requests]
    parts = []
    for k, (la, req, setting) in enumerate(zip(las, requests, settings)):
        mine = np.flatnonzero(np.isin(req["klass"], (REQUEST_CLASSES.index("RSS"), SCHOOL_WITHOUT_URN)))
        if not len(mine):
            continue
        got = setting[mine]
        placed = got >= 0
        safe = np.where(placed, got, 0)
        inside = reg.la[safe] == la
        far = geo.miles(req["home_pc"][mine], reg.postcode[safe]) > 20.0
        parts.append({
            "k": np.full(len(mine), k), "pos": mine, "la": np.full(len(mine), la),
            "origin": req["origin"][mine], "wanted": req["cell"][mine],
            "cell": np.where(placed, np.where(inside, 0, 2) + far, req["cell"][mine]),
            "registered": placed, "cell_p": req["cell_p"][mine], "covered": req["covered"][mine],
        })
    if not parts:
        return moved_cells
    cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    n = len(cat["k"])
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([ctx.seed, 904])))
    order_key = rng.random(n)
    # Cells each spell could move to: its LA (or not) x within (or over) 20 miles of its home, as _sample_outcodes.
    d = geo.distance[cat["origin"]]  # [spell, outcode]
    own = geo.la_index[None, :] == cat["la"][:, None]
    near = d <= 20.0
    feasible = np.stack([(own & near).any(1), (own & ~near).any(1), (~own & near).any(1), (~own & ~near).any(1)], 1)
    cell = cat["cell"].astype(np.int64)
    registered = cat["registered"].copy()
    moved = np.zeros(n, dtype=bool)
    covered = cat["covered"] > 0
    first = np.where(covered.any(axis=1), np.argmax(covered, axis=1), -1)
    for y in range(n_years):
        open_ = covered[:, y]
        if not open_.any():
            continue
        target = cat["cell_p"][open_].sum(axis=0)
        got = np.bincount(cell[open_], minlength=4).astype(float)
        movable = open_ & (first == y)
        while True:
            err = got - target
            pairs = sorted(((min(err[a], -err[b]), a, b) for a in range(4) for b in range(4)
                            if err[a] > 0.5 and err[b] < -0.5), reverse=True)
            pick = None
            for _, a, b in pairs:
                cand = np.flatnonzero(movable & ~moved & (cell == a) & feasible[:, b])
                if len(cand):
                    tier = np.where(~registered[cand], 0, np.where(cat["wanted"][cand] == b, 1, 2))
                    pick = cand[np.lexsort((order_key[cand], tier))[0]], a, b
                    break
            if pick is None:
                break
            j, a, b = pick
            cell[j], registered[j], moved[j] = b, False, True
            got[a] -= 1.0
            got[b] += 1.0
    for j in np.flatnonzero(moved):
        k, pos = cat["k"][j], cat["pos"][j]
        settings[k][pos] = -1
        requests[k]["klass"][pos] = SCHOOL_WITHOUT_URN
        requests[k]["cell"][pos] = cell[j]
        moved_cells[k][pos] = cell[j]
    return moved_cells


def _rec_context(per, sp, ep_spell, ep_ls, place, group) -> np.ndarray:
    spell_place = place[ep_spell]
    spell_group = group[ep_spell]
    pid = sp.period[ep_spell]
    reached_18 = sp.end[ep_spell] >= per.day18[pid]
    out = np.full(len(ep_spell), "other", dtype="<U14")
    residential_like = np.isin(spell_group, [G["residential"], G["community"]])
    out[residential_like] = "residential"
    out[np.isin(spell_place, ["U4", "U5", "U6"])] = "foster"
    out[np.isin(spell_place, ["U1", "U2", "U3"])] = "kinship"
    out[spell_place == "P1"] = "parents"
    out[per.uasc[pid]] = "uasc"
    out[reached_18] = np.where(
        spell_group[reached_18] == G["foster"], "18_foster",
        np.where(residential_like[reached_18], "18_residential", "18_other"),
    )
    out[ep_ls == periods.LS["J1"]] = "remand"
    out[per.adoption[pid] & sp.last[ep_spell]] = "adopted"
    return out


PICKS = 32  # postcodes tried per spell and unit for one on the side of 20 miles its cell says
UNIT_REDRAWS = 8  # units tried in the cell before a spell keeps a postcode on the other side


def _placement_postcodes(rng: np.random.Generator, geo: geography.Geography, la: int, home_pc: np.ndarray,
                         origin: np.ndarray, pl_oc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A postcode per spell in its placement unit, within 20 miles of the home postcode (PL_DISTANCE) when the
    units' centroids are, over 20 when they are over: the cell (inside / outside the LA x within / over 20 miles)
    the unit was drawn for, now true of the full postcodes. A unit with no postcode on that side of the home (a
    unit near 20 miles, a home at the edge of its own unit) is drawn again in the same cell. Returns the postcodes
    and the units (changed where drawn again)."""
    pl_oc = pl_oc.astype(np.int32).copy()
    out = np.zeros(len(pl_oc), dtype=np.int64)
    want_far = geo.distance[origin, pl_oc] > 20.0  # the cell, as _sample_outcodes measured it
    todo = np.arange(len(pl_oc))
    for attempt in range(UNIT_REDRAWS):
        if not len(todo):
            break
        cand = geo.in_units(pl_oc[todo][:, None], rng.random((len(todo), PICKS)))
        miles = geo.miles(home_pc[todo][:, None], cand)
        ok = ((miles > 20.0) == want_far[todo][:, None]) & (miles != 20.0)  # (20.0 itself: rounded either way)
        has = ok.any(axis=1)
        out[todo] = cand[np.arange(len(todo)), np.where(has, np.argmax(ok, axis=1), 0)]
        todo = todo[~has]
        if len(todo) and attempt + 1 < UNIT_REDRAWS:
            inside = geo.la_index[pl_oc[todo]] == la
            pl_oc[todo], _, _ = _sample_outcodes(rng, geo, la, origin[todo], inside, want_far[todo])
    return out, pl_oc


# Deliberate postcode faults in the returns (LAs' systems export them): kind -> (share of the eligible spells, at
# least one per LA where any is eligible; what the warehouse should make of it).
POSTCODE_FAULTS = {
    "lower_case": (0.002, "normalise: the same postcode in capitals"),
    "space_padded": (0.002, "normalise: the same postcode without the extra spaces"),
    "no_fixed_abode": (0.03, "ZZ99 3CZ: flag invalid; distance unknown"),
    "not_in_directory": (0.03, "well-formed but not in the ONS Postcode Directory: flag; distance unknown"),
}
NORMALISED = ("lower_case", "space_padded")
PADDINGS = ("{} ", " {}", "  {}  ")  # (and the inward code two spaces from the outward code)


def _postcode_faults(rng: np.random.Generator, geo: geography.Geography, d: dict, located: np.ndarray,
                     home_pc: np.ndarray, pl_pc: np.ndarray) -> dict[str, np.ndarray]:
    """HOME_POST and PL_POST of every spell as the return writes them, with a few faults (POSTCODE_FAULTS):
    no fixed abode (ZZ99 3CZ) and postcodes the directory does not hold in HOME_POST where it would be blank
    anyway (an unknown distance stays unknown: the DfE shares hold), postcodes it does not hold in PL_POST of
    registered settings whose PL_POST would be blank (the URN still places them), and written postcodes in lower
    case or padded with spaces. Every episode of a spell carries the same text in every year."""
    n = len(home_pc)
    home = np.where(d["s_home_blank"], "", geo.written(home_pc)).astype(object)
    place = np.where(d["s_place_blank"], "", geo.written(pl_pc)).astype(object)
    home_fault = np.full(n, "", dtype=object)
    pl_fault = np.full(n, "", dtype=object)

    def pick(eligible: np.ndarray, kind: str) -> np.ndarray:
        pool = np.flatnonzero(eligible)
        k = min(len(pool), max(1, int(round(POSTCODE_FAULTS[kind][0] * len(pool))))) if len(pool) else 0
        return np.sort(rng.choice(pool, size=k, replace=False)) if k else pool

    unknown_home = d["s_home_blank"] & ~d["s_uasc"]
    for i in pick(unknown_home, "no_fixed_abode"):
        home[i], home_fault[i] = geography.NO_FIXED_ABODE, "no_fixed_abode"
    for i in pick(unknown_home & (home_fault == ""), "not_in_directory"):
        home[i] = geo.absent_in_unit(int(d["s_origin"][i]), f"{d['s_child'][i]}/{d['s_start'][i]}/home")
        home_fault[i] = "not_in_directory"
    for i in pick(d["s_place_blank"] & located, "not_in_directory"):
        place[i] = geo.absent_in_unit(int(geo.pc_unit[pl_pc[i]]), f"{d['s_child'][i]}/{d['s_start'][i]}/place")
        pl_fault[i] = "not_in_directory"
    valid_home = ~d["s_home_blank"]
    valid_place = ~d["s_place_blank"] & (pl_fault == "")
    for kind in NORMALISED:
        chosen = pick((valid_home | valid_place) & (home_fault == "") & (pl_fault == ""), kind)
        in_home = valid_home[chosen] & (~valid_place[chosen] | (rng.random(len(chosen)) < 0.5))
        for i, h in zip(chosen, in_home):
            texts, faults = (home, home_fault) if h else (place, pl_fault)
            if kind == "lower_case":
                texts[i] = texts[i].lower()
            else:
                v = geography.stable_index(f"{d['s_child'][i]}/{d['s_start'][i]}", len(PADDINGS) + 1)
                texts[i] = PADDINGS[v].format(texts[i]) if v < len(PADDINGS) else texts[i].replace(" ", "  ")
            faults[i] = kind
    return {
        "home_post": home.astype(str), "pl_post": place.astype(str),
        "home_fault": home_fault.astype(str), "pl_fault": pl_fault.astype(str),
        "home_valid": valid_home, "pl_valid": valid_place,
    }


PLACEMENT_SCHEMA = pa.schema([
    ("placement_id", pa.string()), ("la_gss_code", pa.string()), ("la_dfe_code", pa.string()),
    ("la_name", pa.string()), ("child_ref", pa.string()), ("sex", pa.int8()), ("dob", pa.date32()),
    ("place", pa.string()), ("place_provider", pa.string()), ("placement_type", pa.string()),
    ("urn", pa.string()), ("provider_name", pa.string()), ("owner_name", pa.string()),
    ("setting_la_gss_code", pa.string()), ("start_date", pa.date32()), ("end_date", pa.date32()),
    ("home_outcode", pa.string()), ("placement_outcode", pa.string()), ("distance_miles", pa.float64()),
    ("is_crisis", pa.bool_()),
    # beyond the contract: what the truth tables and tests use
    ("dfe_group", pa.string()), ("uasc", pa.bool_()),
    # HOME_POST and PL_POST exactly as the returns write them (null: blank), and the deliberate fault each carries
    # (null: none; POSTCODE_FAULTS). distance_miles is known when both are written and in the directory.
    ("home_postcode", pa.string()), ("placement_postcode", pa.string()),
    ("home_postcode_fault", pa.string()), ("placement_postcode_fault", pa.string()),
])


def _nullable(values: np.ndarray, blank: np.ndarray) -> pa.Array:
    return pa.array(values.astype(object), type=pa.string(), mask=blank)


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = np.asarray(days, dtype=np.int64).astype(np.int32)
    return pa.array(arr, type=pa.int32(), mask=null).cast(pa.date32())


SCHOOL_PROVIDER_CODES = ("PR1", "PR2", "PR3", "PR4", "PR5")
_SCHOOL_PROVIDER_KEYS = ("own", "other_la", "public", "private", "voluntary")  # calibration.PROVIDERS values


@lru_cache(maxsize=None)
def _school_providers(year: int, inside: bool) -> np.ndarray:
    """P(PLACE_PROVIDER) of a residential-school placement inside (or outside) the LA: DfE national table."""
    t = calibration.targets(year)
    weights = np.array([
        t.provider_share.get(("residential_school", key), 0.0)
        * (t.inside_by_provider.get(("residential_school", key), 0.0) if inside
           else 1.0 - t.inside_by_provider.get(("residential_school", key), 1.0))
        for key in _SCHOOL_PROVIDER_KEYS
    ])
    if weights.sum() <= 0:
        weights = np.array([0.0, 0.0, 0.0, 1.0, 0.0])  # nothing published: private
    return weights / weights.sum()


def finish_la(ctx: Context, la: int, requested: np.ndarray, got: np.ndarray, filler_cells: dict[str, np.ndarray],
              out_dir: Path, school_cells: np.ndarray | None = None) -> pa.Table:
    """Complete LA `la`'s spells with the settings allocated (`got[i]`: register index for spell `requested[i]`,
    -1 none), the filler placements of COMPENSATED groups with `filler_cells` and the residential-school spells
    schools_without_urn moved (`school_cells[i]`: the cell of spell `requested[i]`, -1 not moved), write its SSDA903
    tables for every collection year, and return its placements (PLACEMENT_SCHEMA)."""
    geo, reg = ctx.geo, ctx.reg
    authority = geo.las[la]
    with np.load(ctx.workdir / f"{authority.gss_code}.npz") as npz:
        d = {k: npz[k] for k in npz.files}
    n = len(d["s_start"])
    setting = np.full(n, -1, dtype=np.int64)
    setting[requested] = got
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([ctx.seed, int(authority.gss_code[1:]), 2])))
    for key, (_, fillers, _) in COMPENSATED.items():
        idx = np.flatnonzero(np.isin(d["s_place"], fillers))
        if len(idx):
            probs = filler_cells[key][np.searchsorted(np.array(ctx.years), d["s_rep_year"][idx])]
            cell = codes.draw_rows(rng, probs)
            origin = d["s_origin"][idx]
            wanted_far = cell % 2 == 1
            oc, inside, far = _sample_outcodes(rng, geo, la, origin, cell < 2, wanted_far)
            _rebalance_far(rng, geo, la, origin, oc, inside, far, wanted_far, d["s_weight"][idx],
                           np.ones(len(idx), dtype=bool))
            d["s_pl_oc"][idx] = oc
    if school_cells is not None and (school_cells >= 0).any():
        idx = requested[school_cells >= 0]
        cell = school_cells[school_cells >= 0]
        d["s_pl_oc"][idx], _, _ = _sample_outcodes(rng, geo, la, d["s_origin"][idx], cell < 2, cell % 2 == 1)
    place, provider = d["s_place"].copy(), d["s_provider"].copy()
    urn_setting = np.where(d["s_ifa"] >= 0, d["s_ifa"], setting).astype(np.int64)
    has_setting = urn_setting >= 0
    located = has_setting & (d["s_ifa"] < 0)  # the setting is where the child lives (not an agency)
    # Placement postcodes: a registered setting's own; the child's home for half of those placed with parents
    # within 20 miles; any other (agency carers, unregistered homes, lodgings...) one of its unit's postcodes on the
    # side of 20 miles its cell says, measured from the home postcode as the DfE does.
    home_pc = d["s_home_pc"]
    pl_pc = np.where(located, reg.postcode[np.where(located, urn_setting, 0)], home_pc)
    free = np.flatnonzero(~located & ~d["s_same_home"])
    pl_pc[free], d["s_pl_oc"][free] = _placement_postcodes(
        rng, geo, la, home_pc[free], d["s_origin"][free], d["s_pl_oc"][free])
    pl_oc = geo.pc_unit[pl_pc]
    snap = reg.snapshot_at(d["s_start"])
    safe = np.where(has_setting, urn_setting, 0)
    sector = np.where(has_setting, reg.sector[snap, safe], None)
    decided = provider == ""
    own_la = reg.la[safe] == la
    from_sector = np.where(sector == "Local Authority", np.where(own_la, "PR1", "PR2"),
                           np.where(sector == "Voluntary", "PR5", "PR4"))
    provider = np.where(decided & has_setting, from_sector, provider)
    provider = np.where(decided & ~has_setting & (place != "Z1"), "PR4", provider)
    setting_la = np.where(located, reg.la[safe], geo.la_index[pl_oc])
    # A residential school without a URN: the provider as the DfE tables split residential schools inside and
    # outside the LA (own LA's, another LA's, private, voluntary).
    no_urn_school = np.flatnonzero(decided & ~has_setting & (place == "S1"))
    if len(no_urn_school):
        probs = np.stack([_school_providers(int(y), bool(s))
                          for y, s in zip(d["s_rep_year"][no_urn_school], setting_la[no_urn_school] == la)])
        provider[no_urn_school] = np.array(SCHOOL_PROVIDER_CODES)[codes.draw_rows(rng, probs)]
    urn = np.where(has_setting, reg.urn[safe], None)
    provider_name = np.where(has_setting, reg.provider_name[safe], None)
    owner = np.where(has_setting, reg.owner[snap, safe], None)

    child = d["s_child"]
    uasc = d["s_uasc"]
    home_oc = d["s_origin"]
    pf = _postcode_faults(rng, geo, d, located, home_pc, pl_pc)
    home_post, pl_post = pf["home_post"], pf["pl_post"]
    home_written, place_written = home_post != "", pl_post != ""
    distance = geo.miles(home_pc, pl_pc)  # PL_DISTANCE, 1 decimal
    known = pf["home_valid"] & pf["pl_valid"]  # both written and in the directory (whatever the case or spaces)
    home_district_written = home_written & (pf["home_fault"] != "no_fixed_abode")

    ptype = np.full(n, "other", dtype=object)
    ptype[np.isin(place, ["U1", "U2", "U3"])] = "kinship"
    fostering = np.isin(place, ["U4", "U5", "U6"])
    ptype[fostering & np.isin(provider, ["PR1", "PR2"])] = "in_house_fostering"
    ptype[fostering & np.isin(provider, ["PR4", "PR5"])] = "ifa_fostering"
    ptype[(place == "K2") & np.isin(provider, ["PR1", "PR2"])] = "own_residential"
    ptype[(place == "K2") & np.isin(provider, ["PR4", "PR5"])] = "independent_residential"
    ptype[place == "K1"] = "secure"
    ptype[np.isin(place, ["H5", "P2"])] = "semi_independent"
    ptype[place == "S1"] = "residential_school"

    open_end = d["s_end"] > ctx.window_end
    refs = d["c_ref"][child]
    placement_id = np.char.add(np.char.add(np.char.add(f"{authority.dfe_code}-", refs), "-"),
                               d["s_number"].astype("<U4"))
    order = np.lexsort((d["s_start"], refs))
    gss_codes = np.array([geo.las[i].gss_code for i in range(len(geo.las))])
    columns = {
        "placement_id": pa.array(placement_id[order]),
        "la_gss_code": pa.array(np.full(n, authority.gss_code)),
        "la_dfe_code": pa.array(np.full(n, authority.dfe_code)),
        "la_name": pa.array(np.full(n, authority.name)),
        "child_ref": pa.array(refs[order]),
        "sex": pa.array(d["c_sex"][child][order], type=pa.int8()),
        "dob": _dates(d["c_dob"][child][order]),
        "place": pa.array(place[order]),
        "place_provider": _nullable(provider[order], provider[order] == ""),
        "placement_type": pa.array(ptype[order], type=pa.string()),
        "urn": pa.array(urn[order], type=pa.string()),
        "provider_name": pa.array(provider_name[order], type=pa.string()),
        "owner_name": pa.array(owner[order], type=pa.string()),
        "setting_la_gss_code": pa.array(gss_codes[setting_la][order]),
        "start_date": _dates(d["s_start"][order]),
        "end_date": _dates(np.minimum(d["s_end"], ctx.window_end)[order], open_end[order]),
        "home_outcode": _nullable(geo.outcodes[home_oc][order], ~home_district_written[order]),
        "placement_outcode": _nullable(geo.outcodes[pl_oc][order], ~place_written[order]),
        "distance_miles": pa.array(distance[order], type=pa.float64(), mask=~known[order]),
        "is_crisis": pa.array(d["s_crisis"][order]),
        "dfe_group": pa.array(np.array(calibration.GROUPS)[d["s_group"]][order]),
        "uasc": pa.array(uasc[order]),
        "home_postcode": _nullable(home_post[order], ~home_written[order]),
        "placement_postcode": _nullable(pl_post[order], ~place_written[order]),
        "home_postcode_fault": _nullable(pf["home_fault"][order], pf["home_fault"][order] == ""),
        "placement_postcode_fault": _nullable(pf["pl_fault"][order], pf["pl_fault"][order] == ""),
    }
    placements = pa.table(columns, schema=PLACEMENT_SCHEMA)

    # SSDA903 tables, one folder per collection year.
    e_spell = d["e_spell"]
    e_child = child[e_spell]
    e_refs = d["c_ref"][e_child]
    ep_order = np.lexsort((d["e_start"], e_refs))
    ep = {
        "CHILD": e_refs, "DECOM": date_strings(d["e_start"]), "RNE": d["e_rne"], "LS": d["e_ls"],
        "CIN": d["e_cin"], "PLACE": place[e_spell], "PLACE_PROVIDER": provider[e_spell],
        "HOME_POST": home_post[e_spell],
        "PL_POST": pl_post[e_spell],
        "URN": np.where(has_setting[e_spell], reg.urn[safe[e_spell]], ""),
    }
    folder_name = authority.name
    for year in ctx.years:
        y_start, y_end = day_number(dt.date(year - 1, 4, 1)), day_number(dt.date(year, 3, 31))
        sel = ep_order[(d["e_start"][ep_order] <= y_end) & (d["e_end"][ep_order] >= y_start)]
        closed = d["e_end"][sel] <= y_end
        table = {name: ep[name][sel] for name in ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER")}
        table["DEC"] = np.where(closed, date_strings(np.where(closed, d["e_end"][sel], y_end)), "")
        table["REC"] = np.where(closed, d["e_rec"][sel], "")
        table["REASON_PLACE_CHANGE"] = np.where(closed, d["e_reason"][sel], "")
        for name in ("HOME_POST", "PL_POST", "URN"):
            table[name] = ep[name][sel]
        folder = out_dir / "ssda903" / folder_name / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        _write_csv(folder / "episodes.csv", EPISODE_COLUMNS, table)

        kids = np.unique(e_child[sel])
        kids = kids[np.argsort(d["c_ref"][kids], kind="stable")]
        dob = d["c_dob"][kids]
        female = d["c_sex"][kids] == 2
        age_end = (y_end - dob) / periods.DAYS_PER_YEAR
        mother_now = d["c_mother"][kids] & (d["c_mc_dob"][kids] <= y_end)
        mother = np.where(female & (age_end >= 12), np.where(mother_now, "1", "0"), "")
        at_school = age_end >= 4.5
        # SEX is 1 / 2 to 2023-24 and M / F from 2024-25 (the DfE's guidance of each year)
        sex_code = np.array(["", "1", "2"]) if year <= 2024 else np.array(["", "M", "F"])
        header = {
            "CHILD": d["c_ref"][kids], "SEX": sex_code[d["c_sex"][kids]], "DOB": date_strings(dob),
            "ETHNIC": d["c_ethnic"][kids], "UPN": np.where(at_school, d["c_upn"][kids], "UN1"),
            "MOTHER": mother, "MC_DOB": np.where(mother == "1", date_strings(d["c_mc_dob"][kids]), ""),
        }
        _write_csv(folder / "header.csv", HEADER_COLUMNS, header)
        ua = kids[d["c_uasc"][kids]]
        uasc_table = {
            "CHILD": d["c_ref"][ua], "SEX": sex_code[d["c_sex"][ua]], "DOB": date_strings(d["c_dob"][ua]),
            "DUC": date_strings(d["c_day18"][ua]),
        }
        _write_csv(folder / "uasc.csv", UASC_COLUMNS, uasc_table)
    return placements


def _write_csv(path: Path, columns: tuple[str, ...], values: dict[str, np.ndarray]) -> None:
    arrays = []
    for name in columns:
        v = np.asarray(values[name]).astype(str)
        arrays.append(pa.array(v.astype(object), type=pa.string(), mask=(v == "")))
    table = pa.table(arrays, names=list(columns))
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none"))
