"""The Dagster code location: one asset graph from inbox files to marts, checked by dbt tests and GX suites."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.audit.assets import returns
from orchestration.defs.docs.assets import dbt_docs
from orchestration.defs.exports.assets import grouping_exports
from orchestration.defs.ofsted.assets import ofsted_register
from orchestration.defs.ofsted.checks import CHECKS as OFSTED_CHECKS
from orchestration.defs.placement_costs.assets import placement_cost_extracts
from orchestration.defs.placement_costs.checks import CHECKS as PLACEMENT_COSTS_CHECKS
from orchestration.defs.providers.checks import CHECKS as PROVIDERS_CHECKS
from orchestration.defs.publish.assets import published_marts
from orchestration.defs.spend.assets import spend_files
from orchestration.defs.spend.checks import CHECKS as SPEND_CHECKS
from orchestration.defs.ssda903.assets import ssda903_returns, ssda903_rule_failures
from orchestration.defs.ssda903.checks import CHECKS as SSDA903_CHECKS
from orchestration.defs.schedules import build_everything, daily_build, inbox_sensor
from orchestration.defs.warehouse_dbt.assets import DBT_ASSETS
from orchestration.defs.warehouse_dbt.project import dbt_project
from orchestration.lib.warehouse import WarehouseResource

defs = dg.Definitions(
    assets=[ofsted_register, ssda903_returns, spend_files, placement_cost_extracts, returns, *DBT_ASSETS,
            ssda903_rule_failures,
            published_marts, grouping_exports,
            dbt_docs],
    asset_checks=[*OFSTED_CHECKS, *SSDA903_CHECKS, *SPEND_CHECKS, *PLACEMENT_COSTS_CHECKS, *PROVIDERS_CHECKS],
    jobs=[build_everything],
    schedules=[daily_build],
    sensors=[inbox_sensor],
    resources={
        "warehouse": WarehouseResource(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
    },
    # One step at a time in one process: DuckDB takes one writer, and dbt, ingest and GX all open the file.
    executor=dg.in_process_executor,
)
