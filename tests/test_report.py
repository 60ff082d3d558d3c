"""The regional report (exports/report.py): one self-contained page per region and consortium, read from the
published marts of the demo build, opened in headless chromium with the network off.

Every chart renders (vega-embed draws an SVG of non-zero size that is not blank), nothing is fetched, a grouping
without data says so, a return held back is named on the first screen, and no count of 1 to 4 children is shown."""

from __future__ import annotations

import base64
import json
import re
import shutil
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from browser import launch_browser, open_page
from exports.groupings import Grouping, groupings
from exports.report import CHARTS, SUPPRESSED, write_report

BUILT_AT = datetime(2025, 6, 30, 9, 0, tzinfo=timezone.utc)
FIRST_SCREEN = (1280, 900)


@pytest.fixture(scope="module")
def published(demo_build) -> Path:
    assert demo_build.returncode == 0, demo_build.output[-5000:]
    return demo_build.db.parent / "published" / "warehouse.duckdb"


@pytest.fixture(scope="module")
def all_groupings(published) -> list[Grouping]:
    with duckdb.connect(str(published), read_only=True) as con:
        return groupings(con)


@pytest.fixture(scope="module")
def report_dir(published, all_groupings) -> Path:
    """The folder of every grouping's report, as the demo build wrote it (demo_build.db.parent / "reports")."""
    return published.parent.parent / "reports"


def _rows(published: Path, sql: str, params: list) -> list[tuple]:
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _has_rows(published: Path, grouping: Grouping, mart: str) -> bool:
    if mart == "mart_provider_group_spend":
        return bool(_rows(published, "select 1 from marts.mart_provider_group_spend "
                                     "where grouping_type = ? and grouping_name = ? limit 1",
                          [grouping.grouping_type, grouping.name]))
    return bool(_rows(published, f"select 1 from marts.{mart} where list_contains(?, la_gss_code) limit 1",
                      [list(grouping.la_gss_codes)]))


@pytest.fixture(scope="module")
def rich(published, all_groupings) -> Grouping:
    """A grouping with spend and SSDA903 data: every chart has something to draw."""
    for grouping in all_groupings:
        if all(_has_rows(published, grouping, mart) for mart in
               ("mart_provider_group_spend", "mart_residential_occupancy", "mart_placement_distance")):
            return grouping
    pytest.fail("the demo build has no grouping with spend and SSDA903 data")


@pytest.fixture(scope="module")
def bare(published, all_groupings) -> Grouping:
    """A grouping with neither spend nor SSDA903 data (most of them in the demo)."""
    for grouping in all_groupings:
        if not any(_has_rows(published, grouping, mart) for mart in
                   ("mart_provider_group_spend", "mart_residential_occupancy")):
            return grouping
    pytest.fail("every grouping of the demo build has data")


