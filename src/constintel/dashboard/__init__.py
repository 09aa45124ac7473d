"""The brand's dashboard: server-rendered pages served by ``constintel serve`` under
``/dashboard``, a login per brand, numbers computed from the same tables as the API."""
