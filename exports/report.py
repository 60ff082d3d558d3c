"""The regional report: one self-contained HTML page per region or consortium, read from the published marts.

The page opens with no network: Vega, Vega-Lite and vega-embed are inlined once (vl-convert's JavaScript bundle)
and every chart is an Altair spec embedded as JSON beside them. It opens with what the build holds (marts.build_coverage
for the grouping's authorities and the national Ofsted register) so that a reader sees, before any chart, which
returns are held back, carried forward or missing and which charts they leave incomplete. Counts of children are
summed to the grouping and then suppressed (fewer than 5 shown as "c", exports/suppression.py); money, homes and
places are not counts of children.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import altair as alt
import duckdb
import jinja2
import pandas as pd

from exports.groupings import Grouping
from exports.suppression import SUPPRESSED, suppress_counts
from exports.tables import grouping_table

# ---------------------------------------------------------------------------------------------------------------
# What the page shows, and which source feeds which chart

CHART_TITLES = {
    "spend_top_groups": "Spend with the largest provider groups",
    "spend_lorenz": "How concentrated the spend is",
    "spend_concentration": "Market concentration by year (HHI, CR4)",
    "homes": "Children's homes and places",
    "occupancy": "Own children living in local children's homes",
    "distance": "Children placed more than 20 miles from home",
    "unregistered": "Children in unregistered settings",
    "imports": "Whose children live in the area's homes",
}
CHARTS = tuple(CHART_TITLES)

SOURCE_LABELS = {
    "ssda903": "SSDA903 returns",
    "spend": "Spend over £500 ledgers",
    "ofsted": "Ofsted register",
    "placement_costs": "Placement cost extracts",
}
# A return that is not in as sent leaves these charts incomplete. The homes charted each month (occupancy) and the
# test of a setting's registration (unregistered) are read from the register too.
SOURCE_CHARTS = {
    "ssda903": ("occupancy", "distance", "unregistered", "imports"),
    "spend": ("spend_top_groups", "spend_lorenz", "spend_concentration"),
    "ofsted": ("homes", "occupancy", "unregistered"),
    "placement_costs": (),
}
STATUS_LABELS = {
    "included": "included",
    "carried_forward": "carried forward",
    "held_back": "held back",
    "missing": "missing",
}

PLACEMENT_TYPES = {
    "ifa_fostering": "Independent fostering agency",
    "in_house_fostering": "In-house fostering",
    "kinship": "Kinship / connected carers",
    "independent_residential": "Independent children's homes",
    "own_residential": "Council children's homes",
    "secure": "Secure children's homes",
    "residential_school": "Residential schools",
    "semi_independent": "Supported accommodation",
    "other": "Other placements",
}

# One palette for the whole page: blues for what exists (homes, places, spend), orange for our children, green and
# red for openings and closures, the same colour for a sector or ownership type in every chart.
BLUE, LIGHT_BLUE, ORANGE, GREEN, RED, GREY, DARK = (
    "#1f5a96", "#9dbfe0", "#e8730c", "#2a9d6f", "#c8373b", "#8c8c8c", "#1b1b1b")
SECTORS = ["Private", "Local Authority", "Voluntary", "Health Authority", "Academy"]
SECTOR_COLOURS = [BLUE, "#5fa052", "#a266b9", "#d9a521", GREY]
OWNERSHIP = ["private (investment-backed)", "private", "private individual", "voluntary / charity",
             "local authority", "not known"]
OWNERSHIP_COLOURS = ["#0d3a66", BLUE, LIGHT_BLUE, "#a266b9", "#5fa052", "#bdbdbd"]
YEAR_COLOURS = ["#bdbdbd", LIGHT_BLUE, BLUE, "#0d3a66"]

FONT = "Segoe UI, Helvetica Neue, Arial, Liberation Sans, DejaVu Sans, sans-serif"
WIDTH = 880
TOP_GROUPS = 15
LORENZ_YEARS = 3
LORENZ_POINTS = 120
SUPPRESSION_NOTE = "c = fewer than 5, suppressed"


@dataclass
class Section:
    name: str
    title: str
    what: str
    spec: dict | None = None
    table: dict | None = None
    no_data: str | None = None
    notes: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    rows: int = 0
    spec_json: str | None = None


# ---------------------------------------------------------------------------------------------------------------
# Formatting


def money(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    if abs(value) >= 1e6:
        return f"£{value / 1e6:,.1f}m"
    if abs(value) >= 1e3:
        return f"£{value / 1e3:,.0f}k"
    return f"£{value:,.0f}"


def _money_axis(maximum: float) -> alt.Axis:
    """An axis in £m (or £k for small totals), with a title saying so."""
    if maximum >= 1e6:
        return alt.Axis(title="Spend", labelExpr="'£' + format(datum.value / 1000000, ',.1~f') + 'm'")
    return alt.Axis(title="Spend", labelExpr="'£' + format(datum.value / 1000, ',.0f') + 'k'")


def _count(value) -> str:
    if value == SUPPRESSED:
        return SUPPRESSED
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(value):,}"


def _in_words(value) -> str:
    """A count in a sentence: "fewer than 5" where the cell shows c."""
    return "fewer than 5" if value == SUPPRESSED else _count(value)


def _share(value) -> str:
    if value == SUPPRESSED:
        return SUPPRESSED
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.0%}"


def _number(value) -> float | None:
    """A plotted value: None (a gap) for a suppressed or missing one."""
    if value == SUPPRESSED or value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _periods(values: list[str]) -> str:
    values = sorted(set(v for v in values if v))
    if len(values) > 2:
        return f"{values[0]} to {values[-1]}" if len(values) > 3 else ", ".join(values)
    return " and ".join(values)


def _style(chart) -> dict:
    """The page's look applied to a chart, as a Vega-Lite spec."""
    styled = (
        chart.configure(font=FONT, background="white", padding={"left": 5, "right": 15, "top": 5, "bottom": 5})
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12, titleFontWeight="normal", titleColor="#444",
                        labelColor="#444", gridColor="#ececec", domainColor="#999", tickColor="#999")
        .configure_title(fontSize=13, fontWeight="bold", anchor="start", color=DARK, subtitleColor="#555",
                         subtitleFontSize=11)
        .configure_legend(orient="top", titleFontSize=11, labelFontSize=11, titleFontWeight="normal",
                          titleColor="#444", symbolType="square")
    )
    spec = styled.to_dict()
    spec.pop("$schema", None)  # a URL the page never needs
    return spec


def _tips(*fields: tuple[str, str]) -> list[alt.Tooltip]:
    """Tooltips of preformatted text fields (plain names: Vega reads quotes and dots in a field as a path)."""
    return [alt.Tooltip(f"{name}:N", title=title) for name, title in fields]