class _Tables(HTMLParser):
    """The cells of the table with the given id, row by row (a tiny parser: the page is ours)."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _table(html: str, table_id: str) -> list[list[str]]:
    parser = _Tables(table_id)
    parser.feed(html)
    return [row for row in parser.rows if row]


def test_write_report_returns_rows_plotted(published, rich, tmp_path):
    out = tmp_path / "nested" / "report.html"
    plotted = write_report(published, rich, out, BUILT_AT)
    assert set(plotted) == set(CHARTS)
    assert all(rows > 0 for rows in plotted.values()), plotted
    assert out.exists() and not list(out.parent.glob(".*partial"))


def test_every_grouping_has_a_self_contained_report(report_dir, all_groupings):
    assert len(all_groupings) >= 11
    for grouping in all_groupings:
        html = (report_dir / f"{grouping.slug}.html").read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]*\ssrc\s*=", html, re.I), grouping.slug
        assert not re.search(r"<link[^>]*\shref\s*=\s*[\"']?(https?:)?//", html, re.I), grouping.slug
        assert not re.search(r"<(img|iframe)[^>]*\ssrc\s*=\s*[\"']?(https?:)?//", html, re.I), grouping.slug
        scripts = re.findall(r"<script(?![^>]*application/json)[^>]*>(.*?)</script>", html, re.S)
        assert sum(len(s) > 100_000 for s in scripts) == 1, "Vega inlined once per page"
        specs = re.findall(r'<script type="application/json" data-chart="([a-z_]+)"', html)
        no_data = re.findall(r'id="no-data-([a-z_]+)"', html)
        tables = re.findall(r'<table class="data" id="table-([a-z_]+)"', html)
        assert sorted(specs + no_data + tables) == sorted(CHARTS), grouping.slug
        assert grouping.name.replace("&", "&amp;") in html


def test_a_grouping_without_data_says_so(report_dir, bare):
    html = (report_dir / f"{bare.slug}.html").read_text(encoding="utf-8")
    assert f"no data for spend with provider groups in {bare.name}" in html
    assert f"no data for own children in local children&#39;s homes in {bare.name}" in html
    assert f"No SSDA903 returns for {bare.name}" in html


def _expected_imports(published: Path, grouping: Grouping) -> tuple[int, dict[str, dict[str, int]]]:
    """Other authorities' children in the grouping's settings on the latest 31 March, by placing authority, from
    the mart, unsuppressed."""
    codes = list(grouping.la_gss_codes)
    (year,) = _rows(published, "select max(collection_year) from marts.mart_placement_imports "
                               "where list_contains(?, host_la_gss_code)", [codes])[0]
    rows = _rows(published, """
        select placing_la_name, sum(residential_female), sum(residential_male), sum(residential_placements),
               sum(placements)
        from marts.mart_placement_imports
        where collection_year = ? and list_contains(?, host_la_gss_code) and host_la_gss_code <> placing_la_gss_code
        group by placing_la_gss_code, placing_la_name
    """, [year, codes])
    names = ("residential_female", "residential_male", "residential_placements", "placements")
    return year, {name: dict(zip(names, map(int, counts))) for name, *counts in rows}


def test_imports_table_shows_no_count_under_5(report_dir, published, all_groupings):
    checked = 0
    for grouping in all_groupings:
        html = (report_dir / f"{grouping.slug}.html").read_text(encoding="utf-8")
        if 'id="table-imports"' not in html:
            assert f"no data for other authorities&#39; children placed in {grouping.name}" in html
            continue
        year, expected = _expected_imports(published, grouping)
        table = _table(html, "table-imports")
        header, body, total = table[0], table[1:-1], table[-1]
        assert header[-4:] == ["Residential: girls", "Residential: boys", "Residential: total", "All placements"]
        assert f"31 March {year}" in html
        assert {row[0] for row in body} == set(expected)
        suppressed = 0
        for row in body:
            truth = list(expected[row[0]].values())
            for shown, value in zip(row[-4:], truth):
                if shown == SUPPRESSED:
                    suppressed += 1
                    continue
                assert int(shown.replace(",", "")) == value, (grouping.slug, row)
                assert not 1 <= value <= 4, (grouping.slug, row)
            for shown, value in zip(row[-4:], truth):
                if 1 <= value <= 4:
                    assert shown == SUPPRESSED, (grouping.slug, row)
        sums = [sum(row[c] for row in expected.values()) for c in
                ("residential_female", "residential_male", "residential_placements", "placements")]
        for column, (shown, value) in enumerate(zip(total[-4:], sums)):
            assert shown == SUPPRESSED or int(shown.replace(",", "")) == value
            hidden = sum(row[-4 + column] == SUPPRESSED for row in body)
            assert hidden != 1, f"{grouping.slug}: one suppressed cell in a column whose total is shown"
        checked += suppressed > 0
    assert checked, "the demo's imports tables should need suppression somewhere"


def _chart_data(html: str, chart: str) -> list[dict]:
    match = re.search(rf'<script type="application/json" data-chart="{chart}">(.*?)</script>', html, re.S)
    spec = json.loads(match.group(1))
    values = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("data"), dict) and "values" in node["data"]:
                values.extend(node["data"]["values"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)
    walk(spec)
    return values


def test_child_counts_in_charts_are_suppressed(report_dir, rich):
    html = (report_dir / f"{rich.slug}.html").read_text(encoding="utf-8")
    occupancy = [r for r in _chart_data(html, "occupancy") if r.get("series") in
                 ("own children", "other authorities' children")]
    unregistered = [r for r in _chart_data(html, "unregistered") if "why" in r]
    assert occupancy and unregistered
    for record in occupancy + unregistered:
        assert record["value"] is None or not 1 <= record["value"] <= 4, record
        if record["value"] is None:
            assert SUPPRESSED in (record.get("own_text"), record.get("other_text"), record.get("no_urn"),
                                  record.get("not_registered"))
    assert "c = fewer than 5, suppressed" in html


PIXELS_JS = """async (png) => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + png;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0, coloured = 0; const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] < 235 || data[i + 1] < 235 || data[i + 2] < 235) inked++;
    // axes, grid and text are grey: a pixel far from grey is a drawn mark (bar, line, point)
    if (Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) coloured++;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  const pixels = data.length / 4;
  return {inked: inked / pixels, coloured: coloured / pixels, colours: colours.size};
}"""

RENDERED_JS = """() => [...document.querySelectorAll('div.chart')].map(div => {
  const drawn = div.querySelector('svg, canvas');
  const box = drawn ? drawn.getBoundingClientRect() : {width: 0, height: 0};
  return {id: div.id, drawn: !!drawn, width: box.width, height: box.height};
})"""

REMOTE_JS = """() => [...document.querySelectorAll('script[src], link[href], img[src], iframe[src]')]
  .map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => /^(https?:)?\\/\\//i.test(u))"""


