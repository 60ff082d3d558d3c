"""Counts of fewer than 5 children shown as "c" (the DfE convention), with secondary suppression across every table of
one export.

Rules come from each mart column's `meta: suppress:` in the dbt docs (exports/manifest.py):
  suppress: count                          a count of children: 1 to 4 is suppressed (0 is shown)
  suppress: {derived_from: [a, b]}         a share, median or average over counts: suppressed with any of them
  suppress: {total_of: [a, b]}             a count that totals the parts a, b in the same row
  suppress: {summed_by: [k1, k2]}          a count whose sum over the rows sharing k1, k2 is published elsewhere
  suppress: {sums_to: [{mart: m, by: [k1, k2], columns: [x, y]}]}
                                           the count summed over the rows sharing k1, k2 is tied to the cells x, y
                                           of the row of mart m with the same keys (their sum or difference: only
                                           which cells are tied matters here). `columns` defaults to this column's
                                           own name; `by` may map names ({host_la_gss_code: la_gss_code});
                                           `column_from: placement_type` takes the other mart's column from this
                                           row's value (renamed by `column_names: {other: other_placements}`).
  total_of and summed_by also take a list of lists, for a count that totals several sets of parts (children
  looked after = the placement types = the age bands) or is summed along several keys.

Every rule but derived_from is an equation among cells, possibly of two tables (another sheet of the same
workbook). An equation with exactly one suppressed cell reveals it, so the smallest unsuppressed cell of each such
equation is suppressed too (secondary suppression), over all equations of all tables at once, until no equation
has exactly one. The cells of every table are numbered into one array and equations are (equation, cell) pairs:
numpy and pandas group-bys, no loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from exports.manifest import mart_docs

SUPPRESSED = "c"
SMALLEST_SHOWN = 5
ZERO_LAST = 1e12  # a zero reveals nothing by itself: hidden only when an equation has nothing else left

Pairs = list[tuple[str, list[str]]]


@dataclass(frozen=True)
class Link:
    """`column` summed over the rows sharing `by` (this table's names -> the other's) is tied to cells of `mart`."""
    column: str
    mart: str
    by: dict[str, str]
    columns: tuple[str, ...] = ()
    column_from: str | None = None
    column_names: dict[str, str] = field(default_factory=dict)


@dataclass
class Rules:
    counts: list[str] = field(default_factory=list)
    derived: dict[str, list[str]] = field(default_factory=dict)
    totals: Pairs = field(default_factory=list)
    sums: Pairs = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


def _lists(value) -> list[list[str]]:
    """[a, b] -> [[a, b]]; [[a, b], [c]] stays."""
    value = list(value or [])
    if not value:
        return []
    return [list(v) for v in value] if all(isinstance(v, (list, tuple)) for v in value) else [value]


def _pairs(mapping: dict[str, list] | Pairs | None) -> Pairs:
    if not mapping:
        return []
    items = mapping.items() if isinstance(mapping, dict) else mapping
    return [(column, parts) for column, value in items for parts in _lists(value)]


def _link(column: str, spec: dict) -> Link:
    by = spec["by"]
    by = dict(by) if isinstance(by, dict) else {key: key for key in by}
    columns = tuple(spec.get("columns") or ([] if spec.get("column_from") else [column]))
    return Link(column, spec["mart"], by, columns, spec.get("column_from"), dict(spec.get("column_names") or {}))


def mart_rules(mart: str) -> Rules:
    """The mart's rules from its dbt docs (none for a mart that has no documented child counts)."""
    rules = Rules()
    doc = mart_docs().get(mart)
    for column, rule in (doc.suppression.items() if doc else []):
        rule = {"count": True} if rule == "count" else dict(rule or {})
        if "derived_from" in rule:
            rules.derived[column] = list(rule["derived_from"])
            continue
        rules.counts.append(column)
        rules.totals += [(column, parts) for parts in _lists(rule.get("total_of"))]
        rules.sums += [(column, keys) for keys in _lists(rule.get("summed_by"))]
        specs = rule.get("sums_to") or []
        rules.links += [_link(column, spec) for spec in ([specs] if isinstance(specs, dict) else specs)]
    return rules