def _query(con, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()


# ---------------------------------------------------------------------------------------------------------------
# Coverage: what the build holds for the grouping


def coverage(con, grouping: Grouping) -> pd.DataFrame:
    """build_coverage rows of the grouping's authorities and of the national sources: the rows the workbook's cover
    lists (exports/tables.py picks them for both, so the two never disagree on what the build holds)."""
    frame = grouping_table(con, "build_coverage", grouping)
    frame["la_name"] = frame["la_name"].fillna(frame["la_gss_code"]).fillna("England")
    return frame.sort_values(["source", "la_name", "period"], kind="stable").reset_index(drop=True)


def _coverage_view(frame: pd.DataFrame, grouping: Grouping) -> dict:
    """The coverage box: one line per source, and every return not in as sent with why and what it leaves out."""
    sources = []
    for source, label in SOURCE_LABELS.items():
        rows = frame[frame["source"] == source]
        counts = rows["status"].value_counts().to_dict()
        affected = [CHART_TITLES[c] for c in SOURCE_CHARTS[source]]
        if source == "ofsted":
            latest = rows.loc[rows["status"].isin(["included", "carried_forward"]), "period"].max() \
                if len(rows) else None
            summary = (f"{len(rows)} register snapshots, latest {latest}" if len(rows) and isinstance(latest, str)
                       else "no register snapshot")
        elif len(rows):
            las = rows.loc[rows["status"].isin(["included", "carried_forward"]), "la_gss_code"].nunique()
            summary = (f"{las} of {len(grouping.la_gss_codes)} authorities, "
                       f"{_periods(rows['period'].dropna().tolist())}")
        else:
            summary = f"none from any authority in {grouping.name}"
        sources.append({
            "label": label,
            "summary": summary,
            "included": counts.get("included", 0),
            "carried_forward": counts.get("carried_forward", 0),
            "held_back": counts.get("held_back", 0),
            "missing": counts.get("missing", 0),
            "charts": ", ".join(affected) if affected else "no chart in this report",
            "empty": len(rows) == 0,
        })

    problems = []
    for status in ("held_back", "carried_forward"):
        for row in frame[frame["status"] == status].itertuples():
            problems.append({
                "status": status,
                "status_label": STATUS_LABELS[status],
                "what": f"{SOURCE_LABELS[row.source]}: {row.la_name}, {row.period}",
                "checks": row.check_names or "",
                "reason": row.reason or "",
                "files": row.files_held_back or "",
                "charts": ", ".join(CHART_TITLES[c] for c in SOURCE_CHARTS[row.source]) or "no chart in this report",
            })
    missing = frame[frame["status"] == "missing"]
    for source, rows in missing.groupby("source", sort=True):
        by_la = rows.groupby("la_name")["period"].apply(list)
        listed = "; ".join(f"{la} ({_periods(periods)})" for la, periods in by_la.items())
        problems.append({
            "status": "missing",
            "status_label": "missing",
            "what": f"{SOURCE_LABELS[source]}: {len(by_la)} authorit{'y' if len(by_la) == 1 else 'ies'}",
            "checks": "",
            "reason": f"not sent, though other authorities sent them for these years: {listed}",
            "files": "",
            "charts": ", ".join(CHART_TITLES[c] for c in SOURCE_CHARTS[source]) or "no chart in this report",
        })
    notices = []
    held = frame[frame["status"] == "held_back"]
    if len(held):
        names = "; ".join(f"{SOURCE_LABELS[r.source]}, {r.la_name} {r.period}" for r in held.itertuples())
        charts = sorted({CHART_TITLES[c] for source in held["source"].unique() for c in SOURCE_CHARTS[source]})
        notices.append(("alert", f"Held back: {len(held)} return{'s' if len(held) != 1 else ''} failed a blocking "
                                 f"check and {'are' if len(held) != 1 else 'is'} not in this report ({names}). "
                                 f"Incomplete: {', '.join(charts) or 'no chart in this report'}."))
    carried = frame[frame["status"] == "carried_forward"]
    if len(carried):
        names = "; ".join(f"{SOURCE_LABELS[r.source]}, {r.la_name} {r.period}" for r in carried.itertuples())
        notices.append(("warn", f"Carried forward: a resubmission failed a check, the last good version stands "
                                f"({names})."))
    for source, rows in missing.groupby("source", sort=True):
        if not SOURCE_CHARTS[source]:
            continue
        notices.append(("warn", f"Missing: {SOURCE_LABELS[source]} from {rows['la_gss_code'].nunique()} of "
                                f"{len(grouping.la_gss_codes)} authorities for some years; totals lack them."))
    for entry in sources:
        if entry["empty"] and entry["charts"] != "no chart in this report":
            notices.append(("info", f"No {entry['label']} for {grouping.name}: {entry['charts']} show no data."))
    state = "held" if len(held) else ("partial" if (frame["status"] != "included").any() else "complete")
    return {"sources": sources, "problems": problems, "notices": notices, "state": state}


def _caveats(frame: pd.DataFrame, chart: str) -> list[str]:
    """One line per source feeding the chart that is not all in as sent."""
    lines = []
    for source, charts in SOURCE_CHARTS.items():
        if chart not in charts:
            continue
        rows = frame[(frame["source"] == source) & (frame["status"] != "included")]
        parts = []
        for status in ("held_back", "carried_forward", "missing"):
            chosen = rows[rows["status"] == status]
            if not len(chosen):
                continue
            if status == "missing":
                las = chosen["la_name"].nunique()
                parts.append(f"{len(chosen)} return{'s' if len(chosen) != 1 else ''} missing from "
                             f"{las} authorit{'y' if las == 1 else 'ies'}")
            else:
                listed = ", ".join(f"{r.la_name} {r.period}" for r in chosen.itertuples())
                parts.append(f"{STATUS_LABELS[status]}: {listed}")
        if parts:
            lines.append(f"Incomplete – {SOURCE_LABELS[source]}: " + "; ".join(parts) + ".")
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Spend


def spend_top_groups(con, grouping: Grouping) -> Section:
    section = Section("spend_top_groups", CHART_TITLES["spend_top_groups"],
                      "What the authorities together paid the largest provider groups for children's placements "
                      "in the latest financial year (bars), against the year before (black marks).")
    frame = _query(con, """
        with spend as (
            select s.financial_year, s.provider_group_id, s.spend, s.spend_share, s.spend_rank, s.buying_las,
                   s.las_in_grouping, s.childrens_homes_in_grouping, s.childrens_home_places_in_grouping
            from marts.mart_provider_group_spend as s
            where s.grouping_type = ? and s.grouping_name = ?
        ),
        years as (select max(financial_year) as latest from spend)
        select spend.*, g.provider_group_name, coalesce(g.ownership_type, 'not known') as ownership_type,
               previous.spend as previous_spend, previous.financial_year as previous_year
        from spend
        cross join years
        inner join marts.dim_provider_group as g on spend.provider_group_id = g.provider_group_id
        left join spend as previous
            on previous.provider_group_id = spend.provider_group_id
            and previous.financial_year = (select max(financial_year) from spend where financial_year < years.latest)
        where spend.financial_year = years.latest and spend.spend_rank <= ?
        order by spend.spend_rank
    """, [grouping.grouping_type, grouping.name, TOP_GROUPS])
    if frame.empty:
        section.no_data = f"no data for spend with provider groups in {grouping.name}"
        return section
    year = frame["financial_year"].iloc[0]
    frame["ownership_type"] = frame["ownership_type"].where(frame["ownership_type"].isin(OWNERSHIP), "not known")
    data = pd.DataFrame({
        "group": frame["provider_group_name"].str.slice(0, 60),
        "spend": frame["spend"].astype(float).round(0),
        "previous": frame["previous_spend"].astype(float).round(0).astype(object).where(
            frame["previous_spend"].notna(), None),
        "ownership": frame["ownership_type"],
        "spend_text": frame["spend"].map(money),
        "previous_text": frame["previous_spend"].map(money),
        "share_text": frame["spend_share"].map(_share),
        "buyers": frame["buying_las"].astype(int).astype(str) + " of " +
        frame["las_in_grouping"].astype(int).astype(str),
        "homes": frame["childrens_homes_in_grouping"].fillna(0).astype(int).map("{:,}".format),
    })
    data["label_at"] = pd.concat([data["spend"], pd.to_numeric(data["previous"])], axis=1).max(axis=1)
    order = data["group"].tolist()
    maximum = float(data["label_at"].max())
    base = alt.Chart(alt.Data(values=data.to_dict("records")))
    y = alt.Y("group:N", sort=order, title=None, axis=alt.Axis(labelLimit=300, labelFontSize=11))
    bars = base.mark_bar(height=16, cornerRadiusEnd=2).encode(
        x=alt.X("spend:Q", axis=_money_axis(maximum), scale=alt.Scale(domain=[0, maximum * 1.12])),
        y=y,
        color=alt.Color("ownership:N", title="Ownership (indicative)",
                        scale=alt.Scale(domain=OWNERSHIP, range=OWNERSHIP_COLOURS)),
        tooltip=_tips(("group", "Provider group"), ("spend_text", f"Spend {year}"),
                      ("previous_text", "Year before"), ("share_text", "Share of spend"),
                      ("buyers", "Authorities buying"), ("homes", "Its children's homes in the area"),
                      ("ownership", "Ownership (indicative)")),
    )
    labels = base.mark_text(align="left", dx=5, fontSize=11, color="#333").encode(
        x="label_at:Q", y=y, text="spend_text:N")
    previous = base.mark_tick(color=DARK, thickness=2, size=18).encode(x="previous:Q", y=y)
    chart = alt.layer(bars, previous, labels).properties(
        width=WIDTH - 310, height=24 * len(data),
        title=alt.TitleParams(f"Top {len(data)} provider groups by spend, {year}",
                              subtitle=f"black mark: {frame['previous_year'].dropna().iloc[0]}"
                              if frame["previous_year"].notna().any() else ""))
    section.spec, section.rows = _style(chart), len(data)
    return section


def spend_lorenz(con, grouping: Grouping) -> Section:
    section = Section("spend_lorenz", CHART_TITLES["spend_lorenz"],
                      "Share of all spend (up) taken by the largest provider groups (along, largest first): the "
                      "further the curve bows above the diagonal, the more the spend sits with a few groups.")
    frame = _query(con, """
        with years as (
            select distinct financial_year from marts.mart_provider_group_spend
            where grouping_type = ? and grouping_name = ?
            order by financial_year desc limit ?
        )
        select financial_year, spend_rank, cumulative_spend_share,
               count(*) over (partition by financial_year) as groups
        from marts.mart_provider_group_spend
        where grouping_type = ? and grouping_name = ? and financial_year in (select financial_year from years)
        order by financial_year, spend_rank
    """, [grouping.grouping_type, grouping.name, LORENZ_YEARS, grouping.grouping_type, grouping.name])
    if frame.empty:
        section.no_data = f"no data for spend concentration in {grouping.name}"
        return section
    points = []
    for year, rows in frame.groupby("financial_year", sort=True):
        rows = rows.sort_values("spend_rank")
        total = len(rows)
        step = max(1, total // LORENZ_POINTS)
        keep = rows[(rows["spend_rank"] <= 40) | (rows["spend_rank"] % step == 0) | (rows["spend_rank"] == total)]
        points.append({"year": year, "groups": 0.0, "spend": 0.0, "rank": 0, "of": total})
        points += [{"year": year, "groups": round(r.spend_rank / total, 4),
                    "spend": round(float(r.cumulative_spend_share), 4), "rank": int(r.spend_rank), "of": total}
                   for r in keep.itertuples()]
    years = sorted(frame["financial_year"].unique())
    base = alt.Chart(alt.Data(values=points))
    curve = base.mark_line(strokeWidth=2.5, interpolate="monotone").encode(
        x=alt.X("groups:Q", title="Share of provider groups (largest first)", axis=alt.Axis(format=".0%")),
        y=alt.Y("spend:Q", title="Cumulative share of spend", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("year:N", title="Financial year", legend=alt.Legend(symbolType="stroke"),
                        scale=alt.Scale(domain=years, range=YEAR_COLOURS[-len(years):])),
        tooltip=[alt.Tooltip("year:N", title="Year"), alt.Tooltip("rank:Q", title="Largest groups"),
                 alt.Tooltip("of:Q", title="Of groups"), alt.Tooltip("spend:Q", title="Share of spend",
                                                                      format=".1%")],
    )
    diagonal = alt.Chart(alt.Data(values=[{"x": 0, "y": 0}, {"x": 1, "y": 1}])).mark_line(
        color=GREY, strokeDash=[4, 4], strokeWidth=1).encode(x="x:Q", y="y:Q")
    diagonal_label = alt.Chart(alt.Data(values=[{"x": 0.72, "y": 0.66}])).mark_text(
        text="equal shares", color=GREY, angle=0, fontSize=10, align="left").encode(x="x:Q", y="y:Q")
    chart = alt.layer(diagonal, diagonal_label, curve).properties(
        width=350, height=330, title=alt.TitleParams("Concentration curve",
                                                     subtitle="cumulative share of spend, largest groups first"))
    section.spec, section.rows = _style(chart), len(points)
    return section


def spend_concentration(con, grouping: Grouping) -> Section:
    section = Section("spend_concentration", CHART_TITLES["spend_concentration"],
                      "HHI (0 to 10,000: higher means fewer groups take more of the spend) and the share of the four "
                      "largest groups (CR4), each financial year; a hollow point means not every authority's "
                      "ledgers are in.")
    frame = _query(con, """
        select financial_year, total_spend, provider_groups, hhi, cr4, cr10, largest_group_name, covers_every_la,
               las_with_spend, las_in_grouping
        from marts.mart_regional_spend_concentration
        where grouping_type = ? and grouping_name = ?
        order by financial_year
    """, [grouping.grouping_type, grouping.name])
    if frame.empty:
        section.no_data = f"no data for spend concentration by year in {grouping.name}"
        return section
    data = [{
        "year": r.financial_year, "hhi": round(float(r.hhi), 0), "cr4": round(float(r.cr4), 4),
        "cr10": round(float(r.cr10), 4), "complete": "every authority" if r.covers_every_la else "not every authority",
        "total": money(r.total_spend), "groups": f"{int(r.provider_groups):,}",
        "largest": r.largest_group_name, "buyers": f"{r.las_with_spend} of {r.las_in_grouping}",
    } for r in frame.itertuples()]
    base = alt.Chart(alt.Data(values=data))
    x = alt.X("year:O", title=None, axis=alt.Axis(labelAngle=0))
    tooltip = _tips(("year", "Financial year"), ("total", "Total spend"), ("groups", "Provider groups"),
                    ("largest", "Largest group"), ("buyers", "Authorities with spend"))
    fill = alt.Color("complete:N", title="Ledgers in from",
                     scale=alt.Scale(domain=["every authority", "not every authority"], range=[BLUE, "white"]))
    hhi_top = max(1000.0, float(frame["hhi"].max()) * 1.25)
    hhi_line = base.mark_line(color=BLUE, strokeWidth=2.5).encode(x=x, y=alt.Y(
        "hhi:Q", title="HHI", axis=alt.Axis(format=",.0f", tickCount=4), scale=alt.Scale(domain=[0, hhi_top])))
    hhi_points = base.mark_point(size=70, filled=True, stroke=BLUE, strokeWidth=2).encode(
        x=x, y="hhi:Q", fill=fill, tooltip=[*tooltip, alt.Tooltip("hhi:Q", title="HHI", format=",.0f")])
    hhi_text = base.mark_text(dy=-12, fontSize=11, color="#333").encode(
        x=x, y="hhi:Q", text=alt.Text("hhi:Q", format=",.0f"))
    hhi = alt.layer(hhi_line, hhi_points, hhi_text).properties(
        width=340, height=120, title=alt.TitleParams("HHI", subtitle="0 – 10,000; higher = more concentrated"))
    cr_line = base.mark_line(color=ORANGE, strokeWidth=2.5).encode(x=x, y=alt.Y(
        "cr4:Q", title="CR4", axis=alt.Axis(format=".0%", tickCount=4),
        scale=alt.Scale(domain=[0, 1])))
    cr_points = base.mark_point(size=70, filled=True, stroke=ORANGE, strokeWidth=2).encode(
        x=x, y="cr4:Q", fill=alt.Color("complete:N", legend=None, scale=alt.Scale(
            domain=["every authority", "not every authority"], range=[ORANGE, "white"])),
        tooltip=[*tooltip, alt.Tooltip("cr4:Q", title="CR4", format=".1%"),
                 alt.Tooltip("cr10:Q", title="CR10", format=".1%")])
    cr_text = base.mark_text(dy=-12, fontSize=11, color="#333").encode(
        x=x, y="cr4:Q", text=alt.Text("cr4:Q", format=".0%"))
    cr4 = alt.layer(cr_line, cr_points, cr_text).properties(
        width=340, height=120, title=alt.TitleParams("CR4", subtitle="share of spend with the four largest groups"))
    chart = alt.vconcat(hhi, cr4, spacing=18).resolve_scale(fill="independent", color="independent")
    section.spec, section.rows = _style(chart), len(data)
    section.notes.append("For scale: the UK competition authorities' 2010 merger guidelines call a market with an HHI "
                         "over 1,000 concentrated and over 2,000 highly concentrated.")
    return section


# ---------------------------------------------------------------------------------------------------------------
# Supply: homes and places on the register


def homes(con, grouping: Grouping) -> Section:
    section = Section("homes", CHART_TITLES["homes"],
                      "Children's homes registered with Ofsted in the area's authorities at each register snapshot, "
                      "by sector, with their places (left); homes opened and closed since the snapshot before (right).")
    frame = _query(con, """
        select snapshot_date, previous_snapshot_date, sector, sum(providers) as homes, sum(places) as places,
               sum(opened) as opened, sum(closed) as closed, sum(places_opened) as places_opened,
               sum(places_closed) as places_closed
        from marts.mart_market_supply
        where list_contains(?, la_gss_code) and registered_as_childrens_home
        group by all
        order by snapshot_date, sector
    """, [list(grouping.la_gss_codes)])
    if frame.empty:
        section.no_data = f"no data for children's homes in {grouping.name}"
        return section
    frame["snapshot"] = pd.to_datetime(frame["snapshot_date"]).dt.strftime("%b %Y")
    frame["sector"] = frame["sector"].where(frame["sector"].isin(SECTORS), "Academy")
    order = list(dict.fromkeys(frame.sort_values("snapshot_date")["snapshot"]))
    totals = frame.groupby(["snapshot_date", "snapshot"], as_index=False).agg(
        homes=("homes", "sum"), places=("places", "sum"), opened=("opened", "sum"), closed=("closed", "sum"),
        places_opened=("places_opened", "sum"), places_closed=("places_closed", "sum"),
        previous=("previous_snapshot_date", "max"))
    stock = [{"snapshot": r.snapshot, "sector": r.sector, "homes": int(r.homes), "places": int(r.places)}
             for r in frame.itertuples()]
    labels = [{"snapshot": r.snapshot, "homes": int(r.homes),
               "label": [f"{int(r.homes):,} homes", f"{int(r.places):,} places"]} for r in totals.itertuples()]
    flows = []
    for r in totals[totals["previous"].notna()].itertuples():
        flows.append({"snapshot": r.snapshot, "what": "opened", "homes": int(r.opened),
                      "places": int(r.places_opened)})
        flows.append({"snapshot": r.snapshot, "what": "closed", "homes": -int(r.closed),
                      "places": -int(r.places_closed), "closed_label": f"−{int(r.closed)}"})
    x = alt.X("snapshot:O", sort=order, title="Register snapshot", axis=alt.Axis(labelAngle=0))
    stacked = alt.Chart(alt.Data(values=stock)).mark_bar(width=34).encode(
        x=x, y=alt.Y("sum(homes):Q", title="Children's homes",
                     scale=alt.Scale(domain=[0, float(totals["homes"].max()) * 1.18], nice=False)),
        color=alt.Color("sector:N", title="Sector", scale=alt.Scale(domain=SECTORS, range=SECTOR_COLOURS)),
        order=alt.Order("sector:N", sort="descending"),
        tooltip=["snapshot:O", "sector:N", alt.Tooltip("homes:Q", title="Homes", format=","),
                 alt.Tooltip("places:Q", title="Places", format=",")])
    stock_labels = alt.Chart(alt.Data(values=labels)).mark_text(
        baseline="bottom", dy=-17, fontSize=10.5, color="#333", lineHeight=12).encode(x=x, y="homes:Q", text="label:N")
    stock_chart = alt.layer(stacked, stock_labels).properties(
        width=470, height=280, title=alt.TitleParams("Homes on the register",
                                                     subtitle="children's homes by sector; labels: homes and places"))
    panels = [stock_chart]
    if flows:
        flow_order = order[1:]
        fx = alt.X("snapshot:O", sort=flow_order, title="Since the snapshot before", axis=alt.Axis(labelAngle=0))
        flow_bars = alt.Chart(alt.Data(values=flows)).mark_bar(width=26).encode(
            x=fx, y=alt.Y("homes:Q", title="Homes opened (+) / closed (−)"),
            color=alt.Color("what:N", title=None, scale=alt.Scale(domain=["opened", "closed"], range=[GREEN, RED])),
            tooltip=["snapshot:O", "what:N", alt.Tooltip("homes:Q", title="Homes"),
                     alt.Tooltip("places:Q", title="Places")])
        flow_base = alt.Chart(alt.Data(values=flows))
        opened_text = flow_base.transform_filter("datum.homes >= 0").mark_text(
            fontSize=10, color="#333", dy=-7).encode(x=fx, y="homes:Q", text="homes:Q")
        closed_text = flow_base.transform_filter("datum.homes < 0").mark_text(
            fontSize=10, color="#333", dy=8).encode(x=fx, y="homes:Q", text=alt.Text("closed_label:N"))
        zero = alt.Chart(alt.Data(values=[{"y": 0}])).mark_rule(color="#777").encode(y="y:Q")
        panels.append(alt.layer(flow_bars, zero, opened_text, closed_text).properties(
            width=300, height=280, title=alt.TitleParams("Openings and closures", subtitle="homes")))
    chart = alt.hconcat(*panels, spacing=40).resolve_scale(color="independent")
    section.spec, section.rows = _style(chart), len(stock) + len(flows)
    return section


# ---------------------------------------------------------------------------------------------------------------
# Our children: occupancy, distance, unregistered settings, imports (SSDA903; counts suppressed)


def occupancy(con, grouping: Grouping) -> Section:
    section = Section("occupancy", CHART_TITLES["occupancy"],
                      "Each month: places in the children's homes registered in the area's authorities, and how many "
                      "are taken by each authority's own children and by other authorities' children (of those "
                      "with returns in).")
    frame = _query(con, """
        select month, count(*) as las_reporting, sum(childrens_homes) as homes, sum(places) as places,
               sum(own_children) as own_children, sum(other_la_children) as other_la_children
        from marts.mart_residential_occupancy
        where list_contains(?, la_gss_code)
        group by month
        order by month
    """, [list(grouping.la_gss_codes)])
    if frame.empty:
        section.no_data = f"no data for own children in local children's homes in {grouping.name}"
        return section
    frame["share_own"] = frame["own_children"] / frame["places"].where(frame["places"] > 0)
    shown = suppress_counts(frame, ["own_children", "other_la_children"],
                            derived={"share_own": ["own_children"]})
    records = []
    for r in shown.itertuples():
        month = pd.Timestamp(r.month).strftime("%Y-%m-%d")
        common = {"month": month, "month_text": pd.Timestamp(r.month).strftime("%b %Y"),
                  "places_text": f"{int(r.places):,}", "homes_text": f"{int(r.homes):,}",
                  "own_text": _count(r.own_children), "other_text": _count(r.other_la_children),
                  "share_text": _share(r.share_own),
                  "reporting": f"{r.las_reporting} of {len(grouping.la_gss_codes)}"}
        for series, value in (("places", r.places), ("own children", r.own_children),
                              ("other authorities' children", r.other_la_children)):
            records.append({**common, "series": series, "value": _number(value)})
    suppressed = any(r["value"] is None for r in records)
    domain = ["places", "own children", "other authorities' children"]
    occupancy_tips = _tips(("month_text", "Month"), ("homes_text", "Children's homes"), ("places_text", "Places"),
                           ("own_text", "Own children in them"), ("other_text", "Other authorities' children"),
                           ("share_text", "Share of places, own children"), ("reporting", "Authorities with returns"))
    x = alt.X("month:T", timeUnit="utcyearmonth", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0))
    lines = alt.Chart(alt.Data(values=records)).mark_line(strokeWidth=2.5, invalid="break-paths-show-domains").encode(
        x=x,
        y=alt.Y("value:Q", title="Places / children"),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=[BLUE, ORANGE, "#f0a35e"]),
                        legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=3)),
        strokeDash=alt.StrokeDash("series:N", title=None, scale=alt.Scale(domain=domain,
                                                                           range=[[1, 0], [1, 0], [5, 3]])),
        tooltip=occupancy_tips,
    )
    hover = alt.Chart(alt.Data(values=records)).mark_point(size=120, opacity=0).encode(
        x=x, y="value:Q", tooltip=occupancy_tips)
    latest = shown.iloc[-1]
    subtitle = (f"{pd.Timestamp(latest.month):%B %Y}: {_in_words(latest.own_children)} own children in "
                f"{int(latest.places):,} places" +
                (f" ({_share(latest.share_own)})" if latest.share_own != SUPPRESSED else ""))
    counts = alt.layer(lines, hover).properties(width=WIDTH - 60, height=250, title=alt.TitleParams(
        "Places, and the children living in them", subtitle=subtitle))
    shares = [{"month": r["month"], "share": _number(s), **{k: r[k] for k in (
        "month_text", "homes_text", "places_text", "own_text", "other_text", "share_text", "reporting")}}
        for r, s in zip(records[::3], shown["share_own"])]
    share_line = alt.Chart(alt.Data(values=shares)).mark_line(
        strokeWidth=2.5, color=ORANGE, invalid="break-paths-show-domains",
        point=alt.OverlayMarkDef(size=14, color=ORANGE)).encode(
        x=x, y=alt.Y("share:Q", title="Share of places", axis=alt.Axis(format=".0%", tickCount=4),
                     scale=alt.Scale(domain=[0, max(0.5, min(1.0, math.ceil(
                         (max([v["share"] for v in shares if v["share"] is not None] or [0]) + 0.05) * 10) / 10))])),
        tooltip=occupancy_tips)
    share = share_line.properties(width=WIDTH - 60, height=110, title=alt.TitleParams(
        "Share of the places taken by the authority's own children"))
    layered = alt.vconcat(counts, share, spacing=16).resolve_scale(color="independent", strokeDash="independent")
    section.spec, section.rows = _style(layered), len(records)
    section.notes.append(SUPPRESSION_NOTE + (" (shown as gaps)" if suppressed else ""))
    return section


