"""Run a GX suite on a DataFrame that DuckDB produced, keep the result for Data Docs.

GX's SQL data source over DuckDB fails (MetricResolutionError), so every suite runs on a pandas frame:
one file or one snapshot at a time, or an aggregate computed in SQL first, never a whole large table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from expectations.offline_docs import make_offline

logging.getLogger("great_expectations").setLevel(logging.WARNING)

DATASOURCE = "warehouse_frames"
DOCS_SITE = "warehouse_docs"


@dataclass
class SuiteOutcome:
    suite: str
    batch: str
    success: bool
    evaluated: int
    failures: list[str] = field(default_factory=list)
    failing_rows: set | None = None  # frame index of the rows that failed; None: the whole batch


@lru_cache(maxsize=4)
def _context(gx_root: str, docs_dir: str):
    context = gx.get_context(mode="file", project_root_dir=gx_root)
    sites = context.get_config().data_docs_sites or {}
    site_config = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    if DOCS_SITE in sites:
        context.update_data_docs_site(DOCS_SITE, site_config)
    else:
        context.add_data_docs_site(DOCS_SITE, site_config)
    context.data_sources.add_or_update_pandas(name=DATASOURCE)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


class SuiteRunner:
    """Validates frames against suites; results land in the GX file context under gx_root, docs in docs_dir."""

    def __init__(self, gx_root: Path, docs_dir: Path):
        Path(gx_root).mkdir(parents=True, exist_ok=True)
        Path(docs_dir).mkdir(parents=True, exist_ok=True)
        self.docs_dir = Path(docs_dir).resolve()
        self.context = _context(str(Path(gx_root).resolve()), str(self.docs_dir))

    def validate(self, suite: gx.ExpectationSuite, frame: pd.DataFrame, batch: str,
                 failing_rows: bool = False) -> SuiteOutcome:
        """failing_rows: also say which rows failed (GX's COMPLETE result format: costly on a big frame, so only
        for frames with a row per return)."""
        context = self.context
        suite = context.suites.add_or_update(suite)
        datasource = context.data_sources.get(DATASOURCE)
        asset_name = suite.name
        try:
            asset = datasource.get_asset(asset_name)
        except LookupError:
            asset = datasource.add_dataframe_asset(name=asset_name)
        try:
            batch_definition = asset.get_batch_definition("whole_frame")
        except (KeyError, LookupError, ValueError):
            batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{suite.name}", data=batch_definition, suite=suite)
        )
        result = definition.run(batch_parameters={"dataframe": frame},
                                result_format="COMPLETE" if failing_rows else "SUMMARY")
        failures = []
        rows: set | None = set() if failing_rows else None
        for item in result.results:
            if not item.success:
                indexes = (item.result or {}).get("unexpected_index_list")
                if rows is not None and indexes is not None:
                    rows |= set(indexes)
                else:
                    rows = None  # a table-level expectation: the whole batch failed
                config = item.expectation_config
                details = {k: v for k, v in (item.result or {}).items() if k in ("unexpected_count", "observed_value", "partial_unexpected_list")}
                kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
                failures.append(f"{config.type} {kwargs}: {details}")
        return SuiteOutcome(suite.name, batch, bool(result.success), len(result.results), failures,
                            rows if not result.success else None)

    def build_docs(self) -> None:
        """GX Data Docs, with the libraries GX takes from CDNs copied in, so that they open with no network."""
        self.context.build_data_docs(site_names=[DOCS_SITE])
        make_offline(self.docs_dir)
