"""GX Data Docs that open from file:// with no network.

GX's page templates load jQuery, Bootstrap 4, Popper, bootstrap-table, bootstrap-datepicker, Font Awesome, a
dark Bootstrap theme, Vega and its logo from public CDNs. After every docs build the site gets local copies,
taken at build time from packages our lock installs (never kept in this repository), and every page's CDN
addresses are rewritten to relative ones:

| CDN piece | offline |
|---|---|
| jQuery 3.7 | xstatic-jquery |
| Bootstrap 4 css and js, Popper | xstatic-bootstrap (4.x): bootstrap.bundle.min.js carries Popper |
| Font Awesome 6 | xstatic-font-awesome (css and webfonts) |
| Vega, Vega-Lite, vega-embed | vl-convert-python's javascript_bundle (one script sets window.vega/vegaLite/vegaEmbed) |
| GX logo | GX's own static/images |
| bootstrap-table (+ filter-control) | no package ships it: offline_table.js (ours) renders the same tables plainly |
| bootstrap-datepicker | dropped: only the filter controls of bootstrap-table used it |
| bootstrap-prefers-dark | dropped, with GX's own dark-mode rules: the pages are always light |

`make_offline(site)` is idempotent; `network_references(site)` lists what still points at the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR = "static/vendor"
STAMP = "versions.json"
OFFLINE_TABLE = Path(__file__).with_name("offline_table.js")
GX_ASSETS_HOST = "great-expectations-web-assets.s3.us-east-2.amazonaws.com"

# CDN address (searched in the URL) -> file under static/vendor/, or None: the tag is dropped.
SCRIPTS: list[tuple[str, str | None]] = [
    (r"/jquery-3[\d.]*(\.min)?\.js$", "jquery/jquery.min.js"),
    (r"/popper(\.min)?\.js$", None),  # inside bootstrap.bundle.min.js
    (r"/bootstrap/4[\d.]*/js/bootstrap(\.bundle)?(\.min)?\.js$", "bootstrap/js/bootstrap.bundle.min.js"),
    (r"/bootstrap-table@[\d.]+/dist/bootstrap-table(\.min)?\.js$", "offline-table.js"),
    (r"/bootstrap-table@[\d.]+/dist/extensions/", None),
    (r"/bootstrap-datepicker", None),
    (r"/npm/vega@\d", None),  # the bundle below holds Vega and Vega-Lite
    (r"/npm/vega-lite@\d", None),
    (r"/npm/vega-embed@\d", "vega/vega-embed-bundle.js"),
]
STYLESHEETS: list[tuple[str, str | None]] = [
    (r"/bootstrap/4[\d.]*/css/bootstrap(\.min)?\.css$", "bootstrap/css/bootstrap.min.css"),
    (r"/font-awesome/6[\d.]*/css/all(\.min)?\.css$", "font-awesome/css/all.min.css"),
    (r"/bootstrap-table@", None),
    (r"/bootstrap-datepicker", None),
    (r"/bootstrap-dark@", None),
]

SCRIPT_TAG = re.compile(r"<script\b[^>]*?\bsrc\s*=\s*[\"'](?P<url>(?:https?:)?//[^\"']+)[\"'][^>]*>\s*</script>"
                        r"[ \t]*\n?", re.IGNORECASE)
LINK_TAG = re.compile(r"<link\b[^>]*?\bhref\s*=\s*[\"'](?P<url>(?:https?:)?//[^\"']+)[\"'][^>]*>[ \t]*\n?",
                      re.IGNORECASE)
IMG_SRC = re.compile(r"(?P<head><img\b[^>]*?\bsrc\s*=\s*[\"'])(?P<url>(?:https?:)?//[^\"']+)(?P<tail>[\"'])",
                     re.IGNORECASE)
CSS_GX_ASSET = re.compile(r"url\(\s*['\"]?(?:https?:)?//" + re.escape(GX_ASSETS_HOST) + r"/[^'\")]*['\"]?\s*\)")
DARK_MODE = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)")
FAVICON = re.compile(r"(href=[\"'])(?:\./|(?:\.\./)+)?static/images/favicon\.ico([\"'])")
# what `network_references` reports: a script, stylesheet, image or frame loaded from the network
NETWORK_LOAD = re.compile(r"<(?:script|img|iframe|source|embed)\b[^>]*?\bsrc\s*=\s*[\"']((?:https?:)?//[^\"']+)"
                          r"|<link\b[^>]*?\bhref\s*=\s*[\"']((?:https?:)?//[^\"']+)"
                          r"|url\(\s*['\"]?((?:https?:)?//[^'\")]+)", re.IGNORECASE)


def _versions() -> dict[str, str]:
    found = {}
    for package in ("xstatic-jquery", "xstatic-bootstrap", "xstatic-font-awesome", "vl-convert-python"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    found["offline-table"] = hashlib.sha256(OFFLINE_TABLE.read_bytes()).hexdigest()
    return found


@lru_cache(maxsize=1)
def _vega_bundle() -> str:
    """Vega, Vega-Lite 5 (GX loads vega-lite@5) and vega-embed in one classic script setting window globals;
    wrapped in a function so that its top-level names stay out of the page's global scope."""
    import vl_convert

    fives = [v for v in vl_convert.get_vegalite_versions() if v.startswith("5.")]
    bundle = vl_convert.javascript_bundle(vl_version=fives[-1]) if fives else vl_convert.javascript_bundle()
    return "(function () {\n" + bundle + "\n})();\n"


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def vendor_assets(site: Path) -> Path:
    """Copy the pages' libraries into site/static/vendor from the installed packages (once per their versions)."""
    vendor = Path(site) / VENDOR
    versions = _versions()
    stamp = vendor / STAMP
    if stamp.exists() and json.loads(stamp.read_text()) == versions:
        return vendor
    import xstatic.pkg.bootstrap as bootstrap
    import xstatic.pkg.font_awesome as font_awesome
    import xstatic.pkg.jquery as jquery

    staging = vendor.with_name(f".vendor-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    jquery_dir, bootstrap_dir, fa_dir = Path(jquery.BASE_DIR), Path(bootstrap.BASE_DIR), Path(font_awesome.BASE_DIR)
    _copy(jquery_dir / "jquery.min.js", staging / "jquery" / "jquery.min.js")
    for name in ("css/bootstrap.min.css", "css/bootstrap.min.css.map", "js/bootstrap.bundle.min.js",
                 "js/bootstrap.bundle.min.js.map"):
        if (bootstrap_dir / name).exists():
            _copy(bootstrap_dir / name, staging / "bootstrap" / name)
    _copy(fa_dir / "css" / "all.min.css", staging / "font-awesome" / "css" / "all.min.css")
    for font in (fa_dir / "webfonts").iterdir():
        _copy(font, staging / "font-awesome" / "webfonts" / font.name)
    if (fa_dir / "LICENSE.txt").exists():
        _copy(fa_dir / "LICENSE.txt", staging / "font-awesome" / "LICENSE.txt")
    (staging / "vega").mkdir(parents=True, exist_ok=True)
    (staging / "vega" / "vega-embed-bundle.js").write_text(_vega_bundle(), encoding="utf-8")
    _copy(OFFLINE_TABLE, staging / "offline-table.js")
    (staging / STAMP).write_text(json.dumps(versions, indent=1))
    shutil.rmtree(vendor, ignore_errors=True)
    vendor.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(vendor)
    return vendor


def _target(url: str, table: list[tuple[str, str | None]]) -> tuple[bool, str | None]:
    for pattern, target in table:
        if re.search(pattern, url):
            return True, target
    return False, None


def localise_page(html: str, root: str) -> tuple[str, list[str]]:
    """The page with every CDN load pointed at root + static/...; root is the relative path from the page to the
    site's root ("" or "../../"). Returns the page and the network addresses it had no local copy for (dropped)."""
    unknown: list[str] = []
    emitted: set[str] = set()

    def tag(match: re.Match, table, make) -> str:
        url = match.group("url")
        known, target = _target(url, table)
        if not known:
            unknown.append(url)
            return ""
        if target is None or target in emitted:
            return ""
        emitted.add(target)
        return make(f"{root}{VENDOR}/{target}") + "\n"

    def link(match: re.Match) -> str:
        if not re.search(r"\brel\s*=\s*[\"']?stylesheet", match.group(0), re.IGNORECASE):
            unknown.append(match.group("url"))  # a preload or icon from the network: dropped
            return ""
        return tag(match, STYLESHEETS, lambda href: f'<link rel="stylesheet" href="{href}">')

    # integrity and crossorigin go with the CDN tags: a file:// page fails a crossorigin load
    html = SCRIPT_TAG.sub(lambda m: tag(m, SCRIPTS, lambda src: f'<script src="{src}"></script>'), html)
    html = LINK_TAG.sub(link, html)

    def image(match: re.Match) -> str:
        url = match.group("url")
        name = url.split("?", 1)[0].rsplit("/", 1)[-1]
        if GX_ASSETS_HOST in url:
            local = name if name in ("logo-long.png", "short-logo.png", "favicon.ico") else "logo-long.png"
            return f"{match.group('head')}{root}static/images/{local}{match.group('tail')}"
        unknown.append(url)
        return f"{match.group('head')}data:,{match.group('tail')}"

    html = IMG_SRC.sub(image, html)
    html = CSS_GX_ASSET.sub(f"url('{root}static/images/logo-long.png')", html)
    html = DARK_MODE.sub("@media not all", html)  # no dark Bootstrap theme offline: GX's dark rules would clash
    html = FAVICON.sub(lambda m: f"{m.group(1)}{root}static/images/favicon.ico{m.group(2)}", html)
    return html, unknown


def make_offline(site: Path) -> int:
    """Vendor the libraries into the site and rewrite every page under it; returns how many pages changed."""
    site = Path(site)
    if not (site / "index.html").exists():
        return 0
    vendor_assets(site)
    changed = 0
    for page in site.rglob("*.html"):
        if VENDOR in page.relative_to(site).as_posix():
            continue
        original = page.read_text(encoding="utf-8")
        depth = len(page.relative_to(site).parts) - 1
        html, unknown = localise_page(original, "../" * depth)
        for url in unknown:
            log.warning("GX Data Docs %s: dropped %s (no local copy)", page.relative_to(site), url)
        if html != original:
            temporary = page.with_name(f".{page.name}.offline")
            temporary.write_text(html, encoding="utf-8")
            temporary.replace(page)
            changed += 1
    return changed


def network_references(folder: Path) -> dict[str, list[str]]:
    """Page (relative to folder) -> every script, stylesheet, image or CSS url() it loads from the network."""
    folder = Path(folder)
    found: dict[str, list[str]] = {}
    for page in sorted(folder.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        urls = [next(g for g in match.groups() if g) for match in NETWORK_LOAD.finditer(text)]
        if urls:
            found[page.relative_to(folder).as_posix()] = urls
    return found
