"""The groupings a build exports for: every region and configured consortium, with a file-system-safe name."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Grouping:
    grouping_type: str
    name: str
    slug: str
    la_gss_codes: tuple[str, ...]


def slug(name: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens: a name from the data can never leave its folder."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return cleaned[:80] or "grouping"


def groupings(con) -> list[Grouping]:
    """Regions (every authority has one) and configured groupings, each with its current authorities."""
    rows = con.execute(
        """
        select grouping_type, grouping_name, list(la_gss_code order by la_gss_code)
        from marts.bridge_local_authority_grouping
        where is_current
        group by grouping_type, grouping_name
        order by grouping_type, grouping_name
        """
    ).fetchall()
    seen: dict[str, int] = {}
    result = []
    for grouping_type, name, codes in rows:
        base = slug(name)
        # a consortium named like a region gets its own folder
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.append(Grouping(grouping_type, name, base if count == 0 else f"{base}-{grouping_type}", tuple(codes)))
    return result


def inside(folder: Path, name: str) -> Path:
    """folder / name, refused if it would resolve outside folder."""
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents:
        raise ValueError(f"{name!r} would be written outside {folder}")
    return path
