"""Flow metrics and reports: WIP, cycle and lead time, throughput, aging work, rule hygiene, roadmap.

Every figure is computed with SQL aggregates over the mirror (`items`, `item_history`),
the audit log and the rule states, the same way on SQLite and PostgreSQL. The
definitions are in the README (Reports); the CLI (`flowkeeper report`, `flowkeeper digest`),
the weekly digest and the admin Reports page all read the same `Report`.
"""