def _wait_for_charts(opened, html: str) -> None:
    expected = len(re.findall(r'data-chart="', html))
    opened.page.wait_for_function(
        f"() => Object.keys(window.reportViews || {{}}).length === {expected} && "
        f"document.querySelectorAll('div.chart svg').length >= {expected}", timeout=30_000)


def test_reports_render_offline_in_chromium(report_dir, all_groupings, rich, bare, tmp_path):
    with launch_browser() as browser:
        for grouping in all_groupings:
            path = report_dir / f"{grouping.slug}.html"
            html = path.read_text(encoding="utf-8")
            with open_page(path, browser=browser, viewport=FIRST_SCREEN) as opened:
                _wait_for_charts(opened, html)
                charts = opened.evaluate(RENDERED_JS)
                names = {chart["id"].removeprefix("chart-") for chart in charts}
                assert names == set(re.findall(r'data-chart="([a-z_]+)"', html))
                for chart in charts:
                    assert chart["drawn"] and chart["width"] > 100 and chart["height"] > 50, (grouping.slug, chart)
                assert opened.evaluate(REMOTE_JS) == []
                assert opened.problems() == [], grouping.slug
                if grouping == bare:
                    for name in ("spend_top_groups", "occupancy"):
                        box = opened.page.locator(f"#no-data-{name}")
                        assert box.is_visible() and "no data for" in box.inner_text()
                if grouping == rich:
                    assert names == set(CHARTS) - {"imports"}
                    assert opened.page.locator("#table-imports").is_visible()
                    for name in sorted(names):
                        png = opened.page.locator(f"#chart-{name}").screenshot()
                        pixels = opened.evaluate(PIXELS_JS, base64.b64encode(png).decode())
                        assert pixels["inked"] > 0.03 and pixels["colours"] > 8, (name, pixels)
                        assert pixels["coloured"] > 0.005, f"{name}: axes but no marks drawn {pixels}"
                    shot = opened.screenshot(tmp_path / f"{grouping.slug}.png")
                    assert shot.stat().st_size > 50_000


def test_a_held_back_return_is_named_on_the_first_screen(published, rich, tmp_path):
    """A copy of the published marts in which one SSDA903 return of the grouping was held back."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published, copy)
    with duckdb.connect(str(copy)) as con:
        la_name, period = con.execute("""
            update marts.build_coverage
            set status = 'held_back', is_published = false, files_included = 0,
                check_names = 'gx_raw_ssda903_episodes', reason = 'two open episodes for one child'
            where return_key = (
                select min(return_key) from marts.build_coverage
                where source = 'ssda903' and status = 'included' and list_contains(?, la_gss_code))
            returning la_name, period
        """, [list(rich.la_gss_codes)]).fetchone()
    out = tmp_path / "held.html"
    write_report(copy, rich, out, BUILT_AT)
    with open_page(out, viewport=FIRST_SCREEN) as opened:
        _wait_for_charts(opened, out.read_text(encoding="utf-8"))
        alert = opened.page.locator("#held-back-alert")
        assert alert.is_visible()
        box = alert.bounding_box()
        assert box["y"] + box["height"] < FIRST_SCREEN[1], "the held-back notice is below the first screen"
        text = alert.inner_text()
        assert "Held back" in text and la_name in text and period in text
        for chart in ("Children placed more than 20 miles from home", "Own children living in local children's homes"):
            assert chart in text
        caveat = opened.page.locator("#section-distance .caveat").inner_text()
        assert f"held back: {la_name} {period}" in caveat
        assert opened.problems() == []

