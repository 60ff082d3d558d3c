"""`warehouse lineage MART --where "col = value" ...`: the source records behind one mart row.

How a mart row reaches its rows is declared once, beside the mart, in its dbt .yml (`config: meta: lineage:`), and
read here from the dbt manifest (dbt_project/target/manifest.json; `make manifest` regenerates it):

    config:
      meta:
        lineage:                          # one trace, or a list of traces (each with a `name`)
          name: spend                     # what the trace explains (optional for a single trace)
          rows: int_spend__lines_classified   # the model whose rows the mart row is made of (alias `rows`)
          join:                           # other models the mart joins them to, each under an alias
            - as: groupings
              model: bridge_local_authority_grouping
              join_on: groupings.la_gss_code = rows.la_gss_code
          match:                          # mart column: the expression it equals on every contributing row
            grouping_name: groupings.grouping_name
            financial_year: rows.financial_year
          where: "categories.is_childrens_placement"   # optional: condition(s) every contributing row meets
          sums: {spend: rows.amount}      # mart column: what each contributing row adds to it (money, nights)
          counts:                         # mart column: how the contributing rows count to it
            transactions: rows            #   rows: one per row; or {distinct: expr, where: condition}
          show: {payment_date: rows.payment_date}   # non-child columns listed beside each row's provenance
          records:                        # only when `rows` carries no provenance: the staged rows it was built from
            model: stg_ssda903__episodes  # (alias `records`), matched to each contributing row by `join_on`
            join_on: "records.la_gss_code = rows.la_gss_code and ..."
            per_row: episodes             # optional: column of `rows` saying how many records each row has
        lineage_not_traced: "text"        # optional: the mart's figures no trace explains (printed)
        lineage_untraceable: "reason"     # a mart whose rows cannot be traced to source records

Expressions are SQL over the aliases (`rows`, the joins, `records`); `ref('model')` in them names another model.
They are project code, reviewed like the models. What the user types (`--where`) never reaches SQL text: the
column is checked against the mart's columns and the value is bound as a parameter.

From the model holding the provenance columns (source_file, file_sha256, source_row_number, load_id) the trace
follows the manifest's parents that carry them too, down to the raw source, and checks each record in each layer.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

PROVENANCE = ("source_file", "file_sha256", "source_row_number", "load_id")
# Columns that identify a child (or could): never selected for output, whatever a lineage block says.
CHILD_COLUMN = re.compile(r"child|placement_key|upn|uasc|dob|birth|postcode", re.IGNORECASE)
MAX_FILES_LISTED = 60  # in the printed summary; the CSV lists every record
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REF = re.compile(r"""ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")

RECORD_NUMBER_HELP = (
    "Record numbers are the warehouse's source_row_number: the 1-based number of the CSV record in the file as "
    "published, counting any title or preamble records and the header (record 1 is the file's first line; a "
    "record whose quoted values hold line breaks counts once, as Python's csv module counts it). Known gap: a "
    "line that is entirely empty below the header is passed over, so the records after it are numbered one lower."
)


class LineageError(Exception):
    """A clear message for the user; the CLI prints it and exits 2."""


