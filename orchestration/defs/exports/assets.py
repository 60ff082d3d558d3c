"""What leaves the published marts for people: per grouping, a workbook with CSV and Parquet, and the report.

Both read only the published copy (never the working warehouse), after it is swapped in, so they show exactly
what leads query; a grouping with no data still gets its files, saying so.
"""

from datetime import datetime, timezone

import dagster as dg

from exports.run import write_all
from orchestration.defs.publish.assets import published_path
from orchestration.lib import settings


@dg.asset(
    key=["exports", "groupings"],
    deps=[["published", "marts"]],
    group_name="published",
    kinds={"excel", "parquet", "csv", "html"},
    description="Per region and consortium: warehouse/exports/<grouping>/ (an Excel workbook with a cover of "
                "what is in and what is not, a sheet per mart and the column descriptions; CSV and Parquet of the "
                "same suppressed tables) and the self-contained report warehouse/reports/<grouping>.html.",
)
def grouping_exports(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    built_at = datetime.fromtimestamp(published_path().stat().st_mtime, tz=timezone.utc)
    outputs = write_all(published_path(), settings.exports_dir(), settings.reports_dir(), built_at,
                        settings.export_groupings())
    incomplete = [o for o in outputs if o.incomplete]
    if incomplete:
        context.log.warning("exports and reports say they are incomplete for: "
                            + ", ".join(f"{o.grouping} ({len(o.incomplete)})" for o in incomplete))
    return dg.MaterializeResult(metadata={
        "exports": dg.MetadataValue.path(str(settings.exports_dir())),
        "reports": dg.MetadataValue.path(str(settings.reports_dir())),
        "groupings": dg.MetadataValue.md("\n".join(
            f"- {o.grouping}: `{o.slug}/` and `{o.slug}.html` ({o.seconds} s)"
            + (f", incomplete: {len(o.incomplete)} line(s)" if o.incomplete else "") for o in outputs) or "none"),
        "grouping_count": len(outputs),
    })