class _Cells:
    """Every count cell of every table, numbered: table t's column c, row r is cell base[t, c] + r."""

    def __init__(self, tables: dict[str, pd.DataFrame], rules: dict[str, Rules]):
        self.tables, self.rules, self.base = tables, rules, {}
        values, size = [], 0
        for name, frame in tables.items():
            for column in [c for c in rules[name].counts if c in frame.columns]:
                self.base[name, column] = size
                values.append(pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan))
                size += len(frame)
        self.values = np.concatenate(values) if values else np.zeros(0)
        self.hidden = (self.values >= 1) & (self.values < SMALLEST_SHOWN)
        self.equations: list[np.ndarray] = []  # equation ids, one per member
        self.members: list[np.ndarray] = []  # cell ids
        self.count = 0

    def add(self, equations: np.ndarray, cells: np.ndarray) -> None:
        """Equations numbered 0.. locally; renumbered after the ones already added."""
        if len(cells):
            self.equations.append(np.asarray(equations, dtype=np.int64) + self.count)
            self.members.append(np.asarray(cells, dtype=np.int64))
            self.count += int(equations.max()) + 1

    def rows(self, name: str, column: str) -> np.ndarray:
        return self.base[name, column] + np.arange(len(self.tables[name]))

    def add_totals(self, name: str, total: str, parts: list[str]) -> None:
        cells = [c for c in [total, *parts] if (name, c) in self.base]
        if len(cells) > 1:
            rows = np.arange(len(self.tables[name]))
            self.add(np.tile(rows, len(cells)), np.concatenate([self.rows(name, c) for c in cells]))

    def add_sums(self, name: str, column: str, keys: list[str]) -> None:
        frame = self.tables[name]
        keys = [k for k in keys if k in frame.columns]
        if (name, column) in self.base and keys and len(frame):
            group = frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
            self.add(group, self.rows(name, column))

    def add_link(self, name: str, link: Link) -> None:
        frame, target = self.tables[name], self.tables.get(link.mart)
        group_keys = list(link.by) + ([link.column_from] if link.column_from else [])
        if (target is None or (name, link.column) not in self.base or not len(frame) or not len(target)
                or not set(group_keys) <= set(frame.columns) or not set(link.by.values()) <= set(target.columns)):
            return
        source = frame[group_keys].copy()
        source["_group"] = source.groupby(group_keys, dropna=False, sort=False).ngroup().to_numpy()
        source["_cell"] = self.rows(name, link.column)
        rows = target[list(link.by.values())].rename(columns={v: k for k, v in link.by.items()})
        rows["_row"] = np.arange(len(target))
        matched = source.drop_duplicates("_group")[group_keys + ["_group"]].merge(rows, on=list(link.by))
        if matched.empty:
            return
        matched["_equation"] = np.arange(len(matched))
        from_source = source[["_group", "_cell"]].merge(matched[["_group", "_equation"]], on="_group")
        equations, cells = [from_source["_equation"].to_numpy()], [from_source["_cell"].to_numpy()]
        for column in link.columns:
            if (link.mart, column) in self.base:
                equations.append(matched["_equation"].to_numpy())
                cells.append(self.base[link.mart, column] + matched["_row"].to_numpy())
        if link.column_from:
            bases = matched[link.column_from].map(
                lambda value: self.base.get((link.mart, link.column_names.get(value, value))))
            known = bases.notna().to_numpy()
            equations.append(matched["_equation"].to_numpy()[known])
            cells.append(bases[known].to_numpy(dtype=np.int64) + matched["_row"].to_numpy()[known])
        if len(cells) > 1:
            self.add(np.concatenate(equations), np.concatenate(cells))

    def settle(self) -> None:
        """Hide the smallest shown cell of every equation with exactly one hidden, until there is none."""
        if not self.members:
            return
        equation, cell = np.concatenate(self.equations), np.concatenate(self.members)
        value = self.values[cell]
        rank = np.where(value > 0, value, value + ZERO_LAST)  # NaN: unknown, never picked
        while True:
            hidden_in = np.bincount(equation, weights=self.hidden[cell], minlength=self.count)
            candidate = (hidden_in[equation] == 1) & ~self.hidden[cell] & ~np.isnan(value)
            if not candidate.any():
                return
            order = np.lexsort((rank[candidate], equation[candidate]))
            picked_equations = equation[candidate][order]
            first = np.r_[True, picked_equations[1:] != picked_equations[:-1]]
            self.hidden[cell[candidate][order][first]] = True

    def masks(self) -> dict[str, pd.DataFrame]:
        result = {}
        for name, frame in self.tables.items():
            mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
            for column in self.rules[name].counts:
                if (name, column) in self.base:
                    mask[column] = self.hidden[self.rows(name, column)]
            for column, sources in self.rules[name].derived.items():
                sources = [s for s in sources if s in mask.columns]
                if column in mask.columns and sources:
                    mask[column] = mask[sources].any(axis=1)
            result[name] = mask
        return result


def suppression_masks(tables: dict[str, pd.DataFrame], rules: dict[str, Rules]) -> dict[str, pd.DataFrame]:
    """True where a cell is to be shown as "c", every table's equations and the links between them settled together."""
    rules = {name: rules.get(name) or Rules() for name in tables}
    cells = _Cells(tables, rules)
    for name in tables:
        for total, parts in rules[name].totals:
            cells.add_totals(name, total, parts)
        for column, keys in rules[name].sums:
            cells.add_sums(name, column, keys)
        for link in rules[name].links:
            cells.add_link(name, link)
    cells.settle()
    return cells.masks()


def suppression_mask(frame: pd.DataFrame, counts: list[str], derived: dict[str, list[str]] | None = None,
                     totals: dict[str, list] | Pairs | None = None,
                     sums: dict[str, list] | Pairs | None = None) -> pd.DataFrame:
    """One table's mask. totals/sums: {column: parts or keys (or lists of them)} or pairs."""
    rules = Rules(list(counts), dict(derived or {}), _pairs(totals), _pairs(sums))
    return suppression_masks({"table": frame}, {"table": rules})["table"]


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


def suppress_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every mart of one export suppressed together, with each mart's rules from the dbt docs."""
    masks = suppression_masks(tables, {name: mart_rules(name) for name in tables})
    return {name: apply_mask(frame, masks[name]) for name, frame in tables.items()}


def suppress_mart(frame: pd.DataFrame, mart: str) -> pd.DataFrame:
    """One mart on its own, with its rules from the dbt docs (its links to marts not given are left out)."""
    return suppress_tables({mart: frame})[mart]
