"""Build variants of the real Ofsted provider files in inbox/ofsted with plain Python (the csv module).

Each variant is the real data under another year's layout: other header names, preamble lines, encodings, line
breaks inside header cells. Expected values in the tests are counted here, from the rows written, never taken
from the ingest code.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "inbox" / "ofsted"

# Published headline counts of children's homes count every setting registered as a children's home.
CHILDRENS_HOME_TYPES = {
    "children's home",
    "secure children's home",
    "residential special school (registered as a children's home)",
}


@dataclass
class Table:
    """A provider file as records: preamble (title lines, super-header), header, data rows."""

    header: list[str]
    rows: list[list[str]]
    preamble: list[list[str]] = field(default_factory=list)

    @property
    def header_record(self) -> int:
        """1-based record number of the header in the written file."""
        return len(self.preamble) + 1

    def record_number(self, row_index: int) -> int:
        """1-based record number of data row row_index (0-based) in the written file."""
        return self.header_record + 1 + row_index

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] if index < len(row) else "" for row in self.rows]

    def values(self, name: str) -> Counter:
        """The non-empty values of a column as the warehouse should land them (trimmed)."""
        return Counter(value.strip() for value in self.column(name) if value.strip())

    def provider_rows(self) -> list[list[str]]:
        urn = self.header.index("URN")
        return [row for row in self.rows if urn < len(row) and row[urn].strip()]

    def childrens_homes(self) -> int:
        types = self.column("Provision type")
        urns = self.column("URN")
        return sum(1 for kind, urn in zip(types, urns) if urn.strip() and kind.strip().lower() in CHILDRENS_HOME_TYPES)


def read_real(name: str) -> Table:
    """A real file from inbox/ofsted; its header is the first record with a cell 'URN'."""
    text = (REAL / name).read_bytes().decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    index = next(i for i, record in enumerate(records) if "URN" in record)
    return Table(header=records[index], rows=records[index + 1 :], preamble=records[:index])


def write(table: Table, path: Path, *, encoding: str = "utf-8", bom: bool = False, newline: str = "\n") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerows(table.preamble)
    writer.writerow(table.header)
    writer.writerows(table.rows)
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    return path


def rename(table: Table, names: dict[str, str]) -> Table:
    return replace(table, header=[names.get(cell, cell) for cell in table.header])


def drop(table: Table, names: list[str]) -> Table:
    keep = [i for i, cell in enumerate(table.header) if cell not in names]
    pick = lambda record: [record[i] if i < len(record) else "" for i in keep]  # noqa: E731
    return replace(table, header=pick(table.header), rows=[pick(row) for row in table.rows])


def insert_column(table: Table, before: str, name: str, values: list[str] | None = None) -> Table:
    at = table.header.index(before)
    values = values or [""] * len(table.rows)
    rows = [row[:at] + [value] + row[at:] for row, value in zip(table.rows, values)]
    return replace(table, header=table.header[:at] + [name] + table.header[at:], rows=rows)


def set_cell(table: Table, row_index: int, column: str, value: str) -> Table:
    rows = [list(row) for row in table.rows]
    rows[row_index][table.header.index(column)] = value
    return replace(table, rows=rows)


def first_row(table: Table, **conditions) -> int:
    """Index of the first data row whose columns satisfy conditions (column name -> predicate)."""
    for index, row in enumerate(table.rows):
        named = dict(zip(table.header, row))
        if all(predicate(named.get(column, "")) for column, predicate in conditions.items()):
            return index
    raise LookupError(conditions)


def super_header(table: Table, sections: dict[str, str]) -> list[str]:
    """A super-header record: section label at the first column of each block, blank elsewhere."""
    return [sections.get(cell, "") for cell in table.header]