def distance(con, grouping: Grouping) -> Section:
    section = Section("distance", CHART_TITLES["distance"],
                      "Of the children placed by the area's authorities on 31 March, the share living more than 20 "
                      "miles from home, by type of placement (bars: latest year; black marks: the first year).")
    frame = _query(con, """
        select collection_year, placement_type, sum(placements) as placements, sum(with_distance) as with_distance,
               sum(over_20_miles) as over_20_miles
        from marts.mart_placement_distance
        where list_contains(?, la_gss_code)
        group by all
        order by collection_year, placement_type
    """, [list(grouping.la_gss_codes)])
    if frame.empty:
        section.no_data = f"no data for placement distances in {grouping.name}"
        return section
    latest, first = int(frame["collection_year"].max()), int(frame["collection_year"].min())
    frame["share"] = frame["over_20_miles"] / frame["with_distance"].where(frame["with_distance"] > 0)
    shown = suppress_counts(frame, ["placements", "with_distance", "over_20_miles"],
                            derived={"share": ["over_20_miles", "with_distance"]})
    shown["type"] = shown["placement_type"].map(PLACEMENT_TYPES).fillna(shown["placement_type"])
    now = shown[shown["collection_year"] == latest]
    then = shown[shown["collection_year"] == first].set_index("placement_type")
    records = []
    for r in now.itertuples():
        before = then.loc[r.placement_type] if r.placement_type in then.index and first != latest else None
        records.append({
            "type": r.type, "share": _number(r.share), "first": _number(before["share"]) if before is not None
            else None, "label": _share(r.share) if r.share == SUPPRESSED or pd.notna(r.share) else "no distance known",
            "placements": _count(r.placements), "known": _count(r.with_distance),
            "over": _count(r.over_20_miles), "share_text": _share(r.share),
            "first_text": _share(before["share"]) if before is not None else "–",
        })
    records.sort(key=lambda r: -(r["share"] if r["share"] is not None else -1))
    for record in records:
        record["label_at"] = max([v for v in (record["share"], record["first"]) if v is not None] or [0.0])
    order = [r["type"] for r in records]
    top = min(1.0, math.ceil((max(r["label_at"] for r in records) + 0.08) * 10) / 10)
    base = alt.Chart(alt.Data(values=records))
    y = alt.Y("type:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    tooltip = _tips(("type", "Placement type"), ("share_text", f"Over 20 miles, {latest}"),
                    ("first_text", f"Over 20 miles, {first}"), ("placements", f"Placements, {latest}"),
                    ("known", "With a known distance"), ("over", "Over 20 miles"))
    bars = base.mark_bar(height=18, color=ORANGE, cornerRadiusEnd=2).encode(
        x=alt.X("share:Q", title="Share placed more than 20 miles from home", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, top])), y=y, tooltip=tooltip)
    ticks = base.mark_tick(color=DARK, thickness=2, size=22).encode(x="first:Q", y=y, tooltip=tooltip)
    inside = base.transform_filter(f"datum.share != null && datum.share >= {top * 0.08}").mark_text(
        align="right", dx=-5, fontSize=11, color="white", fontWeight="bold").encode(
        x=alt.X("share:Q"), y=y, text="label:N")
    outside = base.transform_filter(f"datum.share == null || datum.share < {top * 0.08}").mark_text(
        align="left", dx=6, fontSize=11, color="#333").encode(x=alt.X("label_at:Q"), y=y, text="label:N")
    chart = alt.layer(bars, ticks, inside, outside).properties(
        width=WIDTH - 240, height=28 * len(records),
        title=alt.TitleParams(f"Placed over 20 miles from home, 31 March {latest}",
                              subtitle=f"black mark: 31 March {first}" if first != latest else ""))
    section.spec, section.rows = _style(chart), len(records)
    section.notes.append(SUPPRESSION_NOTE + "; distance between the centres of the home and placement postcode "
                         "districts; children whose distance is unknown are left out of the share")
    return section


