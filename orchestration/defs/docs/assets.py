"""The documentation sites beside the warehouse (settings.docs_dir()), opening from file:// with no network.

- docs/dbt/index.html: `dbt docs generate --static`, one self-contained page (manifest and catalog inlined), built
  after the marts are published; dbt reads the warehouse catalog, so it runs in the warehouse pool.
- docs/gx/: GX Data Docs of every validation result, written here once a build (and by a GX check that fails,
  so that a build that stops there shows why), made offline by expectations/offline_docs.py.

`make docs` runs the same for an existing warehouse: `python -m orchestration.defs.docs.assets`.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.lib import settings

STATIC_PAGE = "static_index.html"

# dbt's static page, as dbt 1.11 writes it, makes requests that fail from file://: an SVG <use> whose href is still
# an Angular template when the browser first sees it, and a favicon link webpack never filled in.
PAGE_FIXES = [
    ('xlink:href="{{', 'ng-attr-href="{{'),
    ("href=\"${require('./assets/favicons/favicon.ico')}\"", 'href="data:,"'),
]


def dbt_docs_dir() -> Path:
    return settings.docs_dir() / "dbt"


def offline_dbt_page(html: str) -> str:
    for old, new in PAGE_FIXES:
        html = html.replace(old, new)
    return html


def generate_dbt_docs(dbt: DbtCliResource, out_dir: Path | None = None) -> tuple[Path, int]:
    """Write dbt's static docs page to out_dir/index.html (docs/dbt/ beside the warehouse); returns the page and
    how many models it documents. dbt's other artifacts go to a temporary target folder, never dbt_project/target,
    which Dagster and other builds read."""
    out = Path(out_dir or dbt_docs_dir())
    out.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=".dbt-docs-", dir=out.parent))
    try:
        dbt.cli(["docs", "generate", "--static"], target_path=target, raise_on_error=True).wait()
        html = (target / STATIC_PAGE).read_text(encoding="utf-8")
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        models = sum(1 for node in manifest["nodes"].values() if node["resource_type"] == "model")
        page = out / "index.html"
        partial = out / ".index.html.partial"
        partial.write_text(offline_dbt_page(html), encoding="utf-8")
        partial.replace(page)  # a reader sees the old page or the new one
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return page, models


@dg.asset(
    key=["docs", "dbt"],
    deps=[dg.AssetKey(["published", "marts"])],
    group_name="docs",
    kinds={"dbt", "html"},
    pool=settings.WAREHOUSE_POOL,
    description="docs/dbt/index.html and docs/gx/ beside the warehouse: dbt docs as one static page and GX Data "
                "Docs, both opening with no network (WAREHOUSE_DOCS=0 skips them).",
)
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> dg.MaterializeResult:
    if not settings.build_docs():
        context.log.info("WAREHOUSE_DOCS=0: no docs written")
        return dg.MaterializeResult(metadata={"skipped": "WAREHOUSE_DOCS=0"})
    page, models = generate_dbt_docs(dbt)
    context.log.info(f"dbt docs: {page}")
    build_gx_docs()
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(page)),
        "models": models,
        "gx_data_docs": dg.MetadataValue.path(str(settings.docs_dir() / "gx" / "index.html")),
    })


def build_gx_docs() -> Path:
    """GX Data Docs of every validation result so far, made offline (expectations/offline_docs.py)."""
    from expectations.runner import SuiteRunner

    site = settings.docs_dir() / "gx"
    SuiteRunner(settings.gx_root(), site).build_docs()
    return site


def main() -> int:
    """`make docs`: the dbt docs page of the warehouse in $WAREHOUSE_DB, and its GX Data Docs made offline."""
    from orchestration.defs.warehouse_dbt.project import dbt_project

    if not settings.warehouse_db().exists():
        print(f"No warehouse at {settings.warehouse_db()}: build it first (make build or make demo).")
        return 1
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
    page, models = generate_dbt_docs(dbt)
    gx_site = build_gx_docs() if settings.gx_root().exists() else settings.docs_dir() / "gx"
    print(f"dbt docs ({models} models): {page}")
    print(f"GX Data Docs: {gx_site / 'index.html'}" if (gx_site / "index.html").exists() else
          "GX Data Docs: none yet (every build writes them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
