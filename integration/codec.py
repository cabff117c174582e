"""JSON-able forms of the model types, for job arguments and the item mirror.

Jobs take plain JSON (RQ's advice, and it survives a deploy); the mirror stores an
Item as JSON beside its indexed columns. One generic codec serves every frozen model
dataclass, driven by their type hints, so a new field needs no codec change.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, Union, get_args, get_origin

from rules import model

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

EVENT_PAYLOAD_VERSION = 1  # the normalized Event (what earlier releases queued)
BODY_PAYLOAD_VERSION = 2  # the verified delivery body as received; the worker normalizes it


class CodecError(ValueError):
    """Stored or queued data does not match the model (e.g. written by another release)."""


_SCALARS = (str, int, float, bool, type(None))


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def to_jsonable(value: Any) -> Any:
    if isinstance(value, _SCALARS) and not isinstance(value, enum.Enum):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_jsonable(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (frozenset, set)):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def _decode(tp: Any, raw: Any) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if raw is None:
            return None
        options = [a for a in get_args(tp) if a is not type(None)]
        return _decode(options[0], raw) if len(options) == 1 else _decode_union(options, raw)
    if raw is None:
        return None
    if origin in (tuple, frozenset):
        inner = get_args(tp)[0]
        values = [_decode(inner, v) for v in raw]
        return tuple(values) if origin is tuple else frozenset(values)
    if origin is not None and issubclass(origin, Mapping):
        return types.MappingProxyType(dict(raw))
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return from_jsonable(tp, raw)
        if issubclass(tp, enum.Enum):
            return tp(raw)
        if tp is datetime:
            return datetime.fromisoformat(raw)
        if tp is date:
            return date.fromisoformat(raw)
        if tp is float:
            return float(raw)
    return raw


def _decode_union(options: list[Any], raw: Any) -> Any:
    """Text | Mention segments: tell them apart by their keys."""
    for option in options:
        if isinstance(option, type) and dataclasses.is_dataclass(option) and isinstance(raw, dict):
            names = {f.name for f in dataclasses.fields(option)}
            if set(raw) <= names and all(
                f.name in raw for f in dataclasses.fields(option) if f.default is dataclasses.MISSING
            ):
                return from_jsonable(option, raw)
    return raw


def from_jsonable(cls: type[T], raw: Mapping[str, Any]) -> T:
    if not isinstance(raw, Mapping):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(raw).__name__}")
    hints = _hints(cls)
    kwargs = {}
    try:
        for f in dataclasses.fields(cls):
            if f.name in raw:
                kwargs[f.name] = _decode(hints[f.name], raw[f.name])
        return cls(**kwargs)
    except (TypeError, ValueError, KeyError) as error:
        raise CodecError(f"{cls.__name__}: {error}") from error


def event_envelope(event: model.Event, received_at: datetime) -> dict[str, Any]:
    """What a job receives: a versioned envelope so a deploy can tell old jobs from new."""
    return {
        "v": EVENT_PAYLOAD_VERSION,
        "tracker": event.tracker.value,
        "delivery_id": event.delivery_id,
        "received_at": received_at.isoformat(),
        "event": to_jsonable(event),
    }


def body_envelope(tracker: str, delivery_id: str, body: str, item_key: str | None,
                  received_at: datetime) -> dict[str, Any]:
    """What the receiver queues: the verified body as text (a few KB that pickle as one string),
    with the item's key for the pages that list deliveries before any worker ran them."""
    return {
        "v": BODY_PAYLOAD_VERSION,
        "tracker": tracker,
        "delivery_id": delivery_id,
        "received_at": received_at.isoformat(),
        "item_key": item_key,
        "body": body,
    }


def envelope_item_key(envelope: Mapping[str, Any]) -> str | None:
    """The item a queued delivery is about, whichever version queued it."""
    if envelope.get("v") == BODY_PAYLOAD_VERSION:
        key = envelope.get("item_key")
        return str(key) if key else None
    event = envelope.get("event")
    item = event.get("item") if isinstance(event, Mapping) else None
    key = item.get("key") if isinstance(item, Mapping) else None
    return str(key) if key else None


def event_from_envelope(envelope: Mapping[str, Any]) -> model.Event:
    version = envelope.get("v") if isinstance(envelope, Mapping) else None
    if version != EVENT_PAYLOAD_VERSION:
        raise CodecError(
            f"job payload version {version!r} is not understood by this release "
            f"(expects {EVENT_PAYLOAD_VERSION} or {BODY_PAYLOAD_VERSION}); replay the delivery from the audit log"
        )
    return from_jsonable(model.Event, envelope["event"])
