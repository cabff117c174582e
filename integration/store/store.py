"""`Store`: one object bundling the store's parts, created once per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from integration.store.audit import AuditLog
from integration.store.claims import Claims
from integration.store.closures import Closures
from integration.store.db import make_engine
from integration.store.deliveries import Deliveries
from integration.store.mirror import Mirror
from integration.store.snoozes import Snoozes
from integration.store.states import Overrides, RuleStates, ServiceState


@dataclass
class Store:
    engine: Engine
    mirror: Mirror
    audit: AuditLog
    deliveries: Deliveries
    claims: Claims
    rule_states: RuleStates
    overrides: Overrides
    service: ServiceState
    snoozes: Snoozes
    closures: Closures

    @classmethod
    def connect(cls, url: str) -> Store:
        engine = make_engine(url)
        return cls(
            engine=engine,
            mirror=Mirror(engine),
            audit=AuditLog(engine),
            deliveries=Deliveries(engine),
            claims=Claims(engine),
            rule_states=RuleStates(engine),
            overrides=Overrides(engine),
            service=ServiceState(engine),
            snoozes=Snoozes(engine),
            closures=Closures(engine),
        )

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
