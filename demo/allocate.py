"""Places in registered settings for every LA's residential spells together, never beyond a setting's places.

Children's homes are shared by all LAs, so their places are allocated once for the whole run, after every LA has
said what it needs (a request per spell: class of setting, where the child comes from (its home postcode), whether
the LA wanted it inside its area and within 20 miles, start and end). Distances are the DfE's, from the child's home
postcode to the setting's (demo.geography), so the band a setting falls in is the one the truth will record.

Capacity is kept per setting per calendar month: `free[setting, month]` starts at the places that hold on every
day of the month (register.Register.capacity) and a spell takes one place in every month it touches, from the
month it starts to the month of its end date (DEC, the day it ceased, included), both months whole. Counting a
spell in the whole of its first and last months is conservative: on any day the children in a setting are at most
the spells touching that month (a child leaving and one arriving on the same day both counted), so no setting is
ever over its places on any date.

Months are processed in order; the spells starting in a month are placed in rounds. In each round every spell
still waiting picks the best setting with a free place in every month of its stay (score: the cell it asked for,
nearness, an LA's own homes first, the national pull of the setting's provider group and the LA's relationship with
it (demo.purchasing: within the cell, CELL_WEIGHT), plus Gumbel noise from the run's random stream); each setting
accepts its best-scoring pick; the rest try again against the updated capacity. A spell that no setting can take
(no free place anywhere for its whole stay) stays without a setting: it is written as a placement in an
unregistered setting, as happens when there is no registered place to be had.
"""

from __future__ import annotations

import numpy as np

from demo.geography import Geography
from demo.purchasing import LA_SETTINGS, SettingGroups
from demo.register import Register, first_day_of_month, month_number

CLASS_NAMES = ("CH", "SCH", "RFC", "RSS")
# A setting outside the cell the spell asked for (inside / outside the LA, within / over 20 miles) loses
# CELL_WEIGHT x (4 points for the locality, 3.5 for the distance band): more than the provider group's pull and the
# LA's relationship with it (demo.purchasing) nearly ever make up, so those choose among the settings of the cell.
CELL_WEIGHT = 3.0
MAX_ROUNDS = 60


def allocate(
    reg: Register, geo: Geography, requests: list[dict], las: list[int], seed: int, last_day: int,
    groups: SettingGroups | None = None,
) -> list[np.ndarray]:
    """Setting (register index, -1 none) per request, for each LA's request dict (same order as `las`)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 903])))
    sizes = [len(r["spell"]) for r in requests]
    if sum(sizes) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in requests]
    keys = ("klass", "origin", "home_pc", "inside", "far", "start", "end")
    cat = {key: np.concatenate([r[key] for r in requests]) for key in keys}
    la_of = np.repeat(np.array(las, dtype=np.int32), sizes)
    la_row = np.repeat(np.arange(len(las), dtype=np.int32), sizes)
    groups = groups if groups is not None else SettingGroups.of(reg)
    affinity = np.stack([groups.affinity(geo.las[la].gss_code, seed) for la in las])  # [LA of the run, setting]
    result = np.full(len(la_of), -1, dtype=np.int64)
    m_first = int(month_number(cat["start"].min()))
    m_last = int(month_number(last_day))
    months = np.arange(m_first, m_last + 1)
    start_m = month_number(cat["start"]) - m_first
    # The end day (DEC) counts too: on the day one child leaves and another arrives, both are counted.
    end_m = np.minimum(month_number(cat["end"]), m_last) - m_first

    for klass, _ in enumerate(CLASS_NAMES):
        settings = np.flatnonzero(reg.klass == CLASS_NAMES[klass])
        want = np.flatnonzero(cat["klass"] == klass)
        if not len(settings) or not len(want):
            continue
        free = reg.capacity(months, settings)  # [setting, month]
        s_la = reg.la[settings]
        s_pc = reg.postcode[settings]
        s_snap_sector = reg.sector  # [snapshot, setting]
        log_places = 0.5 * np.log(np.maximum(reg.places.max(axis=0)[settings], 1))
        by_month = want[np.argsort(start_m[want], kind="stable")]
        bounds = np.searchsorted(start_m[by_month], np.arange(len(months) + 1))
        for m in range(len(months)):
            batch = by_month[bounds[m]:bounds[m + 1]]
            if not len(batch):
                continue
            horizon = int(end_m[batch].max()) + 1
            run_min = np.minimum.accumulate(free[:, m:horizon], axis=1)  # [setting, months from m]
            length = end_m[batch] - m
            snap = reg.snapshot_at(first_day_of_month(months[m]))
            la_run = s_snap_sector[snap, settings] == "Local Authority"
            d = geo.miles(cat["home_pc"][batch][:, None], s_pc[None, :])  # DfE miles, home to setting postcode
            same_la = s_la[None, :] == la_of[batch][:, None]
            locality_miss = same_la != cat["inside"][batch][:, None]
            band_miss = ((d > 20.0) != cat["far"][batch][:, None]) | (d == 20.0)  # 20.0: either side, rounded
            base = (-CELL_WEIGHT * (4.0 * locality_miss + 3.5 * band_miss) - d / 50.0 + log_places[None, :]
                    + np.where(la_run[None, :], np.where(same_la, 2.0, -3.0) + LA_SETTINGS,
                               affinity[np.ix_(la_row[batch], settings)]))
            base = base - np.log(-np.log(rng.random(base.shape)))
            waiting = np.arange(len(batch))
            for _ in range(MAX_ROUNDS):
                if not len(waiting):
                    break
                ok = run_min[:, length[waiting]].T >= 1  # [waiting, setting]
                score = np.where(ok, base[waiting], -np.inf)
                pick = np.argmax(score, axis=1)
                best = score[np.arange(len(waiting)), pick]
                has = np.isfinite(best)
                waiting, pick, best = waiting[has], pick[has], best[has]  # the rest: nothing free anywhere
                if not len(waiting):
                    break
                # Each setting takes its best-scoring pick this round.
                order = np.lexsort((-best, pick))
                first = np.ones(len(order), dtype=bool)
                first[1:] = pick[order][1:] != pick[order][:-1]
                won = order[first]
                taken = pick[won]
                result[batch[waiting[won]]] = settings[taken]
                # One place less in every month of each accepted stay.
                span = np.arange(run_min.shape[1])[None, :] <= length[waiting[won]][:, None]
                free[taken, m:horizon] -= span.astype(free.dtype)
                run_min[taken] = np.minimum.accumulate(free[taken, m:horizon], axis=1)
                lost = np.ones(len(waiting), dtype=bool)
                lost[won] = False
                waiting = waiting[lost]
    return list(np.split(result, np.cumsum(sizes)[:-1]))
