"""The returns a build may use: after every ingest step and its blocking raw checks, what stands and what is held
back (audit.included_files, audit.held_back_files). Staging reads only included files; build_coverage reports it."""

import dagster as dg

from ingest import audit
from orchestration.defs.ofsted.assets import RAW_TABLES as OFSTED_TABLES
from orchestration.defs.placement_costs.assets import RAW_TABLES as PLACEMENT_COST_TABLES
from orchestration.defs.spend.assets import RAW_TABLES as SPEND_TABLES
from orchestration.defs.ssda903.assets import RAW_TABLES as SSDA903_TABLES
from orchestration.lib import settings
from orchestration.lib.warehouse import WarehouseResource

RAW_KEYS = [*OFSTED_TABLES.values(), *SSDA903_TABLES.values(), *SPEND_TABLES.values(),
            *PLACEMENT_COST_TABLES.values()]


TABLES = {
    "load_log": "One row per source file and load: path, sha256, source, LA, reference date, rows, status, error.",
    "return_files": "Every loaded or failed file with the return it belongs to (return_key, LA, period).",
    "return_holds": "One row per blocking check x file it failed (raw or staging layer), with the message.",
    "held_back_files": "The files of held-back returns: every file of the return landed with a failing one.",
    "included_files": "Of each file path, the latest loaded version not held back: what staging reads.",
}


@dg.multi_asset(
    name="returns",
    specs=[dg.AssetSpec(["audit", table], deps=RAW_KEYS, group_name="audit", kinds={"duckdb"}, description=text)
           for table, text in TABLES.items()],
    pool=settings.WAREHOUSE_POOL,
    can_subset=False,
)
def returns(warehouse: WarehouseResource):
    """Runs after every ingest step and its blocking raw checks."""
    with warehouse.connect() as con:
        audit.ensure_audit_schema(con)
        included = dict(con.execute(
            "select source, count(*) from audit.included_files group by all order by 1").fetchall())
        held = con.execute(
            "select f.source, f.path, string_agg(distinct h.check_name, '; ') from audit.held_back_files as b "
            "inner join audit.return_files as f on b.file_sha256 = f.file_sha256 "
            "left join audit.return_holds as h on b.file_sha256 = h.file_sha256 group by all order by 1, 2"
        ).fetchall()
    for table in TABLES:
        metadata = {}
        if table == "included_files":
            metadata = {f"files_{source}": count for source, count in included.items()}
        if table == "held_back_files":
            metadata = {"held_back": dg.MetadataValue.md(
                "\n".join(f"- {source} `{path}`: {checks or 'with its return'}" for source, path, checks in held)
                or "none")}
        yield dg.MaterializeResult(asset_key=["audit", table], metadata=metadata)
