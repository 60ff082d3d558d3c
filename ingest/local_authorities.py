"""Children's services authorities in England: resolve a name, GSS code or DfE code to one authority.

`resolve_la("Bristol, City of")`, `resolve_la("E06000023")` and `resolve_la("801")` all give
`LocalAuthority(gss_code="E06000023", dfe_code="801", name="Bristol, City of")`; an unknown text gives None.

The answer comes from the reference seeds in dbt_project/seeds (read with the csv module, cached), following the
same rules as the dbt models `int_local_authorities_joined` and `int_local_authority_names_unioned`:

* authorities: the English upper-tier authorities of the mySociety register (county councils, unitary
  authorities, metropolitan districts, London boroughs, the City of London, the Isles of Scilly), current and
  former (Cumbria, Northamptonshire, Somerset County, North Yorkshire County, Dorset County, Bournemouth, Poole,
  Buckinghamshire County);
* name variants: register nice, official and alternative names, the mySociety name lookup, the DfE names, the
  analyst aliases (seeds/la_name_aliases.csv), plus every GSS code, former GSS code and DfE code;
* every variant is reduced by `normalise_name`; a key that several authorities share goes to the current one
  (then the newest; then the lowest GSS code). "Somerset" and "933" therefore mean Somerset Council
  (E06000066), not Somerset County Council (E10000027), which stays reachable as "Somerset County Council"
  or "E10000027";
* `as_of`: an authority that took over the whole of exactly one former authority (Somerset, North Yorkshire,
  Dorset, Buckinghamshire) answers for its predecessor before its own start date, so
  `resolve_la("Somerset", as_of=date(2022, 3, 31))` is Somerset County Council. GSS codes are never remapped.

`normalise_name` is the single written definition of the name rules. The dbt macro
dbt_project/macros/normalised_name.sql mirrors NAME_RULES step by step (tests check that the two agree).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "LocalAuthority",
    "NAME_RULES",
    "SEEDS_DIR",
    "local_authorities",
    "normalise_name",
    "resolve_la",
]

SEEDS_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"

CHILDRENS_SERVICES_TYPES = frozenset({"CTY", "UA", "MD", "LBO", "CC"})

# (pattern, replacement) applied in order with re.sub to the lower-cased text after '&' -> ' and '.
# After the first rule the text is padded with one space each side, so the word rules can match whole words.
# Mirrored by dbt_project/macros/normalised_name.sql: change both together.
NAME_RULES: tuple[tuple[str, str], ...] = (
    # punctuation, hyphens and runs of spaces -> one space
    (r"[^a-z0-9]+", " "),
    # 'the' is noise ("Telford and the Wrekin", "The Medway Towns"); 'Saint' is written 'St'
    (r" the ", " "),
    (r" saint ", " st "),
    # the City of London must never become 'london'
    (r" city of london ", " cityoflondon "),
    # leading styles: "London Borough of Brent", "Royal Borough of Greenwich", "City of York", "Council of the ..."
    (
        r"^ (council of|city and county of|london borough of|royal borough of|metropolitan borough of"
        r"|borough of|county of|city of) ",
        " ",
    ),
    # trailing styles: "Bedford UA", "Leeds district", "Bradford MDC", "City of London Corporation"
    (r" (corporation|ua|mbc|mdc|london boro|london borough|district) $", " "),
    # "Oldham Metropolitan Borough Council", "Leeds City Council", "Cornwall Council" ('county' is kept)
    (r" (metropolitan )?(borough |district |city )?council $", " "),
    # "Bristol, City of", "Herefordshire, County of"
    (r" (city|county) of $", " "),
    # "Leicester City", "Bedford Borough"
    (r" (metropolitan )?(city|borough) $", " "),
)

_GSS_CODE = re.compile(r"^[EWSN][0-9]{8}$")


@dataclass(frozen=True)
class LocalAuthority:
    gss_code: str
    dfe_code: str | None
    name: str


@dataclass(frozen=True)
class _Authority:
    """One children's services authority with what resolution needs."""

    la: LocalAuthority
    registry_code: str
    is_current: bool
    start_date: dt.date | None
    replaced_by: tuple[str, ...]  # GSS codes
    former_gss_codes: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    gss_code: str
    predecessor_gss_code: str | None
    predecessor_until: dt.date | None


def normalise_name(text: str) -> str:
    """Match key of a local-authority name: lower case, '&' -> 'and', council styles dropped, only a-z0-9 kept.

    "Bristol, City of", "City of Bristol" and "Bristol City Council" -> 'bristol';
    "St. Helens" -> 'sthelens'; "City of London" -> 'cityoflondon'; "Somerset County Council" -> 'somersetcounty'.
    """
    value = str(text).lower().replace("&", " and ")
    for number, (pattern, replacement) in enumerate(NAME_RULES):
        value = re.sub(pattern, replacement, value)
        if number == 0:
            value = " " + value.strip(" ") + " "
    return re.sub(r"[^a-z0-9]", "", value)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]


