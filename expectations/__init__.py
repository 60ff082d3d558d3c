"""Great Expectations suites, in code, one module per source; runner.py runs them on DuckDB query results."""
