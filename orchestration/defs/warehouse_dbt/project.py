"""The one dbt project, and how its nodes become Dagster assets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from orchestration.lib import settings

settings.warehouse_db()  # exports an absolute WAREHOUSE_DB before dbt parses the profile
settings.memory_limit()  # and WAREHOUSE_MEMORY_LIMIT, which the profile reads

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
if not dbt_project.manifest_path.exists():
    # CI, pytest and `make` prepare the manifest first; this saves a first `dagster dev`, or a copy of the project
    # (WAREHOUSE_DBT_PROJECT_DIR), from failing. The dbt beside this Python, which PATH may not hold.
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "parse", "--quiet", "--profiles-dir", "."],
                   cwd=settings.DBT_PROJECT_DIR, check=True)


class WarehouseTranslator(DagsterDbtTranslator):
    """Models and seeds are keyed <schema>/<name> (staging/stg_..., marts/dim_...); sources keep their meta key."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        return dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "dbt"


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
