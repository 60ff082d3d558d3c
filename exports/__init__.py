"""What leaves the warehouse for people: per-grouping workbooks, CSV and Parquet, the regional report, lineage.

Everything here reads the published marts (never the working warehouse, except lineage) and suppresses counts of
fewer than 5 children before anything is written.
"""
