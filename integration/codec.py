"""JSON-able forms of the model types, for job arguments and the item mirror.

Jobs take plain JSON (RQ's advice, and it survives a deploy); the mirror stores an
Item as JSON beside its indexed columns. One generic codec serves every frozen model
dataclass, driven by their type hints, so a new field needs no codec change.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, Union, get_args, get_origin

from integration.utc_text import iso_utc
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
    encode = _ENCODERS.get(type(value))
    if encode is None:
        encode = _ENCODERS.setdefault(type(value), _encoder(type(value)))
    return encode(value)


def _encoder(kind: type) -> Callable[[Any], Any]:
    """How a value of type `kind` is encoded, worked out once per type (every stored item is encoded)."""
    if issubclass(kind, type):  # a class itself, not an instance
        return _same
    if issubclass(kind, _SCALARS) and not issubclass(kind, enum.Enum):
        return _same
    if dataclasses.is_dataclass(kind):
        names = _field_names(kind)
        return lambda value: {name: to_jsonable(getattr(value, name)) for name in names}
    if issubclass(kind, enum.Enum):
        return lambda value: value.value
    if issubclass(kind, (datetime, date)):
        return lambda value: value.isoformat()
    if issubclass(kind, (tuple, list)):
        return lambda value: [to_jsonable(v) for v in value]
    if issubclass(kind, (frozenset, set)):
        return lambda value: sorted(to_jsonable(v) for v in value)
    if issubclass(kind, Mapping):
        return lambda value: {str(k): to_jsonable(v) for k, v in value.items()}
    return _same


_ENCODERS: dict[type, Callable[[Any], Any]] = {}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def _same(raw: Any) -> Any:
    return raw


@cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    """How a value of `tp` is decoded, worked out once per type: every mirrored item read is
    decoded, and reading the type hints again for each of its fields cost more than the values."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return _or_none(_decoder(options[0]))
        return _or_none(functools.partial(_decode_union, options))
    if origin in (tuple, frozenset):
        inner, make = _decoder(get_args(tp)[0]), tuple if origin is tuple else frozenset
        return _or_none(lambda raw: make([inner(v) for v in raw]))
    if origin is not None and issubclass(origin, Mapping):
        return _or_none(lambda raw: types.MappingProxyType(dict(raw)))
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _or_none(functools.partial(from_jsonable, tp))
        if issubclass(tp, enum.Enum):
            return _or_none(tp)
        for kind, parse in ((datetime, datetime.fromisoformat), (date, date.fromisoformat), (float, float)):
            if tp is kind:
                return _or_none(parse)
    return _same


def _or_none(decode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda raw: None if raw is None else decode(raw)


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


@cache
def _field_decoders(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = _hints(cls)
    return tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))


def from_jsonable(cls: type[T], raw: Mapping[str, Any]) -> T:
    if not isinstance(raw, Mapping):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(raw).__name__}")
    try:
        kwargs = {name: decode(raw[name]) for name, decode in _field_decoders(cls) if name in raw}
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
        "received_at": iso_utc(received_at),
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
