"""The spend-file layouts the demo writes, and the spend kinds with their descriptions in each layout.

Three real column layouts:

* ``calderdale``: the Calderdale layout (header copied from the published file, UTF-8 without BOM, ISO dates,
  amounts as plain decimals with two places, directorate-service expense areas such as
  "Children and Young People's Services-Childrens Care Services", a supplier company number column);
* ``manchester``: the Manchester layout (header copied from the published file, UTF-8 with a BOM, ISO dates,
  amounts without trailing zeros, 'Redacted Personal Information' for individuals);
* ``transparency``: the Local Government Transparency Code template many councils use
  ("Body name, Body, Date, Transaction number, ...", dd/mm/yyyy dates, amounts written "£1,234.56").

Every LA gets one layout, fixed by its GSS code (Calderdale and Manchester get their own).
"""

from __future__ import annotations

import hashlib

CALDERDALE_HEADER = [
    "Body", "Organisation Name", "Date", "Internal Ref Number", "Invoice Number", "Net Amount",
    "Irrecoverable VAT", "Supplier(Beneficiary) Name", "Supplier Registered Company Number",
    "Supplier Registered Charity Number", "Supplier ID", "VAT Registration Number", "Expense Area",
    "Procurement Classification: Council's Procurement Category Name", "Expense Code", "BVACOP", "Proclass",
    "Extended Description", "Source", "Subsource", "Definition", "Purpose of Spend (Summary)",
    "Voluntary Community and Social Enterprise Supplier",
]
MANCHESTER_HEADER = [
    "Body Name", "Service Area", "Expenses Type", "Invoice Payment Date", "Transaction Number", "Net Amount",
    "Supplier Name",
]
TRANSPARENCY_HEADER = [
    "Body name", "Body", "Date", "Transaction number", "Invoice number", "Amount", "Supplier name",
    "Supplier ID", "VAT registration number", "Expense area", "Expense type", "Expense code", "Narrative",
]

LAYOUTS = {
    "calderdale": {"header": CALDERDALE_HEADER, "bom": False, "redacted": "Personal Data Withheld"},
    "manchester": {"header": MANCHESTER_HEADER, "bom": True, "redacted": "Redacted Personal Information"},
    "transparency": {"header": TRANSPARENCY_HEADER, "bom": False, "redacted": "REDACTED"},
}
LAYOUT_ORDER = ["calderdale", "manchester", "transparency"]
FIXED_LAYOUT = {"E08000033": "calderdale", "E08000003": "manchester"}


def layout_for(la_gss_code: str) -> str:
    if la_gss_code in FIXED_LAYOUT:
        return FIXED_LAYOUT[la_gss_code]
    h = int.from_bytes(hashlib.sha256(la_gss_code.encode()).digest()[:4], "big")
    return LAYOUT_ORDER[h % 3]


PAID_TYPES = ["independent_residential", "ifa_fostering", "semi_independent", "residential_school", "secure"]

CATEGORY = {
    "independent_residential": "children's residential",
    "ifa_fostering": "independent fostering",
    "semi_independent": "supported accommodation / 16+",
    "residential_school": "residential school / SEN",
    "secure": "secure",
}
OTHER_CHILDREN = "other children's social care"
NOT_CHILDREN = "not children's placements"
CATEGORIES = [CATEGORY[t] for t in PAID_TYPES] + [OTHER_CHILDREN, NOT_CHILDREN]

PLACEMENT_TYPE_LABEL = {
    "independent_residential": "Independent children's home",
    "ifa_fostering": "Independent fostering agency",
    "semi_independent": "Supported accommodation (16+)",
    "residential_school": "Residential special school",
    "secure": "Secure children's home",
}

_AP = ("IV", "AP", "Accounts Payable Invoices", "Payment of accounts payable invoices")
_CYPS = "Children and Young People's Services-"

