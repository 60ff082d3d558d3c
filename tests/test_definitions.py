"""The Dagster code location loads, and its graph runs from inbox files to marts."""

from __future__ import annotations

import json

import dagster as dg


def test_definitions_load_with_every_dbt_node_as_an_asset(dbt_manifest):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    manifest = json.loads(dbt_manifest.read_text())
    models = {f"{n['schema']}/{n['name']}" for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")}
    assert models <= keys
    for mart in ("marts/dim_provider", "marts/dim_local_authority", "marts/mart_market_supply"):
        assert mart in keys


def test_every_dbt_source_is_landed_by_an_ingest_asset(dbt_manifest):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    manifest = json.loads(dbt_manifest.read_text())
    for source in manifest["sources"].values():
        key = dg.AssetKey(source["meta"]["dagster"]["asset_key"])
        node = graph.get(key)
        assert node.is_materializable, f"{key} (dbt source {source['name']}) has no asset that lands it"
    staged = graph.get(dg.AssetKey(["staging", "stg_ofsted__providers"]))
    assert dg.AssetKey(["raw", "ofsted_providers"]) in staged.parent_keys


def test_gx_checks_are_blocking_at_each_layer(dbt_manifest):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    gx_checks = {key: graph.get_check_spec(key) for key in graph.asset_check_keys if key.name.startswith("gx_")}
    layers = {key.asset_key.path[0] for key in gx_checks}
    assert {"raw", "staging", "marts"} <= layers
    assert all(spec.blocking for spec in gx_checks.values())


def test_schedule_and_sensor_target_the_full_build(dbt_manifest):
    from orchestration.definitions import defs

    assert defs.get_schedule_def("daily_build").job_name == "build_everything"
    assert defs.get_sensor_def("inbox_sensor").job_name == "build_everything"
