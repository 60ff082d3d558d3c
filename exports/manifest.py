"""What the dbt docs say about each mart: its description, its columns' descriptions and suppression rules.

The dbt manifest is the one home of both: an analyst documents a mart column and says how it is suppressed in the
mart's .yml, and the exports, the report and the docs read it from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from orchestration.lib import settings


@dataclass(frozen=True)
class MartDoc:
    name: str
    description: str
    columns: dict[str, str] = field(default_factory=dict)  # column -> description
    suppression: dict[str, object] = field(default_factory=dict)  # column -> meta `suppress` value


def manifest_path() -> Path:
    return settings.DBT_PROJECT_DIR / "target" / "manifest.json"


@lru_cache(maxsize=4)
def _marts(path: str, mtime: float) -> dict[str, MartDoc]:
    manifest = json.loads(Path(path).read_text())
    marts = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["fqn"][1:2] != ["marts"]:
            continue
        columns, suppression = {}, {}
        for name, column in node["columns"].items():
            columns[name] = (column.get("description") or "").strip()
            meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
            if "suppress" in meta:
                suppression[name] = meta["suppress"]
        marts[node["name"]] = MartDoc(node["name"], (node.get("description") or "").strip(), columns, suppression)
    return marts


def mart_docs(path: Path | None = None) -> dict[str, MartDoc]:
    """Every model under models/marts, by name."""
    path = path or manifest_path()
    return _marts(str(path), path.stat().st_mtime)
