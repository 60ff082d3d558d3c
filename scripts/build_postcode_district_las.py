"""Write dbt_project/seeds/reference/postcode_district_las.csv: the local authority of every English postcode district.

No published file at hand maps outward codes (postcode districts) to children's services authorities, so this
reuses the demo generator's own map (demo.geography.build): seeded from the postcodes of Ofsted-registered
settings in the register files in inbox/ofsted and their LAs, completed from mySociety LA centroids and areas,
the rest by nearest placed district. The warehouse and the demo then agree on which LA a district lies in.
It is a stand-in for the ONS Postcode Directory (see SOURCES.md); rerun after changing the register files:

    .venv/bin/python scripts/build_postcode_district_las.py [--register inbox/ofsted] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from demo import geography, register

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "dbt_project" / "seeds" / "reference" / "postcode_district_las.csv"


def build(register_dir: Path) -> list[tuple[str, str, str]]:
    """(postcode district, LA GSS code, LA name), sorted by district."""
    con = register.load_raw(register_dir)
    try:
        geo = geography.build(register.seed_postcodes(con))
    finally:
        con.close()
    return [
        (str(code), geo.las[int(la)].gss_code, geo.las[int(la)].name)
        for code, la in zip(geo.outcodes.tolist(), geo.la_index.tolist())
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--register", type=Path, default=register.DEFAULT_REGISTER, help="Ofsted register folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    rows = build(args.register)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["postcode_district", "la_gss_code", "la_name"])
        writer.writerows(rows)
    print(f"{args.out}: {len(rows)} postcode districts")


if __name__ == "__main__":
    main()
