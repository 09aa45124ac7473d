"""Orders as entities keyed by (brand, source, external id): status, refunds, net amount."""
