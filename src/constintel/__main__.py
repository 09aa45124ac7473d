"""``python -m constintel`` runs the CLI."""

from constintel.cli.main import run

run()
