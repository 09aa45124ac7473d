"""Bulk import of files: reading JSON/JSONL/CSV and ingesting it batch by batch."""
