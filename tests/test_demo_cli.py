"""The whole generator as `make demo` runs it (SSDA903, finance, faults): the same seed gives the same bytes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def _generate(root: Path, seed: str) -> dict[str, str]:
    subprocess.run(
        [sys.executable, "-m", "demo", "--out", str(root / "inbox"), "--truth", str(root / "truth"),
         "--las", "Torbay,Luton", "--years", "2023-2024", "--seed", seed, "--with-faults", str(root / "faults"),
         "--quiet"],
        cwd=REPO, check=True, capture_output=True, timeout=600,
    )
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*")) if path.is_file()
    }


def test_same_seed_same_bytes_for_every_file_including_finance_and_faults(tmp_path):
    first = _generate(tmp_path / "a", "7")
    second = _generate(tmp_path / "b", "7")
    assert first == second
    kinds = {name.split("/")[1] for name in first if name.startswith("inbox/")}
    assert {"ssda903", "spend", "placement_costs", "ofsted"} <= kinds
    assert any(name.startswith("faults/") for name in first)
    other = _generate(tmp_path / "c", "8")
    changed = [n for n in first if n.startswith("inbox/ssda903/") and other.get(n) != first[n]]
    assert changed, "another seed should give other episodes"


def test_ground_truth_is_beside_the_inbox_not_inside_it(tmp_path):
    _generate(tmp_path / "a", "7")
    inbox_files = {p.name for p in (tmp_path / "a" / "inbox").rglob("*") if p.is_file()}
    assert "placements.parquet" not in inbox_files and "supplier_groups.csv" not in inbox_files
    assert (tmp_path / "a" / "truth" / "manifest.json").exists()
