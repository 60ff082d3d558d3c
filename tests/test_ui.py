"""`make ui` serves the real Dagster webserver and daemon, with this code location loaded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import REPO

QUERY = """
{ assetNodes { assetKey { path } }
  repositoriesOrError { ... on RepositoryConnection { nodes { name schedules { name } sensors { name } } } } }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dagster_ui_and_daemon_serve_the_asset_graph(tmp_path, dbt_manifest):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_DB": str(tmp_path / "warehouse.duckdb"),
           "DO_NOT_TRACK": "1"}
    dagster = Path(sys.executable).parent / "dagster"
    log = open(tmp_path / "ui.log", "w")
    process = subprocess.Popen(
        [str(dagster), "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        answer = None
        deadline = time.time() + 180
        while time.time() < deadline and process.poll() is None:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": QUERY}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                answer = json.loads(urllib.request.urlopen(request, timeout=10).read())
                if answer.get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            time.sleep(2)
        assert answer and answer["data"]["assetNodes"], (tmp_path / "ui.log").read_text()[-3000:]
        keys = {"/".join(node["assetKey"]["path"]) for node in answer["data"]["assetNodes"]}
        assert {"raw/ofsted_providers", "staging/stg_ofsted__providers", "marts/mart_market_supply"} <= keys
        repository = answer["data"]["repositoriesOrError"]["nodes"][0]
        assert {s["name"] for s in repository["schedules"]} == {"daily_build"}
        assert {s["name"] for s in repository["sensors"]} == {"inbox_sensor"}
        # the daemon (schedules, sensors) runs beside the webserver and reports healthy to it
        health_query = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
        healthy = {}
        deadline = time.time() + 120
        while time.time() < deadline and not (healthy.get("SCHEDULER") and healthy.get("SENSOR")):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": health_query}).encode(),
                headers={"Content-Type": "application/json"},
            )
            statuses = json.loads(urllib.request.urlopen(request, timeout=10).read())["data"]["instance"]
            healthy = {d["daemonType"]: d["healthy"] for d in statuses["daemonHealth"]["allDaemonStatuses"]}
            time.sleep(2)
        assert healthy.get("SCHEDULER") and healthy.get("SENSOR"), healthy
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
