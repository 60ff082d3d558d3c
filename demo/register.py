"""The real Ofsted register as the generator needs it: settings, their class, places on each date, owners.

The register files are landed with the warehouse's own loader (`ingest.ofsted.load_folder`) into an in-memory
DuckDB, so every year's layout (preamble lines, super-headers, renamed columns) is handled in one place.

Snapshots are the provider-level files ('as at' dates); the places file of the same date adds the settings it
lists that the provider-level file of that date lacks (newly registered homes). On any date the register in force
is the snapshot nearest before (or on) it; before the first snapshot, the first one, restricted to settings
registered by then. A setting counts on a date only if it is in the snapshot in force, registered by then, not
suspended and not closed (the closed-homes file gives closure dates).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from demo import geography
from ingest import ofsted

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REGISTER = REPO / "inbox" / "ofsted"

# Provision class -> SSDA903 placement codes it can take.
CLASSES = {
    "CH": "Children's home (incl. residential special school registered as a children's home)",  # K2
    "SCH": "Secure children's home",  # K1
    "RFC": "Residential family centre",  # R3
    "RSS": "Residential special school or boarding school",  # S1
    "IFA": "Independent fostering agency",  # U4-U6 with PR4/PR5
}
CAPACITY_CLASSES = ("CH", "SCH", "RFC", "RSS")
EPOCH = np.datetime64("1970-01-01", "D")

_CLASS_SQL = """
case
  when lower(provision_type) in ('children''s home', 'residential special school (registered as a children''s home)')
    then 'CH'
  when lower(provision_type) = 'secure children''s home' then 'SCH'
  when lower(provision_type) = 'residential family centre' then 'RFC'
  when lower(provision_type) in ('residential special school', 'boarding school') then 'RSS'
  when lower(provision_type) = 'independent fostering agency' then 'IFA'
end
"""


def day_number(value: dt.date) -> int:
    return int((np.datetime64(value, "D") - EPOCH).astype(np.int64))


def month_number(day) -> np.ndarray:
    """Days since 1970-01-01 -> months since 1970-01."""
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def first_day_of_month(month) -> np.ndarray:
    """Months since 1970-01 -> days since 1970-01-01 of the month's first day."""
    return np.asarray(month, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


@dataclass
class Register:
    snapshots: np.ndarray  # int days, sorted
    urn: np.ndarray  # str
    klass: np.ndarray  # str, CH/SCH/RFC/RSS/IFA
    provision_type: np.ndarray  # str, as Ofsted last wrote it
    la: np.ndarray  # int, index into geography.las (current authority)
    outcode: np.ndarray  # int, unit of its postcode (index into geography.outcodes)
    postcode: np.ndarray  # int, index into geography pc: the published postcode, else one made up in its LA
    registration_day: np.ndarray  # int days (very small when unknown)
    closed_day: np.ndarray  # int days (very large when not closed)
    provider_name: np.ndarray  # object (None when withheld in every file)
    present: np.ndarray  # bool [snapshot, setting]
    places: np.ndarray  # int [snapshot, setting]
    sector: np.ndarray  # object [snapshot, setting]
    owner: np.ndarray  # object [snapshot, setting]; a blank filled from the nearest snapshot that names one

    def snapshot_at(self, day: np.ndarray) -> np.ndarray:
        """Index of the snapshot in force on each day: nearest before or on it; the first before any."""
        return np.maximum(np.searchsorted(self.snapshots, np.asarray(day), side="right") - 1, 0)

    def available(self, day: np.ndarray, setting: np.ndarray) -> np.ndarray:
        """Whether each setting is registered and open on each day (elementwise)."""
        snap = self.snapshot_at(day)
        return (
            self.present[snap, setting]
            & (self.registration_day[setting] <= day)
            & (self.closed_day[setting] > day)
        )

    def capacity(self, months: np.ndarray, settings: np.ndarray) -> np.ndarray:
        """Places [setting, month] that hold on every day of the month (0 where not open all month)."""
        start = first_day_of_month(months)
        end = first_day_of_month(months + 1) - 1
        s0, s1 = self.snapshot_at(start), self.snapshot_at(end)
        cap = np.minimum(self.places[s0][:, settings], self.places[s1][:, settings]).T
        ok = self.present[s0][:, settings].T & self.present[s1][:, settings].T
        ok &= self.registration_day[settings][:, None] <= start[None, :]
        ok &= self.closed_day[settings][:, None] > end[None, :]
        return np.where(ok, cap, 0).astype(np.int32)


def load_raw(register_dir: Path) -> duckdb.DuckDBPyConnection:
    """Every register file in register_dir landed into an in-memory DuckDB by the warehouse loader."""
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="demo-register-"):
        outcomes = ofsted.load_folder(con, Path(register_dir), "demo")
    failed = [o for o in outcomes if o.status not in ("loaded", "loaded_with_quarantine", "unchanged", "duplicate")]
    if failed:
        problems = "; ".join(f"{o.path}: {o.error}" for o in failed)
        raise RuntimeError(f"register files that could not be read: {problems}")
    return con


