"""When the warehouse rebuilds: every morning, and soon after a file lands in the inbox."""

from __future__ import annotations

import hashlib

import dagster as dg

from orchestration.lib import settings

build_everything = dg.define_asset_job(
    "build_everything",
    selection=dg.AssetSelection.all(),
    description="Land every inbox file, build every dbt model, run every dbt test and GX suite.",
)

daily_build = dg.ScheduleDefinition(
    name="daily_build", job=build_everything, cron_schedule="0 6 * * *", execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def _inbox_fingerprint() -> str:
    """Names, sizes and modification times of every inbox file: changes when a file is dropped or replaced."""
    inbox = settings.inbox_dir()
    entries = sorted(
        f"{p.relative_to(inbox)}|{p.stat().st_size}|{p.stat().st_mtime_ns}"
        for p in inbox.rglob("*") if p.is_file()
    ) if inbox.exists() else []
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


@dg.sensor(job=build_everything, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext):
    fingerprint = _inbox_fingerprint()
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed files in the inbox")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint)
