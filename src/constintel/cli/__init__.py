"""The ``constintel`` command line (Typer): one module per command group."""
