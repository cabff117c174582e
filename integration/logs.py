"""Logging: plain text or one JSON object a line, and no secret ever reaches a handler."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from itertools import islice
from typing import Any

import orjson

from integration.utc_text import iso_from_timestamp

_OWN = list(vars(logging.LogRecord("", 0, "", 0, "", None, None)))  # what every record sets, in order
_OWN_COUNT = len(_OWN)
_STANDARD = set(_OWN) | {"message", "asctime"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra=` fields, in the order given.

    A record sets its own attributes first, always the same ones, and `extra=` adds its
    fields after them: only the attributes past those are looked at (a webhook's line
    has some 25 attributes and 4 extras, and every line is read twice, scrubbed and written).
    """
    extras = dict(islice(vars(record).items(), _OWN_COUNT, None))
    if not _STANDARD.isdisjoint(extras):  # `message`, `asctime`: set by a text formatter, after the extras
        return {key: value for key, value in extras.items() if key not in _STANDARD}
    return extras


class ScrubSecrets(logging.Filter):
    """Replace every configured secret in the rendered message and extra fields with ***."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = message = record.getMessage()
            record.args = None
            extras = extra_fields(record)
            # One search a secret over the message and every text field at once (a match across the
            # separator only costs the full scrub): a line without a secret, nearly every line,
            # is then left as it is instead of copied field by field.
            text = "\0".join([message, *[value for value in extras.values() if isinstance(value, str)]])
            if any([secret in text for secret in self.secrets]):
                record.msg = self.scrub(message)
                vars(record).update({key: self.scrub(value) for key, value in extras.items() if isinstance(value, str)})
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


# orjson writes datetimes and dataclasses its own way: they go to `str`, as with `json`.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class JsonFormatter(logging.Formatter):
    """One JSON object a line, compact, written by orjson (about a sixth of a line's cost less
    than `json`); what orjson refuses (a lone surrogate, an integer beyond 64 bits, a key that
    is no string) is written by `json` instead, so every record still makes its line."""

    # `json.dumps` with these, built once; compact like orjson, so one stream has one spacing
    _encode = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":")).encode

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": iso_from_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(extra_fields(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["error"] = record.exc_text
        try:
            return orjson.dumps(entry, default=str, option=_ORJSON_OPTIONS).decode()
        except orjson.JSONEncodeError:
            return self._encode(entry)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = extra_fields(record)
        return f"{line} {json.dumps(extra, default=str, ensure_ascii=False)}" if extra else line


def configure(fmt: str, secrets: Sequence[str], level: int = logging.INFO) -> None:
    # Neither format shows the caller's file and line, the thread or the process: a record
    # does not look them up (the logging HOWTO's "Optimization" settings).
    logging._srcfile = None  # type: ignore[attr-defined]  # noqa: SLF001
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(ScrubSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
