"""Extraction: Document text ─► typed records (plain functions, no database; DESIGN.md §1)."""