# ------------------------------------------------------------------------------------------------ where conditions
@dataclass(frozen=True)
class Condition:
    column: str
    value: str | None  # None: `is null`


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<squote>'(?:[^']|'')*')
      | (?P<dquote>"(?:[^"]|"")*")
      | (?P<op>==|=|!=|<>)
      | (?P<word>[^\s'"=!<>]+)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, at = [], 0
    text = text.strip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise LineageError(f"cannot read the condition {text!r} near {text[at:at + 20]!r} "
                               "(write: column = 'value' [and column = value ...])")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        at = match.end()
        while at < len(text) and text[at].isspace():
            at += 1
    return out


def parse_where(texts: list[str]) -> list[Condition]:
    """`col = 'value'`, `col = value`, `col is null`, joined by `and`; several --where add up."""
    conditions: list[Condition] = []
    for text in texts:
        tokens = _tokens(text)
        i = 0
        while i < len(tokens):
            kind, column = tokens[i]
            if kind != "word" or not IDENTIFIER.match(column):
                raise LineageError(f"expected a column name in {text!r}, found {column!r}")
            if i + 1 >= len(tokens):
                raise LineageError(f"condition {text!r}: '{column}' needs '= value'")
            kind, op = tokens[i + 1]
            if kind == "op" and op in ("!=", "<>"):
                raise LineageError(f"condition {text!r}: only '=' (and 'is null') can pick one mart row")
            if kind == "word" and op.lower() == "is":
                rest = [t[1].lower() for t in tokens[i + 2:i + 4]]
                if rest[:1] != ["null"]:
                    raise LineageError(f"condition {text!r}: '{column} is' must be followed by 'null'")
                conditions.append(Condition(column, None))
                i += 3
            elif kind == "op":
                if i + 2 >= len(tokens):
                    raise LineageError(f"condition {text!r}: '{column} =' needs a value")
                vkind, raw = tokens[i + 2]
                if vkind == "squote":
                    value = raw[1:-1].replace("''", "'")
                elif vkind == "dquote":
                    value = raw[1:-1].replace('""', '"')
                elif vkind == "word":
                    value = raw
                else:
                    raise LineageError(f"condition {text!r}: '{column} =' needs a value")
                conditions.append(Condition(column, None if vkind == "word" and raw.lower() == "null" else value))
                i += 3
            else:
                raise LineageError(f"condition {text!r}: expected '=' after '{column}'")
            if i < len(tokens):
                if tokens[i][0] != "word" or tokens[i][1].lower() != "and":
                    raise LineageError(f"condition {text!r}: join conditions with 'and' (found {tokens[i][1]!r})")
                i += 1
                if i >= len(tokens):
                    raise LineageError(f"condition {text!r} ends with 'and'")
    if not conditions:
        raise LineageError("give at least one --where \"column = value\" to pick the mart row")
    return conditions


# ------------------------------------------------------------------------------------------------ manifest
def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Manifest:
    def __init__(self, path: Path):
        if not path.exists():
            raise LineageError(f"no dbt manifest at {path}: run `make manifest` (dbt parse) first")
        data = json.loads(path.read_text(encoding="utf-8"))
        self.path = path
        self.nodes: dict[str, dict] = {}
        self.by_name: dict[str, str] = {}
        for uid, node in data["nodes"].items():
            if node["resource_type"] in ("model", "seed", "snapshot"):
                self.nodes[uid] = node
                self.by_name.setdefault(node["name"], uid)
        for uid, node in data["sources"].items():
            self.nodes[uid] = node

    def uid(self, model: str) -> str:
        if model not in self.by_name:
            raise LineageError(f"the lineage declaration names '{model}', which is no model of the dbt project "
                               f"({self.path})")
        return self.by_name[model]

    def schema_name(self, uid: str) -> tuple[str, str]:
        node = self.nodes[uid]
        if node["resource_type"] == "source":
            return node["schema"], node.get("identifier") or node["name"]
        return node["schema"], node.get("alias") or node["name"]

    def relation(self, uid: str) -> str:
        return ".".join(quote(part) for part in self.schema_name(uid))

    def label(self, uid: str) -> str:
        return ".".join(self.schema_name(uid))

    def parents(self, uid: str) -> list[str]:
        return [p for p in (self.nodes[uid].get("depends_on") or {}).get("nodes", []) if p in self.nodes]

    def meta(self, uid: str) -> dict:
        node = self.nodes[uid]
        return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}

    def mart(self, name: str) -> str:
        name = name.strip()
        wanted = name.split(".", 1)[1] if name.startswith("marts.") else name
        for uid, node in self.nodes.items():
            if node["resource_type"] == "model" and node["name"] == wanted and node["schema"] == "marts":
                return uid
        marts = sorted(n["name"] for n in self.nodes.values()
                       if n["resource_type"] == "model" and n["schema"] == "marts")
        raise LineageError(f"'{name}' is no mart of the dbt project; marts: {', '.join(marts)}")


def _snippet(text: Any, manifest: Manifest, what: str) -> str:
    """A SQL expression of the lineage declaration (project code), with ref('model') resolved."""
    if not isinstance(text, (str, bool, int)):
        raise LineageError(f"lineage declaration: {what} must be a SQL expression, not {text!r}")
    text = str(text).strip().lower() if isinstance(text, bool) else str(text).strip()
    if ";" in text or "--" in text:
        raise LineageError(f"lineage declaration: {what} must be one expression (no ';' or comments)")
    return REF.sub(lambda m: manifest.relation(manifest.uid(m.group(1))), text)


# ------------------------------------------------------------------------------------------------ traces
@dataclass
class Count:
    column: str
    distinct: str | None = None
    where: str | None = None


@dataclass
class Trace:
    name: str
    rows: str
    joins: list[dict]
    match: dict[str, str]
    where: list[str]
    sums: dict[str, str]
    counts: list[Count]
    show: dict[str, str]
    records: dict | None


def traces_of(meta: dict, mart_name: str) -> list[Trace]:
    block = meta.get("lineage")
    if block is None:
        reason = meta.get("lineage_untraceable")
        if reason:
            raise LineageError(f"{mart_name} cannot be traced to source records: {reason}")
        raise LineageError(f"{mart_name} declares no lineage (no `config: meta: lineage:` in its .yml), so its rows "
                           "cannot be traced here; see orchestration/lineage.py for how to declare it")
    blocks = block if isinstance(block, list) else [block]
    traces = []
    for n, b in enumerate(blocks, start=1):
        if not isinstance(b, dict) or "rows" not in b or "match" not in b:
            raise LineageError(f"{mart_name}: lineage trace {n} needs `rows` and `match`")
        where = b.get("where") or []
        counts = []
        for column, how in (b.get("counts") or {}).items():
            if how in ("rows", None, True):
                counts.append(Count(column))
            elif isinstance(how, dict):
                counts.append(Count(column, how.get("distinct"), how.get("where")))
            else:
                raise LineageError(f"{mart_name}: counts.{column} must be `rows` or {{distinct:, where:}}")
        traces.append(Trace(
            name=str(b.get("name") or b["rows"]),
            rows=b["rows"], joins=list(b.get("join") or []), match=dict(b["match"]),
            where=[where] if isinstance(where, str) else list(where),
            sums=dict(b.get("sums") or {}), counts=counts, show=dict(b.get("show") or {}),
            records=b.get("records"),
        ))
    return traces


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    return dict(con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall())


# ------------------------------------------------------------------------------------------------ the mart row
def find_row(con, manifest: Manifest, mart_uid: str, conditions: list[Condition], keys: list[str]) -> dict:
    schema, table = manifest.schema_name(mart_uid)
    columns = _columns(con, schema, table)
    if not columns:
        raise LineageError(f"{schema}.{table} is not in the warehouse (has it been built?)")
    clauses, params = [], []
    for c in conditions:
        if c.column not in columns:
            raise LineageError(f"unknown column '{c.column}' in {schema}.{table}; its columns are: "
                               f"{', '.join(columns)}")
        if c.value is None:
            clauses.append(f"{quote(c.column)} is null")
        else:
            try:
                con.execute(f"select cast(? as {columns[c.column]})", [c.value]).fetchone()
            except duckdb.Error:
                raise LineageError(f"{c.value!r} is no {columns[c.column]} value for column '{c.column}' of "
                                   f"{schema}.{table}") from None
            clauses.append(f"{quote(c.column)} = cast(? as {columns[c.column]})")
            params.append(c.value)
    relation = manifest.relation(mart_uid)
    where = " and ".join(clauses)
    try:
        n = con.execute(f"select count(*) from {relation} where {where}", params).fetchone()[0]
    except duckdb.ConversionException as error:
        raise LineageError(f"a value does not fit its column's type ({error})") from None
    described = ", ".join(f"{c.column} = {'null' if c.value is None else repr(c.value)}" for c in conditions)
    if n == 0:
        total = con.execute(f"select count(*) from {relation}").fetchone()[0]
        raise LineageError(f"no row of {schema}.{table} (of {total}) has {described}")
    if n > 1:
        used = {c.column for c in conditions}
        others = [c for c in list(dict.fromkeys([*keys, *columns])) if c in columns and c not in used]
        varying = con.execute(
            "select " + ", ".join(f"count(distinct {quote(c)})" for c in others) + f" from {relation} where {where}",
            params).fetchone() if others else []
        hints = [f"{c} ({v} values)" for c, v in zip(others, varying) if v and v > 1]
        grain = [h for h in hints if h.split(" ")[0] in keys]
        rest = [h for h in hints if h.split(" ")[0] not in keys]
        hint = ", ".join(grain) + (f" (the mart's key); or: {', '.join(rest[:8])}" if grain and rest else "") \
            if grain else ", ".join(rest[:12])
        raise LineageError(f"{n} rows of {schema}.{table} have {described}: add a --where on one of: {hint}")
    cursor = con.execute(f"select * from {relation} where {where}", params)
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


# ------------------------------------------------------------------------------------------------ one trace
@dataclass
class TraceResult:
    trace: Trace
    rows_model: str
    layers: list[list[str]]  # labels, from the model holding the rows down to the raw source
    records: list[dict]  # one per source record
    contributing_rows: int
    checks: list[tuple[str, Any, Any, bool]]  # (what, traced, mart's figure, equal)
    problems: list[str]


def _base(trace: Trace, manifest: Manifest, mart_row: dict, mart_label: str) -> tuple[str, list]:
    joins = []
    for j in trace.joins:
        alias = j.get("as")
        if not alias or not IDENTIFIER.match(alias) or alias in ("rows", "records"):
            raise LineageError(f"{mart_label}: every join needs an `as` alias (not rows/records): {j}")
        kind = {"inner": "inner", "left": "left"}[str(j.get("type", "inner")).lower()]
        joins.append(f"{kind} join {manifest.relation(manifest.uid(j['model']))} as {alias} "
                     f"on ({_snippet(_join_on(j, mart_label), manifest, f'join {alias}.join_on')})")
    clauses, params = [], []
    for column, expression in trace.match.items():
        if column not in mart_row:
            raise LineageError(f"{mart_label}: lineage match names '{column}', which is no column of the mart")
        clauses.append(f"({_snippet(expression, manifest, f'match.{column}')}) is not distinct from ?")
        params.append(mart_row[column])
    clauses += [f"({_snippet(w, manifest, 'where')})" for w in trace.where]
    sql = (f"from {manifest.relation(manifest.uid(trace.rows))} as rows {' '.join(joins)} "
           f"where {' and '.join(clauses) or 'true'}")
    return sql, params


def _join_on(block: dict, mart_label: str) -> str:
    # YAML 1.1 reads a bare `on:` key as True: the declaration's key is join_on
    text = block.get("join_on", block.get("on", block.get(True)))
    if not text:
        raise LineageError(f"{mart_label}: lineage join / records block without `join_on`: {block}")
    return text


def _provenance_chain(con, manifest: Manifest, start: str) -> list[list[str]]:
    """Layers of models carrying provenance, from `start` down through its parents to the raw sources."""
    def carries(uid: str) -> bool:
        cols = _columns(con, *manifest.schema_name(uid))
        return "source_file" in cols and "source_row_number" in cols

    layers, current, seen = [[start]], [start], {start}
    while True:
        parents = sorted({p for uid in current for p in manifest.parents(uid) if p not in seen and carries(p)})
        if not parents:
            return layers
        seen.update(parents)
        layers.append(parents)
        current = parents


def run_trace(con, manifest: Manifest, mart_uid: str, trace: Trace, mart_row: dict) -> TraceResult:
    mart_label = manifest.label(mart_uid)
    rows_uid = manifest.uid(trace.rows)
    base, params = _base(trace, manifest, mart_row, mart_label)
    for alias_map in (trace.show,):
        for name in alias_map:
            if CHILD_COLUMN.search(name) or CHILD_COLUMN.search(str(alias_map[name])):
                raise LineageError(f"{mart_label}: lineage `show` may not list '{name}': it could identify a child")

    # figures: sums and counts over the contributing rows, computed in SQL (child ids never leave DuckDB)
    figures = ["count(*)"]
    for column, expression in trace.sums.items():
        figures.append(f"coalesce(sum({_snippet(expression, manifest, f'sums.{column}')}), 0)")
    for count in trace.counts:
        what = f"counts.{count.column}"
        filt = f" filter (where {_snippet(count.where, manifest, what)})" if count.where else ""
        inner = f"distinct {_snippet(count.distinct, manifest, what)}" if count.distinct else "*"
        figures.append(f"count({inner}){filt}")
    got = con.execute(f"select {', '.join(figures)} {base}", params).fetchone()
    contributing = got[0]
    checks = []
    for (column, _), value in zip(trace.sums.items(), got[1:1 + len(trace.sums)]):
        checks.append((f"sum of {column}", value, mart_row.get(column), _equal(value, mart_row.get(column))))
    for count, value in zip(trace.counts, got[1 + len(trace.sums):]):
        what = (f"{count.column} = count(distinct {count.distinct})" if count.distinct else
                f"{count.column} = count of rows") + (f" where {count.where}" if count.where else "")
        what = " ".join(what.split())
        checks.append((what, value, mart_row.get(count.column), _equal(value, mart_row.get(count.column))))

    rows_schema, rows_table = manifest.schema_name(rows_uid)
    rows_cols = _columns(con, rows_schema, rows_table)
    sum_exprs = [f"{_snippet(e, manifest, 'sums')} as {quote('sum:' + c)}" for c, e in trace.sums.items()]
    show_exprs = [f"{_snippet(e, manifest, 'show')} as {quote('show:' + c)}" for c, e in trace.show.items()]
    problems: list[str] = []
    if trace.records:
        rec = trace.records
        records_uid = manifest.uid(rec["model"])
        per_row = rec.get("per_row")
        if per_row and not IDENTIFIER.match(per_row):
            raise LineageError(f"{mart_label}: records.per_row must be a column of {trace.rows}")
        sql = f"""
            with contributing as (
                select rows.* {''.join(', ' + e for e in sum_exprs + show_exprs)} {base}
            ),
            numbered as (select *, row_number() over () as "lineage:row" from contributing)
            select rows."lineage:row", {', '.join(f'records.{p}' for p in PROVENANCE)}
                {''.join(f', rows.{quote("sum:" + c)}' for c in trace.sums)}
                {''.join(f', rows.{quote("show:" + c)}' for c in trace.show)}
                {f', rows.{quote(per_row)}' if per_row else ''}
            from numbered as rows
            inner join {manifest.relation(records_uid)} as records
                on ({_snippet(_join_on(rec, mart_label), manifest, 'records.join_on')})
            order by records.source_file, records.source_row_number
        """
        prov_start = records_uid
    else:
        missing = [p for p in ("source_file", "source_row_number") if p not in rows_cols]
        if missing:
            raise LineageError(f"{mart_label}: {trace.rows} carries no provenance ({', '.join(missing)}) and the "
                               "lineage declares no `records:` step to reach the rows that do")
        prov = [f"rows.{p}" if p in rows_cols else f"null as {p}" for p in PROVENANCE]
        sql = f"""
            select row_number() over () as "lineage:row", {', '.join(prov)}
                {''.join(', ' + e for e in sum_exprs + show_exprs)}
            {base}
            order by rows.source_file, rows.source_row_number
        """
        prov_start = rows_uid
        per_row = None
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    fetched = [dict(zip(names, r)) for r in cursor.fetchall()]
    # number the contributing rows by their first record, so that the numbering says nothing of the data
    order: dict[Any, int] = {}
    for r in fetched:
        order.setdefault(r["lineage:row"], len(order) + 1)
    if trace.records:
        found = len(order)
        if found != contributing:
            problems.append(f"{contributing - found} of {contributing} contributing rows matched no source record")
        if per_row:
            per: dict[Any, int] = {}
            for r in fetched:
                per[r["lineage:row"]] = per.get(r["lineage:row"], 0) + 1
            wrong = sum(1 for r in fetched if per[r["lineage:row"]] != r[per_row])
            if wrong:
                problems.append(f"{wrong} records belong to rows whose {per_row} differs from the records found")
    layers = [[manifest.label(rows_uid)]] if trace.records else []
    chain = _provenance_chain(con, manifest, prov_start)
    layer_labels = [[manifest.label(u) for u in layer] for layer in chain]
    records, summed = [], set()
    for r in fetched:
        # a row made of several records (a spell of several episodes) gives its amounts on its first record only,
        # so that the listed amounts add up to the mart's figure
        first = r["lineage:row"] not in summed
        summed.add(r["lineage:row"])
        records.append({
            "contributing_row": order[r["lineage:row"]],
            **{p: r[p] for p in PROVENANCE},
            **{f"sum:{c}": r[f"sum:{c}"] if first else None for c in trace.sums},
            **{f"show:{c}": r[f"show:{c}"] for c in trace.show},
        })
    _follow_layers(con, manifest, chain, records, problems)
    return TraceResult(trace, manifest.label(rows_uid), layers + layer_labels, records, contributing, checks, problems)


def _follow_layers(con, manifest: Manifest, chain: list[list[str]], records: list[dict], problems: list[str]) -> None:
    """Find each record in every layer of the chain (by file and record number, and sha256 where both have it),
    fill a missing sha256 / load id from the first layer that has them, and note where each record was found."""
    import pyarrow as pa

    listed = pa.table({
        "n": pa.array(range(len(records)), pa.int64()),
        "source_file": pa.array([r["source_file"] for r in records], pa.string()),
        "source_row_number": pa.array([r["source_row_number"] for r in records], pa.int64()),
        "file_sha256": pa.array([r["file_sha256"] for r in records], pa.string()),
    })
    con.register("lineage_listed", listed)
    con.execute("create or replace temp table lineage_records as select * from lineage_listed")
    con.unregister("lineage_listed")
    for r in records:
        r["layers"] = []
    for layer in chain:
        in_layer: set[int] = set()
        for uid in layer:
            cols = _columns(con, *manifest.schema_name(uid))
            sha = "and (r.file_sha256 is null or l.file_sha256 = r.file_sha256)" if "file_sha256" in cols else ""
            extra = [c for c in ("file_sha256", "load_id") if c in cols]
            found = con.execute(
                f"select r.n {''.join(', any_value(l.' + c + ')' for c in extra)} from lineage_records as r "
                f"inner join {manifest.relation(uid)} as l on l.source_file = r.source_file "
                f"and l.source_row_number = r.source_row_number {sha} group by r.n"
            ).fetchall()
            for hit in found:
                in_layer.add(hit[0])
                record = records[hit[0]]
                record["layers"].append(manifest.label(uid))
                for c, v in zip(extra, hit[1:]):
                    if record.get(c) is None:
                        record[c] = v
        # a layer of several models (a join of two files' rows) holds each record in one of them
        if len(in_layer) != len(records):
            problems.append(f"{len(records) - len(in_layer)} of {len(records)} records not found in "
                            f"{' or '.join(manifest.label(uid) for uid in layer)}")
    con.execute("drop table lineage_records")


def _equal(a, b) -> bool:
    if a is None or b is None:
        return (a or 0) == (b or 0)
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) < 1e-6
    return Decimal(str(a)) == Decimal(str(b))


