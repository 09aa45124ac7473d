"""Streams: the transactional outbox, its relay to Redis Streams, and the workers that react
downstream (consumer groups, reclaim, dead letters), plus the in-process dispatcher of the
embedded mode."""
