"""Persistence plumbing: declarative base, portable column types, engines and sessions."""