# ------------------------------------------------------------------------------------------------ output
def default_out(db: Path, mart_name: str, now: dt.datetime | None = None) -> Path:
    """warehouse/lineage/<mart>-<timestamp>.csv beside the DuckDB file; the name made of safe characters only, and
    the path checked to stay inside that folder."""
    folder = (db.parent / "lineage").resolve()
    safe = re.sub(r"[^A-Za-z0-9_]+", "_", mart_name).strip("_")[:80] or "mart"
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    path = (folder / f"{safe}-{stamp}.csv").resolve()
    if path.parent != folder:
        raise LineageError(f"refusing to write outside {folder}")
    return path


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if value == value.quantize(Decimal("0.01")) else f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_csv(path: Path, mart_label: str, results: list[TraceResult]) -> int:
    sums = list(dict.fromkeys(c for res in results for c in res.trace.sums))
    shows = list(dict.fromkeys(c for res in results for c in res.trace.show))
    header = ["mart", "trace", "contributing_model", "contributing_row", "source_file", "file_sha256",
              "record_number", "load_id", "layers", *sums, *shows]
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for res in results:
            for r in res.records:
                writer.writerow([
                    mart_label, res.trace.name, res.rows_model, r["contributing_row"], r["source_file"],
                    r["file_sha256"], r["source_row_number"], r["load_id"],
                    " > ".join([mart_label] + ([res.rows_model] if res.trace.records else []) + r["layers"]),
                    *["" if r.get(f"sum:{c}") is None else r.get(f"sum:{c}") for c in sums],
                    *["" if r.get(f"show:{c}") is None else r.get(f"show:{c}") for c in shows],
                ])
                n += 1
    return n


