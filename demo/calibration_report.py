"""The Eastern Region provider analysis, measured on a demo truth folder: the six figures the generator is
calibrated to (README, "Calibration of the Eastern Region spend").

    python -m demo.calibration_report TRUTH [--year 2024-25] [--las default-east|all|"Essex,Luton"]

Reads TRUTH/expected_spend.csv and, for one financial year (default: the latest in the file), the children's
placement categories (dbt_project/seeds/spend/spend_categories.csv, is_childrens_placement = true) and the
region's authorities (default: the 11 East of England LAs of the default demo region), adds spend up by provider
group. Redacted / withheld supplier lines count as one group per LA, as the warehouse counts them. A group
"buys from" (sells to) an LA when that LA paid it in the year.

Figures (and the published shape they are calibrated to, QUESTIONS.md "Eastern Region: provider analysis"):
  total spend                           over £300m         (test range £250m-£350m)
  spend with the largest group          over £13m          (£10m-£16m)
  share of the top 20 groups            about a third      (28%-40%)
  groups selling to 4+ LAs              about 30           (20-40)
  groups selling to 2+ LAs, their share about 200, ~2/3    (150-250, 55%-75%)
  groups in all                         over 500           (450 or more)
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CATEGORIES = REPO / "dbt_project" / "seeds" / "spend" / "spend_categories.csv"
EASTERN_REGION = (  # GSS codes of the East of England's 11 children's services authorities
    "E06000055",  # Bedford
    "E10000003",  # Cambridgeshire
    "E06000056",  # Central Bedfordshire
    "E10000012",  # Essex
    "E10000015",  # Hertfordshire
    "E06000032",  # Luton
    "E10000020",  # Norfolk
    "E06000031",  # Peterborough
    "E06000033",  # Southend-on-Sea
    "E10000029",  # Suffolk
    "E06000034",  # Thurrock
)
REDACTED = "REDACTED"
# Ranges the calibration test requires (lo, hi; None: no bound).
RANGES = {
    "total_m": (250.0, 350.0),
    "largest_m": (10.0, 16.0),
    "top20_share": (0.28, 0.40),
    "groups_4plus_las": (20, 40),
    "multi_la_groups": (150, 250),
    "multi_la_share": (0.55, 0.75),
    "groups": (450, None),
}


@dataclass
class Figures:
    financial_year: str
    las: int
    total_m: float  # £ millions
    largest_m: float
    largest_group: str
    top20_share: float
    groups_4plus_las: int
    multi_la_groups: int
    multi_la_share: float
    groups: int

    def out_of_range(self, scale: float = 1.0) -> list[str]:
        """The figures outside RANGES (money ranges multiplied by `scale`)."""
        bad = []
        for name, (lo, hi) in RANGES.items():
            value = getattr(self, name)
            k = scale if name.endswith("_m") else 1.0
            if (lo is not None and value < lo * k) or (hi is not None and value > hi * k):
                bad.append(f"{name}={value:.3f} not in [{lo}, {hi}]" + (f" x {scale:g}" if k != 1.0 else ""))
        return bad


def placement_categories(path: Path = CATEGORIES) -> set[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return {r["spend_category"] for r in csv.DictReader(f) if r["is_childrens_placement"].lower() == "true"}


def figures(truth_dir: Path | str, year: str | None = None, las: tuple[str, ...] | None = EASTERN_REGION) -> Figures:
    """The provider-analysis figures of `truth_dir` for financial year `year` (None: the latest) over the LAs
    `las` (GSS codes; None: every LA in the file)."""
    cats = placement_categories()
    with open(Path(truth_dir) / "expected_spend.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["category"] in cats and (las is None or r["la_gss_code"] in las)]
    year = year or max((r["financial_year"] for r in rows), default="")
    spend: dict[str, Decimal] = defaultdict(Decimal)
    buyers: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for r in rows:
        if r["financial_year"] != year:
            continue
        gid = r["group_id"] if r["group_id"] != REDACTED else f"{REDACTED}|{r['la_gss_code']}"  # one per LA
        spend[gid] += Decimal(r["amount"])
        buyers[gid].add(r["la_gss_code"])
        names[gid] = r["group_name"]
    total = sum(spend.values(), Decimal(0))
    ranked = sorted(spend, key=lambda g: (-spend[g], g))
    multi = [g for g in spend if len(buyers[g]) > 1]
    share = (lambda gs: float(sum((spend[g] for g in gs), Decimal(0)) / total) if total else 0.0)
    return Figures(
        financial_year=year,
        las=len({la for b in buyers.values() for la in b}),
        total_m=float(total) / 1e6,
        largest_m=float(spend[ranked[0]]) / 1e6 if ranked else 0.0,
        largest_group=names[ranked[0]] if ranked else "",
        top20_share=share(ranked[:20]),
        groups_4plus_las=sum(len(buyers[g]) >= 4 for g in spend),
        multi_la_groups=len(multi),
        multi_la_share=share(multi),
        groups=len(spend),
    )


def report(f: Figures) -> str:
    return "\n".join([
        f"Eastern Region provider analysis, {f.financial_year}, {f.las} LAs, children's placement categories",
        f"  total spend                       £{f.total_m:,.1f}m   (published: over £300m)",
        f"  largest group                     £{f.largest_m:,.1f}m   ({f.largest_group}; published: over £13m)",
        f"  top-20 groups' share              {f.top20_share:.1%}   (published: about a third)",
        f"  groups selling to 4+ LAs          {f.groups_4plus_las}   (published: about 30)",
        f"  groups selling to 2+ LAs          {f.multi_la_groups}, {f.multi_la_share:.1%} of spend"
        "   (published: about 200, about two thirds)",
        f"  groups in all                     {f.groups}   (published: over 500)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.calibration_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("truth", help="a demo truth folder (holding expected_spend.csv)")
    parser.add_argument("--year", help="financial year, e.g. 2024-25 (default: the latest)")
    parser.add_argument("--las", default="default-east",
                        help="'default-east' (the 11 East of England LAs), 'all', or comma-separated GSS codes")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    las = (EASTERN_REGION if args.las == "default-east" else None if args.las == "all"
           else tuple(x.strip() for x in args.las.split(",") if x.strip()))
    f = figures(args.truth, args.year, las)
    if args.json:
        import json

        print(json.dumps(asdict(f), indent=2))
    else:
        print(report(f))
        bad = f.out_of_range()
        print("  within the test ranges" if not bad else "  outside the test ranges: " + "; ".join(bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
