"""Extraction: Document text ─► typed records, as plain functions (docs/architecture.md §1)."""
