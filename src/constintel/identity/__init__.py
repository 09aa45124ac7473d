"""Identifiers: normalization, junk and sharing rules, matching, and the identifier table."""
