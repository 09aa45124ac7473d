"""Pure building blocks: configuration, money, time, ids and the error tree (stdlib + pydantic)."""
