"""Ingestion: fetch a Source, parse what came back, store Documents (docs/architecture.md §1)."""
