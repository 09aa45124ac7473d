"""Message templates: Jinja2 in its sandbox (a template cannot reach Python internals), with
undefined names failing loudly at render time instead of printing nothing."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from constintel.core.errors import PayloadError

__all__ = ["check", "render"]

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


def check(field: str, source: str) -> None:
    """Refuse a template that does not parse, naming the field."""
    try:
        _ENV.parse(source)
    except TemplateError as exc:
        raise PayloadError(field, f"template does not parse: {exc}") from exc


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def render(source: str, context: dict[str, Any]) -> str:
    """Render (templates are compiled once per process and source text)."""
    return _compiled(source).render(**context)
