"""Log lines as an operator's log search reads them: one JSON object a line, secrets scrubbed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from integration.logs import configure

SECRET = "hook-secret-123"


@contextmanager
def _configured(fmt: str) -> Iterator[io.StringIO]:
    """The root logger configured as production does (`fmt`, secrets scrubbed), written to a buffer."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    configure(fmt, [SECRET])
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    with _configured("json") as out:
        yield out


def logged(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_webhook_line_has_the_fixed_keys_then_the_extras_in_order(lines: io.StringIO) -> None:
    logging.getLogger("flowkeeper.webhooks").info(
        "webhook.%s.%s", "jira", "queued", extra={"tracker": "jira", "outcome": "queued", "delivery": "d-1", "item": "A-1"})
    (entry,) = logged(lines)
    assert list(entry) == ["time", "level", "logger", "event", "tracker", "outcome", "delivery", "item"]
    assert (entry["level"], entry["logger"], entry["event"], entry["item"]) == ("info", "flowkeeper.webhooks",
                                                                               "webhook.jira.queued", "A-1")


def test_secrets_are_scrubbed_from_the_message_and_the_extras(lines: io.StringIO) -> None:
    logging.getLogger("flowkeeper.test").warning("sent %s", SECRET, extra={"header": f"sha256={SECRET}"})
    assert SECRET not in lines.getvalue()
    assert logged(lines)[0]["header"] == "sha256=***"


def test_values_json_cannot_hold_as_is_still_make_their_line(lines: io.StringIO) -> None:
    """A lone surrogate (from a body's escape), an integer beyond 64 bits, a datetime: one line each, as before."""
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    log = logging.getLogger("flowkeeper.test")
    log.info("odd", extra={"title": "broken \ud800 text", "count": 2**70})
    log.info("when", extra={"at": at, "ids": (1, 2)})
    odd, when = logged(lines)
    assert (odd["title"], odd["count"]) == ("broken \ud800 text", 2**70)
    assert (when["at"], when["ids"]) == (str(at), [1, 2])
    for line in lines.getvalue().splitlines():  # one spacing in one stream, whichever encoder wrote the line
        assert ", " not in line and '": ' not in line, line


def test_a_line_s_time_is_the_datetime_s_own_text() -> None:
    """Whole seconds, half-microsecond ties, a microsecond rounding up into the next second, the epoch."""
    import random

    from integration.utc_text import iso_from_timestamp

    rng = random.Random(17)
    stamps = [0.0, 1.0, 1_764_888_000.0, 1_764_888_000.9999996, 1_764_888_000.0000005, 1_764_888_000.0000015,
              *(rng.uniform(0, 4e9) for _ in range(20_000)), *(1_764_888_000 + rng.random() for _ in range(20_000))]
    for stamp in stamps:
        assert iso_from_timestamp(stamp) == datetime.fromtimestamp(stamp, UTC).isoformat(), stamp


def test_a_delivery_s_times_are_the_datetime_s_and_rq_s_own_text() -> None:
    """The envelope's `received_at` and the job's `created_at` / `enqueued_at`, across seconds and zones."""
    import random
    from datetime import timedelta, timezone

    from rq.utils import utcformat

    from integration.utc_text import iso_utc, rq_utc

    rng = random.Random(17)
    start = datetime(2026, 12, 4, 23, 59, 58, tzinfo=UTC)
    moments = [start + timedelta(microseconds=rng.randrange(4_000_000)) for _ in range(5_000)]
    moments += [start, start.replace(microsecond=1), datetime(1970, 1, 1, tzinfo=UTC)]
    for moment in moments:
        assert iso_utc(moment) == moment.isoformat()
        assert rq_utc(moment) == utcformat(moment)
    paris = datetime(2026, 7, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert iso_utc(paris) == paris.isoformat()
    assert rq_utc(paris) == "2026-07-01T10:00:00.000005Z"


def test_a_text_line_shows_only_the_extras_given() -> None:
    """The plain-text format sets the record's `message` and `asctime` after its extras: they stay out of the extras' JSON."""
    with _configured("text") as out:
        logging.getLogger("flowkeeper.webhooks").info("webhook.jira.queued", extra={"delivery": "d-1", "item": "A-1"})
    line = out.getvalue().strip()
    assert line.endswith(' INFO flowkeeper.webhooks webhook.jira.queued {"delivery": "d-1", "item": "A-1"}')