def unregistered(con, grouping: Grouping) -> Section:
    section = Section("unregistered", CHART_TITLES["unregistered"],
                      "Each month: placements by the area's authorities in settings that must be registered with "
                      "Ofsted but were not on that day – no URN recorded, or a URN not registered then.")
    frame = _query(con, """
        select month, count(*) as las_reporting, sum(placements_needing_registration) as needing,
               sum(no_urn) as no_urn, sum(urn_not_registered) as urn_not_registered,
               sum(unregistered_placements) as unregistered, sum(children_unregistered) as children
        from marts.mart_unregistered_placements
        where list_contains(?, la_gss_code)
        group by month
        order by month
    """, [list(grouping.la_gss_codes)])
    if frame.empty:
        section.no_data = f"no data for unregistered placements in {grouping.name}"
        return section
    shown = suppress_counts(frame, ["needing", "no_urn", "urn_not_registered", "unregistered", "children"],
                            totals={"unregistered": ["no_urn", "urn_not_registered"]})
    records = []
    for r in shown.itertuples():
        common = {"month": pd.Timestamp(r.month).strftime("%Y-%m-%d"),
                  "month_text": pd.Timestamp(r.month).strftime("%b %Y"),
                  "total": _count(r.unregistered), "children": _count(r.children),
                  "no_urn": _count(r.no_urn), "not_registered": _count(r.urn_not_registered),
                  "needing": _count(r.needing),
                  "reporting": f"{r.las_reporting} of {len(grouping.la_gss_codes)}"}
        for what, value in (("no URN recorded", r.no_urn), ("URN not registered that day", r.urn_not_registered)):
            records.append({**common, "why": what, "value": _number(value)})
    suppressed = any(r["value"] is None for r in records)
    tooltip = _tips(("month_text", "Month"), ("total", "Placements in unregistered settings"),
                    ("children", "Children"), ("no_urn", "No URN recorded"),
                    ("not_registered", "URN not registered that day"),
                    ("needing", "Placements needing registration"), ("reporting", "Authorities with returns"))
    x = alt.X("month:T", timeUnit="utcyearmonth", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0))
    bars = alt.Chart(alt.Data(values=records)).mark_bar().encode(
        x=x,
        y=alt.Y("sum(value):Q", title="Placements in unregistered settings"),
        color=alt.Color("why:N", title=None, scale=alt.Scale(
            domain=["no URN recorded", "URN not registered that day"], range=[RED, "#f0a0a2"])),
        tooltip=tooltip,
    )
    # a suppressed month is marked "c" on the axis, so that it never reads as none
    hidden = [r for r in records[::2] if r["total"] == SUPPRESSED]
    marks = alt.Chart(alt.Data(values=hidden or [{"month": None}])).transform_filter("datum.month != null").mark_text(
        text=SUPPRESSED, baseline="bottom", dy=-2, fontSize=10, color=GREY, fontStyle="italic").encode(
        x=alt.X("month:T", timeUnit="utcyearmonth", bandPosition=0.5), y=alt.datum(0), tooltip=tooltip)
    chart = alt.layer(bars, marks).properties(width=WIDTH - 60, height=240, title=alt.TitleParams(
        "Placements in unregistered settings, month end",
        subtitle=f"{pd.Timestamp(shown.iloc[-1].month):%B %Y}: {_in_words(shown.iloc[-1].unregistered)} placements"))
    section.spec, section.rows = _style(chart), len(records)
    section.notes.append(SUPPRESSION_NOTE + (" (months marked c)" if suppressed else ""))
    return section


