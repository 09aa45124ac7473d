"""Canonical events: the one shape every source adapter produces."""
