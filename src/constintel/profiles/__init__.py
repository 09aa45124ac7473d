"""Customer profiles: statistics, merges and the merge review queue."""
