"""Counts of fewer than 5 children shown as "c" (the DfE convention), with secondary suppression.

Rules come from each mart column's `meta: suppress:` in the dbt docs (exports/manifest.py):
  suppress: count                          a count of children: 1 to 4 is suppressed (0 is shown)
  suppress: {derived_from: [a, b]}         a share, median or average over counts: suppressed with any of them
  suppress: {total_of: [a, b]}             a count that totals the parts a, b in the same row: no equation of
                                           total and parts may have exactly one suppressed cell
  suppress: {summed_by: [k1, k2]}          a count whose sum over the rows sharing k1, k2 is published elsewhere
                                           (another mart, another sheet): no such group may hold exactly one
                                           suppressed cell
  total_of and summed_by also take a list of lists, for a count that totals several sets of parts (children
  looked after = the placement types = the age bands) or is summed along several keys.
Secondary cells are the smallest unsuppressed counts of the equation or group, so the least is hidden. Everything is
column-wise pandas: no loop over rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from exports.manifest import mart_docs

SUPPRESSED = "c"
SMALLEST_SHOWN = 5
_MAX_ROUNDS = 20


Pairs = list[tuple[str, list[str]]]


def _lists(value) -> list[list[str]]:
    """[a, b] -> [[a, b]]; [[a, b], [c]] stays."""
    value = list(value or [])
    if not value:
        return []
    return [list(v) for v in value] if value and all(isinstance(v, (list, tuple)) for v in value) else [value]


def _pairs(mapping: dict[str, list] | Pairs | None) -> Pairs:
    if not mapping:
        return []
    items = mapping.items() if isinstance(mapping, dict) else mapping
    return [(column, parts) for column, value in items for parts in _lists(value)]


def _rules(mart: str) -> tuple[list[str], dict[str, list[str]], Pairs, Pairs]:
    counts, derived, totals, sums = [], {}, [], []
    for column, rule in mart_docs()[mart].suppression.items():
        rule = {"count": True} if rule == "count" else dict(rule or {})
        if "derived_from" in rule:
            derived[column] = list(rule["derived_from"])
            continue
        counts.append(column)
        totals += [(column, parts) for parts in _lists(rule.get("total_of"))]
        sums += [(column, keys) for keys in _lists(rule.get("summed_by"))]
    return counts, derived, totals, sums


def _smallest_unsuppressed(values: pd.DataFrame, mask: pd.DataFrame) -> pd.Series:
    """Per row, the column holding the smallest value not yet suppressed (positive values first)."""
    candidates = values.where(~mask)
    ranked = candidates.where(candidates > 0, candidates + 1e12)  # hide a zero only when nothing else is left
    return ranked.fillna(np.inf).idxmin(axis=1)


def suppression_mask(frame: pd.DataFrame, counts: list[str], derived: dict[str, list[str]] | None = None,
                     totals: dict[str, list] | Pairs | None = None,
                     sums: dict[str, list] | Pairs | None = None) -> pd.DataFrame:
    """True where a cell is to be shown as "c". totals/sums: {column: parts or keys (or lists of them)} or pairs."""
    derived, totals, sums = derived or {}, _pairs(totals), _pairs(sums)
    counts = [c for c in counts if c in frame.columns]
    numbers = (frame[counts].apply(pd.to_numeric, errors="coerce").astype("float64") if counts
               else pd.DataFrame(index=frame.index))
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    if counts:
        mask[counts] = ((numbers >= 1) & (numbers < SMALLEST_SHOWN)).to_numpy(dtype=bool)
    for _ in range(_MAX_ROUNDS):
        changed = False
        for total, parts in totals:
            cells = [c for c in [total, *parts] if c in numbers.columns]
            if len(cells) < 2:
                continue
            alone = mask[cells].sum(axis=1) == 1
            if alone.any():
                pick = _smallest_unsuppressed(numbers.loc[alone, cells], mask.loc[alone, cells])
                for column in pick.unique():
                    mask.loc[pick.index[pick == column], column] = True
                changed = True
        for column, keys in sums:
            keys = [k for k in keys if k in frame.columns]
            if column not in numbers.columns or not keys:
                continue
            group = frame.groupby(keys, dropna=False, sort=False).ngroup()
            suppressed_in_group = mask[column].groupby(group).transform("sum")
            rows_in_group = mask[column].groupby(group).transform("size")
            exposed = (suppressed_in_group == 1) & (rows_in_group > 1)
            if exposed.any():
                candidates = numbers[column].where(exposed & ~mask[column])
                candidates = candidates.where(candidates > 0, candidates + 1e12)
                pick = candidates.groupby(group[exposed]).idxmin().dropna()
                if len(pick):
                    mask.loc[pick.to_numpy(), column] = True
                    changed = True
        if not changed:
            break
    for column, sources in derived.items():
        sources = [s for s in sources if s in mask.columns]
        if column in mask.columns and sources:
            mask[column] = mask[sources].any(axis=1)
    return mask.fillna(False).astype(bool)


def apply_mask(frame: pd.DataFrame, mask: pd.DataFrame) -> pd.DataFrame:
    result = frame.copy()
    for column in mask.columns[mask.any(axis=0).to_numpy()]:
        values = result[column].astype(object)
        result[column] = values.where(values.notna(), None).where(~mask[column], SUPPRESSED)
    return result


def suppress_counts(frame: pd.DataFrame, counts: list[str], derived: dict[str, list[str]] | None = None,
                    totals: dict[str, list] | Pairs | None = None,
                    sums: dict[str, list] | Pairs | None = None) -> pd.DataFrame:
    """A copy of frame with "c" in every suppressed cell (object dtype in those columns)."""
    return apply_mask(frame, suppression_mask(frame, counts, derived, totals, sums))


def suppress_mart(frame: pd.DataFrame, mart: str) -> pd.DataFrame:
    """suppress_counts with the mart's own rules from the dbt docs."""
    if mart not in mart_docs():
        return frame.copy()
    counts, derived, totals, sums = _rules(mart)
    return suppress_counts(frame, counts, derived, totals, sums)
