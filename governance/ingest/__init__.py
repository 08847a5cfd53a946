"""Ingestion: fetch a Source, parse what came back, store Documents (DESIGN.md §1)."""
