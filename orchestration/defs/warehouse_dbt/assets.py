"""dbt models as assets, in three steps (seeds + staging, intermediate, marts) so that the GX checks between
them can stop what lies downstream: a blocking check cannot stop the rest of a single dbt invocation.
A dbt test runs with the model it is attached to, so a test that refers to a later layer (a relationships
test from staging to intermediate) must be attached to the later model instead.

A staging check that held a return back (audit.return_holds, layer 'staging') did so after staging was built:
the intermediate step first rebuilds staging without it, so the last good version of that return stands.

A dbt test of staging or intermediate that fails on rows of some returns holds those returns back
(orchestration/lib/dbt_holds.py) and the step builds its layer again without them; only then are its events
reported, so Dagster sees the build that stands. Holds made after staging are released when staging starts: each
build judges them again with today's rules, seeds and overrides."""


import json

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.warehouse_dbt.project import dbt_project, translator
from orchestration.lib import settings
from orchestration.lib.dbt_holds import failed_nodes, record_holds, release_holds, returns_failing
from orchestration.lib.warehouse import connect_warehouse

LAYERS = {
    "dbt_staging": "resource_type:seed path:models/staging",
    "dbt_intermediate": "path:models/intermediate",
    "dbt_marts": "path:models/marts path:models/audit",
}
# the layers whose failing tests are judged per return (their rows carry file provenance)
JUDGED_PER_RETURN = {"dbt_staging": "staging", "dbt_intermediate": "intermediate"}
MAX_REBUILDS = 2


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
        if name == "dbt_staging":
            with connect_warehouse(db) as con:
                released = release_holds(con)
            if released:
                context.log.info(f"{released} hold(s) made after staging last time: judged again in this build")
        held = _held_back_at_staging(db, context.run_id) if name == "dbt_intermediate" else []
        if held:
            context.log.warning("returns held back at staging: rebuilding staging without them: " + ", ".join(held))
            _rebuild_staging(dbt)
        if name not in JUDGED_PER_RETURN:
            yield from dbt.cli(["build"], context=context).stream()
            return
        for attempt in range(MAX_REBUILDS + 1):
            invocation = dbt.cli(["build"], context=context, raise_on_error=False)
            events = list(invocation.stream())
            failed = failed_nodes(invocation.get_artifact("run_results.json"))
            if not failed:
                yield from events
                return
            with connect_warehouse(db) as con:
                failures = returns_failing(con, _manifest(), failed)
                if failures.unowned or attempt == MAX_REBUILDS:
                    yield from events
                    raise dg.Failure(
                        description="dbt failures that no single return owns: " + "; ".join(failures.unowned or [
                            f"still failing after {MAX_REBUILDS} rebuilds without the returns they held back"]),
                    )
                record_holds(con, failures, JUDGED_PER_RETURN[name], context.run_id)
            context.log.warning(
                f"dbt tests failed on rows of {failures.held_files} file(s): their returns are held back and "
                f"{JUDGED_PER_RETURN[name]} is built again without them: "
                + "; ".join(sorted({m for messages in failures.holds.values() for m in messages})))
            if name == "dbt_intermediate":
                _rebuild_staging(dbt)

    return _assets


def _rebuild_staging(dbt: DbtCliResource) -> None:
    dbt.cli(["run", "--select", LAYERS["dbt_staging"].split(" ", 1)[1]],
            manifest=dbt_project.manifest_path, dagster_dbt_translator=translator).wait()


def _manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text())


def _held_back_at_staging(db, run_id: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [row[0] for row in con.execute(
            "select distinct f.path from audit.return_holds as h "
            "inner join audit.return_files as f on h.file_sha256 = f.file_sha256 "
            "where h.layer = 'staging' and h.run_id = ? and h.check_name not like 'dbt test %' order by 1",
            [run_id]).fetchall()]


DBT_ASSETS = [_layer_assets(name, select) for name, select in LAYERS.items()]
