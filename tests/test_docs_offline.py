"""The documentation a build leaves beside the warehouse (docs/dbt, docs/gx) opens from file:// with the network
off: dbt docs as one static page, GX Data Docs with their libraries copied in at build time. Every page is opened
in Debian's chromium (tests/browser.py), which aborts and records any request that is not file:, data: or blob:.
Screenshots go to each test's tmp dir."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from browser import launch_browser, open_page
from expectations.offline_docs import network_references

MODEL = "mart_provider_group_spend"
# Bootstrap's reboot collapses table borders (a browser's default is separate): its stylesheet was loaded.
BOOTSTRAP_APPLIED = "getComputedStyle(document.querySelector('table')).borderCollapse === 'collapse'"
# a Font Awesome icon has a glyph only when the css and its webfonts loaded
ICON_DRAWN = """() => {
    const icon = document.querySelector('i.fas');
    return !!icon && getComputedStyle(icon, '::before').content !== 'none'
        && getComputedStyle(icon).fontFamily.includes('Font Awesome') && icon.getBoundingClientRect().width > 0;
}"""
RESULT_ROWS = "tr[data-href^='validations/']"
SEARCH = "input[type=search] >> visible=true"
ONLY = f"(text) => (rows => rows.length > 0 && rows.every(tr => tr.innerText.includes(text)))" \
       f"([...document.querySelectorAll(\"{RESULT_ROWS}\")])"
STATUS_ICONS = """() => [...document.querySelectorAll('td i.fas')].map(i =>
    i.classList.contains('fa-check-circle') ? 'success' : i.classList.contains('fa-times') ? 'failure' : 'other')"""


@pytest.fixture(scope="module")
def docs(demo_build) -> Path:
    docs = demo_build.db.parent / "docs"
    assert (docs / "dbt" / "index.html").exists(), demo_build.output[-4000:]
    assert (docs / "gx" / "index.html").exists(), demo_build.output[-4000:]
    return docs


@pytest.fixture(scope="module")
def chromium():
    with launch_browser() as browser:
        yield browser


def test_no_docs_page_loads_anything_from_the_network(docs):
    pages = list(docs.rglob("*.html"))
    assert len(pages) > 3
    assert network_references(docs) == {}
    vendor = docs / "gx" / "static" / "vendor"
    for library in ("jquery/jquery.min.js", "bootstrap/css/bootstrap.min.css", "bootstrap/js/bootstrap.bundle.min.js",
                    "font-awesome/css/all.min.css", "vega/vega-embed-bundle.js", "offline-table.js"):
        assert (vendor / library).stat().st_size > 0, library


def test_dbt_docs_are_one_static_page_listing_the_models(docs, chromium, tmp_path):
    page = docs / "dbt" / "index.html"
    assert not (docs / "dbt" / "manifest.json").exists()  # inlined: nothing to fetch beside the page
    with open_page(page, browser=chromium) as opened:
        opened.wait_until("document.querySelectorAll('[data-nav-unique-id^=\"model.\"]').length > 0")
        models = opened.evaluate("[...document.querySelectorAll('[data-nav-unique-id^=\"model.\"]')]"
                                 ".map(e => e.getAttribute('data-nav-unique-id').split('.').pop())")
        opened.screenshot(tmp_path / "dbt-overview.png")
        assert opened.problems() == []
    assert MODEL in models
    assert {"dim_provider", "mart_market_supply", "build_coverage"} <= set(models)
    assert any(name.startswith("stg_") for name in models) and any(name.startswith("int_") for name in models)

    # the model's page, as a link to it opens: the tree unfolds to it, its columns come from the warehouse catalog
    model_id = f"model.placement_sufficiency.{MODEL}"
    with open_page(f"{page}#!/model/{model_id}", browser=chromium) as opened:
        opened.wait_until("(name) => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(name))", MODEL)
        opened.wait_until("document.body.innerText.includes('provider_group_name')")
        shown = opened.evaluate("(id) => { const e = document.querySelector(`[data-nav-unique-id=\"${id}\"]`);"
                                " return !!e && e.offsetParent !== null; }", model_id)
        text = opened.text("body")
        opened.screenshot(tmp_path / "dbt-model.png")
        assert opened.problems() == []
    assert shown, f"{MODEL} is not visible in the project tree"
    assert "Columns" in text and "grouping_name" in text and "spend" in text


def test_gx_index_lists_the_validation_results(docs, chromium, tmp_path):
    with open_page(docs / "gx" / "index.html", browser=chromium) as opened:
        opened.wait_for(RESULT_ROWS)
        rows = opened.evaluate("(selector) => [...document.querySelectorAll(selector)]"
                               ".map(tr => tr.getAttribute('data-href'))", RESULT_ROWS)
        summary = opened.text(".offline-table-pager")
        assert opened.evaluate(BOOTSTRAP_APPLIED)
        assert opened.evaluate(ICON_DRAWN)
        opened.screenshot(tmp_path / "gx-index.png")
        # every layer's suites have results, found with the search box
        for layer in ("raw_", "staging_", "marts_"):
            opened.page.fill(SEARCH, layer)
            opened.wait_until(ONLY, layer)
        assert opened.problems() == []
    assert rows and all(href.startswith("validations/") and (docs / "gx" / href).exists() for href in rows)
    assert "of" in summary and "rows" in summary


def test_gx_validation_result_opens_from_the_index_with_its_expectations(docs, chromium, tmp_path):
    with open_page(docs / "gx" / "index.html", browser=chromium) as opened:
        opened.wait_for(RESULT_ROWS)
        opened.page.fill(SEARCH, "marts_")
        opened.wait_until(ONLY, "marts_")
        with opened.page.expect_navigation():
            opened.page.click(f"{RESULT_ROWS} >> nth=0 >> td >> nth=2")  # a row is a link to its result
        opened.wait_for("text=Expectation Validation Result")
        statistics = opened.evaluate("Object.fromEntries([...document.querySelectorAll('table tr')]"
                                     ".filter(tr => tr.cells.length === 2)"
                                     ".map(tr => [tr.cells[0].innerText.trim(), tr.cells[1].innerText.trim()]))")
        statuses = opened.evaluate(STATUS_ICONS)
        assert opened.evaluate(BOOTSTRAP_APPLIED)
        assert opened.evaluate(ICON_DRAWN)
        assert opened.evaluate("typeof window.vegaEmbed === 'function' && typeof jQuery.fn.modal === 'function'")
        opened.screenshot(tmp_path / "gx-result.png")
        assert opened.problems() == []
    evaluated = int(statistics["Evaluated Expectations"])
    assert evaluated > 0
    assert statuses.count("success") == int(statistics["Successful Expectations"])
    assert statuses.count("failure") == int(statistics["Unsuccessful Expectations"])
    assert len(statuses) == evaluated


def test_gx_failed_validation_shows_its_failures_offline(chromium, tmp_path):
    """A failing suite's page, built as the checks build theirs, shows which expectation failed and its
    unexpected values, offline."""
    import great_expectations as gx

    from expectations.runner import SuiteRunner

    runner = SuiteRunner(tmp_path / "gx", tmp_path / "docs")
    suite = gx.ExpectationSuite(name="docs_offline_probe", expectations=[
        gx.expectations.ExpectColumnValuesToNotBeNull(column="la_code"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="places", min_value=0, max_value=50),
    ])
    frame = pd.DataFrame({"la_code": ["E06000066", "E10000015", "E06000055"], "places": [4, 75, 120]})
    outcome = runner.validate(suite, frame, "probe")
    assert not outcome.success
    runner.build_docs()
    site = tmp_path / "docs"
    assert network_references(site) == {}
    [page] = list((site / "validations" / "docs_offline_probe").rglob("*.html"))
    with open_page(page, browser=chromium) as opened:
        opened.wait_for("text=Expectation Validation Result")
        statuses = opened.evaluate(STATUS_ICONS)
        text = opened.text("body")
        opened.page.click("text=Failed Only")  # GX's filter, jQuery's fade: the passed expectation goes
        opened.wait_until("[...document.querySelectorAll('td i.fa-check-circle')]"
                          ".every(i => i.offsetParent === null)")
        opened.screenshot(tmp_path / "gx-failed.png")
        assert opened.problems() == []
    assert sorted(statuses) == ["failure", "success"]
    assert "Failed" in text and "120" in text and "75" in text
