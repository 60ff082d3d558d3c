"""Developer tool: rebuild demo/data/spend_noise_suppliers.csv from the real spend files.

The demo's unrelated council spend (energy, IT, highways, adult care, schools, taxis, legal...) is drawn from
suppliers that real councils published (Calderdale 2022-06..08, Manchester 2022-05; OGL v3). This script reads
those files (not needed at run time: the CSV it writes is committed) and writes one row per (kind, supplier):
the spend kind we assign by rule, the supplier as published, its company number where Calderdale gave one,
how many lines it had (a weight) and the median of its amounts of £500 and over.

Children's placement providers are left out here on purpose (placement payments are generated from the
placements table, never copied), and so is any supplier whose name matches an Ofsted owning organisation.

    python -m demo.finance_build_catalogue /work/shared/data/spend inbox/ofsted/Provider_level_at_31_Aug_2023.csv
"""

from __future__ import annotations

import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from demo.finance_groups import group_key

OUT = Path(__file__).resolve().parent / "data" / "spend_noise_suppliers.csv"


def _kind_manchester(area: str, etype: str) -> str | None:
    a, t = area.lower(), etype.lower()
    if t in ("electricity", "gas"):
        return "energy"
    if t.startswith("water"):
        return "water"
    if "i t provision" in t or "licences purchase" in t:
        return "it"
    if "childrens" in a:
        if "transport" in t:
            return "children_transport"
        if t in ("legal fees", "professional fees"):
            return "children_legal"
        if "agency staff" in t:
            return "children_agency"
        if "third party payments to other local authorities" in t:
            return "schools"
        return None  # payments for services etc.: could be placements, never copied
    if "adult social care" in a:
        if t in ("payments for services", "extra care sheltd hp", "supported accommodation",
                 "third party payments relating to voluntary organisations"):
            return "adult_care"
        if "consumable" in t or t == "equipment":
            return "adult_supplies"
        return None
    if "highways" in a:
        return "highways"
    if t in ("works and associated costs for land and buildings", "building works",
             "external repairs and maintenance for buildings", "construction works",
             "council dwelling adaptations"):
        return "buildings"
    if "refuse" in t:
        return "waste"
    if t in ("professional fees", "legal fees", "professional fees ", "fees"):
        return "professional"
    if "agency staff" in t:
        return "agency_staff"
    if "bed & breakfast" in t:
        return "housing"
    if "leisure" in a or "libraries" in a:
        return "leisure"
    return None


def _kind_calderdale(area: str, proc: str, definition: str) -> str | None:
    a, p = area.lower(), proc.lower()
    if definition == "Residential Care":
        return "adult_care" if "private contractors" in p or "voluntary" in p else None
    if definition == "Schools Budget Share":
        return "schools"
    if definition != "Accounts Payable Invoices":
        return None
    if "children" in a:
        if "childrens care services" in a and p == "services":
            return "children_transport"
        if "central depts" in a and p in ("services", "consultant fees"):
            return "children_legal"
        return None
    if "adult health" in a and "capital" not in a:
        if p in ("private contractors", "voluntary associations"):
            return "adult_care"
        if "equipment" in p:
            return "adult_supplies"
        if "agency" in p:
            return "agency_staff"
        return None
    if "communications and computers" in p:
        return "it"
    if "highways" in a:
        return "highways"
    if "repairs alterations" in p or "construction" in p:
        return "buildings"
    if "green space" in a:
        return "waste"
    if "consultant fees" in p:
        return "professional"
    if "housing services" in a and p == "services":
        return "housing"
    if "sport" in a or "libraries" in a or "museums" in a:
        return "leisure"
    return None


def main(spend_dir: str, ofsted_file: str) -> None:
    owners = set()
    with open(ofsted_file, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r.get("Organisation which owns the provider"):
                owners.add(group_key(r["Organisation which owns the provider"]))
    amounts: dict[tuple[str, str], list[float]] = defaultdict(list)
    company: dict[str, str] = {}
    for path in sorted(Path(spend_dir).glob("*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        header = [h.replace("\u00ef\u00bb\u00bf", "") for h in rows[0]]
        for r in rows[1:]:
            rec = dict(zip(header, r))
            if "Supplier(Beneficiary) Name" in rec:
                sup = rec["Supplier(Beneficiary) Name"].strip()
                kind = _kind_calderdale(rec["Expense Area"].split("-", 1)[-1],
                                        rec["Procurement Classification: Council's Procurement Category Name"],
                                        rec["Definition"])
                if rec["Supplier Registered Company Number"]:
                    company[sup] = rec["Supplier Registered Company Number"]
                amount = float(rec["Net Amount"])
            else:
                sup = rec["Supplier Name"].strip()
                kind = _kind_manchester(rec["Service Area"], rec["Expenses Type"])
                amount = float(rec["Net Amount"])
            if kind is None or not sup or sup[:4].isdigit() or "redacted" in sup.lower():
                continue
            if group_key(sup) in owners:
                continue
            amounts[(kind, sup)].append(amount)
    out = []
    for (kind, sup), vals in sorted(amounts.items()):
        big = [abs(v) for v in vals if abs(v) >= 500]
        if not big:
            continue
        out.append([kind, sup, company.get(sup, ""), len(vals), f"{statistics.median(big):.2f}"])
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["kind", "supplier", "company_number", "weight", "median_amount"])
        w.writerows(out)
    print(f"{len(out)} suppliers -> {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
