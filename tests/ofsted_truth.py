"""Expected values straight from the published Ofsted CSVs, with the csv module only (no project code)."""

from __future__ import annotations

import csv
from pathlib import Path

CHILDRENS_HOME_TYPES = {
    "children's home",
    "secure children's home",
    "residential special school (registered as a children's home)",
}

# Ofsted's published headline counts of children's homes (see ../shared/data/README.md).
PUBLISHED_CHILDRENS_HOMES = {
    "2019-03-31": 2192,
    "2020-03-31": 2311,
    "2021-03-31": 2706,
    "2023-03-31": 2890,
    "2023-08-31": 2999,
}

PROVIDER_LEVEL_FILES = {
    "2019-03-31": "provider_at_march_2019.csv",
    "2020-03-31": "provider_at_march_2020.csv",
    "2021-03-31": "provider_at_march_2021.csv",
    "2023-03-31": "provider_at_march_2023.csv",
    "2023-08-31": "Provider_level_at_31_Aug_2023.csv",
}


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows under the record that holds a 'URN' cell, skipping rows without a URN."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    header_index = next(i for i, record in enumerate(records) if "URN" in [c.strip() for c in record])
    header = [c.strip() for c in records[header_index]]
    rows = [dict(zip(header, record)) for record in records[header_index + 1:]]
    return [row for row in rows if row.get("URN", "").strip()]


def childrens_homes(path: Path) -> dict[str, dict[str, str]]:
    return {
        row["URN"].strip(): row
        for row in read_rows(path)
        if row["Provision type"].strip().lower() in CHILDRENS_HOME_TYPES
    }


def places(row: dict[str, str]) -> int:
    value = (row.get("Places") or "").replace(",", "").strip()
    return int(value) if value.isdigit() else 0
