"""Brands (tenants) and their settings."""
