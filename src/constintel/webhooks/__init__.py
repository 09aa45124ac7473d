"""Signed webhook deliveries: signature checks, the durable inbox, and the drain into the
write path."""
