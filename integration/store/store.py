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
from integration.store.sweep_runs import SweepRuns
from integration.store.sweep_writes import HeldBatches, SweepWrites


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
    sweep_runs: SweepRuns
    sweep_writes: SweepWrites
    held_batches: HeldBatches
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
            sweep_runs=SweepRuns(engine),
            sweep_writes=SweepWrites(engine),
            held_batches=HeldBatches(engine),
            closures=Closures(engine),
        )

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
