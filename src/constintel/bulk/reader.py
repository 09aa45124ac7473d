"""Reading import files into envelopes, streaming, with line numbers for error reports.

Formats (by extension, or ``fmt``):
- ``.jsonl`` / ``.ndjson``: one JSON object per line, either an envelope
  ``{"source": "shopify", "topic": "orders/create", "payload": {...}}`` or a bare payload
  (then ``--source`` says whose it is);
- ``.json``: one object, or an array of envelopes / payloads (read whole: use JSONL for big files);
- ``.csv``: manual orders with a header row (see ``constintel.ingest.sources.csv_upload``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from constintel.core.errors import PayloadError
from constintel.events.schemas import SOURCES
from constintel.pipeline import Envelope

__all__ = [
    "FORMATS",
    "BadLine",
    "RawLine",
    "detect_format",
    "jsonl_lines",
    "parse_jsonl_line",
    "read_file",
]

FORMATS = ("jsonl", "json", "csv")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not even an envelope (broken JSON, unknown source)."""

    origin: str
    line_no: int
    body: str
    field: str
    reason: str


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("json", "csv"):
        return suffix
    raise PayloadError("file", f"{path}: cannot tell the format from {path.suffix!r}; use --format")


def _envelope(
    obj: Any, *, source: str | None, topic: str | None, origin: str, line_no: int
) -> Envelope | BadLine:
    if isinstance(obj, dict) and "payload" in obj and "source" in obj:
        env_source = obj.get("source")
        if env_source not in SOURCES:
            return BadLine(
                origin,
                line_no,
                orjson.dumps(obj).decode(),
                "source",
                f"unknown source {env_source!r}; one of {', '.join(SOURCES)}",
            )
        return Envelope(str(env_source), obj.get("topic"), obj["payload"], origin, line_no)
    if source is None:
        return BadLine(
            origin,
            line_no,
            orjson.dumps(obj).decode(),
            "source",
            "a bare payload needs --source (or write envelopes with source/topic/payload)",
        )
    return Envelope(source, topic, obj, origin, line_no)


class RawLine(NamedTuple):
    """One non-blank line of a JSONL file, not yet decoded (cheap to send to a worker)."""

    name: str  # the file's name, for origins ("orders.jsonl:12")
    line_no: int
    text: bytes


def jsonl_lines(path: Path) -> Iterator[RawLine]:
    """The non-blank lines of a JSONL file with their line numbers."""
    name = path.name
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            if line.strip():
                yield RawLine(name, line_no, line)


def parse_jsonl_line(
    line: RawLine, *, source: str | None = None, topic: str | None = None
) -> Envelope | BadLine:
    origin = f"{line.name}:{line.line_no}"
    try:
        obj = orjson.loads(line.text)
    except orjson.JSONDecodeError as exc:
        return BadLine(
            origin,
            line.line_no,
            line.text.decode("utf-8", "replace").rstrip("\n"),
            "line",
            f"invalid JSON: {exc}",
        )
    return _envelope(obj, source=source, topic=topic, origin=origin, line_no=line.line_no)


def read_file(
    path: Path, *, source: str | None = None, topic: str | None = None, fmt: str | None = None
) -> Iterator[Envelope | BadLine]:
    fmt = fmt or detect_format(path)
    name = path.name
    if fmt == "jsonl":
        for line in jsonl_lines(path):
            yield parse_jsonl_line(line, source=source, topic=topic)
    elif fmt == "json":
        try:
            doc = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            yield BadLine(name, 1, "", "file", f"invalid JSON: {exc}")
            return
        items = doc if isinstance(doc, list) else [doc]
        for index, obj in enumerate(items, start=1):
            yield _envelope(
                obj, source=source, topic=topic, origin=f"{name}[{index - 1}]", line_no=index
            )
    elif fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                line_no = reader.line_num
                clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
                yield Envelope(source or "csv", topic, clean, f"{name}:{line_no}", line_no)
    else:
        raise PayloadError("format", f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
