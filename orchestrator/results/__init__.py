"""Stored results: a statement's whole result kept once in an Arrow file, read by pages,
downloads and charts (never by running the statement again)."""