def _split_alt_names(text: str) -> list[str]:
    # Names are separated by a bare comma; a comma followed by a space belongs to a name ("Bristol, City of").
    return [part.strip() for part in re.split(r",(?! )", text) if part.strip()]


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@lru_cache(maxsize=1)
def _authorities() -> dict[str, _Authority]:
    register = _read(SEEDS_DIR / "reference" / "uk_local_authorities.csv")
    lookup = _read(SEEDS_DIR / "reference" / "lookup_name_to_registry.csv")
    dfe_rows = _read(SEEDS_DIR / "reference" / "la_cla_on_31_march_la_of_placement_netgain.csv")
    supplement = _read(SEEDS_DIR / "la_dfe_codes_supplement.csv")
    aliases = _read(SEEDS_DIR / "la_name_aliases.csv")

    rows = [
        row
        for row in register
        if row["nation"] == "England" and row["local-authority-type"] in CHILDRENS_SERVICES_TYPES
    ]
    gss_by_registry = {row["local-authority-code"]: row["gss-code"] for row in rows}

    # DfE file: latest year's code and name per GSS code.
    dfe: dict[str, tuple[str, str, str]] = {}
    for row in dfe_rows:
        if row["geographic_level"] != "Local authority" or not row["new_la_code"]:
            continue
        seen = dfe.get(row["new_la_code"])
        if seen is None or row["time_period"] > seen[0]:
            dfe[row["new_la_code"]] = (row["time_period"], row["old_la_code"], row["la_name"])
    supplement_by_gss = {row["la_gss_code"]: row for row in supplement}

    extra_names: dict[str, list[str]] = defaultdict(list)
    for row in lookup:
        gss = gss_by_registry.get(row["local-authority-code"])
        if gss:
            extra_names[gss].append(row["la-name"])
    for row in aliases:
        extra_names[row["la_gss_code"]].append(row["alias"])
    for gss, (_, _, name) in dfe.items():
        extra_names[gss].append(name)
    for gss, row in supplement_by_gss.items():
        extra_names[gss].append(row["la_name"])

    authorities: dict[str, _Authority] = {}
    for row in rows:
        gss = row["gss-code"]
        dfe_code = (
            supplement_by_gss.get(gss, {}).get("la_dfe_code")
            or (dfe[gss][1] if gss in dfe else "")
            or row["old-ons-la-code"]
            or None
        )
        name = dfe[gss][2] if gss in dfe else row["nice-name"]
        names = [row["nice-name"], row["official-name"], *_split_alt_names(row["alt-names"]), *extra_names[gss]]
        authorities[gss] = _Authority(
            la=LocalAuthority(gss_code=gss, dfe_code=dfe_code, name=name),
            registry_code=row["local-authority-code"],
            is_current=row["current-authority"] == "True",
            start_date=_date(row["start-date"]),
            replaced_by=tuple(
                gss_by_registry[code] for code in row["replaced-by"].split(",") if code in gss_by_registry
            ),
            former_gss_codes=tuple(code for code in row["former-gss-codes"].split(",") if code),
            names=tuple(name for name in names if name),
        )
    return authorities


@lru_cache(maxsize=1)
def _index() -> dict[str, _Entry]:
    authorities = _authorities()

    # The sole predecessor of an authority: a former authority replaced by it alone, and the only such one.
    predecessors: dict[str, list[str]] = defaultdict(list)
    for gss, authority in authorities.items():
        if not authority.is_current and len(authority.replaced_by) == 1:
            predecessors[authority.replaced_by[0]].append(gss)

    candidates: dict[str, set[str]] = defaultdict(set)
    code_keys: set[tuple[str, str]] = set()
    for gss, authority in authorities.items():
        for name in authority.names:
            candidates[normalise_name(name)].add(gss)
        for code in (gss, *authority.former_gss_codes):
            candidates[normalise_name(code)].add(gss)
            code_keys.add((normalise_name(code), gss))
        if authority.la.dfe_code:
            candidates[normalise_name(authority.la.dfe_code)].add(gss)
    candidates.pop("", None)

    def rank(gss: str) -> tuple:
        authority = authorities[gss]
        start = authority.start_date or dt.date.min
        return (not authority.is_current, -start.toordinal(), gss)

    index: dict[str, _Entry] = {}
    for key, codes in candidates.items():
        winner = min(codes, key=rank)
        sole = predecessors.get(winner, [])
        if len(sole) == 1 and (key, winner) not in code_keys:
            index[key] = _Entry(winner, sole[0], authorities[winner].start_date)
        else:
            index[key] = _Entry(winner, None, None)
    return index


def resolve_la(text: str | int | None, as_of: dt.date | None = None) -> LocalAuthority | None:
    """The children's services authority that `text` names, or None.

    `text` may be a name as commonly written ("Bristol, City of", "St Helens", "Southend on Sea",
    "Bournemouth, Christchurch & Poole", "somerset-council"), a GSS code (E06000066; former codes such as
    E06000048 resolve to the authority now using the area) or a DfE three-digit code (933).
    With `as_of`, a name or DfE code of an authority that replaced exactly one former authority means that
    former authority for dates before the replacement (Somerset before 1 April 2023 -> Somerset County Council).
    """
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    entry = _index().get(normalise_name(raw))
    if entry is None:
        return None
    authorities = _authorities()
    if (
        as_of is not None
        and entry.predecessor_gss_code is not None
        and entry.predecessor_until is not None
        and as_of < entry.predecessor_until
    ):
        return authorities[entry.predecessor_gss_code].la
    if _GSS_CODE.match(raw.upper()) and raw.upper() in authorities:
        return authorities[raw.upper()].la
    return authorities[entry.gss_code].la


def local_authorities(current_only: bool = False) -> tuple[LocalAuthority, ...]:
    """Every children's services authority (current and former unless `current_only`), by GSS code."""
    return tuple(
        authority.la
        for gss, authority in sorted(_authorities().items())
        if authority.is_current or not current_only
    )