# kind -> cap on a supplier's typical line (the real files' medians include one-off capital invoices), category,
# share of the unrelated lines, lognormal sigma, credit probability, and for each layout
# the fields that describe the line: calderdale (expense area, procurement category, expense code, source,
# subsource, definition, purpose), manchester (service area, expenses type), transparency (expense area,
# expense type, expense code, narrative).
KINDS: dict[str, dict] = {
    "adult_care": dict(
        cap=6000, category=NOT_CHILDREN, share=0.15, sigma=0.7, credit=0.12,
        cal=("Adult Services and Wellbeing-Adult Health & Social Care", "Private Contractors", "88765599",
             "CQ", "RC", "Residential Care",
             "Payments to homes for people assessed as needing residential/nursing care"),
        man=("Adult Social Care", "Payments for services"),
        tc=("Adult Social Care", "Residential and Nursing Care", "5201", "Adult residential and nursing care fees")),
    "adult_supplies": dict(
        cap=1500, category=NOT_CHILDREN, share=0.06, sigma=0.6, credit=0.02,
        cal=("Adult Services and Wellbeing-Adult Health & Social Care", "Equipment Furniture And Materials",
             "88402310") + _AP,
        man=("Adult Social Care", "Consumable items eg Toilet rolls, soap etc"),
        tc=("Adult Social Care", "Equipment and Supplies", "4101", "Community equipment and supplies")),
    "buildings": dict(
        cap=9000, category=NOT_CHILDREN, share=0.12, sigma=0.9, credit=0.02,
        cal=("Economy and Environment (obsolete)-Corporate Asset and Facilities Management",
             "Repairs Alterations And Maintenance Of Buildings Fixed Plant And Grounds", "54212020") + _AP,
        man=("Corporate Services", "Works and associated costs for Land and Buildings"),
        tc=("Property Services", "Repairs and Maintenance", "2101", "Building repairs and maintenance")),
    "leisure": dict(
        cap=3000, category=NOT_CHILDREN, share=0.09, sigma=0.8, credit=0.02,
        cal=("Communities & Service Support (obsolete)-Sport & Leisure Management DSO",
             "Equipment Furniture And Materials", "92554042") + _AP,
        man=("Leisure and Libraries", "Equipment"),
        tc=("Culture and Leisure", "Equipment and Supplies", "4105", "Leisure and library supplies")),
    "professional": dict(
        cap=4500, category=NOT_CHILDREN, share=0.09, sigma=0.9, credit=0.01,
        cal=("Chief Executive's Office (obsolete)-Law & Administration Service", "Consultant Fees",
             "30214408") + _AP,
        man=("Chief Executives", "Professional fees"),
        tc=("Corporate Resources", "Consultancy and Professional Fees", "4501", "Professional services")),
    "highways": dict(
        cap=12000, category=NOT_CHILDREN, share=0.07, sigma=1.0, credit=0.02,
        cal=("Economy and Environment (obsolete)-Highways and Engineering Services", "Private Contractors",
             "47500040") + _AP,
        man=("Highways Services", "Payments to Sub-Contractors"),
        tc=("Highways and Transport", "Highways Maintenance Contract", "2301", "Highways works")),
    "waste": dict(
        cap=4000, category=NOT_CHILDREN, share=0.04, sigma=0.8, credit=0.02,
        cal=("Communities & Service Support (obsolete)-Green Space and Street Scene",
             "Equipment Furniture And Materials (Cont)", "52234459") + _AP,
        man=("Environment and Operations", "Refuse Collection"),
        tc=("Environmental Services", "Waste Collection and Disposal", "4701", "Waste services")),
    "energy": dict(
        cap=2500, category=NOT_CHILDREN, share=0.08, sigma=0.7, credit=0.05,
        cal=("Economy and Environment (obsolete)-Corporate Asset and Facilities Management", "Energy Costs",
             "54210110") + _AP,
        man=("Regeneration Finance", "Electricity"),
        tc=("Property Services", "Energy Costs", "2201", "Electricity and gas")),
    "water": dict(
        cap=900, category=NOT_CHILDREN, share=0.02, sigma=0.6, credit=0.03,
        cal=("Economy and Environment (obsolete)-Corporate Asset and Facilities Management", "Water Services",
             "54210310") + _AP,
        man=("Regeneration Finance", "Water - Metered"),
        tc=("Property Services", "Water Charges", "2210", "Water charges")),
    "it": dict(
        cap=3500, category=NOT_CHILDREN, share=0.05, sigma=0.9, credit=0.02,
        cal=("Deputy Chief Executive (obsolete)-ICT Services", "Communications And Computers", "10354470") + _AP,
        man=("Corporate Services", "I T Provision"),
        tc=("Corporate Resources", "ICT Hardware and Software", "4301", "ICT hardware, software and licences")),
    "housing": dict(
        cap=1500, category=NOT_CHILDREN, share=0.04, sigma=0.6, credit=0.02,
        cal=("Economy and Environment (obsolete)-Housing Services", "Services", "04624424") + _AP,
        man=("Housing General Fund", "Bed & Breakfast Acc"),
        tc=("Housing", "Temporary Accommodation", "5401", "Temporary accommodation")),
    "agency_staff": dict(
        cap=4500, category=NOT_CHILDREN, share=0.03, sigma=0.7, credit=0.02,
        cal=("Deputy Chief Executive (obsolete)-Human Resources", "Agency Costs", "10120950") + _AP,
        man=("Chief Executives", "Agency staff provision"),
        tc=("Corporate Resources", "Agency Staff", "1201", "Agency staff")),
    "schools": dict(
        cap=60000, category=NOT_CHILDREN, share=0.04, sigma=0.9, credit=0.02,
        cal=(_CYPS + "Education", "Contributions To Funds And Provisions", "22124951", "CQ", "SBS",
             "Schools Budget Share", "Monthly payment of school budgets to schools"),
        man=("Childrens & Education Services", "Third party payments to other Local Authorities"),
        tc=("Education and Schools", "Payments to Schools", "5601", "School budget share")),
    "children_transport": dict(
        cap=2500, category=OTHER_CHILDREN, share=0.04, sigma=0.6, credit=0.01,
        cal=(_CYPS + "Childrens Care Services", "Services", "72334442") + _AP,
        man=("Childrens & Education Services", "Transport Coach Hire"),
        tc=("Children's Social Care", "Client Transport", "5111", "Transport for looked after children")),
    "children_legal": dict(
        cap=2000, category=OTHER_CHILDREN, share=0.03, sigma=0.7, credit=0.01,
        cal=(_CYPS + "Children and Young People's Serv - Central Depts.", "Services", "72024408") + _AP,
        man=("Childrens & Education Services", "Legal Fees"),
        tc=("Children's Social Care", "Legal and Court Costs", "5121", "Expert assessment for care proceedings")),
    "children_agency": dict(
        cap=6000, category=OTHER_CHILDREN, share=0.01, sigma=0.5, credit=0.02,
        cal=(_CYPS + "Childrens Care Services", "Agency Costs", "72120950") + _AP,
        man=("Childrens & Education Services", "Agency staff provision"),
        tc=("Children's Social Care", "Agency Social Workers", "1211", "Agency social worker")),
    "foster_allowances": dict(
        cap=1450, category=OTHER_CHILDREN, share=0.04, sigma=0.35, credit=0.01, median=1450.0,
        cal=(_CYPS + "Childrens Care Services", "Transfer Payments - Social Services Clients", "72465501") + _AP,
        man=("Childrens & Education Services", "Foster Payments"),
        tc=("Children's Social Care", "In-house Foster Carer Allowances", "5131", "Foster carer allowances")),
}