def load(con: duckdb.DuckDBPyConnection, geo: geography.Geography) -> Register:
    """Settings of the classes the generator places children with, as arrays (sorted by URN)."""
    con.execute(
        f"""
        create or replace temp table snap as
        with provider as (
            select upper(trim(urn)) as urn, reference_date, provision_type, registration_date, registration_status,
                   provider_name, postcode, local_authority, sector, try_cast(places as integer) as places,
                   short_break_only, owner_name, 1 as pref
            from raw.ofsted_providers
        ),
        places_only as (  -- the places file of a snapshot date adds settings the provider-level file lacks
            select upper(trim(p.urn)), p.reference_date, p.provision_type, p.registration_date,
                   p.registration_status, p.provider_name, p.postcode, p.local_authority, p.sector,
                   try_cast(p.places as integer), p.short_break_only, p.owner_name, 2
            from raw.ofsted_places p
            where p.reference_date in (select distinct reference_date from raw.ofsted_providers)
        ),
        unioned as (select * from provider union all select * from places_only)
        select *, {_CLASS_SQL} as klass
        from unioned
        qualify row_number() over (partition by urn, reference_date order by pref) = 1
        """
    )
    snapshots = [row[0] for row in con.execute("select distinct reference_date from snap order by 1").fetchall()]
    settings = con.execute(
        """
        with typed as (select * from snap where klass is not null),
        excluded as (  -- short-break-only homes and health-authority homes never take a placement
            select urn from typed
            where klass = 'CH' and (short_break_only is not null or sector = 'Health Authority')
        ),
        latest as (
            select urn, klass, provision_type, local_authority,
                   try_strptime(registration_date, '%d/%m/%Y')::date as registration_date
            from typed qualify row_number() over (partition by urn order by reference_date desc) = 1
        ),
        named as (
            select urn,
                   max(provider_name) filter (where provider_name is not null
                       and upper(provider_name) not like '%REDACT%') as provider_name,
                   max(upper(trim(postcode))) filter (where postcode is not null
                       and upper(postcode) not like '%REDACT%') as postcode
            from typed group by urn
        ),
        closed as (
            select upper(trim(urn)) as urn, min(try_strptime(date_closed, '%d/%m/%Y')::date) as date_closed
            from raw.ofsted_closed_homes group by 1
        )
        select l.urn, l.klass, l.provision_type, l.local_authority, l.registration_date, n.provider_name,
               n.postcode, c.date_closed
        from latest l join named n using (urn) left join closed c using (urn)
        where l.urn not in (select urn from excluded)
        order by l.urn
        """
    ).fetchall()
    keep = []
    for urn, klass, ptype, la_text, reg, name, postcode, closed in settings:
        la = geography.current_la(la_text, urn)
        if la is None or la.gss_code not in geo.gss_index:
            continue
        keep.append((urn, klass, ptype, geo.gss_index[la.gss_code], reg, name, postcode, closed))
    n = len(keep)
    index = {row[0]: i for i, row in enumerate(keep)}
    # The published postcode when the directory holds it in the setting's LA. Else a postcode fixed by the URN: in
    # the published district within the LA when there is one (the warehouse's loader keeps the district only),
    # anywhere in the LA otherwise (address withheld, as for every children's home).
    postcode = geo.locate([row[6] for row in keep]).astype(np.int64)
    for i, (urn, _, _, la, _, _, published, _) in enumerate(keep):
        if postcode[i] < 0 or geo.la_index[geo.pc_unit[postcode[i]]] != la:
            unit = geo.unit_index.get((geography.district_of(published), la))
            postcode[i] = geo.stable_in_unit(unit, urn) if unit is not None else geo.stable_in_la(la, urn)
    outcode = geo.pc_unit[postcode].astype(np.int32)

    present = np.zeros((len(snapshots), n), dtype=bool)
    places = np.zeros((len(snapshots), n), dtype=np.int32)
    sector = np.full((len(snapshots), n), None, dtype=object)
    owner = np.full((len(snapshots), n), None, dtype=object)
    rows = con.execute(
        "select urn, reference_date, registration_status, places, sector, owner_name from snap "
        "where klass is not null order by urn, reference_date"
    ).fetchall()
    snap_index = {d: i for i, d in enumerate(snapshots)}
    for urn, ref, status, place_count, sec, own in rows:
        i = index.get(urn)
        if i is None:
            continue
        s = snap_index[ref]
        present[s, i] = (status or "Active").lower() != "suspended"
        places[s, i] = place_count or 0
        sector[s, i] = sec
        owner[s, i] = own
    # A snapshot that leaves the owner blank: the owner the nearest earlier snapshot names, else the nearest later.
    for s in range(1, len(snapshots)):
        owner[s] = np.where(owner[s] == None, owner[s - 1], owner[s])  # noqa: E711 (elementwise)
    for s in range(len(snapshots) - 2, -1, -1):
        owner[s] = np.where(owner[s] == None, owner[s + 1], owner[s])  # noqa: E711
    far_past, far_future = day_number(dt.date(1900, 1, 1)), day_number(dt.date(2200, 1, 1))
    return Register(
        snapshots=np.array([day_number(d) for d in snapshots], dtype=np.int64),
        urn=np.array([r[0] for r in keep]),
        klass=np.array([r[1] for r in keep]),
        provision_type=np.array([r[2] for r in keep], dtype=object),
        la=np.array([r[3] for r in keep], dtype=np.int32),
        outcode=outcode,
        postcode=postcode,
        registration_day=np.array([day_number(r[4]) if r[4] else far_past for r in keep], dtype=np.int64),
        closed_day=np.array([day_number(r[7]) if r[7] else far_future for r in keep], dtype=np.int64),
        provider_name=np.array([r[5] for r in keep], dtype=object),
        present=present,
        places=places,
        sector=sector,
        owner=owner,
    )