IMPORT_COLUMNS = {
    "placing_la_name": "Placing authority",
    "placing_region_name": "Its region",
    "inside": "In the grouping",
    "residential_female": "Residential: girls",
    "residential_male": "Residential: boys",
    "residential_placements": "Residential: total",
    "placements": "All placements",
}
IMPORT_COUNTS = ["residential_female", "residential_male", "residential_placements", "placements", "female", "male"]


def imports_table(con, grouping: Grouping) -> tuple[int | None, pd.DataFrame]:
    """Other authorities' children in settings in the grouping's authorities on the latest 31 March, by placing
    authority, summed over the grouping's host authorities, with a total row; suppressed (the total is published,
    so no column holds exactly one suppressed cell)."""
    frame = _query(con, """
        with latest as (
            select max(collection_year) as year
            from marts.mart_placement_imports
            where list_contains(?, host_la_gss_code)
        )
        select collection_year, placing_la_gss_code, any_value(placing_la_name) as placing_la_name,
               any_value(placing_region_name) as placing_region_name, sum(placements) as placements,
               sum(female) as female, sum(male) as male, sum(residential_placements) as residential_placements,
               sum(residential_female) as residential_female, sum(residential_male) as residential_male
        from marts.mart_placement_imports
        where collection_year = (select year from latest) and list_contains(?, host_la_gss_code)
            and host_la_gss_code <> placing_la_gss_code
        group by collection_year, placing_la_gss_code
        order by residential_placements desc, placements desc, placing_la_name
    """, [list(grouping.la_gss_codes), list(grouping.la_gss_codes)])
    if frame.empty:
        return None, frame
    year = int(frame["collection_year"].iloc[0])
    frame["inside"] = frame["placing_la_gss_code"].isin(grouping.la_gss_codes).map({True: "yes", False: "no"})
    total = {"placing_la_name": f"All {len(frame)} authorities", "placing_region_name": "", "inside": "",
             **{c: frame[c].sum() for c in IMPORT_COUNTS}}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    frame["_table"] = (frame.index < len(frame) - 1).astype(int)  # the parts, summed by the total row
    shown = suppress_counts(
        frame, IMPORT_COUNTS,
        totals={"placements": ["female", "male"], "residential_placements": ["residential_female",
                                                                              "residential_male"]},
        sums={c: ["_table"] for c in IMPORT_COUNTS})
    return year, shown.drop(columns=["_table"])