# Placement payments: the same three descriptions per placement type.
PLACEMENT_KINDS: dict[str, dict] = {
    "independent_residential": dict(
        cal=(_CYPS + "Childrens Care Services", "Private Contractors", "72255550") + _AP,
        man=("Childrens & Education Services", "Payments for services"),
        tc=("Children's Social Care - Looked After Children", "Independent Residential Placements", "5301",
            "Residential placement fees")),
    "ifa_fostering": dict(
        cal=(_CYPS + "Childrens Care Services", "Private Contractors", "72465550") + _AP,
        man=("Childrens & Education Services", "Payments for services"),
        tc=("Children's Social Care - Looked After Children", "Independent Fostering Agency Placements", "5302",
            "Fostering agency fees")),
    "semi_independent": dict(
        cal=(_CYPS + "Childrens Care Services", "Other Agency And Contracted Services", "72275550") + _AP,
        man=("Childrens & Education Services", "Supported Accommodation"),
        tc=("Children's Social Care - Care Leavers and 16+", "Supported Accommodation (16+)", "5303",
            "Supported accommodation")),
    "residential_school": dict(
        cal=(_CYPS + "Schools and Children's Services - Non-School", "Private Contractors", "68065510") + _AP,
        man=("Childrens & Education Services", "Payments for services"),
        tc=("Education - High Needs", "Independent Special School Fees", "5611", "Special school fees")),
    "secure": dict(
        cal=(_CYPS + "Childrens Care Services", "Other Local Authorities", "72265550") + _AP,
        man=("Childrens & Education Services", "Payments for services"),
        tc=("Children's Social Care - Looked After Children", "Secure Accommodation", "5304",
            "Secure welfare placement")),
}


def kind_rows() -> list[dict]:
    """One row per kind (placement kinds prefixed 'pl_'), flattened for a DuckDB table."""
    rows = []
    for name, k in list(KINDS.items()) + [("pl_" + t, v) for t, v in PLACEMENT_KINDS.items()]:
        cal, man, tc = k["cal"], k["man"], k["tc"]
        rows.append({
            "kind": name,
            "category": k.get("category", CATEGORY.get(name[3:], "")),
            "share": float(k.get("share", 0.0)), "sigma": float(k.get("sigma", 0.0)),
            "credit": float(k.get("credit", 0.0)), "kind_median": float(k.get("median", 0.0)),
            "cap": float(k.get("cap", 1e12)),
            "cal_area": cal[0], "cal_proc": cal[1], "cal_code": cal[2], "cal_source": cal[3],
            "cal_subsource": cal[4], "cal_definition": cal[5], "cal_purpose": cal[6],
            "man_area": man[0], "man_type": man[1],
            "tc_area": tc[0], "tc_type": tc[1], "tc_code": tc[2], "tc_narrative": tc[3],
        })
    return rows
