"""What an ingest asset reports: errors in the run log, one MaterializeResult per raw table."""

from typing import Callable, Iterator

import dagster as dg

from ingest import audit


def ingest_results(
    context: dg.AssetExecutionContext,
    outcomes: list[audit.FileLoad],
    tables: dict[str, dg.AssetKey],
    totals: dict[str, int],
    table_of: Callable[[audit.FileLoad], str] = lambda outcome: outcome.kind,
) -> Iterator[dg.MaterializeResult]:
    """`tables` maps a name to its raw table's asset key, `totals` the name to its rows now, `table_of` a file's
    outcome to the name of the table it landed in."""
    failed = [o for o in outcomes if o.status == audit.FAILED]
    for outcome in failed:
        context.log.error(f"{outcome.path}: {outcome.error}")
    for name, key in tables.items():
        mine = [o for o in outcomes if table_of(o) == name and o.status in audit.GOOD_STATUSES]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "rows_in_table": totals[name],
                "files_loaded_now": len(mine),
                "rows_loaded_now": sum(o.rows_loaded for o in mine),
                "rows_quarantined_now": sum(o.rows_quarantined for o in mine),
                "files_failed_now": dg.MetadataValue.md(
                    "\n".join(f"- `{o.path}`: {o.error}" for o in failed) or "none"
                ),
            },
        )