def summarise(mart_label: str, mart_row: dict, results: list[TraceResult], meta: dict, out: Path) -> list[str]:
    lines = [f"{mart_label}, the row where:"]
    key_columns = list(dict.fromkeys(c for res in results for c in res.trace.match))
    figures = list(dict.fromkeys([c for res in results for c in res.trace.sums]
                                 + [c.column for res in results for c in res.trace.counts]))
    for column in key_columns + [c for c in mart_row if c not in key_columns and c not in figures
                                 and not CHILD_COLUMN.search(c)][:6]:
        lines.append(f"  {column:<32} {mart_row[column]}")
    for column in figures:
        lines.append(f"  {column:<32} {_fmt(mart_row.get(column))}")
    for res in results:
        files: dict[tuple, list] = {}
        for r in res.records:
            entry = files.setdefault((r["source_file"], r["file_sha256"]), [0, {c: Decimal(0) for c in res.trace.sums}])
            entry[0] += 1
            for c in res.trace.sums:
                v = r.get(f"sum:{c}")
                if v is not None:
                    entry[1][c] += Decimal(str(v))
        lines.append("")
        lines.append(f"Trace '{res.trace.name}': {res.contributing_rows:,} contributing row(s) of {res.rows_model}, "
                     f"from {len(res.records):,} source record(s) in {len(files)} file(s)")
        lines.append("  layers: " + " > ".join([mart_label] + [" + ".join(layer) for layer in res.layers]))
        listed = sorted(files.items())
        for (path, sha), (count, sums) in listed[:MAX_FILES_LISTED]:
            amounts = "".join(f"  {c} {_fmt(v)}" for c, v in sums.items())
            lines.append(f"  {path}\n      sha256 {sha}  {count:,} record(s){amounts}")
        if len(listed) > MAX_FILES_LISTED:
            lines.append(f"  ... and {len(listed) - MAX_FILES_LISTED:,} more file(s): every one is in the CSV")
        for what, traced, figure, ok in res.checks:
            lines.append(f"  {'OK      ' if ok else 'MISMATCH'} {what}: traced {_fmt(traced)}, mart {_fmt(figure)}")
        for problem in res.problems:
            lines.append(f"  PROBLEM  {problem}")
    if meta.get("lineage_not_traced"):
        lines.append(f"\nNot traced here: {meta['lineage_not_traced']}")
    lines.append(f"\nEvery record listed (CSV): {out}")
    return lines


