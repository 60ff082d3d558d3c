"""Blocking Dagster asset checks that run a GX suite over batches DuckDB hands out (per file, per snapshot)."""


from typing import Callable, Sequence

import dagster as dg
import great_expectations as gx

from expectations.runner import SuiteRunner
from orchestration.lib import settings
from orchestration.lib.warehouse import WarehouseResource


def gx_asset_check(
    *,
    name: str,
    asset: dg.AssetKey,
    suite: Callable[[], gx.ExpectationSuite],
    batches_sql: str | None,
    batch_sql: str,
    description: str,
    additional_deps: Sequence[dg.AssetKey] = (),
) -> dg.AssetChecksDefinition:
    """batches_sql lists batch keys (first column is the key); batch_sql takes one key and returns the frame.
    With batches_sql None, batch_sql runs once and its result is the single batch."""

    @dg.asset_check(
        name=name,
        asset=asset,
        blocking=True,
        description=description,
        pool=settings.WAREHOUSE_POOL,
        additional_deps=list(additional_deps),
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        runner = SuiteRunner(settings.gx_root(), settings.docs_dir() / "gx")
        outcomes = []
        with warehouse.connect(read_only=True) as con:
            keys = [row[0] for row in con.execute(batches_sql).fetchall()] if batches_sql else [None]
            frames = [
                (str(key), con.execute(batch_sql, [key] if key is not None else []).df()) for key in keys
            ]
        for key, frame in frames:
            outcomes.append(runner.validate(suite(), frame, key))
        runner.build_docs()
        failed = [outcome for outcome in outcomes if not outcome.success]
        return dg.AssetCheckResult(
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                f"GX suite {name}: {len(outcomes) - len(failed)} of {len(outcomes)} batches passed"
                if outcomes else f"GX suite {name}: nothing to validate yet"
            ),
            metadata={
                "suite": name,
                "batches": len(outcomes),
                "failed_batches": [outcome.batch for outcome in failed],
                "failures": dg.MetadataValue.md(
                    "\n".join(f"- **{o.batch}**: {f}" for o in failed for f in o.failures) or "none"
                ),
                "data_docs": dg.MetadataValue.path(str(settings.docs_dir() / "gx" / "index.html")),
            },
        )

    return _check
