"""The README's fault table is the fault suite's own: generated from the tests' docstrings (tests/faults/table.py)."""

from __future__ import annotations

from tests.faults.table import REPO, cases, readme_table, render


def test_the_readme_table_lists_every_fault_the_suite_tries():
    """A fault test added, renamed or reworded without the README. The README's table equals the one rendered from
    the suite (`.venv/bin/python -m tests.faults.table`), and every test of the suite says in its docstring which
    fault it tries and what held."""
    assert all(fault and outcome for _, _, fault, outcome in cases()), \
        [f"{m}::{t}" for m, t, fault, outcome in cases() if not (fault and outcome)]
    shown = readme_table((REPO / "README.md").read_text())
    assert shown is not None, "README.md has no fault table"
    assert shown == render(), "README's fault table is stale: paste the output of python -m tests.faults.table"
