"""Imports every feature's models so ``Base.metadata`` knows every table (Alembic's target)."""

from __future__ import annotations

from constintel.activation import models as _activation
from constintel.brands import credentials as _credentials
from constintel.brands import models as _brands
from constintel.bulk import models as _bulk
from constintel.dashboard import models as _dashboard
from constintel.db.base import Base
from constintel.identity import models as _identity
from constintel.ingest import models as _ingest
from constintel.orders import models as _orders
from constintel.predictions import models as _predictions
from constintel.privacy import models as _privacy
from constintel.profiles import models as _profiles
from constintel.streams import handlers as _handlers
from constintel.streams import models as _streams
from constintel.webhooks import models as _webhooks

__all__ = ["metadata"]

_ = (
    _activation,
    _brands,
    _bulk,
    _dashboard,
    _credentials,
    _handlers,
    _identity,
    _ingest,
    _orders,
    _predictions,
    _privacy,
    _profiles,
    _streams,
    _webhooks,
)
metadata = Base.metadata