def imports(con, grouping: Grouping) -> Section:
    section = Section("imports", CHART_TITLES["imports"],
                      "Children of other authorities (with returns in) living in settings in the area's authorities on "
                      "31 March, by the authority that placed them: residential placements (children's homes) by sex, "
                      "and placements of every kind.")
    year, shown = imports_table(con, grouping)
    if year is None:
        section.no_data = f"no data for other authorities' children placed in {grouping.name}"
        return section
    rows = []
    for record in shown.to_dict("records"):
        rows.append([record["placing_la_name"] or "", record["placing_region_name"] or "", record["inside"] or ""] +
                    [_count(record[c]) for c in ("residential_female", "residential_male", "residential_placements",
                                                 "placements")])
    section.table = {"caption": f"31 March {year}", "columns": list(IMPORT_COLUMNS.values()), "rows": rows[:-1],
                     "total": rows[-1]}
    section.rows = len(rows) - 1
    section.notes.append(SUPPRESSION_NOTE + "; a further cell is suppressed where one alone would be revealed by "
                         "a total")
    return section


SECTIONS = {
    "spend_top_groups": spend_top_groups,
    "spend_lorenz": spend_lorenz,
    "spend_concentration": spend_concentration,
    "homes": homes,
    "occupancy": occupancy,
    "distance": distance,
    "unregistered": unregistered,
    "imports": imports,
}
PARTS = [
    ("Spend with providers", ["spend_top_groups", "spend_lorenz", "spend_concentration"]),
    ("Homes in the area", ["homes", "occupancy"]),
    ("Where the area's children live", ["distance", "unregistered", "imports"]),
]


