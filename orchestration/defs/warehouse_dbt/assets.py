"""dbt models as assets, in three steps (seeds + staging, intermediate, marts) so that the GX checks between
them can stop what lies downstream: a blocking check cannot stop the rest of a single dbt invocation.
A dbt test runs with the model it is attached to, so a test that refers to a later layer (a relationships
test from staging to intermediate) must be attached to the later model instead.

A staging check that held a return back (audit.return_holds, layer 'staging') did so after staging was built:
the intermediate step first rebuilds staging without it, so the last good version of that return stands."""


import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.warehouse_dbt.project import dbt_project, translator
from orchestration.lib import settings

LAYERS = {
    "dbt_staging": "resource_type:seed path:models/staging",
    "dbt_intermediate": "path:models/intermediate",
    "dbt_marts": "path:models/marts path:models/audit",
}


def _layer_assets(name: str, select: str) -> dg.AssetsDefinition:
    @dbt_assets(
        name=name,
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=select,
        dagster_dbt_translator=translator,
        pool=settings.WAREHOUSE_POOL,
    )
    def _assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        db = settings.warehouse_db()
        held = _held_back_at_staging(db, context.run_id) if name == "dbt_intermediate" else []
        if held:
            context.log.warning("returns held back at staging: rebuilding staging without them: " + ", ".join(held))
            dbt.cli(["run", "--select", LAYERS["dbt_staging"].split(" ", 1)[1]],
                    manifest=dbt_project.manifest_path, dagster_dbt_translator=translator).wait()
        yield from dbt.cli(["build"], context=context).stream()

    return _assets


def _held_back_at_staging(db, run_id: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [row[0] for row in con.execute(
            "select distinct f.path from audit.return_holds as h "
            "inner join audit.return_files as f on h.file_sha256 = f.file_sha256 "
            "where h.layer = 'staging' and h.run_id = ? order by 1", [run_id]).fetchall()]


DBT_ASSETS = [_layer_assets(name, select) for name, select in LAYERS.items()]
