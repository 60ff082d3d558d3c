"""File readers: everything between a file dropped in the inbox and a row in the `raw` schema."""