# ------------------------------------------------------------------------------------------------ entry point
def lineage(mart: str, where: list[str], db: str | None, out: str | None, manifest_path: str | None) -> int:
    from orchestration.lib import settings

    try:
        conditions = parse_where(where)
        db_path = Path(db).expanduser().resolve() if db else settings.warehouse_db()
        if not db_path.exists():
            raise LineageError(f"no warehouse at {db_path} (build it first, or give --db)")
        manifest = Manifest(Path(manifest_path) if manifest_path
                            else settings.DBT_PROJECT_DIR / "target" / "manifest.json")
        mart_uid = manifest.mart(mart)
        mart_label = manifest.label(mart_uid)
        meta = manifest.meta(mart_uid)
        traces = traces_of(meta, mart_label)
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            keys = list(dict.fromkeys(c for t in traces for c in t.match))
            mart_row = find_row(con, manifest, mart_uid, conditions, keys)
            results = [run_trace(con, manifest, mart_uid, t, mart_row) for t in traces]
        finally:
            con.close()
        out_path = Path(out).expanduser().resolve() if out else default_out(db_path, manifest.nodes[mart_uid]["name"])
    except LineageError as error:
        print(f"lineage: {error}", file=sys.stderr)
        return 2
    written = write_csv(out_path, mart_label, results)
    print("\n".join(summarise(mart_label, mart_row, results, meta, out_path)))
    print(f"({written:,} record(s) written)")
    if any(not ok for res in results for *_, ok in res.checks) or any(res.problems for res in results):
        print("\nThe traced records do not account for the mart row exactly (MISMATCH / PROBLEM above).",
              file=sys.stderr)
        return 1
    return 0
