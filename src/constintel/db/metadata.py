"""Imports every feature's models so ``Base.metadata`` knows every table (Alembic's target)."""

from __future__ import annotations

from constintel.brands import models as _brands
from constintel.db.base import Base
from constintel.identity import models as _identity
from constintel.ingest import models as _ingest
from constintel.orders import models as _orders
from constintel.profiles import models as _profiles

__all__ = ["metadata"]

_ = (_brands, _identity, _ingest, _orders, _profiles)
metadata = Base.metadata