# ---------------------------------------------------------------------------------------------------------------
# The page


@lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script (vl-convert bundles them, no network), made once per process."""
    import vl_convert

    version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]  # "v6.4.1" -> "6.4"
    return vl_convert.javascript_bundle(vl_version=version)


def _json_for_script(value) -> str:
    """JSON safe inside a <script> element: no '<' can close it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace(
        "<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


EMBED_OPTIONS = {"actions": False, "renderer": "svg"}

TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ grouping.name }}: children's placement sufficiency</title>
<style>
  :root { --blue: #1f5a96; --ink: #1b1b1b; --muted: #555; --line: #dcdcdc; --red: #c8373b; --amber: #b76e00; }
  * { box-sizing: border-box; }
  body { margin: 0; background: #f4f5f7; color: var(--ink); font: 14px/1.45 {{ font }}; }
  main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 40px; background: white; }
  header { border-bottom: 4px solid var(--blue); padding-bottom: 12px; margin-bottom: 16px; }
  header h1 { margin: 0 0 2px; font-size: 26px; }
  header .sub { color: var(--muted); }
  h2 { font-size: 19px; margin: 30px 0 6px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
  h3 { font-size: 16px; margin: 22px 0 2px; }
  .what { color: var(--muted); margin: 0 0 8px; max-width: 900px; }
  .note { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
  .caveat { color: var(--amber); font-size: 12.5px; margin: 4px 0 0; }
  .chart { min-height: 40px; }
  .no-data { border: 1px dashed #b9b9b9; background: #fafafa; color: #444; padding: 18px; margin: 6px 0;
             border-radius: 4px; }
  .coverage { border: 1px solid var(--line); border-left: 6px solid #2a9d6f; padding: 10px 14px 12px;
              border-radius: 4px; background: #fbfcfb; }
  .coverage.partial { border-left-color: var(--amber); background: #fffaf0; }
  .coverage.held { border-left-color: var(--red); background: #fff6f6; }
  .coverage h2 { margin: 0 0 6px; border: 0; font-size: 17px; }
  .coverage p.alert { background: var(--red); color: white; padding: 8px 12px; border-radius: 3px;
                     font-weight: 600; margin: 0 0 8px; }
  .coverage p.warn { color: #7a4a00; margin: 0 0 6px; font-weight: 600; }
  .coverage p.warn::before { content: "▲ "; color: var(--amber); }
  .coverage p.info { color: var(--muted); margin: 0 0 6px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { padding: 4px 8px; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top; }
  th { background: #f0f2f5; font-weight: 600; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  tr.total td { font-weight: 700; border-top: 2px solid #999; }
  .badge { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; font-weight: 600;
           white-space: nowrap; }
  .badge.held_back { background: var(--red); color: white; }
  .badge.carried_forward { background: #f4b400; color: #222; }
  .badge.missing { background: #9e9e9e; color: white; }
  .zero { color: #aaa; }
  .bad { color: var(--red); font-weight: 700; }
  .warn { color: var(--amber); font-weight: 700; }
  .reason { max-width: 420px; word-break: break-word; }
  details summary { cursor: pointer; color: var(--blue); margin-top: 8px; }
  .row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
  .row > section { flex: 1 1 420px; min-width: 0; }
  footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
           padding-top: 8px; }
</style>
<script>
// Vega {{ vega_version }}, Vega-Lite {{ vegalite_version }} and vega-embed {{ embed_version }}, inlined: no network.
{{ bundle }}
</script>
</head>
<body>
<main>
<header>
  <h1>{{ grouping.name }}</h1>
  <div class="sub">Children's placement sufficiency · {{ grouping_kind }} of {{ las|length }} authorities ·
    built {{ built_at }} from the published warehouse</div>
  <div class="sub">{{ las|join(", ") }}</div>
</header>

<section class="coverage {{ cover.state }}" id="coverage">
  <h2>What this report is built from</h2>
  {% for level, text in cover.notices %}
  <p class="{{ level }}"{% if level == 'alert' %} id="held-back-alert"{% endif %}>{{ text }}</p>
  {% endfor %}
  <table>
    <thead><tr><th>Source</th><th>In</th><th class="n">Included</th><th class="n">Carried forward</th>
      <th class="n">Held back</th><th class="n">Missing</th><th>Feeds</th></tr></thead>
    <tbody>
    {% for s in cover.sources %}
      <tr><td>{{ s.label }}</td><td>{{ s.summary }}</td>
        <td class="n">{{ s.included }}</td>
        <td class="n {{ 'warn' if s.carried_forward else 'zero' }}">{{ s.carried_forward }}</td>
        <td class="n {{ 'bad' if s.held_back else 'zero' }}">{{ s.held_back }}</td>
        <td class="n {{ 'warn' if s.missing else 'zero' }}">{{ s.missing }}</td>
        <td>{{ s.charts }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% if cover.problems %}
  <details {% if cover.state == 'held' %}open{% endif %}>
    <summary>Returns not in as sent ({{ cover.problems|length }}) – why, and which charts they leave incomplete
    </summary>
    <table>
      <thead><tr><th>Status</th><th>Return</th><th>Checks and reason</th><th>Charts incomplete</th></tr></thead>
      <tbody>
      {% for p in cover.problems %}
        <tr><td><span class="badge {{ p.status }}">{{ p.status_label }}</span></td><td>{{ p.what }}</td>
          <td class="reason">{% if p.checks %}<b>{{ p.checks }}</b>: {% endif %}{{ p.reason|truncate(500) }}
            {% if p.files %}<br><span class="note">files: {{ p.files|truncate(300) }}</span>{% endif %}</td>
          <td>{{ p.charts }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
  </details>
  {% else %}
  <p class="note">Every return the build holds for {{ grouping.name }} is included as sent.</p>
  {% endif %}
</section>

{% for part_title, rows in parts %}
<h2>{{ part_title }}</h2>
  {% for row in rows %}
  <div class="row">
    {% for s in row %}
    <section id="section-{{ s.name }}">
      <h3>{{ s.title }}</h3>
      <p class="what">{{ s.what }}</p>
      {% if s.no_data %}
        <div class="no-data" id="no-data-{{ s.name }}"><b>Not shown:</b> {{ s.no_data }}.</div>
      {% elif s.table %}
        <table class="data" id="table-{{ s.name }}">
          <caption class="note" style="text-align:left">{{ s.table.caption }}</caption>
          <thead><tr>{% for c in s.table.columns %}
            <th{% if loop.index > 3 %} class="n"{% endif %}>{{ c }}</th>{% endfor %}</tr></thead>
          <tbody>
          {% for r in s.table.rows %}<tr>{% for v in r %}
            <td{% if loop.index > 3 %} class="n"{% endif %}>{{ v }}</td>{% endfor %}</tr>
          {% endfor %}
          <tr class="total">{% for v in s.table.total %}
            <td{% if loop.index > 3 %} class="n"{% endif %}>{{ v }}</td>{% endfor %}</tr>
          </tbody>
        </table>
      {% else %}
        <div class="chart" id="chart-{{ s.name }}"></div>
        <script type="application/json" data-chart="{{ s.name }}">{{ s.spec_json|safe }}</script>
      {% endif %}
      {% for n in s.notes %}<p class="note">{{ n }}</p>{% endfor %}
      {% for c in s.caveats %}<p class="caveat">{{ c }}</p>{% endfor %}
    </section>
    {% endfor %}
  </div>
  {% endfor %}
{% endfor %}

<footer>
  Sources: Ofsted children's social care register; the authorities' SSDA903 returns; councils' spend over £500
  files, grouped by provider group. Counts of fewer than 5 children are shown as c. Built {{ built_at }}.
</footer>
</main>
<script>
(function () {
  var options = {{ embed_options|safe }};
  window.reportViews = {};
  document.querySelectorAll('script[data-chart]').forEach(function (element) {
    var name = element.getAttribute('data-chart');
    vegaEmbed('#chart-' + name, JSON.parse(element.textContent), options)
      .then(function (result) { window.reportViews[name] = result.view; })
      .catch(function (error) { console.error('chart ' + name + ': ' + error); });
  });
})();
</script>
</body>
</html>
""")


def _utc(moment: datetime) -> datetime:
    """A naive time is taken to be UTC already (the build's clock)."""
    return moment if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _rows_of(parts: list[tuple[str, list[str]]], sections: dict[str, Section]) -> list[tuple[str, list[list]]]:
    """Sections laid out: the two concentration charts side by side, every other one on its own row."""
    laid = []
    for title, names in parts:
        rows: list[list[Section]] = []
        for name in names:
            if name == "spend_concentration" and rows and rows[-1][0].name == "spend_lorenz":
                rows[-1].append(sections[name])
            else:
                rows.append([sections[name]])
        laid.append((title, rows))
    return laid


def build_sections(con, grouping: Grouping) -> tuple[dict, dict[str, Section]]:
    cover_frame = coverage(con, grouping)
    sections = {}
    for name, make in SECTIONS.items():
        section = make(con, grouping)
        section.caveats = _caveats(cover_frame, name)
        sections[name] = section
    return _coverage_view(cover_frame, grouping), sections


def render(grouping: Grouping, cover: dict, sections: dict[str, Section], built_at: datetime,
           la_names: list[str]) -> str:
    for section in sections.values():
        section.spec_json = _json_for_script(section.spec) if section.spec is not None else None
    import vl_convert

    return TEMPLATE.render(
        grouping=grouping,
        grouping_kind="region" if grouping.grouping_type == "region" else grouping.grouping_type,
        las=la_names,
        built_at=f"{_utc(built_at):%d %B %Y %H:%M} UTC",
        cover=cover,
        parts=_rows_of(PARTS, sections),
        font=FONT,
        bundle=jinja2.utils.markupsafe.Markup(javascript_bundle()),
        vega_version=vl_convert.get_vega_version(),
        vegalite_version=alt.SCHEMA_VERSION.lstrip("v"),
        embed_version=vl_convert.get_vega_embed_version(),
        embed_options=_json_for_script(EMBED_OPTIONS),
    )


def write_report(published_db: Path, grouping: Grouping, out_path: Path, built_at: datetime) -> dict[str, int]:
    """Write the grouping's report to out_path (atomically: a temporary file beside it, then renamed) from the
    published marts; returns {chart name: rows plotted} (0 where the page says there is no data)."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        return write_report_from(con, grouping, out_path, built_at)
    finally:
        con.close()


def write_report_from(con, grouping: Grouping, out_path: Path, built_at: datetime) -> dict[str, int]:
    """write_report on an open connection to the published marts (one connection for every grouping)."""
    cover, sections = build_sections(con, grouping)
    la_names = [name for (name,) in con.execute(
        "select la_name from marts.dim_local_authority where list_contains(?, la_gss_code) order by la_name",
        [list(grouping.la_gss_codes)]).fetchall()]
    page = render(grouping, cover, sections, built_at, la_names)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(out_path)
    return {name: section.rows for name, section in sections.items()}


def main(argv: list[str] | None = None) -> None:
    """python -m exports.report PUBLISHED_DB OUT_DIR: every grouping's report (for trying the page by hand)."""
    import argparse

    from exports.groupings import groupings, inside

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("published_db", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    con = duckdb.connect(str(args.published_db), read_only=True)
    try:
        for grouping in groupings(con):
            started = time.perf_counter()
            rows = write_report_from(con, grouping, inside(args.out_dir, f"{grouping.slug}.html"),
                                     datetime.now(timezone.utc))
            print(f"{grouping.slug}: {time.perf_counter() - started:.2f}s {rows}")
    finally:
        con.close()


if __name__ == "__main__":
    main()
