"""Ingestion writes: validation, identity and exactly-once storage of records."""
