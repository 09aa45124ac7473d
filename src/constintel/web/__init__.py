"""The HTTP service: signed webhooks, the REST API, health checks (FastAPI)."""
