"""The SQL store: item mirror and history, deliveries, audit log, claims, rule states."""
