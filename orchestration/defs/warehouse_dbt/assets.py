"""dbt models as assets, in three steps (seeds + staging, intermediate, marts) so that the GX checks between
them can stop what lies downstream: a blocking check cannot stop the rest of a single dbt invocation.
A dbt test runs with the model it is attached to, so a test that refers to a later layer (a relationships
test from staging to intermediate) must be attached to the later model instead."""


import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.warehouse_dbt.project import dbt_project, translator
from orchestration.lib import settings

LAYERS = {
    "dbt_staging": "resource_type:seed path:models/staging",
    "dbt_intermediate": "path:models/intermediate",
    "dbt_marts": "path:models/marts",
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
        settings.warehouse_db()
        yield from dbt.cli(["build"], context=context).stream()

    return _assets


DBT_ASSETS = [_layer_assets(name, select) for name, select in LAYERS.items()]
