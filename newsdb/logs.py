"""Structured logs: with ``DJANGO_LOG_FORMAT=json`` every log record is one JSON object on one line.

A request's record (``newsdb.requests``, see ``newsdb.middleware.RequestLogMiddleware``) carries ``method``,
``path``, ``status``, ``duration_ms`` and ``user`` as fields of its own; any other record has its message, and its
traceback as ``exc`` when it has one.
"""

import datetime
import json
import logging


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "request_fields", None)
        if fields is not None:
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
