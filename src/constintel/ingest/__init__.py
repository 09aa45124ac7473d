"""Accepting payloads: source adapters, raw storage of rejects, envelopes for bulk import."""
