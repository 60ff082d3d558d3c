"""Provider groups and the supplier strings they invoice under.

A placement's provider entity is its Ofsted owning organisation (`owner_name`), else its `provider_name`.
Entities are rolled up to provider groups:

* by a normalised key (case, punctuation, '&'/'and', legal suffixes such as Ltd/Limited/PLC/Group/Holdings
  and company numbers dropped): "HOMES 2 INSPIRE LIMITED" and "Homes 2 Inspire Ltd" are one group;
* by the prefix rules in `demo/data/finance_group_overrides.csv`: a few real multi-entity families whose
  members are separate companies ("Keys Child Care Ltd", "Keys Care Limited", ... -> "Keys Group"). Which
  families belong together is the demo's own invention, stated there, not a claim about real ownership. A
  family's group id comes from its group name, so rules naming the same group ("Compass Children's Homes" and
  "Compass Fostering" -> "Compass Community") give one group.

`resolve` is the roll-up; demo.purchasing uses it too, for the group of each registered setting.

Each entity invoices councils under several supplier strings, the way real ledgers hold them: the Ofsted
name as written, "X Ltd", "X Limited", "X LTD." (upper-case ERP records), "X (Holdings) Ltd", the group's
trading names ("X Group", "X Childcare Ltd", "X Children's Services"). Every string maps to exactly one group:
a generated string that would collide with another group's string is dropped.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

_LEGAL_WORDS = {"limited", "ltd", "plc", "llp", "lp", "cic", "group", "holdings", "holding", "company", "co",
                "the", "uk", "t", "a", "ta"}
_SUFFIX_RE = re.compile(
    r"[\s,.\-]*\b(limited|ltd|plc|llp|cic|l\.t\.d)\b\.?\s*$", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\s*\b\d{6,8}\b\s*$")
_COUNCIL_RE = re.compile(r"\b(council|borough|county|city of|metropolitan|nhs|trust hospital)\b", re.IGNORECASE)


def group_key(name: str) -> str:
    """The normalised name that brand variants of one entity share."""
    s = name.lower().replace("&", " and ").replace("'", "").replace("\u2019", "")
    s = re.sub(r"\b\d{6,8}\b", " ", s)
    s = re.sub(r"[^a-z0-9]+", " ", s)
    words = [w for w in s.split() if w not in _LEGAL_WORDS]
    return " ".join(words) or s.strip()


def stem(name: str) -> str:
    """The entity name without its legal suffix or trailing company number, case kept."""
    s = " ".join(name.split())
    s = _NUMBER_RE.sub("", s)
    prev = None
    while prev != s:
        prev = s
        s = _SUFFIX_RE.sub("", s).strip(" ,.-")
    return s or name.strip()


def _h(*parts) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def group_id_for(key: str) -> str:
    return "PG" + hashlib.sha1(key.encode()).hexdigest()[:10].upper()


def company_number_for(entity_key: str, salt: str = "") -> str:
    """A stable, made-up 8-digit Companies House style number for a legal entity (fictitious)."""
    n = _h("company", entity_key, salt) % 13_999_999 + 1_000_000
    return f"{n:08d}"


def load_overrides() -> list[tuple[str, str]]:
    """(normalised key prefix, group name) of every override rule, in file order (the first match wins)."""
    path = DATA / "finance_group_overrides.csv"
    with open(path, encoding="utf-8", newline="") as f:
        return [(group_key(r["key_prefix"]), r["group_name"]) for r in csv.DictReader(f)]


def override_group_id(group_name: str) -> str:
    """The group id of an override family: by its group name, so that rules naming one group (two prefixes for
    'Compass Community') give one group id."""
    return group_id_for("override:" + group_key(group_name))


def resolve(entity: str, overrides: list[tuple[str, str]] | None = None) -> tuple[str, str | None]:
    """(group id, override group name or None) of a provider entity (an Ofsted owner or provider name)."""
    key = group_key(entity)
    for prefix, name in (load_overrides() if overrides is None else overrides):
        if key == prefix or key.startswith(prefix + " "):
            return override_group_id(name), name
    return group_id_for(key), None


def is_public_body(name: str) -> bool:
    return bool(_COUNCIL_RE.search(name))


@dataclass(frozen=True)
class Variant:
    entity: str
    supplier: str
    company_number: str  # '' for trading names
    weight: float


def _entity_variants(entity: str, group_stem: str, seed: int, group_name: str = "") -> list[Variant]:
    if is_public_body(entity):
        return [Variant(entity, entity, "", 1.0)]
    st = stem(entity)
    key = group_key(entity)
    cn = company_number_for(key)
    charity = bool(re.search(r"\b(trust|society|foundation|charity|barnardo|fellowship)\b", entity, re.I))
    out = [Variant(entity, " ".join(entity.split()), cn if not charity else "", 0.36)]
    if charity:
        plain = st.replace("'", "").replace("\u2019", "")
        out.append(Variant(entity, plain, "", 0.24))
        out.append(Variant(entity, plain.upper(), "", 0.12))
    else:
        out.append(Variant(entity, f"{st} Ltd", cn, 0.2))
        out.append(Variant(entity, f"{st} Limited", cn, 0.14))
        out.append(Variant(entity, f"{st.upper()} LTD.", cn, 0.08))
        out.append(Variant(entity, f"{st} (Holdings) Ltd", company_number_for(key, "holdings"), 0.04))
    # Trading names under the group's brand; which ones exist depends on the group and the seed.
    brands = [f"{group_stem} Group", f"{group_stem} Childcare Ltd", f"{group_stem} Children's Services",
              f"{st} Ltd t/a {group_name or group_stem}"]
    pick = _h("brands", seed, group_stem) % 4
    chosen = {brands[pick], brands[(pick + 1 + _h("b2", seed, group_stem) % 3) % 4]}
    for b in sorted(chosen):
        low = group_stem.lower()
        if (re.search(r"\bgroup\s+group\b", b, re.I) or (" t/a " in b and group_key(st) == group_key(group_stem))
                or (b.endswith("Childcare Ltd") and "childcare" in low)
                or (b.endswith("Children's Services") and "children" in low)):
            continue
        out.append(Variant(entity, b, "" if " t/a " not in b else cn, 0.09))
    return out


def build_groups(entities: list[str], seed: int) -> tuple[list[dict], list[dict]]:
    """From the distinct provider entities, the entity -> group table and the supplier-string variants.

    Returns (entity_rows, variant_rows): entity_rows have entity, group_id, group_name; variant_rows have
    entity, variant_no, supplier, company_number, w_lo, w_hi (a cumulative weight band in [0, 1)).
    """
    overrides = load_overrides()
    ent_rows = []
    group_of: dict[str, tuple[str, str]] = {}
    for e in sorted(set(entities)):
        gid, gname = resolve(e, overrides)
        if gname is None:
            gname = stem(e) if not is_public_body(e) else e
        group_of[e] = (gid, gname)
    # One display name per group: the shortest member stem unless an override named it.
    names: dict[str, str] = {}
    for e, (gid, gname) in group_of.items():
        if gid not in names or (len(gname), gname) < (len(names[gid]), names[gid]):
            names[gid] = gname
    for e, (gid, _) in sorted(group_of.items()):
        ent_rows.append({"entity": e, "group_id": gid, "group_name": names[gid]})

    variants: list[Variant] = []
    for e, (gid, _) in sorted(group_of.items()):
        gstem = stem(names[gid])
        gstem = re.sub(r"\s+group$", "", gstem, flags=re.I) or gstem
        variants.extend(_entity_variants(e, gstem, seed, names[gid]))
    # Exact Ofsted names win; a generated string claimed by two groups is dropped.
    owner_of: dict[str, set[str]] = {}
    for v in variants:
        owner_of.setdefault(v.supplier, set()).add(group_of[v.entity][0])
    exact = {" ".join(e.split()): group_of[e][0] for e in group_of}
    var_rows = []
    by_entity: dict[str, list[Variant]] = {}
    for v in variants:
        gid = group_of[v.entity][0]
        if v.supplier in exact and exact[v.supplier] != gid:
            continue
        if len(owner_of[v.supplier]) > 1 and v.supplier not in exact:
            continue
        by_entity.setdefault(v.entity, []).append(v)
    for e, vs in sorted(by_entity.items()):
        seen = set()
        vs = [v for v in vs if not (v.supplier in seen or seen.add(v.supplier))]
        total = sum(v.weight for v in vs)
        lo = 0.0
        for i, v in enumerate(vs):
            hi = 1.0 if i == len(vs) - 1 else lo + v.weight / total
            var_rows.append({"entity": e, "variant_no": i, "supplier": v.supplier,
                             "company_number": v.company_number, "w_lo": lo, "w_hi": hi})
            lo = hi
    return ent_rows, var_rows
