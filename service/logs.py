"""Structured JSON log lines. Callers pass only operational fields (hook instance, service, outcome,
timings, counts, reasons) — never tokens, JWTs, patient identifiers, names or clinical values."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar

# The id of the request being served (X-Request-Id or a random one), added to every line logged for it.
request_id: ContextVar[str | None] = ContextVar("nmd_cds_request_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            line["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


def configure(level: str) -> None:
    root = logging.getLogger("nmd_cds")
    if not any(getattr(h, "_nmd_cds", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._nmd_cds = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = True
    # urllib3 logs full URLs at DEBUG, and FHIR search URLs carry the patient id.
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
