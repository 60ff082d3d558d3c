"""What leaves the published marts for people: per grouping, a workbook with CSV and Parquet, and the report.

Both read only the published copy (never the working warehouse), after it is swapped in, so they show exactly
what leads query; a grouping with no data still gets its files, saying so.
"""

from datetime import datetime, timezone

import dagster as dg
import duckdb

from exports.groupings import groupings
from exports.workbooks import write_grouping_exports
from orchestration.defs.publish.assets import published_path
from orchestration.lib import settings


@dg.asset(
    key=["exports", "workbooks"],
    deps=[["published", "marts"]],
    group_name="published",
    kinds={"excel", "parquet", "csv"},
    description="warehouse/exports/<grouping>/: per region and consortium an Excel workbook (cover with coverage, "
                "one sheet per mart, column descriptions) and CSV and Parquet of the same suppressed tables.",
)
def grouping_exports(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    exports_dir = settings.exports_dir()
    exports_dir.mkdir(parents=True, exist_ok=True)
    built_at = datetime.fromtimestamp(published_path().stat().st_mtime, tz=timezone.utc)
    written, incomplete = [], {}
    wanted = settings.export_groupings()
    with duckdb.connect(str(published_path()), read_only=True) as con:
        for grouping in groupings(con):
            if wanted is not None and not {grouping.name.lower(), grouping.slug} & wanted:
                continue
            export = write_grouping_exports(con, grouping, exports_dir, built_at)
            written.append(f"{grouping.slug}/{export.workbook.name}")
            if export.incomplete:
                incomplete[grouping.name] = len(export.incomplete)
    if incomplete:
        context.log.warning("exports say they are incomplete for: "
                            + ", ".join(f"{name} ({n} returns)" for name, n in incomplete.items()))
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(exports_dir)),
        "workbooks": dg.MetadataValue.md("\n".join(f"- {w}" for w in written)),
        "groupings": len(written),
    })
